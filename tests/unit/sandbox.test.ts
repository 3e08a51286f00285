// The sandbox's rules as data: options and their defaults, the verdict's order, the seccomp
// profiles, a run's OCI config and plan. No root, no kernel (libseccomp is only asked for
// syscall numbers).
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DEFAULT_LIMITS, ownHardLimits, resolveRun } from "../../src/sandbox/options.ts";
import { decide, decodeWaitStatus, type RunFacts } from "../../src/sandbox/verdict.ts";
import { defaultProfile, notifiedNames, strictProfile, STRICT_KILL } from "../../src/sandbox/profiles.ts";
import { INIT_EXEC, runSpec } from "../../src/sandbox/run-spec.ts";
import { rootfsSteps, withRootfsSteps } from "../../src/sandbox/rootfs.ts";
import { exitStatusOf } from "../../src/cli/commands/sandbox.ts";
import { buildConfig } from "../../src/runtime/config.ts";
import { buildPlan } from "../../src/runtime/plan/build.ts";
import { RLIMITS } from "../../src/sys/rlimits.ts";
import { BerthError } from "../../src/sys/errdefs.ts";
import type { SandboxResult } from "../../src/sandbox/types.ts";

const dir = mkdtempSync("/tmp/bt-unit-sandbox-");
const rootfs = join(dir, "rootfs");
const template = join(dir, "rw-755-0-0");
for (const d of [rootfs, template, ...["upper", "work", "root", "tmp", "shm"].map((s) => join(template, s))]) mkdirSync(d, { recursive: true });
writeFileSync(join(dir, "input"), "1 2\n");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const HARD = ownHardLimits(`Limit                     Soft Limit           Hard Limit           Units
Max file size             unlimited            unlimited            bytes
Max stack size            8388608              unlimited            bytes
Max open files            1024                 4096                 files
`);
const resolve = (o: Record<string, unknown> = {}) => resolveRun({ rootfs, argv: ["sh"], ...o } as never, HARD);
const errorOf = (f: () => unknown): BerthError => {
  try {
    f();
  } catch (e) {
    if (e instanceof BerthError) return e;
    throw e;
  }
  throw new Error("no error");
};

