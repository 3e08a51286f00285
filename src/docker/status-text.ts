// docker ps's STATUS column ("Up 3 seconds (healthy)", "Exited (1) 2 minutes ago"), shared by
// `berth ps` and berthd's /containers/json, with go-units' HumanDuration words it is made of.
import type { Container } from "../engine/containers.ts";

/** go-units HumanDuration: "Less than a second", "5 seconds", "About a minute", "3 hours"… */
export function humanDuration(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 1) return "Less than a second";
  if (s === 1) return "1 second";
  if (s < 60) return `${s} seconds`;
  const min = Math.floor(s / 60);
  if (min === 1) return "About a minute";
  if (min < 60) return `${min} minutes`;
  const h = Math.round(ms / 3_600_000);
  if (h === 1) return "About an hour";
  if (h < 48) return `${h} hours`;
  if (h < 24 * 7 * 2) return `${Math.floor(h / 24)} days`;
  if (h < 24 * 30 * 2) return `${Math.floor(h / 24 / 7)} weeks`;
  if (h < 24 * 365 * 2) return `${Math.floor(h / 24 / 30)} months`;
  return `${Math.floor(h / 24 / 365)} years`;
}

export const ago = (t: Date, now = Date.now()): string => `${humanDuration(Math.max(0, now - t.getTime()))} ago`;

/** docker ps STATUS. */
export function statusText(c: Container, now = Date.now()): string {
  switch (c.state) {
    case "running":
    case "paused": {
      const up = `Up ${humanDuration(now - (c.startedAt ?? c.createdAt).getTime())}`;
      const h = (c.health as { status?: string } | undefined)?.status;
      return `${up}${c.state === "paused" ? " (Paused)" : h ? ` (${h === "starting" ? "health: starting" : h})` : ""}`;
    }
    case "restarting":
      return `Restarting (${c.exitCode}) ${ago(c.finishedAt ?? c.createdAt, now)}`;
    case "exited":
      return c.startedAt ? `Exited (${c.exitCode}) ${ago(c.finishedAt ?? c.createdAt, now)}` : "Created";
    case "dead":
      return "Dead";
    case "removing":
      return "Removal In Progress";
    default:
      return "Created";
  }
}
