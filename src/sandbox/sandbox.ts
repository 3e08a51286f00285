// Sandbox: runs untrusted programs with limits and reports one verdict per run.
//
//   const sandbox = await Sandbox.open();
//   const r = await sandbox.run({ rootfs: "build/busybox/rootfs", argv: ["sh", "-c", "echo hi"], limits: { cpuMs: 1000 } });
//   r.status === "ok"; r.stdout.toString() === "hi\n"; r.cpuMs; r.peakMemoryBytes
//   await sandbox.close();
//
// What one Sandbox holds for its runs, made once: a guard process (guard.ts) that cleans up after
// this process even if it is killed, a state directory the guard owns (rw templates, the seccomp
// agent's socket), the compiled seccomp filters, the host's cgroup layout, an fd of the run's init.
// Runs may go on concurrently; each has its own namespaces, cgroup and tmpfs.
import { closeSync, existsSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomString } from "../sys/digest.ts";
import { failedPrecondition } from "../sys/errdefs.ts";
import { readHostCgroups, type HostCgroups } from "../cgroups/manager.ts";
import type { Seccomp } from "../runtime/spec/types.ts";
import type { CompiledSeccomp } from "../seccomp/compile.ts";
import { Guard, type SeccompReport } from "./guard.ts";
import { sandboxHelperPath } from "./helpers.ts";
import { ownHardLimits, resolveRun, type ResolvedRun } from "./options.ts";
import { ensureTemplate } from "./rootfs.ts";
import { executeRun } from "./run.ts";
import type { SandboxResult, SandboxRunOptions } from "./types.ts";

export interface SandboxOptions {
  /** Where the Sandbox's state directory is made (default the system's temporary directory). */
  readonly stateParent?: string;
  /** Keep compiled seccomp filters here across processes (writable by this user only); default in memory. */
  readonly seccompCacheDir?: string;
}

/** A compiled profile and the names of the syscalls it sends to the guard. */
export interface Filter {
  readonly profile: Seccomp;
  readonly compiled: CompiledSeccomp;
  readonly notified: ReadonlyMap<string, string>;
}

/** What every run of one Sandbox shares (run.ts reads it). */
export interface SandboxShared {
  readonly stateDir: string;
  readonly host: HostCgroups;
  readonly guard: Guard;
  /** O_RDONLY fd of berth-sandbox-init, passed to each run as its fd 3. */
  readonly initFd: number;
  readonly swap: boolean;
  readonly hostHasKcore: boolean;
  filter(choice: ResolvedRun["seccomp"]): Promise<Filter>;
  template(top: string): string;
  /** Route the guard's reports to the runs they are about. */
  watchGuard(run: string, onReport: (r: SeccompReport) => void): () => void;
  drainGuard(): void;
}

export class Sandbox {
  private closed = false;
  private seq = 0;
  private readonly active = new Set<Promise<unknown>>();
  private readonly filters = new Map<string, Promise<Filter>>();
  private readonly watchers = new Map<string, (r: SeccompReport) => void>();
  private readonly hard = ownHardLimits();
  private readonly shared: SandboxShared;

  private constructor(stateDir: string, guard: Guard, initFd: number, private readonly opts: SandboxOptions) {
    const self = this;
    this.shared = {
      stateDir, guard, initFd,
      host: readHostCgroups({}),
      swap: readFileSync("/proc/swaps", "utf8").trim().split("\n").length > 1,
      hostHasKcore: existsSync("/proc/kcore"),
      filter: (c) => self.filter(c),
      template: (top) => ensureTemplate(stateDir, top),
      watchGuard: (run, f) => {
        self.watchers.set(run, f);
        return () => self.watchers.delete(run);
      },
      drainGuard: () => {
        for (const r of guard.drain()) self.watchers.get(r.run)?.(r);
      },
    };
  }

  /** Start the guard and make the state directory. Needs root (namespaces, cgroups, mounts). */
  static async open(o: SandboxOptions = {}): Promise<Sandbox> {
    if (process.geteuid?.() !== 0) throw failedPrecondition("the sandbox needs root: it makes namespaces, cgroups and mounts for each run");
    const stateDir = join(o.stateParent ?? tmpdir(), `berth-sandbox-${process.pid}-${randomString(4)}`);
    // The guard makes the directory, so there is no moment when it exists unguarded.
    const guard = await Guard.start(stateDir);
    let initFd: number;
    try {
      initFd = openSync(sandboxHelperPath("berth-sandbox-init"), "r");
    } catch (e) {
      await guard.close();
      throw e;
    }
    return new Sandbox(stateDir, guard, initFd, o);
  }

  /** The state directory (the guard removes it on close or when this process dies). */
  get stateDir(): string {
    return this.shared.stateDir;
  }

  /** Pid of the guard process. */
  get guardPid(): number {
    return this.shared.guard.pid;
  }

  /**
   * Run one program and wait for its verdict. Bad options throw a BerthError naming the option;
   * a program that cannot be started is status "setup"; everything the program does is a status.
   */
  async run(o: SandboxRunOptions): Promise<SandboxResult> {
    if (this.closed) throw failedPrecondition("this Sandbox is closed: open another");
    const r = resolveRun(o, this.hard);
    const id = `${process.pid.toString(36)}${randomString(3)}-${++this.seq}`;
    const p = executeRun(this.shared, r, id);
    this.active.add(p);
    try {
      return await p;
    } finally {
      this.active.delete(p);
    }
  }

  /** Wait for the runs in progress, stop the guard and remove the state directory. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled([...this.active]);
    closeSync(this.shared.initFd);
    await this.shared.guard.close();
    // The guard removes the state directory as it exits; if it was killed, do it here (nothing is
    // ever mounted there on the host: the runs' mounts live in their own namespaces).
    rmSync(this.shared.stateDir, { recursive: true, force: true });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private filter(choice: ResolvedRun["seccomp"]): Promise<Filter> {
    const key = typeof choice === "string" ? choice : JSON.stringify(choice);
    let f = this.filters.get(key);
    if (!f) {
      f = this.compile(choice);
      this.filters.set(key, f);
      f.catch(() => this.filters.delete(key));
    }
    return f;
  }

  private async compile(choice: ResolvedRun["seccomp"]): Promise<Filter> {
    const { defaultProfile, strictProfile, notifiedNames } = await import("./profiles.ts");
    const sock = join(this.shared.stateDir, "seccomp.sock");
    let profile: Seccomp = choice === "default" ? defaultProfile() : choice === "strict" ? strictProfile(sock) : choice;
    // A custom profile's SCMP_ACT_NOTIFY rules go to the guard too, unless it names its own agent.
    if (typeof choice === "object" && !choice.listenerPath && (choice.syscalls ?? []).some((s) => s.action === "SCMP_ACT_NOTIFY")) profile = { ...choice, listenerPath: sock };
    // The program does not depend on where the listener fd goes: compile with a fixed path, so
    // the disk cache serves every Sandbox's socket.
    const forCompile = profile.listenerPath === sock ? { ...profile, listenerPath: "/berth-sandbox/seccomp.sock" } : profile;
    const compiled = this.opts.seccompCacheDir
      ? (await import("../seccomp/cache.ts")).compileSeccompCached(forCompile, this.opts.seccompCacheDir, "seccomp")
      : (await import("../seccomp/compile.ts")).compileSeccomp(forCompile, "seccomp");
    return { profile, compiled, notified: compiled.notify ? notifiedNames(profile) : new Map() };
  }
}
