// Docker's event messages (Engine API "EventMessage") and the docker CLI's one-line rendering.
import type { EventRecord } from "../metadata/events.ts";

export function eventJson(ev: EventRecord): Record<string, unknown> {
  const legacy = ev.type === "container" || ev.type === "image"
    ? { status: ev.action, id: ev.actor, ...(ev.attributes.image ? { from: ev.attributes.image } : {}) }
    : {};
  return {
    ...legacy,
    Type: ev.type,
    Action: ev.action,
    Actor: { ID: ev.actor, Attributes: ev.attributes },
    scope: "local",
    time: Math.floor(ev.time / 1e6),
    timeNano: ev.time * 1000,
  };
}

/** "2026-12-02T10:00:00.123456789Z container start <id> (image=busybox, name=web)" */
export function eventLine(ev: EventRecord): string {
  const sec = Math.floor(ev.time / 1e6);
  const frac = `${String(ev.time - sec * 1e6).padStart(6, "0")}000`;
  const t = new Date(sec * 1000).toISOString().replace(/\.\d{3}Z$/, `.${frac}Z`);
  const attrs = Object.entries(ev.attributes).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k}=${v}`).join(", ");
  return `${t} ${ev.type} ${ev.action} ${ev.actor}${attrs ? ` (${attrs})` : ""}`;
}

const fuzzy = (ev: EventRecord, v: string) => ev.actor.startsWith(v) || (ev.attributes.name ?? "").startsWith(v);

/** docker events --filter: key=value, keys ANDed, values of one key ORed. */
export function eventFilter(filters: string[]): (ev: EventRecord) => boolean {
  const by = new Map<string, string[]>();
  for (const f of filters) {
    const eq = f.indexOf("=");
    if (eq <= 0) throw new Error(`bad format of filter (expected name=value): ${f}`);
    by.set(f.slice(0, eq), [...(by.get(f.slice(0, eq)) ?? []), f.slice(eq + 1)]);
  }
  const checks = [...by].map(([k, vs]) => (ev: EventRecord) => vs.some((v) => {
    switch (k) {
      case "type": return ev.type === v;
      case "event": case "action": return ev.action === v || ev.action.startsWith(`${v}:`);
      // docker's FuzzyMatch: the id or the name, whole or any prefix of it.
      case "container": return ev.type === "container" && fuzzy(ev, v);
      case "image": return ev.attributes.image === v || (ev.type === "image" && (ev.actor === v || ev.attributes.name === v));
      case "volume": return ev.type === "volume" && fuzzy(ev, v);
      case "network": return ev.type === "network" && fuzzy(ev, v);
      case "label": {
        const i = v.indexOf("=");
        return i < 0 ? v in ev.attributes : ev.attributes[v.slice(0, i)] === v.slice(i + 1);
      }
      default: return false;
    }
  }));
  return (ev) => checks.every((c) => c(ev));
}

export const EVENT_FILTER_KEYS = ["type", "event", "action", "container", "image", "volume", "network", "label"];
