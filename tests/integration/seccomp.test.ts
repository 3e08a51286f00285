// Compiled seccomp programs loaded into the REAL kernel, with no runtime in between: the fixture
// tests/fixtures/seccomp/probe.c (built here with `cc`) loads the bytes with
// seccomp(SECCOMP_SET_MODE_FILTER) in a child and tries one syscall. No root needed (the probe
// sets no_new_privs). Everything lives in one temp dir, removed at the end; each probe run is a
// process that exits by itself (and is killed by PID on timeout).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { Seccomp } from "../../src/runtime/spec/types.ts";
import { compileSeccomp, FILTER_FLAG, type CompiledSeccomp } from "../../src/seccomp/compile.ts";
import { defaultSeccomp } from "../../src/seccomp/default-profile.ts";

const hasCc = Bun.which("cc") !== null;
const onX86_64 = process.arch === "x64";
let dir = "";
let probe = "";
let seq = 0;

beforeAll(() => {
  if (!hasCc) return;
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "berth-seccomp-"));
  probe = path.join(dir, "probe");
  const src = path.join(import.meta.dir, "../fixtures/seccomp/probe.c");
  const cc = Bun.spawnSync(["cc", "-O2", "-Wall", "-o", probe, src], { stderr: "pipe" });
  if (cc.exitCode !== 0) throw new Error(`cc failed: ${cc.stderr.toString()}`);
});

