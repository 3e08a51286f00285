// `berth-runtime exec` into real running containers, checked from inside and against runc.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Harness, leftoverCgroups } from "../lib/runtime.ts";
import type { Spec } from "../../src/runtime/spec/types.ts";

const h = new Harness();
let initPid = 0;

async function start(id: string, edit: (s: Spec) => void = () => {}): Promise<number> {
  const b = h.bundle((s) => {
    s.process!.args = ["sleep", "300"];
    s.hostname = "exec-box";
    edit(s);
  });
  const r = await h.rt(["run", "-d", "--bundle", b, id]);
  expect(r.stderr).toBe("");
  return JSON.parse((await h.rt(["state", id])).stdout).pid;
}

beforeAll(async () => {
  initPid = await start("ex");
});
afterAll(async () => {
  await h.cleanup();
  expect(leftoverCgroups()).toEqual([]);
});

describe("exec joins the container", () => {
  test("namespaces: hostname, pid namespace (init is PID 1), mount namespace, ipc", async () => {
    const r = await h.rt(["exec", "ex", "sh", "-c", "hostname; cat /proc/1/cmdline | tr '\\0' ' '; echo; test -e /work && echo LEAK; for n in ipc net uts; do readlink /proc/self/ns/$n; done"]);
    expect(r.stderr).toBe("");
    const lines = r.stdout.trim().split("\n");
    expect(lines[0]).toBe("exec-box");
    expect(lines[1]!.trim()).toBe("sleep 300");
    expect(r.stdout).not.toContain("LEAK");
    const { readlinkSync } = await import("node:fs");
    for (const [i, ns] of ["ipc", "net", "uts"].entries()) expect(lines[2 + i]).toBe(readlinkSync(`/proc/${initPid}/ns/${ns}`));
  });

  test("cgroup: the process is in the container's cgroups", async () => {
    const r = await h.rt(["exec", "ex", "cat", "/proc/self/cgroup"]);
    expect(r.stdout).toBe(readFileSync(`/proc/${initPid}/cgroup`, "utf8"));
  });

  test("the exit status is the process's", async () => {
    expect((await h.rt(["exec", "ex", "sh", "-c", "exit 42"])).code).toBe(42);
  });

  test("--user, --cwd, --env, --additional-gids, --cap, --no-new-privs", async () => {
    const r = await h.rt(["exec", "--user", "1000:1001", "--cwd", "/tmp", "--env", "FOO=bar", "-g", "7", "--no-new-privs", "ex", "sh", "-c", "id; pwd; echo $FOO; grep -E 'NoNewPrivs' /proc/self/status"]);
    expect(r.stdout).toBe("uid=1000 gid=1001 groups=7\n/tmp\nbar\nNoNewPrivs:\t1\n");
    const caps = await h.rt(["exec", "--cap", "CAP_NET_RAW", "ex", "grep", "CapBnd", "/proc/self/status"]);
    expect(BigInt("0x" + caps.stdout.split("\t")[1]!.trim()) & (1n << 13n)).toBe(1n << 13n);
  });

  test("--process JSON", async () => {
    const dir = h.tmpdir();
    const file = join(dir, "process.json");
    writeFileSync(file, JSON.stringify({ args: ["sh", "-c", "echo $X; ulimit -n"], env: ["X=from-json", "PATH=/bin"], cwd: "/", user: { uid: 0, gid: 0 }, rlimits: [{ type: "RLIMIT_NOFILE", soft: 77, hard: 77 }] }));
    const r = await h.rt(["exec", "--process", file, "ex"]);
    expect(r.stdout).toBe("from-json\n77\n");
  });

  test("--detach with --pid-file: the process runs on in the container", async () => {
    const dir = h.tmpdir();
    const pidFile = join(dir, "p");
    expect((await h.rt(["exec", "-d", "--pid-file", pidFile, "ex", "sleep", "120"])).code).toBe(0);
    const pid = Number(readFileSync(pidFile, "utf8"));
    // The process execs once the runtime has exited (as runc's, whose pid file names runc init
    // until then): the pid is the process's, its program a moment later.
    for (let i = 0; i < 200 && !readFileSync(`/proc/${pid}/cmdline`, "utf8").startsWith("sleep\x00"); i++) await Bun.sleep(5);
    expect(readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\x00")).toEqual(["sleep", "120", ""]);
    expect(readFileSync(`/proc/${pid}/cgroup`, "utf8")).toBe(readFileSync(`/proc/${initPid}/cgroup`, "utf8"));
    process.kill(pid, "SIGKILL");
  });

  test("no host fd reaches the exec'd process", async () => {
    const r = await h.rt(["exec", "ex", "sh", "-c", "ls /proc/self/fd | wc -l"]);
    expect(r.stdout.trim()).toBe("4"); // 0, 1, 2 and ls's own directory fd
  });
});

describe("exec with the container's security settings", () => {
  test("a user namespace container: same uid_map, root inside", async () => {
    await start("ex-userns", (s) => {
      s.linux!.namespaces!.push({ type: "user" });
      s.linux!.uidMappings = [{ containerID: 0, hostID: 200000, size: 65536 }];
      s.linux!.gidMappings = [{ containerID: 0, hostID: 200000, size: 65536 }];
      s.mounts = s.mounts!.filter((m) => m.destination !== "/sys/fs/cgroup").map((m) => (m.destination === "/sys" ? { destination: "/sys", type: "none", source: "/sys", options: ["rbind", "nosuid", "noexec", "nodev", "ro"] } : m));
    });
    const r = await h.rt(["exec", "ex-userns", "sh", "-c", "cat /proc/self/uid_map; id -u"]);
    expect(r.stderr).toBe("");
    expect(r.stdout.replace(/[ \t]+/g, " ").trim()).toBe("0 200000 65536\n0");
    await h.rt(["delete", "-f", "ex-userns"]);
  });

  test("the container's seccomp profile applies to exec too", async () => {
    await start("ex-seccomp", (s) => {
      s.linux!.seccomp = { defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 1 }] };
    });
    const r = await h.rt(["exec", "ex-seccomp", "sh", "-c", "mkdir /tmp/x 2>&1"]);
    expect(r.stdout).toBe("mkdir: can't create directory '/tmp/x': Operation not permitted\n");
    await h.rt(["delete", "-f", "ex-seccomp"]);
  });
});

describe("exec errors", () => {
  test("a missing command is named; nothing is left in the container", async () => {
    const r = await h.rt(["exec", "ex", "no-such-cmd"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('"no-such-cmd": executable file not found in $PATH');
    const ps = await h.rt(["exec", "ex", "ps", "-o", "pid,comm,args"]);
    expect(ps.stdout).toContain("sleep 300");
    expect(ps.stdout).not.toContain("berth");
    expect(ps.stdout).not.toContain("no-such-cmd");
  });

  test("a stopped container, an unknown id, no command", async () => {
    const b = h.bundle((s) => (s.process!.args = ["true"]));
    await h.rt(["run", "--keep", "--bundle", b, "ex-stopped"]);
    const stopped = await h.rt(["exec", "ex-stopped", "true"]);
    expect(stopped.code).toBe(255) // as runc: every exec failure;
    expect(stopped.stderr).toContain("has stopped");
    await h.rt(["delete", "ex-stopped"]);
    expect((await h.rt(["exec", "nope", "true"])).stderr).toContain('container "nope" does not exist');
    expect((await h.rt(["exec", "ex"])).stderr).toContain("give the command to run");
  });
});
