// `berth run` flags users reach for, read back from inside real containers: --init, privileges
// and capabilities, seccomp and no-new-privileges, tmpfs and --mount, memory+swap, ulimits,
// env files and labels, stop signal/timeout recorded, version and info.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Cli, BERTH } from "./cli-helpers.ts";

const ready = process.getuid?.() === 0 && existsSync(BERTH) && existsSync("/bin/busybox");
let cli: Cli;
const run = (args: string[]) => cli.ok(["run", "--rm", "--network", "none", ...args]);

beforeAll(async () => {
  cli = new Cli("bt-flags-");
  if (ready) await run(["busybox", "true"]);
});

afterAll(async () => {
  const left = await cli.cleanup();
  expect(left.mounts).toEqual([]);
  expect(left.cgroups).toEqual([]);
});

const capEff = (out: string) => BigInt(`0x${/CapEff:\s+([0-9a-f]+)/.exec(out)![1]}`);
const CAP_NET_ADMIN = 12n, CAP_CHOWN = 0n, CAP_SYS_ADMIN = 21n;
const has = (mask: bigint, cap: bigint) => (mask >> cap) & 1n;

describe.if(ready)("run flags", () => {
  test.if(existsSync("/usr/bin/tini-static"))("--init: tini is PID 1 and reaps; the command is its child", async () => {
    const out = await run(["--init", "busybox", "sh", "-c", "cat /proc/1/cmdline | tr '\\0' ' '; echo; echo $$"]);
    const [pid1, self] = out.split("\n");
    expect(pid1).toBe("/sbin/docker-init -- sh -c cat /proc/1/cmdline | tr '\\0' ' '; echo; echo $$ ");
    expect(Number(self)).toBeGreaterThan(1);
  });

  test("--cap-add, --cap-drop, --privileged are seen in CapEff; a device a privileged container can open", async () => {
    const plain = capEff(await run(["busybox", "grep", "CapEff", "/proc/self/status"]));
    expect(has(plain, CAP_CHOWN)).toBe(1n);
    expect(has(plain, CAP_NET_ADMIN)).toBe(0n);
    const added = capEff(await run(["--cap-add", "NET_ADMIN", "--cap-drop", "chown", "busybox", "grep", "CapEff", "/proc/self/status"]));
    expect([has(added, CAP_NET_ADMIN), has(added, CAP_CHOWN)]).toEqual([1n, 0n]);
    const none = capEff(await run(["--cap-drop", "ALL", "busybox", "grep", "CapEff", "/proc/self/status"]));
    expect(none).toBe(0n);
    const priv = capEff(await run(["--privileged", "busybox", "grep", "CapEff", "/proc/self/status"]));
    expect(has(priv, CAP_SYS_ADMIN)).toBe(1n);
    // Privileged: no seccomp, /sys writable.
    expect(await run(["--privileged", "busybox", "sh", "-c", "grep Seccomp: /proc/self/status; grep ' /sys ' /proc/mounts | cut -d' ' -f4 | cut -d, -f1"])).toBe("Seccomp:\t0\nrw\n");
    expect(await run(["busybox", "sh", "-c", "grep Seccomp: /proc/self/status"])).toBe("Seccomp:\t2\n");
    expect((await cli.run(["run", "--rm", "--cap-add", "FLY", "busybox", "true"])).stderr).toContain("--cap-add FLY: unknown capability");
  });

  test("--security-opt seccomp=unconfined, seccomp=PROFILE, no-new-privileges", async () => {
    expect(await run(["--security-opt", "seccomp=unconfined", "busybox", "grep", "Seccomp:", "/proc/self/status"])).toBe("Seccomp:\t0\n");
    expect(await run(["--security-opt", "no-new-privileges", "busybox", "grep", "NoNewPrivs:", "/proc/self/status"])).toBe("NoNewPrivs:\t1\n");
    const profile = join(cli.dir, "deny-mkdir.json");
    writeFileSync(profile, JSON.stringify({ defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 1 }] }));
    const r = await cli.run(["run", "--rm", "--network", "none", "--security-opt", `seccomp=${profile}`, "busybox", "mkdir", "/x"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("Operation not permitted");
    expect((await cli.run(["run", "--rm", "--security-opt", "apparmorx=1", "busybox", "true"])).code).toBe(125);
  });

  test("--tmpfs and --mount type=tmpfs|bind|volume", async () => {
    expect(await run(["--tmpfs", "/scratch:size=1m,mode=1770", "busybox", "sh", "-c", "grep ' /scratch ' /proc/mounts | cut -d' ' -f3,4; stat -c %a /scratch"]))
      .toMatch(/^tmpfs rw,nosuid,nodev,.*size=1024k,mode=1770.*\n1770\n$/);
    const host = join(cli.dir, "m");
    mkdirSync(host);
    writeFileSync(join(host, "f"), "bound\n");
    expect(await run(["--mount", `type=bind,source=${host},target=/b,readonly`, "busybox", "sh", "-c", "cat /b/f; touch /b/x 2>/dev/null || echo ro"])).toBe("bound\nro\n");
    expect(await run(["--mount", "type=volume,source=mv,target=/v", "busybox", "sh", "-c", "echo kept > /v/f"])).toBe("");
    expect(await run(["--mount", "type=volume,source=mv,target=/v", "busybox", "cat", "/v/f"])).toBe("kept\n");
    const dup = await cli.run(["run", "--rm", "-v", `${host}:/d`, "-v", `${host}:/d`, "busybox", "true"]);
    expect(dup.code).toBe(125);
    expect(dup.stderr).toContain("duplicate mount point: /d");
    await cli.ok(["volume", "rm", "mv"]);
  });

  test("--memory-swap (docker's default: twice --memory), --ulimit, --pids-limit", async () => {
    const memsw = "/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes";
    const r = await run(["-m", "32m", "--ulimit", "nofile=321:654", "busybox", "sh", "-c", `cat /sys/fs/cgroup/memory/memory.limit_in_bytes; (cat ${memsw} 2>/dev/null || echo none); ulimit -Sn; ulimit -Hn`]);
    const [limit, swap, soft, hard] = r.trim().split("\n");
    expect(limit).toBe(String(32 << 20));
    // Swap accounting may be off on this kernel (no memsw file): then only the memory limit applies.
    if (swap !== "none") expect(swap).toBe(String(64 << 20));
    expect([soft, hard]).toEqual(["321", "654"]);
    const bad = await cli.run(["run", "--rm", "-m", "32m", "--memory-swap", "16m", "busybox", "true"]);
    expect(bad.code).toBe(125);
    expect(bad.stderr).toContain("--memory-swap");
  });

  test("--env-file, -e NAME from here, -l labels, --stop-signal and --stop-timeout recorded", async () => {
    const f = join(cli.dir, "env");
    writeFileSync(f, "# a comment\nFROM_FILE=yes\nFROM_HERE\n");
    const r = await cli.run(["run", "--rm", "--network", "none", "--env-file", f, "-e", "ALSO=1", "busybox", "sh", "-c", "echo $FROM_FILE $FROM_HERE $ALSO"], { env: { FROM_HERE: "here" } });
    expect(r.stdout).toBe("yes here 1\n");
    await cli.ok(["create", "--name", "labelled", "-l", "a=1", "-l", "b", "--stop-signal", "SIGINT", "--stop-timeout", "3", "busybox", "true"]);
    expect((await cli.ok(["inspect", "-f", "{{json .Config.Labels}} {{.Config.StopSignal}} {{.Config.StopTimeout}}", "labelled"])).trim()).toBe('{"a":"1","b":""} SIGINT 3');
    await cli.ok(["rm", "labelled"]);
  });

  test("version and info", async () => {
    expect(await cli.ok(["version"])).toMatch(/^Client:\n Version:\s+\d+\.\d+\.\d+/);
    const info = JSON.parse(await cli.ok(["info", "--format", "json"])) as { Driver: string; DockerRootDir: string; CgroupDriver: string };
    expect(info).toMatchObject({ Driver: "overlay", DockerRootDir: cli.root, CgroupDriver: "cgroupfs" });
    expect(await cli.ok(["info"])).toContain(`Berth Root Dir: ${cli.root}`);
  });
});
