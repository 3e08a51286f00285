// `events`: a container's cgroup statistics as runc's JSON events, once (`--stats`) or every
// interval, with an {"type":"oom"} event whenever the kernel's OOM killer hits the container.
// OOM is seen by polling the manager's oom_kill counter (v1 memory.oom_control, v2
// memory.events) — the eventfd runc registers through cgroup.event_control would need a thread
// blocked in read(2), which Bun cannot give us without FFI. Unlike runc, which streams until the
// cgroup is deleted, the stream ends once the container has stopped (after its last OOM event).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { failedPrecondition, invalidArgument } from "../../sys/errdefs.ts";
import { processAlive } from "../state.ts";
import { loadContainer, type Loaded } from "./container-status.ts";
import { emptyCpuset, parseCpuList, runcStats, type CpusetStats } from "./stats-json.ts";

export interface ContainerEvent {
  readonly type: "stats" | "oom";
  readonly id: string;
  readonly data?: unknown;
}

const UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, "µs": 1e-3, "μs": 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Go's time.ParseDuration ("5s", "1m30s", "250ms", "1.5h") → milliseconds. */
export function parseGoDuration(text: string): number {
  const bad = () => invalidArgument(`invalid value "${text}" for flag -interval: parse error (use a duration like 5s, 500ms, 1m30s)`, "--interval");
  let s = text;
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

/** v1 cpuset figures runc reports (fs/cpuset.go GetStats); zeros where there is no v1 cpuset. */
export function cpusetStats(paths: Readonly<Record<string, string>>): CpusetStats {
  const out = emptyCpuset();
  const dir = paths.cpuset;
  if (!dir) return out;
  const read = (name: string) => {
    try {
      return readFileSync(join(dir, `cpuset.${name}`), "utf8");
    } catch {
      return undefined;
    }
  };
  out.cpus = parseCpuList(read("cpus") ?? "");
  out.mems = parseCpuList(read("mems") ?? "");
  for (const k of ["cpu_exclusive", "mem_hardwall", "mem_exclusive", "memory_migrate", "memory_spread_page", "memory_spread_slab", "memory_pressure", "sched_load_balance", "sched_relax_domain_level"] as const) {
    const n = Number((read(k) ?? "0").trim());
    out[k] = Number.isFinite(n) ? n : 0;
  }
  return out;
}

function statsEvent(c: Loaded): ContainerEvent {
  return { type: "stats", id: c.saved.id, data: runcStats(c.cgroup.stats(), cpusetStats(c.cgroup.paths)) };
}

function loadLive(root: string, id: string): Loaded {
  const c = loadContainer(root, id);
  // runc's exact words (events.go); containerd and scripts see the same text.
  if (c.status === "stopped") throw failedPrecondition(`container with id ${id} is not running`, "container-id");
  return c;
}

/** One stats event (`events --stats`). */
export function stats(root: string, id: string): ContainerEvent {
  return statsEvent(loadLive(root, id));
}

export interface EventsOptions {
  /** Milliseconds between stats events (runc's --interval, default 5s). */
  intervalMs?: number;
  /** How often the OOM counter and the container's liveness are checked. */
  pollMs?: number;
  signal?: AbortSignal;
}

/**
 * Stats every interval (the first after one interval, as runc's time.Tick) and an "oom" event per
 * poll in which the OOM kill counter grew, until the container stops or `signal` aborts.
 */
export async function* events(root: string, id: string, o: EventsOptions = {}): AsyncGenerator<ContainerEvent> {
  const interval = o.intervalMs ?? 5000;
  if (!(interval > 0)) throw invalidArgument("duration interval must be greater than 0", "--interval");
  const c = loadLive(root, id);
  const poll = Math.min(o.pollMs ?? 100, interval);
  let ooms = c.cgroup.oomEvents();
  let next = Date.now() + interval;
  while (!o.signal?.aborted) {
    await Bun.sleep(Math.max(0, Math.min(poll, next - Date.now())));
    // Liveness first: the counter moves before the killed init is gone, so a read after seeing
    // it gone cannot miss the kill that ended it.
    const alive = processAlive(c.saved.pid, c.saved.pidStart);
    const now = c.cgroup.oomEvents();
    if (now > ooms) yield { type: "oom", id };
    ooms = Math.max(ooms, now);
    if (!alive) return;
    if (Date.now() >= next) {
      yield statsEvent(c);
      next += interval;
      if (next < Date.now()) next = Date.now() + interval;
    }
  }
}
