// Recording how an exec session ended, from what its monitor wrote (status.json in the session's
// directory): used by the exec monitor's exit command, by inspect, and by a container's cleanup
// (whose end kills every exec'd process). Apart from exec.ts so that containers.ts can use it
// without importing exec.ts (which imports containers.ts).
import { rmSync } from "node:fs";
import { isBerthError } from "../sys/errdefs.ts";
import { monitorAlive, readStatus } from "../monitor/monitor.ts";
import type { ExecRecord } from "../metadata/execs.ts";
import type { Engine } from "./engine.ts";

/** The exit code recorded when a session's monitor died without writing one (as a container's). */
export const LOST_EXIT = 255;

/** docker's action text: "exec_die", "exec_start: sh -c ls"… */
export function execEvent(e: Engine, action: string, rec: ExecRecord, attributes: Record<string, string> = {}): void {
  let name = "", image = "";
  try {
    const c = e.containers.get(rec.containerId);
    name = c.name;
    image = c.image;
  } catch {}
  e.emit({ type: "container", action, actor: rec.containerId, attributes: { execID: rec.id, name, image, ...attributes } });
}

/**
 * Bring a running session's record up to date: its monitor alive → running (nothing to do);
 * its monitor recorded the exit → record it (once, whoever comes first) and emit exec_die;
 * its monitor gone without one → exited with LOST_EXIT. Removes the session's directory once
 * the exit is recorded. Returns the record as it is now.
 */
export function collectExec(e: Engine, rec: ExecRecord): ExecRecord {
  if (rec.state !== "running") return rec;
  const dir = e.execDir(rec.id);
  const st = readStatus(dir);
  if (st && st.state !== "exited" && monitorAlive(st)) return rec;
  if (st === undefined && Date.now() - (rec.startedAt?.getTime() ?? 0) < 2000 && rec.pid === 0) return rec; // being started now
  const code = st?.state === "exited" ? st.exitCode : LOST_EXIT;
  const at = st?.state === "exited" && st.finishedAt ? new Date(Date.parse(st.finishedAt)) : new Date();
  if (e.execs.markExited(rec.id, code, at)) execEvent(e, "exec_die", rec, { exitCode: String(code) });
  rmSync(dir, { recursive: true, force: true });
  try {
    return e.execs.get(rec.id);
  } catch (err) {
    if (isBerthError(err, "NotFound")) return { ...rec, state: "exited", exitCode: code, pid: 0 };
    throw err;
  }
}

/**
 * After a container ended (its processes are killed with it): wait a moment for each running
 * session's monitor to record its exit, then record them all. Never takes a lock (an exec's exit
 * command may be waiting on this container's).
 */
export async function collectContainerExecs(e: Engine, containerId: string): Promise<void> {
  let running: ExecRecord[];
  try {
    running = e.execs.listFor(containerId).filter((x) => x.state === "running");
  } catch {
    return;
  }
  // Until each monitor is gone: it records the exit, then runs its exit command (which records
  // it too, or finds it recorded) unless an attached client does the cleanup.
  const deadline = Date.now() + 3000;
  for (const rec of running) {
    for (;;) {
      const st = readStatus(e.execDir(rec.id));
      if (!st || !monitorAlive(st) || Date.now() > deadline) break;
      await Bun.sleep(20);
    }
    collectExec(e, { ...rec, pid: rec.pid || 1 });
  }
}
