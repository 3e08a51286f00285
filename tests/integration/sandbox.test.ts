// The sandbox on this machine's real kernel (root): the judge attacks, each with its verdict and a
// check that the host is as it was; accounting against what the programs and the kernel say.
// Every run's cgroup is a berth-sandbox-* child of this process's own cgroup; the shared lower
// (the busybox bundle) is fingerprinted before and after.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Sandbox, type SandboxResult, type SandboxRunOptions } from "../../src/sandbox/index.ts";
import { BUSYBOX_ROOTFS, buildAttack, fingerprint, leftovers, processesNamed } from "../helpers/sandbox.ts";

const MiB = 1 << 20;
const tmp = mkdtempSync("/tmp/bt-sandbox-");
let sandbox: Sandbox;
let bin: string;
let lowerBefore: string;

beforeAll(async () => {
  mkdirSync(join(tmp, "bin"));
  await buildAttack(join(tmp, "bin"));
  bin = join(tmp, "bin");
  lowerBefore = fingerprint(BUSYBOX_ROOTFS);
  sandbox = await Sandbox.open({ stateParent: tmp });
});

afterEach(() => {
  // After every run: no cgroup, process or mount of it left, and the shared lower untouched.
  expect(leftovers(sandbox.stateDir)).toEqual({ cgroups: [], processes: [], mounts: [], stateDir: true });
});

afterAll(async () => {
  const state = sandbox.stateDir;
  const guard = sandbox.guardPid;
  await sandbox.close();
  expect(existsSync(state)).toBe(false);
  expect(existsSync(`/proc/${guard}`)).toBe(false);
  expect(fingerprint(BUSYBOX_ROOTFS)).toBe(lowerBefore);
  rmSync(tmp, { recursive: true, force: true });
});

/** A run of the attack program (bound read-only at /t) in the busybox root. */
function attack(args: string[], o: Partial<SandboxRunOptions> = {}): Promise<SandboxResult> {
  return sandbox.run({ rootfs: BUSYBOX_ROOTFS, argv: ["/t/attack", ...args], binds: [{ source: bin, target: "/t" }, ...(o.binds ?? [])], ...o });
}
const out = (r: SandboxResult) => r.stdout.toString();

