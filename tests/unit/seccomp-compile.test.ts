// compileSeccomp as data: validation errors name their field, the program is whole instructions
// and stable, and — through a small BPF interpreter — it decides what the profile says for given
// syscalls, architectures and arguments. Needs libseccomp.so.2 (no root, nothing loaded).
import { describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import type { Seccomp } from "../../src/runtime/spec/types.ts";
import { compileSeccomp, FILTER_FLAG } from "../../src/seccomp/compile.ts";
import { defaultSeccomp } from "../../src/seccomp/default-profile.ts";
import { enosysStub } from "../../src/seccomp/enosys-stub.ts";
import { apiLevel, libraryVersion } from "../../src/seccomp/libseccomp.ts";
import { BerthError } from "../../src/sys/errdefs.ts";
import { AUDIT, RET, runFilter } from "./seccomp-bpf-vm.ts";

// x86_64 numbers (arch/x86/entry/syscalls/syscall_64.tbl) and a few i386 ones (syscall_32.tbl).
const NR = { getpid: 39, uname: 63, mkdir: 83, personality: 135, mount: 165, unshare: 272, socket: 41, clone: 56, clone3: 435, ptrace: 101, reboot: 169 };
const NR32 = { getpid: 20, mkdir: 39, mount: 21 };
const X32 = 0x40000000;

// The capability set Docker gives a container by default.
const DOCKER_CAPS = [
  "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID",
  "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
];

const onX86_64 = process.arch === "x64";

function fieldOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(BerthError);
    return (e as BerthError).field;
  }
  throw new Error("expected an error");
}

function run(p: Uint8Array, nr: number, args: (number | bigint)[] = [], arch = AUDIT.X86_64): number {
  return runFilter(p, { nr, arch, args: args.map((a) => BigInt(a)) }) >>> 0;
}

