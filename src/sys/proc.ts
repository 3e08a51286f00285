// Processes by pid, guarded against pid reuse: a pid is "the same process" only with the same
// start time (/proc/<pid>/stat field 22, clock ticks since boot; proc(5)).
import { readFileSync } from "node:fs";

/** /proc/<pid>/stat fields after the command name: state is [0], starttime is [19]. */
function statFields(pid: number): string[] | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    return text.slice(text.lastIndexOf(")") + 2).split(" ");
  } catch {
    return undefined;
  }
}

export function processStartTime(pid: number): number {
  return Number(statFields(pid)?.[19] ?? 0);
}

/** Alive means: exists, not a zombie, and the same process (start time) as recorded (0: any). */
export function processAlive(pid: number, start: number): boolean {
  if (pid <= 0) return false;
  const f = statFields(pid);
  if (!f) return false;
  if (f[0] === "Z" || f[0] === "X") return false;
  return start === 0 || Number(f[19]) === start;
}