describe("the judge attacks", () => {
  test("fork bomb: pids, and its processes are gone", async () => {
    const r = await attack(["forkbomb"], { limits: { pids: 16 } });
    expect(r).toMatchObject({ status: "pids", exitCode: 3 });
    expect(out(r)).toBe("fork EAGAIN\n");
  });

  test("memory bomb: memory, with the peak at the limit", async () => {
    const r = await attack(["membomb"], { limits: { memoryBytes: 64 * MiB } });
    expect(r).toMatchObject({ status: "memory", signal: "SIGKILL" });
    expect(r.peakMemoryBytes).toBeGreaterThan(0.95 * 64 * MiB);
    expect(r.peakMemoryBytes).toBeLessThanOrEqual(64 * MiB);
  });

  test("busy loop: time, with CPU time within 5 % of the limit", async () => {
    const r = await attack(["spin"], { limits: { cpuMs: 1000 } });
    expect(r).toMatchObject({ status: "time", signal: "SIGKILL" });
    expect(r.cpuMs).toBeGreaterThanOrEqual(1000);
    expect(r.cpuMs).toBeLessThan(1050);
  });

  test("time whether the watch kills the program or it ends first, past the limit", async () => {
    // ~20 ms of shell work against a 5 ms limit: the watch may catch it, or the program may
    // finish between two polls; the verdict is time either way (the cgroup's count decides).
    const r = await sandbox.run({ rootfs: BUSYBOX_ROOTFS, argv: ["sh", "-c", "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done"], limits: { cpuMs: 5 } });
    expect(r.status).toBe("time");
    expect(r.cpuMs).toBeGreaterThanOrEqual(5);
  });

  test("sleep past the wall time: wall", async () => {
    const r = await attack(["sleep", "30"], { limits: { wallMs: 1000 } });
    expect(r).toMatchObject({ status: "wall", signal: "SIGKILL" });
    expect(r.wallMs).toBeGreaterThanOrEqual(1000);
    expect(r.wallMs).toBeLessThan(5000);
    expect(r.cpuMs).toBeLessThan(100);
  });

  test("a flood of output: output, stdout capped at the limit", async () => {
    const r = await attack(["flood"], { limits: { outputBytes: 100_000 } });
    expect(r).toMatchObject({ status: "output", outputTruncated: true, signal: "SIGKILL" });
    expect(r.stdout.length).toBe(100_000);
    expect(r.stdout.every((b) => b === 0x78)).toBe(true);
  });

  test("writes: the read-only root refuses, a writable one keeps them in the run, binds stay read-only", async () => {
    const name = `bt-sandbox-${process.pid}-${Date.now()}`;
    const ro = await attack(["write", `/etc/${name}`], { uid: 0 });
    expect([ro.status, out(ro)]).toEqual(["ok", "write EROFS\n"]);
    const rw = await sandbox.run({ rootfs: BUSYBOX_ROOTFS, argv: ["sh", "-c", `echo x > /etc/${name} && cat /etc/${name} && echo y > /../../tmp/${name} && cat /tmp/${name}`], uid: 0, readOnly: false });
    expect([rw.status, out(rw)]).toEqual(["ok", "x\ny\n"]);
    expect(existsSync(join(BUSYBOX_ROOTFS, "etc", name))).toBe(false);
    expect(existsSync(join("/tmp", name))).toBe(false);
    const bind = await attack(["write", `/t/${name}`], { uid: 0 });
    expect(out(bind)).toBe("write EROFS\n");
    expect(readdirSync(bin)).toEqual(["attack"]);
    // A fresh run sees none of the previous run's writes.
    const next = await sandbox.run({ rootfs: BUSYBOX_ROOTFS, argv: ["sh", "-c", `ls /etc/${name} /tmp/${name} 2>&1; ls /tmp | wc -l`], uid: 0, readOnly: false });
    expect(out(next)).toMatch(/No such file[\s\S]*No such file[\s\S]*\b0\n$/);
  });

  test("a network connect is refused: the run has no interface but a down lo", async () => {
    const server = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {}, open(s) { accepted++; s.end(); } } });
    let accepted = 0;
    try {
      const r = await attack(["connect", "127.0.0.1", String(server.port)]);
      expect([r.status, out(r)]).toEqual(["ok", "connect ENETUNREACH\n"]); // lo stays down (plan option loopbackDown)
      const links = await sandbox.run({ rootfs: BUSYBOX_ROOTFS, argv: ["sh", "-c", "ls /sys/class/net 2>/dev/null; cat /proc/net/dev | tail -n +3 | cut -d: -f1"] });
      expect(out(links).trim()).toBe("lo");
      expect(accepted).toBe(0);
      // The control: with the host's network the same connect reaches the listener.
      const host = await attack(["connect", "127.0.0.1", String(server.port)], { network: true });
      expect(out(host)).toBe("connect ok\n");
      for (let i = 0; i < 100 && accepted === 0; i++) await Bun.sleep(10);
      expect(accepted).toBe(1);
    } finally {
      server.stop(true);
    }
  });

  for (const [what, syscall] of [["ptrace", "ptrace"], ["mount", "mount"], ["unshare", "unshare"], ["kexec", "kexec_load"]] as const) {
    test(`${what}: denied under the default profile, the run killed and the syscall named under strict`, async () => {
      const denied = await attack([what], { uid: 0 });
      expect([denied.status, out(denied)]).toEqual(["ok", `${what} EPERM\n`]);
      const killed = await attack([what], { uid: 0, seccomp: "strict" });
      expect(killed).toMatchObject({ status: "seccomp", syscall, signal: "SIGKILL" });
      expect(out(killed)).toBe("");
    });
  }

  test("a process that forks and daemonizes is killed with the run", async () => {
    const name = `btd${process.pid % 100000}`;
    const r = await attack(["daemon", name]);
    expect([r.status, out(r)]).toEqual(["ok", "daemonized\n"]);
    expect(processesNamed(name)).toEqual([]);
  });

  test("strict lets ordinary programs run (a shell pipeline, forks, pipes, /proc)", async () => {
    const r = await sandbox.run({ rootfs: BUSYBOX_ROOTFS, argv: ["sh", "-c", "echo a b c | tr ' ' '\\n' | sort -r | head -1; cat /proc/self/status | grep -c Name"], seccomp: "strict" });
    expect([r.status, out(r)]).toEqual(["ok", "c\n1\n"]);
  });
});

