// Container records as ps/inspect/rm see them: the stored status corrected by whether the
// foreground `berth run` that owns a running container is still alive.
import type { ContainerRecord } from "../metadata/containers.ts";

export type ShownStatus = ContainerRecord["status"] | "dead";

/** Whether a process of that pid exists (signal 0 only checks). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** "dead": recorded as running, but the process that ran it is gone (it was killed). */
export function statusOf(c: ContainerRecord): ShownStatus {
  if (c.status === "running" && (c.pid === undefined || !alive(c.pid))) return "dead";
  return c.status;
}

export function commandOf(c: ContainerRecord): string[] {
  const path = typeof c.config.Path === "string" ? c.config.Path : "";
  const args = Array.isArray(c.config.Args) ? (c.config.Args as string[]) : [];
  return path ? [path, ...args] : args;
}