describe.if(onX86_64)("default profile", () => {
  const profile = defaultSeccomp(DOCKER_CAPS, { arch: "amd64", kernel: "6.18.0" });
  const c = compileSeccomp(profile);

  test("is whole instructions within the kernel's limit, deny-by-EPERM", () => {
    expect(c.bpf.length % 8).toBe(0);
    expect(c.bpf.length / 8).toBeGreaterThan(100);
    expect(c.bpf.length / 8).toBeLessThanOrEqual(4096);
    expect(c.notify).toBe(false);
    expect(profile.architectures).toEqual(["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]);
    if (apiLevel() >= 4) expect(c.flags).toBe(FILTER_FLAG.SPEC_ALLOW); // runc's default for absent flags
  });

  test("allows ordinary syscalls, denies privileged ones with EPERM", () => {
    expect(run(c.bpf, NR.getpid)).toBe(RET.ALLOW);
    expect(run(c.bpf, NR.mkdir)).toBe(RET.ALLOW);
    expect(run(c.bpf, NR.mount)).toBe(RET.errno(1));
    expect(run(c.bpf, NR.unshare)).toBe(RET.errno(1));
    expect(run(c.bpf, NR.reboot)).toBe(RET.errno(1));
    expect(run(c.bpf, NR.ptrace)).toBe(RET.ALLOW); // minKernel 4.8 rule
  });

  test("argument rules: socket families, personality values, clone namespace flags", () => {
    expect(run(c.bpf, NR.socket, [1])).toBe(RET.ALLOW); // AF_UNIX
    expect(run(c.bpf, NR.socket, [40])).toBe(RET.errno(1)); // AF_VSOCK
    expect(run(c.bpf, NR.socket, [39])).toBe(RET.ALLOW);
    expect(run(c.bpf, NR.personality, [0xffffffff])).toBe(RET.ALLOW);
    expect(run(c.bpf, NR.personality, [0x0400000])).toBe(RET.errno(1)); // READ_IMPLIES_EXEC
    expect(run(c.bpf, NR.clone, [0x11])).toBe(RET.ALLOW);
    expect(run(c.bpf, NR.clone, [0x10000000])).toBe(RET.errno(1)); // CLONE_NEWUSER
    expect(run(c.bpf, NR.clone3)).toBe(RET.errno(38));
  });

  test("syscalls newer than the profile get ENOSYS, older unlisted ones EPERM", () => {
    expect(run(c.bpf, 1000)).toBe(RET.errno(38));
    expect(run(c.bpf, 470)).toBe(RET.errno(38));
    expect(run(c.bpf, 1000 | X32)).toBe(RET.errno(38));
    expect(run(c.bpf, 1000, [], AUDIT.I386)).toBe(RET.errno(38));
    expect(run(c.bpf, NR.mount | X32)).toBe(RET.errno(1));
  });

  test("covers the compatible ABIs", () => {
    expect(run(c.bpf, NR32.getpid, [], AUDIT.I386)).toBe(RET.ALLOW);
    expect(run(c.bpf, NR32.mount, [], AUDIT.I386)).toBe(RET.errno(1));
    expect(run(c.bpf, NR.getpid | X32)).toBe(RET.ALLOW);
    expect(run(c.bpf, NR.getpid, [], AUDIT.AARCH64)).toBe(RET.KILL_THREAD); // foreign arch: libseccomp's bad-arch action
  });

  test("capabilities change the profile as in Docker", () => {
    const admin = compileSeccomp(defaultSeccomp([...DOCKER_CAPS, "SYS_ADMIN"], { arch: "amd64" }));
    expect(run(admin.bpf, NR.mount)).toBe(RET.ALLOW);
    expect(run(admin.bpf, NR.clone, [0x10000000])).toBe(RET.ALLOW);
    expect(run(admin.bpf, NR.clone3)).toBe(RET.ALLOW);
    const boot = compileSeccomp(defaultSeccomp(["CAP_SYS_BOOT"], { arch: "amd64" }));
    expect(run(boot.bpf, NR.reboot)).toBe(RET.ALLOW);
  });
});

describe("defaultSeccomp as data", () => {
  test("resolves architectures and kernel conditions", () => {
    const arm = defaultSeccomp(DOCKER_CAPS, { arch: "arm64", kernel: "6.1.0" });
    const names = (p: Seccomp) => new Set(p.syscalls!.flatMap((s) => s.names));
    expect(arm.architectures).toEqual(["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"]);
    expect(names(arm).has("set_tls")).toBe(true);
    expect(names(arm).has("arch_prctl")).toBe(false);
    const old = defaultSeccomp(DOCKER_CAPS, { arch: "amd64", kernel: "4.4.0" });
    expect(names(old).has("ptrace")).toBe(false);
    expect(names(defaultSeccomp(DOCKER_CAPS, { arch: "amd64", kernel: "4.8.0" })).has("ptrace")).toBe(true);
    const s390 = defaultSeccomp(DOCKER_CAPS, { arch: "s390x" });
    const clone = s390.syscalls!.filter((s) => s.names.includes("clone"));
    expect(clone.map((s) => s.args![0]!.index)).toEqual([1]);
  });
  test("returns a fresh object each time", () => {
    const a = defaultSeccomp([]);
    a.syscalls![0]!.names.push("x");
    expect(defaultSeccomp([]).syscalls![0]!.names).not.toContain("x");
  });
});

describe("small profiles", () => {
  const allowAll = (extra: Partial<Seccomp> = {}): Seccomp => ({ defaultAction: "SCMP_ACT_ALLOW", ...extra });

  test("every action and its errno/message", () => {
    const c = compileSeccomp(allowAll({
      syscalls: [
        { names: ["mkdir"], action: "SCMP_ACT_ERRNO", errnoRet: 38 },
        { names: ["mount"], action: "SCMP_ACT_ERRNO" },
        { names: ["uname"], action: "SCMP_ACT_KILL" },
        { names: ["unshare"], action: "SCMP_ACT_KILL_PROCESS" },
        { names: ["reboot"], action: "SCMP_ACT_TRAP" },
        { names: ["ptrace"], action: "SCMP_ACT_TRACE", errnoRet: 7 },
        { names: ["socket"], action: "SCMP_ACT_LOG" },
        { names: ["clone3"], action: "SCMP_ACT_KILL_THREAD" },
      ],
    }));
    if (onX86_64) {
      expect(run(c.bpf, NR.mkdir)).toBe(RET.errno(38));
      expect(run(c.bpf, NR.mount)).toBe(RET.errno(1));
      expect(run(c.bpf, NR.uname)).toBe(RET.KILL_THREAD);
      expect(run(c.bpf, NR.unshare)).toBe(RET.KILL_PROCESS);
      expect(run(c.bpf, NR.reboot)).toBe(RET.TRAP);
      expect(run(c.bpf, NR.ptrace)).toBe(RET.trace(7));
      expect(run(c.bpf, NR.socket)).toBe(RET.LOG);
      expect(run(c.bpf, NR.getpid)).toBe(RET.ALLOW);
      expect(run(c.bpf, 1000)).toBe(RET.ALLOW); // permissive default: no ENOSYS prologue
    }
  });

  test("defaultErrnoRet, and ENOSYS only above the highest named syscall", () => {
    const c = compileSeccomp({ defaultAction: "SCMP_ACT_ERRNO", defaultErrnoRet: 13, syscalls: [{ names: ["getpid", "mkdir"], action: "SCMP_ACT_ALLOW" }] });
    if (onX86_64) {
      expect(run(c.bpf, NR.getpid)).toBe(RET.ALLOW);
      expect(run(c.bpf, NR.uname)).toBe(RET.errno(13)); // 63 < 83 (mkdir): known to the profile's era
      expect(run(c.bpf, NR.mount)).toBe(RET.errno(38)); // 165 > 83 (mkdir): "newer" → ENOSYS
    }
    const enosysDefault = compileSeccomp({ defaultAction: "SCMP_ACT_ERRNO", defaultErrnoRet: 38, syscalls: [{ names: ["getpid"], action: "SCMP_ACT_ALLOW" }] });
    const plain = compileSeccomp({ defaultAction: "SCMP_ACT_ERRNO", defaultErrnoRet: 1, syscalls: [{ names: ["getpid"], action: "SCMP_ACT_ALLOW" }] });
    expect(enosysDefault.bpf.length).toBeLessThan(plain.bpf.length); // no prologue when ENOSYS is the default anyway
    const kill = compileSeccomp({ defaultAction: "SCMP_ACT_KILL_PROCESS", syscalls: [{ names: ["getpid"], action: "SCMP_ACT_ALLOW" }] });
    if (onX86_64) {
      expect(run(kill.bpf, 2 /* open, below getpid */)).toBe(RET.KILL_PROCESS);
      expect(run(kill.bpf, 1000)).toBe(RET.errno(38)); // as runc: new syscalls get ENOSYS, not a kill
    }
  });

  test("argument comparisons: AND across arguments, one rule each for the same argument (as runc)", () => {
    const and = compileSeccomp(allowAll({
      syscalls: [{ names: ["personality"], action: "SCMP_ACT_ERRNO", errnoRet: 22, args: [{ index: 0, op: "SCMP_CMP_GE", value: 5 }, { index: 1, op: "SCMP_CMP_NE", value: 0 }] }],
    }));
    const or = compileSeccomp(allowAll({
      syscalls: [{ names: ["personality"], action: "SCMP_ACT_ERRNO", errnoRet: 22, args: [{ index: 0, op: "SCMP_CMP_EQ", value: 5 }, { index: 0, op: "SCMP_CMP_EQ", value: 7 }] }],
    }));
    const masked = compileSeccomp(allowAll({
      syscalls: [{ names: ["personality"], action: "SCMP_ACT_ERRNO", errnoRet: 22, args: [{ index: 2, op: "SCMP_CMP_MASKED_EQ", value: 0xf0, valueTwo: 0x30 }] }],
    }));
    const big = compileSeccomp(allowAll({
      syscalls: [{ names: ["personality"], action: "SCMP_ACT_ERRNO", errnoRet: 22, args: [{ index: 0, op: "SCMP_CMP_GT", value: 0x100000000 }] }],
    }));
    if (!onX86_64) return;
    expect(run(and.bpf, NR.personality, [5, 1])).toBe(RET.errno(22));
    expect(run(and.bpf, NR.personality, [5, 0])).toBe(RET.ALLOW);
    expect(run(and.bpf, NR.personality, [4, 1])).toBe(RET.ALLOW);
    expect(run(or.bpf, NR.personality, [5])).toBe(RET.errno(22));
    expect(run(or.bpf, NR.personality, [7])).toBe(RET.errno(22));
    expect(run(or.bpf, NR.personality, [6])).toBe(RET.ALLOW);
    expect(run(masked.bpf, NR.personality, [0, 0, 0x135])).toBe(RET.errno(22));
    expect(run(masked.bpf, NR.personality, [0, 0, 0x145])).toBe(RET.ALLOW);
    expect(run(big.bpf, NR.personality, [0x100000001n])).toBe(RET.errno(22)); // 64-bit comparison
    expect(run(big.bpf, NR.personality, [0xffffffffn])).toBe(RET.ALLOW);
  });

  test("flags, notify and listenerPath", () => {
    expect(compileSeccomp(allowAll({ flags: [] })).flags).toBe(0);
    expect(compileSeccomp(allowAll({ flags: ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_TSYNC"] })).flags).toBe(FILTER_FLAG.LOG | FILTER_FLAG.TSYNC);
    const n = compileSeccomp(allowAll({ flags: [], listenerPath: "/run/agent.sock", syscalls: [{ names: ["mkdir"], action: "SCMP_ACT_NOTIFY" }] }));
    expect(n.notify).toBe(true);
    expect(n.listenerPath).toBe("/run/agent.sock");
    expect(n.flags).toBe(FILTER_FLAG.NEW_LISTENER);
    if (onX86_64) expect(run(n.bpf, NR.mkdir)).toBe(RET.NOTIFY);
    const w = compileSeccomp(allowAll({ flags: ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", "SECCOMP_FILTER_FLAG_TSYNC"], listenerPath: "/x", syscalls: [{ names: ["mkdir"], action: "SCMP_ACT_NOTIFY" }] }));
    expect(w.flags).toBe(FILTER_FLAG.WAIT_KILLABLE_RECV | FILTER_FLAG.TSYNC | FILTER_FLAG.NEW_LISTENER | FILTER_FLAG.TSYNC_ESRCH);
  });

  test("unknown syscall names are skipped and reported; rules equal to the default are skipped", () => {
    const c = compileSeccomp({ defaultAction: "SCMP_ACT_ERRNO", syscalls: [{ names: ["getpid", "no_such_syscall_xyz"], action: "SCMP_ACT_ALLOW" }] });
    expect(c.unknownSyscalls).toEqual(["no_such_syscall_xyz"]);
    const base = compileSeccomp(allowAll({ syscalls: [{ names: ["mkdir"], action: "SCMP_ACT_ERRNO" }] }));
    const redundant = compileSeccomp(allowAll({ syscalls: [{ names: ["mkdir"], action: "SCMP_ACT_ERRNO" }, { names: ["getpid"], action: "SCMP_ACT_ALLOW" }] }));
    expect(Buffer.from(redundant.bpf).equals(Buffer.from(base.bpf))).toBe(true);
    // A syscall of another architecture only (socketcall is i386's) is kept, not "unknown".
    expect(compileSeccomp(allowAll({ architectures: ["SCMP_ARCH_X86"], syscalls: [{ names: ["socketcall"], action: "SCMP_ACT_ERRNO" }] })).unknownSyscalls).toEqual([]);
  });

  test("two unconditional rules for one syscall: the first wins (libseccomp, so runc too)", () => {
    const s: Seccomp = { defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["mkdir"], action: "SCMP_ACT_ERRNO" }, { names: ["mkdir"], action: "SCMP_ACT_KILL" }] };
    if (onX86_64) expect(run(compileSeccomp(s).bpf, NR.mkdir)).toBe(RET.errno(1));
  });
  test("the program for a fixed profile is stable", () => {
    const p: Seccomp = {
      defaultAction: "SCMP_ACT_ERRNO",
      architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
      flags: [],
      syscalls: [
        { names: ["read", "write", "exit_group", "getpid"], action: "SCMP_ACT_ALLOW" },
        { names: ["personality"], action: "SCMP_ACT_ALLOW", args: [{ index: 0, op: "SCMP_CMP_EQ", value: 0 }] },
        { names: ["mkdir"], action: "SCMP_ACT_ERRNO", errnoRet: 38 },
      ],
    };
    const a = compileSeccomp(p);
    const b = compileSeccomp(structuredClone(p));
    expect(Buffer.from(a.bpf).equals(Buffer.from(b.bpf))).toBe(true);
    if (onX86_64) {
      expect(run(a.bpf, NR.getpid)).toBe(RET.ALLOW);
      expect(run(a.bpf, NR.personality, [0])).toBe(RET.ALLOW);
      expect(run(a.bpf, NR.personality, [1])).toBe(RET.errno(1));
      expect(run(a.bpf, NR.mkdir)).toBe(RET.errno(38));
      expect(run(a.bpf, 1000)).toBe(RET.errno(38));
      expect(run(a.bpf, NR32.getpid, [], AUDIT.I386)).toBe(RET.ALLOW);
      expect(run(a.bpf, NR.getpid | X32)).toBe(RET.KILL_THREAD); // x32 not in the list: bad-arch action
    }
    const sha = createHash("sha256").update(a.bpf).digest("hex");
    // Pinned for the libseccomp this machine has; another version may lay the program out otherwise.
    if (onX86_64 && libraryVersion() === "2.5.4") expect(sha).toBe(GOLDEN_2_5_4);
  });
});

const GOLDEN_2_5_4 = "11236520c0cc61144d07a879d550ea9b97d6395017b988ccc8ef28ba8b307ca7";

describe("errors name the field", () => {
  const base = (): Seccomp => ({
    defaultAction: "SCMP_ACT_ERRNO",
    syscalls: [
      { names: ["read"], action: "SCMP_ACT_ALLOW" },
      { names: ["write"], action: "SCMP_ACT_ALLOW" },
      { names: ["getpid"], action: "SCMP_ACT_ALLOW" },
      { names: ["mkdir"], action: "SCMP_ACT_ERRNO" },
    ],
  });
  test.each<[string, (s: Seccomp) => void, string]>([
    ["unknown default action", (s) => { s.defaultAction = "SCMP_ACT_FOO"; }, "linux.seccomp.defaultAction"],
    ["notify as default", (s) => { s.defaultAction = "SCMP_ACT_NOTIFY"; }, "linux.seccomp.defaultAction"],
    ["bad defaultErrnoRet", (s) => { s.defaultErrnoRet = -1; }, "linux.seccomp.defaultErrnoRet"],
    ["unknown rule action", (s) => { s.syscalls![3]!.action = "SCMP_ACT_MAYBE"; }, "linux.seccomp.syscalls[3].action"],
    ["bad errnoRet", (s) => { s.syscalls![3]!.errnoRet = 70000; }, "linux.seccomp.syscalls[3].errnoRet"],
    ["unknown architecture", (s) => { s.architectures = ["SCMP_ARCH_X86_64", "SCMP_ARCH_VAX"]; }, "linux.seccomp.architectures[1]"],
    ["unknown flag", (s) => { s.flags = ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_FAST"]; }, "linux.seccomp.flags[1]"],
    ["unknown operator", (s) => { s.syscalls![2]!.args = [{ index: 0, op: "SCMP_CMP_ALMOST", value: 1 }]; }, "linux.seccomp.syscalls[2].args[0].op"],
    ["argument index 6", (s) => { s.syscalls![2]!.args = [{ index: 6, op: "SCMP_CMP_EQ", value: 1 }]; }, "linux.seccomp.syscalls[2].args[0].index"],
    ["negative value", (s) => { s.syscalls![2]!.args = [{ index: 0, op: "SCMP_CMP_EQ", value: -1 }]; }, "linux.seccomp.syscalls[2].args[0].value"],
    ["empty names", (s) => { s.syscalls![1]!.names = []; }, "linux.seccomp.syscalls[1].names"],
    ["notify on write", (s) => { s.listenerPath = "/x"; s.syscalls![1]!.action = "SCMP_ACT_NOTIFY"; }, "linux.seccomp.syscalls[1].names"],
    ["notify without listenerPath", (s) => { s.syscalls![3]!.action = "SCMP_ACT_NOTIFY"; }, "linux.seccomp.listenerPath"],
    ["wait-killable without notify", (s) => { s.flags = ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]; }, "linux.seccomp.flags[0]"],
  ])("%s", (_name, mutate, field) => {
    const s = base();
    mutate(s);
    expect(fieldOf(() => compileSeccomp(s))).toBe(field);
  });

  test("the field prefix can be chosen (process.json of exec, a profile file)", () => {
    expect(fieldOf(() => compileSeccomp({ defaultAction: "nope" }, "profile"))).toBe("profile.defaultAction");
  });
});

describe("ENOSYS prologue", () => {
  test("is empty when no architecture has a known syscall", () => {
    expect(enosysStub([], true).length).toBe(0);
    expect(enosysStub([{ token: AUDIT.X86_64, max: 0 }], true).length).toBe(0);
  });
  test("falls through into what follows for known syscalls", () => {
    const allow = new Uint8Array(8);
    new DataView(allow.buffer).setUint16(0, 0x06, true);
    new DataView(allow.buffer).setUint32(4, RET.ALLOW, true);
    const stub = enosysStub([{ token: AUDIT.X86_64, max: 100 }, { token: 0x4000003e, max: 0x40000200 }, { token: AUDIT.I386, max: 50 }], true);
    const prog = new Uint8Array([...stub, ...allow]);
    expect(run(prog, 100)).toBe(RET.ALLOW);
    expect(run(prog, 101)).toBe(RET.errno(38));
    expect(run(prog, 0x40000200)).toBe(RET.ALLOW);
    expect(run(prog, 0x40000201)).toBe(RET.errno(38));
    expect(run(prog, 50, [], AUDIT.I386)).toBe(RET.ALLOW);
    expect(run(prog, 51, [], AUDIT.I386)).toBe(RET.errno(38));
    expect(run(prog, 5000, [], AUDIT.AARCH64)).toBe(RET.ALLOW); // not its business
  });
});