describe("accounting against what the program and the kernel say", () => {
  test("CPU time of a known loop: within 5 % of the program's own getrusage", async () => {
    const r = await attack(["loop", "200000000"]);
    expect(r.status).toBe("ok");
    const self = Number(/cpu_us (\d+)/.exec(out(r))![1]) / 1000;
    expect(self).toBeGreaterThan(50);
    expect(Math.abs(r.cpuMs - self) / self).toBeLessThan(0.05);
  });

  test("peak memory of an allocation of 64 MiB: within 5 %, and near the kernel's maxrss", async () => {
    const r = await attack(["alloc", "64"], { limits: { memoryBytes: 256 * MiB } });
    expect(r.status).toBe("ok");
    expect(Math.abs(r.peakMemoryBytes - 64 * MiB) / (64 * MiB)).toBeLessThan(0.05);
    const maxrss = Number(/maxrss_kib (\d+)/.exec(out(r))![1]) * 1024;
    expect(Math.abs(r.peakMemoryBytes - maxrss) / maxrss).toBeLessThan(0.05);
  });

  test("setup is not charged: a run of `true` uses milliseconds, not the sandbox's own work", async () => {
    const r = await sandbox.run({ rootfs: BUSYBOX_ROOTFS, argv: ["true"] });
    expect(r.status).toBe("ok");
    expect(r.cpuMs).toBeLessThan(20);
    expect(r.peakMemoryBytes).toBeLessThan(8 * MiB);
  });
});

