// Signal names and numbers on Linux x86_64/arm64 (signal(7)), parsed the way runc's `kill` does:
// "KILL", "SIGKILL", "9", and real-time "RTMIN+3".
import { invalidArgument } from "./errdefs.ts";

export const SIGNALS: Readonly<Record<string, number>> = {
  SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGILL: 4, SIGTRAP: 5, SIGABRT: 6, SIGIOT: 6, SIGBUS: 7,
  SIGFPE: 8, SIGKILL: 9, SIGUSR1: 10, SIGSEGV: 11, SIGUSR2: 12, SIGPIPE: 13, SIGALRM: 14,
  SIGTERM: 15, SIGSTKFLT: 16, SIGCHLD: 17, SIGCONT: 18, SIGSTOP: 19, SIGTSTP: 20, SIGTTIN: 21,
  SIGTTOU: 22, SIGURG: 23, SIGXCPU: 24, SIGXFSZ: 25, SIGVTALRM: 26, SIGPROF: 27, SIGWINCH: 28,
  SIGIO: 29, SIGPOLL: 29, SIGPWR: 30, SIGSYS: 31,
};
const SIGRTMIN = 34;
const SIGRTMAX = 64;

export function parseSignal(input: string): number {
  const s = input.trim().toUpperCase();
  if (/^\d+$/.test(s)) {
    const n = Number(s);
    if (n >= 1 && n <= SIGRTMAX) return n;
  } else {
    const name = s.startsWith("SIG") ? s : `SIG${s}`;
    const known = SIGNALS[name];
    if (known !== undefined) return known;
    const rt = /^SIGRTM(IN|AX)([+-]\d+)?$/.exec(name);
    if (rt) {
      const n = (rt[1] === "IN" ? SIGRTMIN : SIGRTMAX) + Number(rt[2] ?? 0);
      if (n >= SIGRTMIN && n <= SIGRTMAX) return n;
    }
  }
  throw invalidArgument(`unknown signal "${input}": use a name such as SIGTERM or KILL, or a number 1-64`, "signal");
}

export function signalName(n: number): string {
  for (const [k, v] of Object.entries(SIGNALS)) if (v === n && k !== "SIGIOT" && k !== "SIGPOLL") return k;
  return n >= SIGRTMIN && n <= SIGRTMAX ? `SIGRTMIN+${n - SIGRTMIN}` : `signal ${n}`;
}
