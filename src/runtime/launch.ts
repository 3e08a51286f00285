// Runs a plan: spawns berth-init with a socketpair on a spare fd, sends the plan, and turns its
// reports into events, the child's pid, and errors that name the config field.
import { closeSync, existsSync, writeSync } from "node:fs";
import { dirname, join } from "node:path";
import { BerthError } from "../sys/errdefs.ts";
import { errnoMessage, errnoName } from "../sys/errno.ts";
import { explain } from "../explain/channel.ts";
import { REPORT } from "./plan/ops.ts";
import { encodePlan, type PlanStep } from "./plan/encode.ts";

export function helperPath(): string {
  const env = process.env.BERTH_INIT;
  if (env) return env;
  // Beside the compiled berth-runtime executable, or in build/ when run from the sources.
  for (const p of [join(dirname(process.execPath), "berth-init"), join(import.meta.dir, "../../build/berth-init")]) if (existsSync(p)) return p;
  throw new BerthError("FailedPrecondition", "berth-init is not built: run scripts/setup.sh (or scripts/build-native.sh)");
}

export interface Launched {
  /** Host pid of the container's init. */
  readonly pid: number;
  /** berth-init's parent process: in foreground mode it exits with the container's status.
   * Absent when berth-init was started by someone else (`via`: the engine's berth-monitor). */
  readonly helper?: Bun.Subprocess;
  /** Milliseconds of each step berth-init ran, when explaining: [step index, ms]. */
  readonly timeline: [number, number][];
}

/** A step that failed inside berth-init. */
export class StepError extends BerthError {
  constructor(readonly stepIndex: number, readonly errno: number, readonly detail: string, s: PlanStep | undefined) {
    const where = s?.field ? `${s.field}: ` : "";
    const what = s ? s.describe : `plan step ${stepIndex}`;
    super(errno === 2 || errno === 22 || errno === 1 || errno === 13 ? "InvalidArgument" : "Internal",
      `${where}${what} failed: ${detail}: ${errnoMessage(errno)} (${errnoName(errno)})`, s?.field);
  }
}

/**
 * One of berth-init's (and so the container's) fds: the caller's own ("inherit", fd 0-2 only), a
 * pipe the caller reads or writes through `helper` ("pipe"), /dev/null ("ignore"), or an fd of
 * the caller's (a number).
 */
export type LaunchStdio = "inherit" | "pipe" | "ignore" | number;

export interface LaunchOptions {
  /** The caller's fds 3..3+n-1, which the container receives as 3..3+n-1 (runc's --preserve-fds). */
  preserveFds?: number;
  /**
   * The container's fds 0, 1, 2, … instead of the caller's 0-2 and preserved fds. Entries after
   * the third become its fds 3, 4, …: the plan's preserveFds must count them.
   */
  stdio?: readonly LaunchStdio[];
  explain?: boolean;
  foreground?: boolean;
  /** The berth-init to execute (default helperPath()): e.g. an already sealed copy, /proc/<pid>/fd/<n>. */
  helper?: string;
  /**
   * berth-init is started by another process (the engine's berth-monitor, which holds the
   * container's stdio and becomes the init's reaper) with the peer of `sock` as its report fd;
   * launch only sends the plan and reads the reports. The socket stays the caller's to close.
   */
  via?: { sock: number };
  /**
   * Return only once the process has called execve (its end of the report socket is
   * close-on-exec, so end-of-file says so), as runc's exec does: a pid file written then names
   * the user's command, never berth-init. Detached exec only (a create blocks before execve).
   */
  untilExec?: boolean;
  /**
   * Leave the report socket open until this process exits (its end of file then tells a
   * WAIT_CALLER_EXIT step that the runtime is gone). For a runtime process that exits right after.
   */
  holdReportUntilExit?: boolean;
  /** A plan of parent steps only (no clone, no READY): done when berth-init exits 0. */
  parentOnly?: boolean;
}

