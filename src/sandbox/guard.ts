// The library's side of native/berth-sandbox-guard.c: one guard process per Sandbox, spoken to
// over a socketpair (its fd 3). The guard outlives this process: if it dies, even by SIGKILL, the
// guard kills what is left of every registered run and removes its cgroups and the state
// directory. It is also the seccomp agent of "strict" runs and reports the syscalls it stopped.
// The channel is read without blocking and only when a run asks (drain), so an idle Sandbox keeps
// nothing on the event loop.
import { closeSync, readSync, writeSync } from "node:fs";
import { BerthError, failedPrecondition } from "../sys/errdefs.ts";
import { helperPath } from "../runtime/launch.ts";
import { sandboxHelperPath } from "./helpers.ts";

export interface SeccompReport {
  readonly run: string;
  /** Host pid (thread id) of the caller the guard killed. */
  readonly pid: number;
  /** seccomp_data.arch (AUDIT_ARCH_*) and .nr of the syscall. */
  readonly arch: number;
  readonly nr: number;
}

export class Guard {
  private buffered = "";
  private closed = false;

  /** The guard's sealed copy of berth-init, for launch(): set once the guard is ready. */
  berthInit = "";

  private constructor(private readonly proc: Bun.Subprocess, private readonly fd: number) {}

  /** Start a guard that creates and owns `stateDir` (and its seccomp socket). */
  static async start(stateDir: string): Promise<Guard> {
    const proc = Bun.spawn([sandboxHelperPath("berth-sandbox-guard"), stateDir, helperPath()], { stdio: ["ignore", "ignore", "ignore", "pipe"], env: {} });
    proc.unref();
    const fd = (proc.stdio as unknown as (number | null)[])[3];
    if (typeof fd !== "number") throw new BerthError("Internal", "could not make the channel to berth-sandbox-guard");
    const g = new Guard(proc, fd);
    const deadline = performance.now() + 5000;
    for (;;) {
      const line = g.readLines().shift();
      const ready = line === undefined ? null : /^ready (\d+)$/.exec(line);
      if (ready) {
        g.berthInit = `/proc/${proc.pid}/fd/${ready[1]}`;
        return g;
      }
      if (line !== undefined) {
        g.close();
        throw failedPrecondition(`berth-sandbox-guard could not listen in ${stateDir} (${line}): is the directory writable, its path shorter than 100 bytes?`, "stateDir");
      }
      if (proc.exitCode !== null || performance.now() > deadline) {
        g.close();
        throw failedPrecondition(`berth-sandbox-guard did not start (exit ${proc.exitCode ?? "none"}, state directory ${stateDir})`, "stateDir");
      }
      await Bun.sleep(1);
    }
  }

  /** Pid of the guard process (tests look for it). */
  get pid(): number {
    return this.proc.pid;
  }

  /** Whether the guard still runs: a run without it would not be cleaned up after our death. */
  get alive(): boolean {
    return !this.closed && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** A run's cgroup directories, before they are made; the guard removes them if we die. */
  register(run: string, dirs: readonly string[]): void {
    this.send(dirs.map((d) => `cgroup ${run} ${d}\n`).join(""));
  }

  /** The run is over and cleaned up (nothing to tell a guard that is gone). */
  end(run: string): void {
    if (this.alive) this.send(`end ${run}\n`);
  }

  /** The guard's seccomp reports that arrived since the last call. */
  drain(): SeccompReport[] {
    const out: SeccompReport[] = [];
    for (const line of this.readLines()) {
      const m = /^seccomp (\S+) (\d+) (\d+) (-?\d+)$/.exec(line);
      if (m) out.push({ run: m[1]!, pid: Number(m[2]), arch: Number(m[3]), nr: Number(m[4]) });
    }
    return out;
  }

  /** Close the channel: the guard removes what is still registered, then the state dir, and exits. */
  close(): Promise<number> {
    if (!this.closed) {
      this.closed = true;
      closeSync(this.fd);
    }
    // Unreferenced so that an idle Sandbox does not keep its process alive; waited for now.
    this.proc.ref();
    return this.proc.exited;
  }

  private send(text: string): void {
    const gone = () => failedPrecondition("the sandbox's guard process is gone (killed?): this Sandbox cannot promise cleanup any more; close it and open a new one");
    if (!this.alive) throw gone();
    const data = Buffer.from(text);
    for (let off = 0; off < data.length; ) {
      try {
        off += writeSync(this.fd, data, off);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === "EPIPE" || code === "ECONNRESET") throw gone(); // died before Bun saw it exit
        // Non-blocking socket: the guard reads as fast as we write; a full buffer clears at once.
        if (code !== "EAGAIN") throw e;
      }
    }
  }

  private readLines(): string[] {
    const chunk = Buffer.alloc(65536);
    for (;;) {
      let n: number;
      try {
        n = readSync(this.fd, chunk);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "EAGAIN") break;
        throw e;
      }
      if (n === 0) break;
      this.buffered += chunk.toString("utf8", 0, n);
    }
    const lines = this.buffered.split("\n");
    this.buffered = lines.pop() ?? "";
    return lines;
  }
}
