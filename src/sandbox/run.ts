// One run, start to verdict:
//   1. its config (run-spec.ts), checked by runtime/config.ts; its cgroup, registered with the
//      guard before it is made, then made with the limits;
//   2. the plan (runtime/plan) with the root steps (rootfs.ts), launched with the run's stdio:
//      fd 0 stdin (a file, or an unlinked temp file holding the bytes), 1 and 2 pipes read here
//      with a cap, 3 berth-sandbox-init, 4 the init's status channel;
//   3. watched until the init reports the program's end: CPU time polled from the cgroup (the
//      polls come faster as the limit nears), a wall-time timer, the output caps, the guard's
//      seccomp reports; the first limit passed kills the whole run;
//   4. berth-init's parent exits once the init is gone, which is once the pid namespace is empty:
//      then the cgroup's counters are final. They are read, the cgroup removed, the guard told;
//   5. the verdict (verdict.ts).
import { closeSync, openSync, unlinkSync, writeSync } from "node:fs";
import { join } from "node:path";
import { availableParallelism } from "node:os";
import { BerthError } from "../sys/errdefs.ts";
import { errnoMessage, errnoName } from "../sys/errno.ts";
import { explain } from "../explain/channel.ts";
import { cgroupPlacement, openCgroupManager, type CgroupManager } from "../cgroups/manager.ts";
import { buildConfig } from "../runtime/config.ts";
import { buildPlan } from "../runtime/plan/build.ts";
import { launch, StepError, type Launched, type LaunchStdio } from "../runtime/launch.ts";
import { RunCgroup, type Usage } from "./accounting.ts";
import { CappedOutput } from "./output.ts";
import type { ResolvedRun } from "./options.ts";
import { rootfsSteps, withRootfsSteps } from "./rootfs.ts";
import { cgroupsPathOf, runSpec } from "./run-spec.ts";
import type { SandboxShared } from "./sandbox.ts";
import type { SandboxResult } from "./types.ts";
import { decide, type SandboxAction } from "./verdict.ts";

const CPUS = availableParallelism();
/** From berth-init's READY to the init's "ready": an exec and a write, normally well under 10 ms. */
const STARTUP_MS = 10_000;

/** What the init wrote on its status channel. */
interface InitReport {
  waitStatus?: number;
  execErrno?: number;
}

export async function executeRun(s: SandboxShared, r: ResolvedRun, id: string): Promise<SandboxResult> {
  const filter = await s.filter(r.seccomp);
  const template = s.template(r.lowers[0]!);
  const spec = runSpec(r, { id, template, seccomp: filter.profile, swap: s.swap });
  const config = buildConfig(spec, id, s.stateDir);

  const cg = openCgroupManager({ cgroupsPath: cgroupsPathOf(id), id, host: s.host });
  s.guard.register(id, [...new Set(Object.values(cg.paths))]);
  try {
    cg.create(config.resources);
  } catch (e) {
    s.guard.end(id);
    throw limitError(e);
  }
  try {
    return await launchAndWatch(s, r, id, template, config, cg, filter);
  } finally {
    try {
      cg.destroy();
    } finally {
      s.guard.end(id);
    }
  }
}

/** A limit this host's cgroups cannot enforce: name the sandbox's option, not the OCI field. */
function limitError(e: unknown): unknown {
  if (!(e instanceof BerthError) || !e.field?.startsWith("linux.resources.")) return e;
  const option = e.field.startsWith("linux.resources.memory") ? "limits.memoryBytes" : e.field.startsWith("linux.resources.pids") ? "limits.pids" : undefined;
  if (!option) return e;
  return new BerthError(e.code, `${option}: ${e.message}; pass ${option}: 0 to run without this limit on this host`, option, { cause: e });
}

function stdinFd(s: SandboxShared, r: ResolvedRun, id: string): number | undefined {
  if (r.stdin.kind === "none") return undefined;
  if (r.stdin.kind === "file") return openSync(r.stdin.path, "r");
  // A regular file, not a pipe: the program may seek, and no writer has to keep up with it.
  const path = join(s.stateDir, `stdin-${id}`);
  const fd = openSync(path, "w+", 0o600);
  try {
    unlinkSync(path);
    for (let off = 0; off < r.stdin.bytes.length; ) off += writeSync(fd, r.stdin.bytes, off);
    return openSync(`/proc/self/fd/${fd}`, "r"); // a fresh description: read from offset 0
  } finally {
    closeSync(fd);
  }
}

