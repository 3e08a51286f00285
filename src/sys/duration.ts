// Go's time.ParseDuration ("5s", "1m30s", "250ms", "1.5h"), which docker's and runc's duration
// flags take, and docker's --since/--until times (RFC 3339, Unix seconds, or a duration ago).
import { invalidArgument } from "./errdefs.ts";

const UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, "µs": 1e-3, "μs": 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Milliseconds; `field` names the flag in the error. */
export function parseDuration(text: string, field: string): number {
  const bad = () => invalidArgument(`invalid argument "${text}" for "${field}" flag: time: invalid duration "${text}" (use a duration like 5s, 500ms, 1m30s)`, field);
  let s = text.trim();
  let sign = 1;
  if (s.startsWith("-") || s.startsWith("+")) {
    if (s[0] === "-") sign = -1;
    s = s.slice(1);
  }
  if (s === "0") return 0;
  if (s === "") throw bad();
  let total = 0;
  const part = /^(\d*(?:\.\d*)?)(ns|us|µs|μs|ms|s|m|h)/;
  while (s.length > 0) {
    const m = part.exec(s);
    if (!m || m[1] === "" || m[1] === ".") throw bad();
    total += Number(m[1]) * UNITS[m[2]!]!;
    s = s.slice(m[0].length);
  }
  return sign * total;
}

/**
 * docker's --since/--until: an RFC 3339 time ("2026-12-02T10:00:00Z", a date), Unix seconds with
 * optional fraction ("1733130000.5"), or a Go duration meaning that long before `now` ("10m").
 * Returns Unix milliseconds.
 */
export function parseTimestamp(text: string, field: string, now = Date.now()): number {
  const t = text.trim();
  if (/^\d+(\.\d+)?$/.test(t)) return Math.round(Number(t) * 1000);
  if (/^\d{4}-\d{2}-\d{2}/.test(t)) {
    const ms = Date.parse(/[zZ]|[+-]\d{2}:?\d{2}$/.test(t) || !t.includes("T") ? t : `${t}Z`);
    if (!Number.isNaN(ms)) return ms;
  }
  try {
    return now - parseDuration(t, field);
  } catch {
    throw invalidArgument(`invalid value for ${field}: ${JSON.stringify(text)}: use an RFC 3339 time (2026-12-02T10:00:00Z), Unix seconds, or a duration such as 10m`, field);
  }
}

/** Go's Duration.String for whole milliseconds: "500ms", "30s", "1m30s", "1h0m0.5s". */
export function formatDuration(ms: number): string {
  if (ms === 0) return "0s";
  const neg = ms < 0;
  let rest = Math.abs(Math.round(ms));
  if (rest < 1000) return `${neg ? "-" : ""}${rest}ms`;
  const h = Math.floor(rest / 3_600_000);
  rest -= h * 3_600_000;
  const m = Math.floor(rest / 60_000);
  rest -= m * 60_000;
  const sec = `${Math.floor(rest / 1000)}${rest % 1000 ? `.${String(rest % 1000).padStart(3, "0").replace(/0+$/, "")}` : ""}s`;
  return `${neg ? "-" : ""}${h ? `${h}h${m}m` : m ? `${m}m` : ""}${sec}`;
}