describe("options", () => {
  test("defaults: every limit, read-only root, no network, nobody, Docker-like seccomp", () => {
    const r = resolve();
    expect(r.limits).toEqual(DEFAULT_LIMITS);
    expect(r).toMatchObject({ readOnly: true, network: false, uid: 65534, gid: 65534, seccomp: "default", cwd: "/", hostname: "sandbox", stdin: { kind: "none" } });
    expect(r.env).toEqual(["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]);
  });

  test("each bad option is named, with what to do", () => {
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{ argv: [] }, "argv", /non-empty list/],
      [{ rootfs: join(dir, "missing") }, "rootfs", /does not exist/],
      [{ rootfs: join(dir, "input") }, "rootfs", /not a directory/],
      [{ rootfs: "/tmp/a,b" }, "rootfs", /overlayfs options/],
      [{ image: { layers: [rootfs] } }, "rootfs", /exactly one of rootfs/],
      [{ limits: { cpuMs: -1 } }, "limits.cpuMs", /positive integer/],
      [{ limits: { cpuMs: 0 } }, "limits.cpuMs", /positive integer, not 0/],
      [{ limits: { bogus: 1 } }, "limits.bogus", /unknown limit/],
      [{ limits: { openFiles: 5000 } }, "limits.openFiles", /above this process's hard limit 4096.*CAP_SYS_RESOURCE/],
      [{ binds: [{ source: join(dir, "nope"), target: "/x" }] }, "binds[0].source", /does not exist/],
      [{ binds: [{ source: rootfs, target: "x" }] }, "binds[0].target", /absolute path/],
      [{ binds: [{ source: rootfs, target: "/a/../b" }] }, "binds[0].target", /without "\.\."/],
      [{ cwd: "tmp" }, "cwd", /absolute/],
      [{ env: { "A=B": "x" } }, "env.A=B", /'='/],
      [{ stdin: { file: join(dir, "nope") } }, "stdin.file", /not a file/],
      [{ tmpfsBytes: 1000 }, "tmpfsBytes", /at least 1 MiB/],
      [{ seccomp: "lax" }, "seccomp", /"default", "strict"/],
      [{ uid: -1 }, "uid", /not a user/],
      [{ hostname: "a b" }, "hostname", /not a host name/],
    ];
    for (const [o, field, msg] of cases) {
      const e = errorOf(() => resolve(o));
      expect([e.code, e.field]).toEqual(["InvalidArgument", field]);
      expect(e.message).toMatch(msg);
    }
  });

  test("memory and pids accept 0 (no limit); stdin as bytes, text or a file; uid sets gid", () => {
    const r = resolve({ limits: { memoryBytes: 0, pids: 0 }, stdin: "hé", uid: 1000 });
    expect([r.limits.memoryBytes, r.limits.pids, r.gid]).toEqual([0, 0, 1000]);
    expect(r.stdin).toEqual({ kind: "bytes", bytes: new TextEncoder().encode("hé") });
    expect(resolve({ stdin: { file: join(dir, "input") } }).stdin).toEqual({ kind: "file", path: join(dir, "input") });
    expect(resolve({ image: { layers: [rootfs, dir] }, rootfs: undefined }).lowers).toEqual([rootfs, dir]);
  });
});

describe("verdict", () => {
  const base: RunFacts = { cpuNs: 1e6, cpuLimitNs: 1e9, oomKills: 0, pidsRefused: 0, memoryLimit: 64 << 20, pidsLimit: 16 };
  const exited = (code: number) => code << 8;
  const killed = (sig: number) => sig;

  test("wait statuses decode as <sys/wait.h> does", () => {
    expect(decodeWaitStatus(exited(137))).toEqual({ exitCode: 137 });
    expect(decodeWaitStatus(killed(9))).toEqual({ signal: 9 });
    expect(decodeWaitStatus(killed(11) | 0x80)).toEqual({ signal: 11 }); // core dumped
    expect(decodeWaitStatus(0x137f)).toBeUndefined(); // stopped
  });

  test("exit 137 and SIGKILL are different verdicts", () => {
    expect(decide({ ...base, waitStatus: exited(137) })).toMatchObject({ status: "exit", exitCode: 137 });
    expect(decide({ ...base, waitStatus: killed(9) })).toMatchObject({ status: "signal", signal: "SIGKILL" });
    expect(decide({ ...base, waitStatus: 0 })).toEqual({ status: "ok", exitCode: 0 });
  });

  test("the order: setup, the sandbox's own action, CPU, SIGSYS, OOM, pids, then the status", () => {
    const all: RunFacts = { ...base, setupError: "exec x: no such file", action: { kind: "wall", detail: "w" }, cpuNs: 2e9, oomKills: 1, pidsRefused: 3, waitStatus: killed(31) };
    expect(decide(all).status).toBe("setup");
    const { setupError: _s, ...noSetup } = all;
    expect(decide(noSetup)).toMatchObject({ status: "wall", signal: "SIGSYS" });
    const { action: _a, ...noAction } = noSetup;
    expect(decide(noAction).status).toBe("time");
    expect(decide({ ...noAction, cpuNs: 1 })).toMatchObject({ status: "seccomp", signal: "SIGSYS" });
    expect(decide({ ...noAction, cpuNs: 1, waitStatus: killed(9) })).toMatchObject({ status: "memory", signal: "SIGKILL" });
    expect(decide({ ...noAction, cpuNs: 1, oomKills: 0, waitStatus: exited(3) })).toMatchObject({ status: "pids", exitCode: 3 });
  });

  test("a run the sandbox killed reports SIGKILL and, for seccomp, the syscall", () => {
    expect(decide({ ...base, action: { kind: "seccomp", detail: "d" }, syscall: "mount" })).toEqual({ status: "seccomp", signal: "SIGKILL", syscall: "mount", message: "d" });
    expect(decide({ ...base, action: { kind: "output", detail: "d" }, waitStatus: 0 })).toMatchObject({ status: "output", exitCode: 0 });
  });

  test("CPU at the limit is time even when the program exited 0 after it", () => {
    expect(decide({ ...base, cpuNs: 1e9, waitStatus: 0 })).toMatchObject({ status: "time", exitCode: 0 });
  });

  test("the CLI's exit status mirrors the verdict", () => {
    const r = (status: SandboxResult["status"], extra: Partial<SandboxResult> = {}) => ({ status, cpuMs: 0, wallMs: 0, peakMemoryBytes: 0, stdout: Buffer.alloc(0), stderr: Buffer.alloc(0), outputTruncated: false, ...extra }) as SandboxResult;
    expect([r("ok"), r("exit", { exitCode: 3 }), r("signal", { signal: "SIGSEGV" }), r("time"), r("wall"), r("memory"), r("output"), r("pids"), r("seccomp"), r("setup")].map(exitStatusOf))
      .toEqual([0, 3, 139, 152, 124, 137, 153, 254, 159, 125]);
  });
});

describe("seccomp profiles", () => {
  test("default refuses ptrace and process_vm_*; strict sends the escape syscalls to the agent", () => {
    const allowed = (p: ReturnType<typeof defaultProfile>) => new Set((p.syscalls ?? []).filter((s) => s.action === "SCMP_ACT_ALLOW").flatMap((s) => s.names));
    const d = defaultProfile();
    expect(d.defaultAction).toBe("SCMP_ACT_ERRNO");
    for (const n of ["ptrace", "process_vm_readv", "process_vm_writev"]) expect(allowed(d).has(n)).toBe(false);
    expect(allowed(d).has("read")).toBe(true);
    const s = strictProfile("/run/x/seccomp.sock");
    expect(s.listenerPath).toBe("/run/x/seccomp.sock");
    const notify = (s.syscalls ?? []).filter((r) => r.action === "SCMP_ACT_NOTIFY");
    expect(notify).toHaveLength(1);
    expect(notify[0]!.names).toEqual([...STRICT_KILL]);
    for (const n of STRICT_KILL) expect(allowed(s).has(n)).toBe(false);
    // The guard must never be asked about the calls that hand it the listener fd.
    expect(STRICT_KILL.includes("write") || STRICT_KILL.includes("sendmsg")).toBe(false);
  });

  test("a notified syscall number maps back to its name on each architecture", () => {
    const m = notifiedNames(strictProfile("/x.sock"));
    const X86_64 = 0xc000003e, I386 = 0x40000003;
    expect(m.get(`${X86_64}:165`)).toBe("mount");
    expect(m.get(`${X86_64}:101`)).toBe("ptrace");
    expect(m.get(`${X86_64}:246`)).toBe("kexec_load");
    expect(m.get(`${X86_64}:${(272 | 0x40000000) >>> 0}`)).toBe("unshare"); // x32
    expect(m.get(`${I386}:26`)).toBe("ptrace");
  });
});

describe("a run's config and plan", () => {
  const seccomp = strictProfile(join(dir, "seccomp.sock"));
  const spec = (o: Record<string, unknown> = {}) => runSpec(resolve({ argv: ["prog", "a b"], binds: [{ source: rootfs, target: "/data", readOnly: false }], ...o }), { id: "r1", template, seccomp, swap: false });

  test("the init from fd 3 runs the program; no capabilities; rlimits from the limits", () => {
    const s = spec({ limits: { cpuMs: 1500, openFiles: 100 } });
    expect(s.process!.args).toEqual([INIT_EXEC, "prog", "a b"]);
    expect(s.process!.noNewPrivileges).toBe(true);
    expect(Object.values(s.process!.capabilities!).every((c) => c!.length === 0)).toBe(true);
    const rl = Object.fromEntries(s.process!.rlimits!.map((r) => [r.type, [r.soft, r.hard]]));
    expect(rl).toEqual({ RLIMIT_CPU: [3, 4], RLIMIT_FSIZE: [DEFAULT_LIMITS.fileSizeBytes, DEFAULT_LIMITS.fileSizeBytes], RLIMIT_NOFILE: [100, 100], RLIMIT_STACK: [DEFAULT_LIMITS.stackBytes, DEFAULT_LIMITS.stackBytes], RLIMIT_CORE: [0, 0] });
    for (const t of Object.keys(rl)) expect(RLIMITS[t]).toBeDefined();
  });

  test("namespaces, a relative cgroup with deny-all devices, memory, pids + 1 for the init", () => {
    const s = spec();
    expect(s.linux!.namespaces!.map((n) => n.type)).toEqual(["pid", "mount", "ipc", "uts", "cgroup", "network"]);
    expect(spec({ network: true }).linux!.namespaces!.map((n) => n.type)).not.toContain("network");
    expect(s.linux!.cgroupsPath).toBe("berth-sandbox-r1");
    expect(s.linux!.resources).toEqual({ devices: [{ allow: false, access: "rwm" }], memory: { limit: DEFAULT_LIMITS.memoryBytes }, pids: { limit: DEFAULT_LIMITS.pids + 1 } });
    expect(runSpec(resolve({ limits: { memoryBytes: 0, pids: 0 } }), { id: "r1", template, seccomp, swap: true }).linux!.resources).toEqual({ devices: [{ allow: false, access: "rwm" }] });
    expect(runSpec(resolve({}), { id: "r1", template, seccomp, swap: true }).linux!.resources!.memory).toEqual({ limit: DEFAULT_LIMITS.memoryBytes, swap: DEFAULT_LIMITS.memoryBytes });
  });

  test("mounts: /proc, /dev, /tmp and /dev/shm from the run's tmpfs, binds nosuid/nodev and ro unless asked", () => {
    const m = spec({ binds: [{ source: rootfs, target: "/ro" }, { source: rootfs, target: "/rw", readOnly: false }] }).mounts!;
    expect(m.map((x) => x.destination)).toEqual(["/proc", "/dev", "/tmp", "/dev/shm", "/ro", "/rw"]);
    expect(m[2]!.source).toBe(join(template, "tmp"));
    expect(m[4]!.options).toEqual(["rbind", "nosuid", "nodev", "rro"]);
    expect(m[5]!.options).toEqual(["rbind", "nosuid", "nodev", "rw"]);
  });

  test("the plan makes the root before it opens it: host '/', tmpfs over the template, overlay on root/", () => {
    const s = spec();
    const config = buildConfig(s, "r1", dir);
    expect(config.seccomp?.listenerMetadata).toBe("r1");
    const plan = buildPlan(config, { mode: "foreground", cgroupProcs: [], cgroupHierarchies: [], preserveFds: 2, hookState: ['{"pid":', "}"], seccomp: { bpf: new Uint8Array(8), flags: 8 } });
    const steps = withRootfsSteps(plan, rootfsSteps(template, [rootfs, dir], 32 << 20));
    const names = steps.map((x) => x.op.name);
    expect(names[0]).toBe("SECCOMP_CONNECT"); // strict: the guard's socket, first
    const at = names.indexOf("OPEN_ROOTFS");
    expect(names.slice(at, at + 4)).toEqual(["OPEN_ROOTFS", "MOUNT", "MOUNT", "OPEN_ROOTFS"]);
    expect(steps[at]!.args).toEqual(["/"]);
    expect(steps[at + 1]!.args.slice(0, 4)).toEqual(["tmpfs", template, "tmpfs", `size=${32 << 20},nr_inodes=8192`]);
    expect(String(steps[at + 2]!.args[3])).toMatch(new RegExp(`^lowerdir=${rootfs}:${dir},upperdir=${template}/upper,workdir=${template}/work`));
    expect(steps[at + 3]!.args).toEqual([join(template, "root")]);
    expect(names).toContain("MOUNT_SETATTR"); // the read-only root
    const close = steps.find((x) => x.op.name === "CLOSE_FDS")!;
    expect(close.args).toEqual([5]); // fds 3 (the init) and 4 (its channel) reach it
  });
});
