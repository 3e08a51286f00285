// The one verdict of a run, from facts the kernel reported — never guessed from an exit code.
// The first rule that applies wins:
//   1. setup    the program never ran (berth-init or the init reported why)
//   2. the limit the sandbox itself acted on first: time (CPU watch), wall (timer), output (cap),
//      seccomp (the guard stopped a syscall; it is named)
//   3. time     the cgroup's CPU time is at or past the limit (passed between two polls; also a
//               kill by RLIMIT_CPU, the backstop)
//   4. seccomp  the program died of SIGSYS: a custom profile's kill or trap action (no name)
//   5. memory   the OOM killer killed a process of the run
//   6. pids     the kernel refused a fork or clone at pids.max
//   7. signal / exit / ok, from the program's own wait status
import { signalName } from "../sys/signals.ts";
import type { SandboxStatus } from "./types.ts";

export type SandboxAction = "time" | "wall" | "output" | "seccomp";

export interface RunFacts {
  /** Why the program could not be started. */
  readonly setupError?: string;
  /** The first limit the sandbox ended the run for, with what it saw ("stdout passed 1024 bytes"). */
  readonly action?: { readonly kind: SandboxAction; readonly detail: string };
  /** The syscall the guard stopped (status seccomp). */
  readonly syscall?: string;
  /** The program's wait status (waitpid(2)), as its init reported it; absent if the init was killed. */
  readonly waitStatus?: number;
  readonly cpuNs: number;
  readonly cpuLimitNs: number;
  readonly oomKills: number;
  readonly pidsRefused: number;
  readonly memoryLimit: number;
  readonly pidsLimit: number;
}

export interface Verdict {
  readonly status: SandboxStatus;
  readonly exitCode?: number;
  readonly signal?: string;
  readonly syscall?: string;
  readonly message?: string;
}

/** WIFEXITED/WEXITSTATUS and WIFSIGNALED/WTERMSIG of <sys/wait.h>. */
export function decodeWaitStatus(st: number): { exitCode: number } | { signal: number } | undefined {
  const low = st & 0x7f;
  if (low === 0) return { exitCode: (st >> 8) & 0xff };
  if (low !== 0x7f) return { signal: low };
  return undefined; // stopped: not an end
}

const seconds = (ns: number) => `${(ns / 1e9).toFixed(3)} s`;

export function decide(f: RunFacts): Verdict {
  const ws = f.waitStatus === undefined ? undefined : decodeWaitStatus(f.waitStatus);
  const how = ws && "exitCode" in ws ? { exitCode: ws.exitCode } : ws && "signal" in ws ? { signal: signalName(ws.signal) } : {};
  if (f.setupError !== undefined) return { status: "setup", message: f.setupError };
  if (f.action) {
    const syscall = f.action.kind === "seccomp" && f.syscall ? { syscall: f.syscall } : {};
    // The sandbox's kill reaches the init too, which then cannot report: the program got SIGKILL.
    return { status: f.action.kind, ...(ws ? how : { signal: "SIGKILL" }), ...syscall, message: f.action.detail };
  }
  if (f.cpuNs >= f.cpuLimitNs) return { status: "time", ...how, message: `CPU time ${seconds(f.cpuNs)} reached the limit of ${seconds(f.cpuLimitNs)}` };
  if (ws && "signal" in ws && ws.signal === 31) return { status: "seccomp", ...how, message: "the program was killed by its seccomp profile (SIGSYS)" };
  if (f.oomKills > 0) return { status: "memory", ...how, message: `the kernel's OOM killer killed ${f.oomKills} process${f.oomKills === 1 ? "" : "es"} of the run at the limit of ${f.memoryLimit} bytes` };
  if (f.pidsRefused > 0) return { status: "pids", ...how, message: `${f.pidsRefused} fork${f.pidsRefused === 1 ? " was" : "s were"} refused at the limit of ${f.pidsLimit} processes` };
  if ("signal" in how) return { status: "signal", ...how, message: `killed by ${how.signal}` };
  if ("exitCode" in how) return how.exitCode === 0 ? { status: "ok", exitCode: 0 } : { status: "exit", ...how, message: `exited with status ${how.exitCode}` };
  // The init died before it could report (only a kill of the whole run does that).
  return { status: "signal", signal: "SIGKILL", message: "the run was killed before its program reported an end" };
}
