// The cgroup v2 device program on the REAL kernel (root needed): a `berth-test-*` child of our own
// cgroup on the cgroup2 mount (/sys/fs/cgroup/unified on this hybrid host, which has no
// controllers — device programs attach there all the same). Processes are moved in and try to
// open and mknod devices. Every process is killed by PID and every cgroup removed in afterAll,
// even when a test fails. Other cgroups are never written.
import { afterAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as os from "node:os";
import { posix } from "node:path";
import { addDeviceProgram, attachedDevicePrograms, BpfError, loadDeviceProgram } from "../../src/cgroups/bpf.ts";
import { compileDeviceFilter } from "../../src/cgroups/device-filter.ts";
import { openCgroupManager, type CgroupManager } from "../../src/cgroups/manager.ts";
import { parseMountinfo } from "../../src/cgroups/paths.ts";
import type { LinuxDeviceCgroup } from "../../src/cgroups/resources.ts";
import { BerthError } from "../../src/sys/errdefs.ts";

const isRoot = process.getuid?.() === 0;
const mounts = fs.existsSync("/proc/self/mountinfo") ? parseMountinfo(fs.readFileSync("/proc/self/mountinfo", "utf8")) : [];
const hasV2 = isRoot && mounts.some((m) => m.fsType === "cgroup2");

const managers: CgroupManager[] = [];
const pids: number[] = [];
const tmp = fs.mkdtempSync(posix.join(os.tmpdir(), "berth-devtest-"));

afterAll(() => {
  for (const pid of pids.splice(0)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  for (const m of managers.splice(0)) {
    try {
      m.destroy();
    } catch (e) {
      console.error("cleanup:", e);
    }
  }
  fs.rmSync(tmp, { recursive: true, force: true });
});

function openV2(): CgroupManager {
  const m = openCgroupManager({ id: `berth-test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`, driver: "v2" });
  // Refuse to go anywhere but a berth-test-* child (the machine's hard rule).
  expect(m.paths[""]).toMatch(/^\/sys\/fs\/cgroup\/.*\/?berth-test-[^/]+$/);
  managers.push(m);
  return m;
}

/**
 * One line per check: "name=ok" or "name=<error text>". Each check runs in a subshell so a failed
 * redirection does not end the script; `2>&1` inside captures dash's message.
 */
const PROBE = `
check() { name=$1; shift; if out=$("$@" 2>&1); then echo "$name=ok"; else echo "$name=$out"; fi; }
check null-r sh -c ': </dev/null'
check null-w sh -c ': >/dev/null'
check null-rw sh -c ': <>/dev/null'
check zero-r sh -c ': </dev/zero'
check mknod mknod "$1/node-$$" c 1 5
rm -f "$1/node-$$"
`;

/**
 * Run PROBE in a shell that waits on stdin until it has been moved into `m` (when given), so
 * every open it makes happens inside the cgroup. Returns name → result.
 */
async function probe(m: CgroupManager | undefined): Promise<Record<string, string>> {
  const proc = Bun.spawn(["sh", "-c", `read _go; ${PROBE}`, "probe", tmp], { stdin: "pipe", stdout: "pipe", stderr: "pipe" });
  pids.push(proc.pid);
  if (m) {
    m.addProcess(proc.pid);
    expect(m.processes()).toContain(proc.pid);
  }
  const w = proc.stdin as import("bun").FileSink;
  w.write("go\n");
  await w.end();
  const out = await new Response(proc.stdout as ReadableStream).text();
  const code = await proc.exited;
  expect(code).toBe(0);
  const res: Record<string, string> = {};
  for (const line of out.trim().split("\n")) {
    const i = line.indexOf("=");
    res[line.slice(0, i)] = line.slice(i + 1);
  }
  return res;
}

const EPERM = /Operation not permitted/;
const denyAll: LinuxDeviceCgroup = { allow: false, type: "a", access: "rwm" };
const allowNull: LinuxDeviceCgroup = { allow: true, type: "c", major: 1, minor: 3, access: "rw" };
const allowZero: LinuxDeviceCgroup = { allow: true, type: "c", major: 1, minor: 5, access: "rw" };

describe.skipIf(!hasV2)("cgroup v2 device program on the real kernel", () => {
  test("the verifier accepts the compiled programs; a bad one is refused with its log", () => {
    const lists: LinuxDeviceCgroup[][] = [
      [],
      [denyAll],
      [denyAll, allowNull],
      [
        denyAll,
        { allow: true, type: "c", access: "m" },
        { allow: true, type: "b", access: "m" },
        allowNull,
        allowZero,
        { allow: true, type: "c", major: 136, access: "rwm" },
        { allow: false, type: "c", major: 10, minor: 200, access: "rwm" },
        { allow: true, type: "b", major: 0xfffffff0, minor: 0x80000001, access: "r" },
      ],
    ];
    for (const rules of lists) fs.closeSync(loadDeviceProgram(compileDeviceFilter(rules)));

    // Falls off the end without an exit: the verifier's reason comes back in the error.
    const bad = compileDeviceFilter([]).subarray(0, 8 * 6);
    let err: unknown;
    try {
      fs.closeSync(loadDeviceProgram(bad));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BpfError);
    expect((err as BerthError).field).toBe("linux.resources.devices");
    expect((err as BerthError).message).toContain("verifier log");
  });

  test("deny all + allow c 1:3 rw: /dev/null opens, /dev/zero and mknod are EPERM; update allows 1:5", async () => {
    // Outside any berth cgroup everything works: the control for the denials below.
    const control = await probe(undefined);
    expect(control).toEqual({ "null-r": "ok", "null-w": "ok", "null-rw": "ok", "zero-r": "ok", mknod: "ok" });

    const m = openV2();
    const dir = m.paths[""] as string;
    m.create({ devices: [denyAll, allowNull] });
    expect(m.warnings).toEqual([]);
    const first = attachedDevicePrograms(dir);
    expect(first.length).toBe(1);

    const before = await probe(m);
    expect(before["null-r"]).toBe("ok");
    expect(before["null-w"]).toBe("ok");
    expect(before["null-rw"]).toBe("ok");
    expect(before["zero-r"]).toMatch(EPERM);
    expect(before.mknod).toMatch(EPERM);

    m.update({ devices: [denyAll, allowNull, allowZero] });
    const second = attachedDevicePrograms(dir);
    expect(second.length).toBe(1);
    expect(second[0]).not.toBe(first[0]);

    const after = await probe(m);
    expect(after["null-rw"]).toBe("ok");
    expect(after["zero-r"]).toBe("ok");
    expect(after.mknod).toMatch(EPERM); // 1:5 was allowed rw, not m

    // A re-opened manager (state.json paths, as `berth-runtime update` does) replaces it too.
    const again = openCgroupManager({ id: "x", driver: "v2", paths: { "": dir } });
    again.update({ devices: [denyAll, allowNull] });
    expect(attachedDevicePrograms(dir).length).toBe(1);
    expect((await probe(m))["zero-r"]).toMatch(EPERM);

    m.destroy();
    expect(fs.existsSync(dir)).toBe(false);
  });

  test("two programs on the cgroup: both must allow; an update replaces both with one", async () => {
    const m = openV2();
    const dir = m.paths[""] as string;
    m.create({ devices: [denyAll, allowNull, allowZero] });
    // A second program that denies /dev/zero reads: the stricter answer wins.
    addDeviceProgram(dir, compileDeviceFilter([{ allow: false, type: "c", major: 1, minor: 5, access: "r" }]));
    const two = attachedDevicePrograms(dir);
    expect(two.length).toBe(2);
    const both = await probe(m);
    expect(both["null-rw"]).toBe("ok");
    expect(both["zero-r"]).toMatch(EPERM);

    m.update({ devices: [denyAll, allowNull, allowZero] });
    const one = attachedDevicePrograms(dir);
    expect(one.length).toBe(1);
    expect(two).not.toContain(one[0]);
    expect((await probe(m))["zero-r"]).toBe("ok");
    m.destroy();
    expect(fs.existsSync(dir)).toBe(false);
  });
});