/** Spawn berth-init and run the plan up to READY. The report socket sits above the container's fds. */
export async function launch(steps: readonly PlanStep[], opts: LaunchOptions = {}): Promise<Launched> {
  const preserve = opts.preserveFds ?? 0;
  let helper: Bun.Subprocess | undefined;
  let sock: number | null | undefined;
  if (opts.via) {
    sock = opts.via.sock;
  } else {
    const stdio: LaunchStdio[] = opts.stdio ? [...opts.stdio] : ["inherit", "inherit", "inherit"];
    if (!opts.stdio) for (let i = 0; i < preserve; i++) stdio.push(3 + i);
    const reportFd = stdio.length;
    stdio.push("pipe");
    helper = Bun.spawn([opts.helper ?? helperPath(), String(reportFd)], { stdio: stdio as never, env: process.env });
    sock = (helper.stdio as unknown as (number | null)[])[reportFd];
  }
  if (typeof sock !== "number") throw new BerthError("Internal", "could not make the report socket for berth-init");

  const plan = encodePlan(steps, { explain: opts.explain ?? false });
  const msg = new Uint8Array(4 + plan.length);
  new DataView(msg.buffer).setUint32(0, plan.length, true);
  msg.set(plan, 4);
  for (let off = 0; off < msg.length; ) {
    try {
      off += writeSync(sock, msg, off);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EAGAIN") throw e;
      await Bun.sleep(1);
    }
  }

  const timeline: [number, number][] = [];
  let pid = 0;
  let ready = false;
  let forked = false;
  let buf = new Uint8Array(0);
  const reader = Bun.file(sock).stream().getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) {
        if (ready) return { pid, helper, timeline };
        break;
      }
      const joined = new Uint8Array(buf.length + value.length);
      joined.set(buf);
      joined.set(value, buf.length);
      buf = joined;
      while (buf.length >= 16) {
        const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
        const kind = dv.getUint32(0, true), index = dv.getUint32(4, true), val = dv.getInt32(8, true), len = dv.getUint32(12, true);
        if (buf.length < 16 + len) break;
        const text = new TextDecoder().decode(buf.subarray(16, 16 + len));
        buf = buf.subarray(16 + len);
        const s = steps[index];
        switch (kind) {
          case REPORT.PID:
            // An exec's intermediate child reports the process's pid (FORK_GRANDCHILD) while the
            // parent may still be about to report the intermediate's own (CLONE): the former wins
            // whatever the order they arrive in.
            if (!forked) pid = val;
            if (s?.op.name === "FORK_GRANDCHILD") forked = true;
            break;
          case REPORT.STEP:
            timeline.push([index, val / 1000]);
            if (s && explain.enabled) explain.emit({ step: s.op.name.toLowerCase(), detail: s.describe, ms: val / 1000, who: s.op.who });
            break;
          case REPORT.ERROR: {
            await helper?.exited;
            throw new StepError(index, val, text, s);
          }
          case REPORT.READY:
            // Detached, berth-init's parent exits as soon as the child is ready: reap it here
            // rather than leave it to whatever adopts orphans.
            if (!opts.foreground) await helper?.exited;
            if (!opts.untilExec) return { pid, helper, timeline };
            ready = true;
            break;
        }
      }
    }
  } finally {
    reader.releaseLock();
    // Bun reads through its own duplicate and never closes this fd: one leaked per container in
    // a long-lived caller (a daemon, the sandbox) otherwise. Nothing is read after READY. A
    // socket handed in (`via`) is its owner's to close (closing it here too could close a
    // reused fd number later).
    if (!opts.via && !opts.holdReportUntilExit) closeSync(sock);
  }
  if (ready) return { pid, helper, timeline };
  const code = helper ? await helper.exited : "unknown: see the monitor's log";
  if (opts.parentOnly && code === 0) return { pid, helper, timeline };
  throw new BerthError("Internal", `berth-init exited (status ${code}) before the container was ready`);
}

/**
 * While a foreground container or exec runs, signals sent to the runtime go to its process
 * (berth-init's parent forwards the terminal's own signals). Returns the function that stops it.
 */
export function forwardSignals(pid: number): () => void {
  const handlers = (["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGWINCH"] as const).map((sig) => {
    const h = () => {
      try {
        process.kill(pid, sig);
      } catch {
        // already gone
      }
    };
    process.on(sig, h);
    return [sig, h] as const;
  });
  return () => {
    for (const [sig, h] of handlers) process.off(sig, h);
  };
}