afterAll(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

interface ProbeResult {
  ret?: number;
  errno?: number;
  signal?: number;
  exit?: number;
  notif?: { nr: number; pidOk: boolean };
  loadErrno?: number;
  raw: string;
}

async function runProbe(c: CompiledSeccomp, op: string, arg?: string): Promise<ProbeResult> {
  const bpfFile = path.join(dir, `prog-${seq++}.bpf`);
  fs.writeFileSync(bpfFile, c.bpf);
  const proc = Bun.spawn([probe, bpfFile, String(c.flags), op, ...(arg === undefined ? [] : [arg])], { stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => process.kill(proc.pid, "SIGKILL"), 5000);
  const [out, err] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  await proc.exited;
  clearTimeout(timer);
  fs.rmSync(bpfFile, { force: true });
  const r: ProbeResult = { raw: out + err };
  const num = (re: RegExp) => {
    const m = out.match(re);
    return m ? Number(m[1]) : undefined;
  };
  const set = <K extends keyof ProbeResult>(k: K, v: ProbeResult[K] | undefined) => {
    if (v !== undefined) r[k] = v;
  };
  set("ret", num(/^ret=(-?\d+)/m));
  set("errno", num(/errno=(\d+)/));
  set("signal", num(/^signal=(\d+)/m));
  set("exit", num(/^exit=(\d+)/m));
  set("loadErrno", num(/^load_errno=(\d+)/m));
  const n = out.match(/^notif nr=(\d+) pid_ok=(\d)/m);
  if (n) r.notif = { nr: Number(n[1]), pidOk: n[2] === "1" };
  return r;
}

const SIGSYS = 31;
const allowAll = (syscalls: Seccomp["syscalls"], extra: Partial<Seccomp> = {}): Seccomp => ({ defaultAction: "SCMP_ACT_ALLOW", syscalls, ...extra });

describe.if(hasCc && onX86_64)("compiled filters in the kernel", () => {
  test("configured errnos deny, other syscalls pass", async () => {
    const c = compileSeccomp(allowAll([
      { names: ["mkdir"], action: "SCMP_ACT_ERRNO", errnoRet: 38 },
      { names: ["rmdir", "mount"], action: "SCMP_ACT_ERRNO" },
    ]));
    const target = path.join(dir, "never-made");
    expect(await runProbe(c, "mkdir", target)).toMatchObject({ ret: -1, errno: 38, exit: 0 });
    expect(fs.existsSync(target)).toBe(false);
    expect(await runProbe(c, "nr", "165")).toMatchObject({ ret: -1, errno: 1 }); // mount → EPERM (default errno)
    const got = await runProbe(c, "getpid");
    expect(got.exit).toBe(0);
    expect(got.ret).toBeGreaterThan(0);
  });

  test("kill actions end the process with SIGSYS; TRAP raises it", async () => {
    for (const action of ["SCMP_ACT_KILL", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_TRAP"]) {
      const c = compileSeccomp(allowAll([{ names: ["uname"], action }]));
      const r = await runProbe(c, "uname");
      expect({ action, signal: r.signal, ret: r.ret }).toEqual({ action, signal: SIGSYS, ret: undefined });
    }
  });

  test("LOG allows; TRACE without a tracer fails with ENOSYS (seccomp(2))", async () => {
    expect(await runProbe(compileSeccomp(allowAll([{ names: ["uname"], action: "SCMP_ACT_LOG" }])), "uname")).toMatchObject({ ret: 0, exit: 0 });
    expect(await runProbe(compileSeccomp(allowAll([{ names: ["uname"], action: "SCMP_ACT_TRACE" }])), "uname")).toMatchObject({ ret: -1, errno: 38 });
  });

  test("argument comparisons, and several on one argument OR'ed as in runc", async () => {
    const c = compileSeccomp(allowAll([
      { names: ["personality"], action: "SCMP_ACT_ERRNO", errnoRet: 22, args: [{ index: 0, op: "SCMP_CMP_EQ", value: 5 }, { index: 0, op: "SCMP_CMP_EQ", value: 7 }] },
      { names: ["socket"], action: "SCMP_ACT_ERRNO", errnoRet: 13, args: [{ index: 0, op: "SCMP_CMP_MASKED_EQ", value: 0xff, valueTwo: 40 }] },
    ]));
    expect(await runProbe(c, "personality", "5")).toMatchObject({ ret: -1, errno: 22 });
    expect(await runProbe(c, "personality", "7")).toMatchObject({ ret: -1, errno: 22 });
    expect((await runProbe(c, "personality", "0xffffffff")).ret).toBeGreaterThanOrEqual(0); // query: allowed
    expect(await runProbe(c, "socket", "40")).toMatchObject({ ret: -1, errno: 13 });
    expect((await runProbe(c, "socket", "1")).ret).toBeGreaterThanOrEqual(0); // AF_UNIX
  });

  test("a restrictive profile answers syscalls newer than it with ENOSYS, older unlisted ones with its errno", async () => {
    // What the probe itself needs after loading: stdio, exit. Highest named: exit_group (231).
    const c = compileSeccomp({
      defaultAction: "SCMP_ACT_ERRNO",
      syscalls: [{ names: ["write", "fstat", "newfstatat", "brk", "mmap", "munmap", "exit", "exit_group", "getpid"], action: "SCMP_ACT_ALLOW" }],
    });
    expect(await runProbe(c, "nr", "83")).toMatchObject({ ret: -1, errno: 1 }); // mkdir: EPERM
    expect(await runProbe(c, "nr", "400")).toMatchObject({ ret: -1, errno: 38 }); // above 231: ENOSYS
    expect(await runProbe(c, "nr", "435")).toMatchObject({ ret: -1, errno: 38 }); // clone3 → glibc falls back to clone
    expect((await runProbe(c, "getpid")).ret).toBeGreaterThan(0);
  });

  test("the default profile: ordinary work passes, namespaces and mounts are refused", async () => {
    const c = compileSeccomp(defaultSeccomp(["CAP_CHOWN", "CAP_SETUID", "CAP_SETGID", "CAP_KILL", "CAP_SYS_CHROOT"]));
    const made = path.join(dir, "made-under-default");
    expect(await runProbe(c, "mkdir", made)).toMatchObject({ ret: 0, exit: 0 });
    expect(fs.existsSync(made)).toBe(true);
    expect(await runProbe(c, "nr", "165")).toMatchObject({ ret: -1, errno: 1 }); // mount
    expect(await runProbe(c, "nr", "272")).toMatchObject({ ret: -1, errno: 1 }); // unshare(0) would succeed unfiltered
    expect(await runProbe(c, "clone", String(0x10000000))).toMatchObject({ ret: -1, errno: 1 }); // CLONE_NEWUSER
    expect(await runProbe(c, "clone", "0")).toMatchObject({ ret: 0, exit: 0 });
    expect(await runProbe(c, "nr", "435")).toMatchObject({ ret: -1, errno: 38 }); // clone3
    expect(await runProbe(c, "socket", "40")).toMatchObject({ ret: -1, errno: 1 }); // AF_VSOCK
    expect(await runProbe(c, "nr", "1000")).toMatchObject({ ret: -1, errno: 38 });
  });

  test("flags reach seccomp(2) and the kernel accepts them", async () => {
    const c = compileSeccomp(allowAll([{ names: ["mkdir"], action: "SCMP_ACT_ERRNO" }], { flags: ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_TSYNC"] }));
    expect(c.flags).toBe(FILTER_FLAG.LOG | FILTER_FLAG.SPEC_ALLOW | FILTER_FLAG.TSYNC);
    expect(await runProbe(c, "mkdir", path.join(dir, "x"))).toMatchObject({ ret: -1, errno: 1, exit: 0 });
  });

  test("SCMP_ACT_NOTIFY: the listener receives the notification and its answer is the result", async () => {
    const c = compileSeccomp(allowAll([{ names: ["mkdir"], action: "SCMP_ACT_NOTIFY" }], { listenerPath: path.join(dir, "agent.sock") }));
    expect(c.notify).toBe(true);
    expect(c.flags & FILTER_FLAG.NEW_LISTENER).toBe(FILTER_FLAG.NEW_LISTENER);
    const target = path.join(dir, "notified");
    const r = await runProbe(c, "notify-mkdir", target);
    expect(r.notif).toEqual({ nr: 83, pidOk: true });
    expect(r.ret).toBe(4242); // the value the listener sent back; mkdir itself never ran
    expect(fs.existsSync(target)).toBe(false);
    // With WAIT_KILLABLE_RECV too (Linux ≥ 5.19).
    const w = compileSeccomp(allowAll([{ names: ["mkdir"], action: "SCMP_ACT_NOTIFY" }], { listenerPath: "/x", flags: ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"] }));
    expect((await runProbe(w, "notify-mkdir", target)).notif).toEqual({ nr: 83, pidOk: true });
  });
});
