// Health checks (docker's HEALTHCHECK / --health-*): one check of a running container, run by
// its monitor's timer through `berth container healthcheck ID` (native/berth-monitor.c re-arms
// it an interval after each check ends). The check is an exec session of the container (so it
// has exec_create/exec_start/exec_die events, as docker's probes do), its output captured; the
// state follows docker's rules (moby daemon/health.go): exit 0 healthy, anything else a failure
// that counts toward `retries` unless the container is still starting within its start period;
// the last 5 results are kept; a check that outlives its timeout is killed and counts as -1.
import { formatDuration } from "../sys/duration.ts";
import type { Engine } from "./engine.ts";
import { getContainer, StartError } from "./containers.ts";
import { createExec, finishExec, killExec, startExec } from "./exec.ts";

export type HealthStatus = "starting" | "healthy" | "unhealthy";

export interface HealthResult {
  /** RFC 3339 times of the check's start and end. */
  start: string;
  end: string;
  /** 0 healthy, 1 unhealthy; -1 the check could not run or timed out. */
  exitCode: number;
  /** stdout and stderr, at most 4096 bytes (docker's limit). */
  output: string;
}

/** Stored in the container record's `health` (ps STATUS, inspect's State.Health). */
export interface HealthState {
  status: HealthStatus;
  failingStreak: number;
  log: HealthResult[];
}

const MAX_LOG = 5;
const MAX_OUTPUT = 4096;
const DEFAULTS = { timeoutMs: 30_000, retries: 3, startPeriodMs: 0 };

/** The check's command: CMD args as given, CMD-SHELL through the container's /bin/sh -c. */
export function healthCommand(test: readonly string[]): string[] | undefined {
  if (test[0] === "CMD") return test.length > 1 ? test.slice(1) : undefined;
  if (test[0] === "CMD-SHELL") return test[1] ? ["/bin/sh", "-c", test.slice(1).join(" ")] : undefined;
  return undefined;
}

/**
 * Run the container's check once and record the result. Returns the new state, or undefined
 * when there is nothing to check (no check, NONE, the container not running).
 */
export async function runHealthcheck(e: Engine, ref: string): Promise<HealthState | undefined> {
  const c = await getContainer(e, ref);
  const hc = c.resolved.healthcheck;
  const cmd = hc ? healthCommand(hc.test) : undefined;
  if (!hc || !cmd || c.state !== "running") return undefined;
  const timeoutMs = hc.timeoutMs || DEFAULTS.timeoutMs;
  const start = new Date();
  const chunks: Uint8Array[] = [];
  let size = 0;
  let truncated = false;
  const keep = (d: Uint8Array) => {
    if (size >= MAX_OUTPUT) { truncated = true; return; }
    const part = d.subarray(0, MAX_OUTPUT - size);
    if (part.length < d.length) truncated = true;
    chunks.push(part);
    size += part.length;
  };
  let exitCode: number;
  let output: string | undefined;
  const ex = await createExec(e, c.id, { cmd });
  try {
    const s = await startExec(e, ex.id, { attach: { stdout: true, stderr: true, handlers: { onStdout: keep, onStderr: keep } } });
    const timer = Bun.sleep(timeoutMs).then(() => "timeout" as const);
    const done = finishExec(e, s);
    const first = await Promise.race([done, timer]);
    if (first === "timeout") {
      killExec(e, ex.id, 9);
      await Promise.race([done, Bun.sleep(5000)]);
      exitCode = -1;
      output = `Health check exceeded timeout (${formatDuration(timeoutMs)})`;
    } else {
      exitCode = first.exitCode;
    }
  } catch (err) {
    if (!(err instanceof StartError)) throw err;
    exitCode = -1;
    output = err.message;
  } finally {
    // docker forgets a probe's exec session once it is done.
    e.execs.delete(ex.id);
  }
  const result: HealthResult = {
    start: start.toISOString(), end: new Date().toISOString(), exitCode,
    output: output ?? new TextDecoder().decode(Buffer.concat(chunks)) + (truncated ? "..." : ""),
  };
  return recordResult(e, c.id, result, { retries: hc.retries || DEFAULTS.retries, startPeriodMs: hc.startPeriodMs || DEFAULTS.startPeriodMs });
}

/** docker's handleProbeResult, in one write transaction; health_status event on a change. */
export function recordResult(e: Engine, id: string, r: HealthResult, o: { retries: number; startPeriodMs: number }): HealthState | undefined {
  let before: HealthStatus | undefined;
  const after = e.meta.write(() => {
    const c = e.containers.get(id);
    if (c.state !== "running") return undefined; // it ended meanwhile: the result is moot
    const h: HealthState = structuredClone((c.health as HealthState | undefined) ?? { status: "starting", failingStreak: 0, log: [] });
    before = h.status;
    h.log = [...h.log, r].slice(-MAX_LOG);
    if (r.exitCode === 0) {
      h.failingStreak = 0;
      h.status = "healthy";
    } else {
      const inStartPeriod = h.status === "starting" && Date.parse(r.start) - (c.startedAt?.getTime() ?? 0) < o.startPeriodMs;
      if (!inStartPeriod) {
        h.failingStreak++;
        if (h.failingStreak >= o.retries) h.status = "unhealthy";
      }
    }
    e.containers.update(id, { health: h });
    return { h, name: c.name, image: c.image };
  });
  if (!after) return undefined;
  if (after.h.status !== before) e.emit({ type: "container", action: `health_status: ${after.h.status}`, actor: id, attributes: { name: after.name, image: after.image } });
  return after.h;
}