async function launchAndWatch(
  s: SandboxShared, r: ResolvedRun, id: string, template: string, config: ReturnType<typeof buildConfig>, cg: CgroupManager,
  filter: Awaited<ReturnType<SandboxShared["filter"]>>,
): Promise<SandboxResult> {
  const head = JSON.stringify({ ociVersion: "1.0.2", id, status: "creating", bundle: s.stateDir, pid: 0 });
  const at = head.indexOf('"pid":0') + 6;
  const plan = buildPlan(config, {
    mode: "foreground",
    ...cgroupPlacement(cg),
    cgroupHierarchies: [], // the run mounts no cgroup file system
    preserveFds: 2,
    hookState: [head.slice(0, at), head.slice(at + 1)],
    seccomp: { bpf: filter.compiled.bpf, flags: filter.compiled.flags },
    hostHasKcore: s.hostHasKcore,
    loopbackDown: true, // a judged run gets no network, not even 127.0.0.1
  });
  const steps = withRootfsSteps(plan, rootfsSteps(template, r.lowers, r.tmpfsBytes));

  const acct = new RunCgroup(cg);
  const zero = { cpuNs: 0, wallMs: 0, usage: undefined as Usage | undefined };
  const stdin = stdinFd(s, r, id);
  let launched: Launched;
  try {
    const stdio: LaunchStdio[] = [stdin ?? "ignore", "pipe", "pipe", s.initFd, "pipe"];
    launched = await launch(steps, { stdio, foreground: true, explain: explain.enabled, helper: s.guard.berthInit });
  } catch (e) {
    if (e instanceof StepError) return result(decide(setupFacts(e.message, r)), zero, empty(), empty());
    throw e;
  } finally {
    if (stdin !== undefined) closeSync(stdin);
  }
  const helper = launched.helper!; // launched here, not through a monitor (no `via`)
  const statusFd = (helper.stdio as unknown as (number | null)[])[4]!;
  const status = new InitChannel(statusFd);

  let action: { kind: SandboxAction; detail: string } | undefined;
  let syscall: string | undefined;
  const end = (kind: SandboxAction, detail: string) => {
    if (action) return;
    action = { kind, detail };
    acct.kill(launched.pid);
  };
  const cap = r.limits.outputBytes;
  const stdout = new CappedOutput(helper.stdout as ReadableStream<Uint8Array>, cap, () => end("output", `stdout passed the limit of ${cap} bytes`));
  const stderr = new CappedOutput(helper.stderr as ReadableStream<Uint8Array>, cap, () => end("output", `stderr passed the limit of ${cap} bytes`));
  const unwatch = s.watchGuard(id, (rep) => {
    syscall = filter.notified.get(`${rep.arch}:${rep.nr}`) ?? `syscall ${rep.nr} (arch 0x${rep.arch.toString(16)})`;
    end("seccomp", `the program called ${syscall}, which the seccomp profile forbids`);
  });

  const cpuLimitNs = r.limits.cpuMs * 1e6;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let wall: ReturnType<typeof setTimeout> | undefined;
  const poll = () => {
    s.drainGuard();
    const used = acct.cpuNs();
    if (used >= cpuLimitNs) return end("time", `CPU time ${(used / 1e9).toFixed(3)} s reached the limit of ${(cpuLimitNs / 1e9).toFixed(3)} s`);
    // All CPUs could be busy for the run: the limit cannot be reached before (left / CPUS).
    timer = setTimeout(poll, Math.min(20, Math.max(1, (cpuLimitNs - used) / 1e6 / CPUS / 2)));
  };

  let started = performance.now();
  let endedAt: number;
  let report: InitReport = {};
  let initFailed: string | undefined;
  // The init says "ready" within milliseconds of READY; should it not, end the run rather than wait.
  let startup: ReturnType<typeof setTimeout> | undefined = setTimeout(() => {
    initFailed = `berth-sandbox-init did not start within ${STARTUP_MS} ms`;
    acct.kill(launched.pid);
  }, STARTUP_MS);
  try {
    const first = await status.line();
    clearTimeout(startup);
    startup = undefined;
    if (first === "ready") {
      acct.start();
      status.go();
      started = performance.now();
      timer = setTimeout(poll, 1);
      wall = setTimeout(() => end("wall", `the run took longer than the wall-time limit of ${r.limits.wallMs} ms`), r.limits.wallMs);
      report = await status.report();
    } else {
      initFailed ??= `berth-sandbox-init ended before the program started${first ? ` (${first})` : ""}`;
    }
    endedAt = performance.now();
    // berth-init's parent exits when the init is reaped; the init is reaped when the pid
    // namespace is empty (zap_pid_ns_processes): from here no process of the run is left.
    await helper.exited;
    await Promise.all([stdout.done, stderr.done]);
  } finally {
    clearTimeout(startup);
    clearTimeout(timer);
    clearTimeout(wall);
    status.close();
  }
  s.drainGuard(); // a seccomp report is written before the guard's kill, so it is here by now
  unwatch();
  const usage = acct.usage();
  acct.close();
  const setupError = initFailed ?? (report.execErrno !== undefined ? `exec ${r.argv[0]}: ${errnoMessage(report.execErrno)} (${errnoName(report.execErrno)})` : undefined);
  const facts = {
    ...(setupError !== undefined ? { setupError } : {}),
    ...(action ? { action } : {}),
    ...(syscall ? { syscall } : {}),
    ...(report.waitStatus !== undefined ? { waitStatus: report.waitStatus } : {}),
    cpuNs: usage.cpuNs, cpuLimitNs, oomKills: usage.oomKills, pidsRefused: usage.pidsRefused,
    memoryLimit: r.limits.memoryBytes, pidsLimit: r.limits.pids,
  };
  return result(decide(facts), { cpuNs: usage.cpuNs, wallMs: endedAt - started, usage }, stdout, stderr);
}

