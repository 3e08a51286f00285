// The sandbox on the cgroup2-only layout (what modern distributions mount), made on this hybrid
// host in a private mount namespace whose /sys/fs/cgroup is the cgroup2 hierarchy alone
// (DESIGN.md "Peers on this machine"). The runs' cgroups then live in the unified hierarchy
// (this host shows it at /sys/fs/cgroup/unified); CPU time comes from cpu.stat, the kill is
// cgroup.kill. This host's cgroup2 has no memory or pids controller (both are bound to v1), so
// those limits are asked for as 0 — and asking for one is refused, naming the option.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { BUN, TOP, buildAttack, ownRunPrefix, processesNamed, runCgroups, runProcesses } from "../helpers/sandbox.ts";

const tmp = mkdtempSync("/tmp/bt-sandbox-v2-");
const bin = join(tmp, "bin");
const V2_SHELL = "umount -l /sys/fs/cgroup && mount -t cgroup2 none /sys/fs/cgroup && exec \"$@\"";
/** argv, run with /sys/fs/cgroup = cgroup2 only, in a private mount namespace of its own. */
const inV2 = (argv: string[]) => ["unshare", "-m", "--propagation", "private", "sh", "-c", V2_SHELL, "sh", ...argv];

beforeAll(async () => {
  mkdirSync(bin);
  await buildAttack(bin);
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("cgroup2 only", () => {
  const results = new Map<string, Record<string, any>>();
  let driverPid = 0;
  const daemon = `bt2d${process.pid % 10000}`;

  beforeAll(async () => {
    const p = Bun.spawn(inV2([BUN, join(TOP, "tests/fixtures/sandbox/cgroup2-driver.ts"), tmp, bin, daemon]), { stdout: "pipe", stderr: "pipe" });
    driverPid = p.pid;
    const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
    if (code !== 0) throw new Error(`the driver failed (${code}): ${err}`);
    for (const line of out.trim().split("\n")) {
      const v = JSON.parse(line);
      results.set(v.case, v);
    }
  });

  const clean = { cgroups: [], processes: [], mounts: [], stateDir: true };

  test("the driver saw the v2 layout, and every run left nothing", () => {
    expect(results.get("layout")!.layout).toBe("v2");
    for (const name of ["ok", "exit", "time", "wall", "output", "seccomp", "daemon", "loop"]) expect([name, results.get(name)!.left]).toEqual([name, clean]);
    expect(results.get("closed")!.left).toEqual({ ...clean, stateDir: false });
    // Seen from the host: nothing in the unified hierarchy either.
    expect(runCgroups(ownRunPrefix(driverPid))).toEqual([]);
  });

  test("verdicts and accounting from cpu.stat", () => {
    const r = (n: string) => results.get(n)!.result;
    expect(r("ok").status).toBe("ok");
    // The run's cgroup namespace: its own cgroup is "/" (the v1 lines are the caller's, not limited here).
    expect(r("ok").stdout).toMatch(/^hi\n(.*\n)*0::\/\n$/);
    expect(r("exit")).toMatchObject({ status: "exit", exitCode: 7 });
    expect(r("time")).toMatchObject({ status: "time", signal: "SIGKILL" });
    expect(r("time").cpuMs).toBeGreaterThanOrEqual(500);
    expect(r("time").cpuMs).toBeLessThan(525);
    expect(r("wall")).toMatchObject({ status: "wall" });
    expect(r("output")).toMatchObject({ status: "output", outputTruncated: true });
    expect(r("output").stdout.length).toBe(200); // the driver prints the first 200 bytes
    expect(r("seccomp")).toMatchObject({ status: "seccomp", syscall: "mount" });
    expect(r("daemon")).toMatchObject({ status: "ok", stdout: "daemonized\n" });
    expect(processesNamed(daemon)).toEqual([]);
    const self = Number(/cpu_us (\d+)/.exec(r("loop").stdout)![1]) / 1000;
    expect(Math.abs(r("loop").cpuMs - self) / self).toBeLessThan(0.05);
  });

  test("a memory limit this hierarchy cannot enforce is refused, naming the option", () => {
    const e = results.get("memory-refused")!;
    expect(e.error.field).toBe("limits.memoryBytes");
    expect(e.error.message).toMatch(/"memory" controller.*pass limits\.memoryBytes: 0/);
    expect(e.left).toEqual(clean);
  });
});

test("cgroup2 only: kill -9 of the caller mid-run leaves nothing behind", async () => {
  const name = `bt2k${process.pid % 10000}`;
  const caller = Bun.spawn(inV2([BUN, join(TOP, "tests/fixtures/sandbox/caller.ts"), tmp, bin, name, "v2"]), { stdout: "pipe", stderr: "inherit" });
  const reader = caller.stdout.getReader();
  try {
    const { value } = await reader.read();
    const { state, guard } = JSON.parse(new TextDecoder().decode(value)) as { state: string; guard: number };
    const prefix = ownRunPrefix(caller.pid);
    for (const deadline = Date.now() + 10_000; processesNamed(name).length === 0; await Bun.sleep(20)) if (Date.now() > deadline) throw new Error("no daemon");
    expect(runProcesses(prefix).length).toBeGreaterThan(0);
    caller.kill("SIGKILL");
    await caller.exited;
    for (const deadline = Date.now() + 10_000; existsSync(`/proc/${guard}`); await Bun.sleep(20)) if (Date.now() > deadline) throw new Error("the guard did not finish");
    expect(processesNamed(name)).toEqual([]);
    expect(runProcesses(prefix)).toEqual([]);
    expect(runCgroups(prefix)).toEqual([]);
    expect(existsSync(state)).toBe(false);
  } finally {
    caller.kill("SIGKILL");
    reader.releaseLock();
  }
});