describe("the program's world", () => {
  test("exit codes and signals are told apart (exit 137 is not SIGKILL)", async () => {
    const exit = await sandbox.run({ rootfs: BUSYBOX_ROOTFS, argv: ["sh", "-c", "exit 137"] });
    expect(exit).toMatchObject({ status: "exit", exitCode: 137 });
    expect(exit.signal).toBeUndefined();
    const sig = await sandbox.run({ rootfs: BUSYBOX_ROOTFS, argv: ["sh", "-c", "kill -KILL $$"] });
    expect(sig).toMatchObject({ status: "signal", signal: "SIGKILL" });
    expect(sig.exitCode).toBeUndefined();
    const segv = await sandbox.run({ rootfs: BUSYBOX_ROOTFS, argv: ["sh", "-c", "kill -SEGV $$"] });
    expect(segv).toMatchObject({ status: "signal", signal: "SIGSEGV" });
  });

  test("a program that is not there is setup, named", async () => {
    const r = await sandbox.run({ rootfs: BUSYBOX_ROOTFS, argv: ["/no/such/program"] });
    expect(r.status).toBe("setup");
    expect(r.message).toBe("exec /no/such/program: no such file or directory (ENOENT)");
    const cwd = await sandbox.run({ rootfs: BUSYBOX_ROOTFS, argv: ["true"], cwd: "/no/such/dir" });
    expect(cwd.status).toBe("setup");
    expect(cwd.message).toMatch(/process\.cwd: chdir\("\/no\/such\/dir"\) failed/);
  });

  test("stdin from bytes and from a file; env, cwd, uid, hostname; pid 1 is the run's init", async () => {
    const file = join(tmp, "input.txt");
    writeFileSync(file, "from a file\n");
    const a = await sandbox.run({ rootfs: BUSYBOX_ROOTFS, argv: ["cat"], stdin: "from bytes\n" });
    const b = await sandbox.run({ rootfs: BUSYBOX_ROOTFS, argv: ["cat"], stdin: { file } });
    expect([out(a), out(b)]).toEqual(["from bytes\n", "from a file\n"]);
    const w = await sandbox.run({ rootfs: BUSYBOX_ROOTFS, argv: ["sh", "-c", "echo $GREETING; pwd; id -u; id -g; hostname; echo $$"], env: { GREETING: "hi" }, cwd: "/tmp", uid: 1234, gid: 4321, hostname: "judge" });
    expect(out(w)).toBe("hi\n/tmp\n1234\n4321\njudge\n2\n");
  });

  test("stderr is kept apart from stdout, each capped", async () => {
    const r = await sandbox.run({ rootfs: BUSYBOX_ROOTFS, argv: ["sh", "-c", "echo out; echo err >&2"] });
    expect([out(r), r.stderr.toString(), r.outputTruncated]).toEqual(["out\n", "err\n", false]);
  });

  test("an image given as layers: the top layer wins, the lower shows through", async () => {
    const top = join(tmp, "layer-top");
    mkdirSync(join(top, "etc"), { recursive: true });
    writeFileSync(join(top, "etc", "motd"), "top layer\n");
    const r = await sandbox.run({ image: { layers: [top, BUSYBOX_ROOTFS] }, argv: ["sh", "-c", "cat /etc/motd; ls /bin/busybox"] });
    expect([r.status, out(r)]).toEqual(["ok", "top layer\n/bin/busybox\n"]);
  });

  test("runs go on concurrently, each in its own cgroup and tmpfs", async () => {
    const rs = await Promise.all([1, 2, 3, 4].map((i) => sandbox.run({ rootfs: BUSYBOX_ROOTFS, argv: ["sh", "-c", `echo ${i} > /tmp/n; sleep 0.2; cat /tmp/n; ls /tmp | wc -l`] })));
    expect(rs.map((r) => out(r))).toEqual(["1\n1\n", "2\n1\n", "3\n1\n", "4\n1\n"]);
  });

  test("bad options throw, naming the option, and leave nothing behind", async () => {
    await expect(sandbox.run({ rootfs: BUSYBOX_ROOTFS, argv: ["true"], limits: { cpuMs: 0 } })).rejects.toMatchObject({ code: "InvalidArgument", field: "limits.cpuMs" });
    await expect(sandbox.run({ rootfs: BUSYBOX_ROOTFS, argv: ["true"], binds: [{ source: join(tmp, "missing"), target: "/x" }] })).rejects.toMatchObject({ field: "binds[0].source" });
  });
});

describe("the guard", () => {
  test("a Sandbox whose guard was killed refuses new runs (cleanup could not be promised) and still closes clean", async () => {
    const other = await Sandbox.open({ stateParent: tmp });
    const ok = await other.run({ rootfs: BUSYBOX_ROOTFS, argv: ["true"] });
    expect(ok.status).toBe("ok");
    process.kill(other.guardPid, "SIGKILL");
    for (let i = 0; i < 200 && existsSync(`/proc/${other.guardPid}/status`) && !/State:\s+Z/.test(await Bun.file(`/proc/${other.guardPid}/status`).text().catch(() => "")); i++) await Bun.sleep(10);
    await expect(other.run({ rootfs: BUSYBOX_ROOTFS, argv: ["true"] })).rejects.toMatchObject({ code: "FailedPrecondition", message: expect.stringMatching(/guard process is gone/) });
    const state = other.stateDir;
    await other.close();
    expect(existsSync(state)).toBe(false);
  });
});