function setupFacts(message: string, r: ResolvedRun) {
  return { setupError: message, cpuNs: 0, cpuLimitNs: r.limits.cpuMs * 1e6, oomKills: 0, pidsRefused: 0, memoryLimit: r.limits.memoryBytes, pidsLimit: r.limits.pids };
}

function empty(): { bytes(): Buffer; truncated: boolean } {
  return { bytes: () => Buffer.alloc(0), truncated: false };
}

function result(
  v: ReturnType<typeof decide>, m: { cpuNs: number; wallMs: number; usage: Usage | undefined },
  stdout: { bytes(): Buffer; truncated: boolean }, stderr: { bytes(): Buffer; truncated: boolean },
): SandboxResult {
  return {
    ...v,
    cpuMs: m.cpuNs / 1e6,
    wallMs: m.wallMs,
    peakMemoryBytes: m.usage?.peakBytes ?? 0,
    stdout: stdout.bytes(),
    stderr: stderr.bytes(),
    outputTruncated: stdout.truncated || stderr.truncated,
  };
}

function openReader(fd: number) {
  return Bun.file(fd).stream().getReader();
}

/** The init's status channel (native/berth-sandbox-init.c): lines in, "g" out. */
class InitChannel {
  private readonly reader: ReturnType<typeof openReader>;
  private text = "";
  private eof = false;

  constructor(private readonly fd: number) {
    this.reader = openReader(fd);
  }

  /** The next line, or undefined at end-of-file. */
  async line(): Promise<string | undefined> {
    for (;;) {
      const nl = this.text.indexOf("\n");
      if (nl >= 0) {
        const line = this.text.slice(0, nl);
        this.text = this.text.slice(nl + 1);
        return line;
      }
      if (this.eof) return undefined;
      const { value, done } = await this.reader.read();
      if (done) this.eof = true;
      else this.text += new TextDecoder().decode(value);
    }
  }

  go(): void {
    writeSync(this.fd, "g");
  }

  /** Lines until "exit" (the init exits right after it) or end-of-file. */
  async report(): Promise<InitReport> {
    const out: InitReport = {};
    for (let line = await this.line(); line !== undefined; line = await this.line()) {
      const [kind, a] = line.split(" ");
      if (kind === "exec") out.execErrno = Number(a);
      if (kind === "exit") {
        out.waitStatus = Number(a);
        break;
      }
    }
    return out;
  }

  close(): void {
    this.reader.releaseLock();
    // Bun reads through a duplicate and never closes the fd it handed out.
    closeSync(this.fd);
  }
}
