// `berth run` end to end with the compiled CLI, offline, on a fresh --root: the built-in busybox
// is installed on first use; flags are read back from inside the container; exit codes are
// docker's; nothing stays mounted and no cgroup remains after any run.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Cli, BERTH, containerCgroups } from "./cli-helpers.ts";
import { mountsUnder } from "../helpers/leftovers.ts";

const ready = process.getuid?.() === 0 && existsSync(BERTH) && existsSync("/bin/busybox");
let cli: Cli;

beforeAll(() => {
  cli = new Cli();
});

afterAll(async () => {
  const left = await cli.cleanup();
  expect(left.mounts).toEqual([]);
  expect(left.cgroups).toEqual([]);
});

describe.if(ready)("berth run", () => {
  test("run --rm busybox echo hello works on a fresh root, offline, and leaves nothing behind", async () => {
    expect(existsSync(cli.root)).toBe(false);
    const r = await cli.run(["run", "--rm", "busybox", "echo", "hello"]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("hello\n");
    expect(r.code).toBe(0);
    expect((await cli.ok(["images", "--format", "{{.Repository}}:{{.Tag}}"])).trim()).toBe("busybox:latest");
    expect(await cli.ok(["ps", "-a", "-q"])).toBe("");
    expect(mountsUnder(cli.dir)).toEqual([]);
    expect(readdirNames(join(cli.runroot, "containers"))).toEqual([]);
  });

  test("exit codes: the container's status, 127 not found, 125 for berth's own errors", async () => {
    expect((await cli.run(["run", "--rm", "busybox", "sh", "-c", "exit 42"])).code).toBe(42);
    const nf = await cli.run(["run", "--rm", "busybox", "no-such-command"]);
    expect(nf.code).toBe(127);
    expect(nf.stderr).toContain("no-such-command");
    const flag = await cli.run(["run", "--rm", "--no-such-flag", "busybox"]);
    expect(flag.code).toBe(125);
    expect(flag.stderr).toContain("unknown flag: --no-such-flag");
    const d = await cli.run(["run", "-d", "busybox", "true"]);
    expect(d.code).toBe(0);
    expect(d.stdout).toMatch(/^[0-9a-f]{64}\n$/);
    expect((await cli.run(["wait", d.stdout.trim()])).stdout).toBe("0\n");
    expect(await cli.ok(["rm", d.stdout.trim()])).toBe(`${d.stdout.trim()}\n`);
    const img = await cli.run(["run", "--rm", "127.0.0.1:1/nothing/here:1", "true"]);
    expect(img.code).toBe(125);
    expect(img.stderr).toContain("127.0.0.1:1");
    const bad = await cli.run(["run", "--rm", "--memory", "1k", "busybox", "true"]);
    expect(bad.code).toBe(125);
    expect(bad.stderr).toContain("6 MiB");
    expect(await cli.ok(["ps", "-a", "-q"])).toBe("");
  });

  test("--rm: the overlay is volatile while it runs; a --rm container whose start failed can be mounted again (cp, start)", async () => {
    const mi = await cli.ok(["run", "--rm", "--network", "none", "busybox", "cat", "/proc/self/mountinfo"]);
    const root = (text: string) => text.split("\n").find((l) => l.split(" ")[4] === "/");
    expect(root(mi)).toContain("volatile");
    const plain = await cli.ok(["run", "--name", "bt-plain", "--network", "none", "busybox", "cat", "/proc/self/mountinfo"]);
    expect(root(plain)).toContain("overlay");
    expect(root(plain)).not.toContain("volatile");
    await cli.ok(["rm", "bt-plain"]);
    await cli.ok(["create", "--rm", "--name", "bt-vol", "--network", "none", "busybox", "/no-such-file"]);
    expect((await cli.run(["start", "bt-vol"])).code).not.toBe(0);
    const src = join(cli.dir, "vol-hi.txt");
    writeFileSync(src, "hi\n");
    // The kernel refuses a workdir that kept a volatile mount's marker: EINVAL without its removal.
    const cp = await cli.run(["cp", src, "bt-vol:/hi.txt"]);
    expect(cp.stderr).toBe("");
    expect(cp.code).toBe(0);
    expect((await cli.run(["start", "bt-vol"])).stderr).toContain("/no-such-file");
    await cli.ok(["rm", "-f", "bt-vol"]);
    expect(mountsUnder(cli.dir)).toEqual([]);
  });

  test("-e -w -u --hostname and --entrypoint are seen from inside", async () => {
    const r = await cli.run([
      "run", "--rm", "-e", "FOO=bar", "-eBAZ=qux", "-w", "/work/dir", "-u", "nobody", "--hostname", "berth-box", "busybox",
      "sh", "-c", "echo $FOO $BAZ; pwd; id -u; id -g; hostname; cat /etc/hostname; echo $HOME",
    ]);
    expect(r.stderr).toBe("");
    expect(r.stdout.split("\n")).toEqual(["bar qux", "/work/dir", "65534", "65534", "berth-box", "berth-box", "/home", ""]);
    expect((await cli.ok(["run", "--rm", "--entrypoint", "/bin/echo", "busybox", "from", "entrypoint"]))).toBe("from entrypoint\n");
    expect((await cli.ok(["run", "--rm", "-u", "1234:5678", "busybox", "sh", "-c", "id -u; id -g"]))).toBe("1234\n5678\n");
  });

  test("--group-add: image group names and gids join the process's groups, an exec's as another user too; inspect shows them; an unknown name is refused", async () => {
    expect(await cli.ok(["run", "--rm", "--network", "none", "--group-add", "daemon", "--group-add", "4242", "busybox", "id", "-G"])).toBe("0 1 10 4242\n");
    const id = (await cli.ok(["run", "-d", "--network", "none", "--group-add", "4242", "busybox", "sleep", "60"])).trim();
    try {
      expect(await cli.ok(["exec", "-u", "nobody", id, "id", "-G"])).toBe("65534 4242\n");
      expect(await cli.ok(["inspect", "-f", "{{json .HostConfig.GroupAdd}}", id])).toBe('["4242"]\n');
    } finally {
      await cli.ok(["rm", "-f", id]);
    }
    const bad = await cli.run(["run", "--rm", "--network", "none", "--group-add", "nogrp", "busybox", "true"]);
    expect(bad.code).toBe(125);
    expect(bad.stderr).toContain('unable to find group "nogrp" for --group-add');
    expect(await cli.ok(["ps", "-a", "-q"])).toBe("");
  });

  test("--read-only: the root filesystem refuses writes", async () => {
    const r = await cli.ok(["run", "--rm", "--read-only", "busybox", "sh", "-c", "touch /x 2>/dev/null && echo rw || echo ro; cat /etc/hosts | head -1"]);
    expect(r).toBe("ro\n127.0.0.1\tlocalhost\n");
    expect(await cli.ok(["run", "--rm", "busybox", "sh", "-c", "touch /x && echo rw"])).toBe("rw\n");
  });

  test("-v binds a host directory, read-write and :ro", async () => {
    const host = join(cli.dir, "shared");
    mkdirSync(host);
    writeFileSync(join(host, "in.txt"), "from the host\n");
    const r = await cli.ok(["run", "--rm", "-v", `${host}:/data`, "busybox", "sh", "-c", "cat /data/in.txt; echo from the container > /data/out.txt"]);
    expect(r).toBe("from the host\n");
    expect(readFileSync(join(host, "out.txt"), "utf8")).toBe("from the container\n");
    const ro = await cli.ok(["run", "--rm", "-v", `${host}:/data:ro`, "busybox", "sh", "-c", "cat /data/in.txt; touch /data/x 2>/dev/null && echo rw || echo ro"]);
    expect(ro).toBe("from the host\nro\n");
    const missing = await cli.run(["run", "--rm", "-v", `${host}/nope:/data`, "busybox", "true"]);
    expect(missing.code).toBe(125);
    expect(missing.stderr).toContain("does not exist");
  });

  test("--memory, --pids-limit and --cpus are read back from the container's cgroup", async () => {
    const r = await cli.ok([
      "run", "--rm", "--memory", "64m", "--pids-limit", "32", "--cpus", "0.5", "busybox", "sh", "-c",
      "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/cpu/cpu.cfs_quota_us",
    ]);
    expect(r.split("\n")).toEqual([String(64 << 20), "32", "50000", ""]);
    const cpuset = await cli.ok(["run", "--rm", "--network", "none", "--cpuset-cpus", "0", "--cpuset-mems", "0", "busybox", "cat", "/sys/fs/cgroup/cpuset/cpuset.cpus", "/sys/fs/cgroup/cpuset/cpuset.mems"]);
    expect(cpuset).toBe("0\n0\n");
    const cfs = ["/sys/fs/cgroup/cpu/cpu.cfs_period_us", "/sys/fs/cgroup/cpu/cpu.cfs_quota_us"];
    expect(await cli.ok(["run", "--rm", "--network", "none", "--cpu-period", "50000", "--cpu-quota", "25000", "busybox", "cat", ...cfs])).toBe("50000\n25000\n");
    expect(await cli.ok(["run", "--rm", "--network", "none", "--cpu-quota", "30000", "busybox", "cat", ...cfs])).toBe("100000\n30000\n");
    const both = await cli.run(["run", "--rm", "--network", "none", "--cpus", "1", "--cpu-quota", "30000", "busybox", "true"]);
    expect([both.code, both.stderr]).toEqual([125, expect.stringContaining("--cpus and --cpu-period/--cpu-quota cannot both be set")]);
    expect((await cli.run(["run", "--rm", "--network", "none", "--cpu-period", "500", "--cpu-quota", "3000", "busybox", "true"])).stderr).toContain("cpu period 500 µs is outside 1000..1000000");
    const id = (await cli.ok(["create", "--cpuset-mems", "0", "busybox", "true"])).trim();
    expect(await cli.ok(["inspect", "-f", "{{.HostConfig.CpusetMems}}", id])).toBe("0\n");
    await cli.ok(["rm", id]);
  });

  test("--network none has only loopback; host shares the host's interfaces; bridge (the default) has eth0", async () => {
    const none = await cli.ok(["run", "--rm", "--network", "none", "busybox", "sh", "-c", "ls /sys/class/net"]);
    expect(none.split(/\s+/).filter(Boolean)).toEqual(["lo"]);
    const host = await cli.ok(["run", "--rm", "--network", "host", "busybox", "sh", "-c", "ls /sys/class/net | wc -l"]);
    expect(Number(host.trim())).toBeGreaterThan(1);
    const bridge = await cli.ok(["run", "--rm", "busybox", "sh", "-c", "ls /sys/class/net; ip -4 route | grep default"]);
    expect(bridge).toMatch(/^eth0\nlo\ndefault via \d+\.\d+\.\d+\.1 dev eth0/);
  });

  test("stdin: empty without -i, passed through with -i", async () => {
    expect(await cli.ok(["run", "--rm", "busybox", "cat"], { stdin: "ignored\n" })).toBe("");
    expect(await cli.ok(["run", "--rm", "-i", "busybox", "cat"], { stdin: "piped in\n" })).toBe("piped in\n");
  });

  test("ps -a lists a container run without --rm; inspect shows it; rm removes it", async () => {
    expect((await cli.run(["run", "--name", "keeper", "busybox", "sh", "-c", "exit 3"])).code).toBe(3);
    const ps = await cli.ok(["ps", "-a"]);
    const [header, row] = ps.split("\n");
    expect(header).toMatch(/^CONTAINER ID\s+IMAGE\s+COMMAND\s+CREATED\s+STATUS\s+PORTS\s+NAMES$/);
    expect(row).toMatch(/^[0-9a-f]{12}\s+busybox\s+"sh -c exit 3"\s+.+ ago\s+Exited \(3\) .+ ago\s+keeper$/);
    expect(await cli.ok(["ps", "-q"])).toBe("");
    const json = JSON.parse((await cli.ok(["ps", "-a", "--filter", "name=keeper", "--format", "json"])).trim()) as { Names: string; State: string };
    expect(json).toMatchObject({ Names: "keeper", State: "exited" });
    const doc = JSON.parse(await cli.ok(["inspect", "keeper"])) as { Name: string; State: { Status: string; ExitCode: number }; Path: string; Args: string[] }[];
    expect(doc[0]).toMatchObject({ Name: "/keeper", State: { Status: "exited", ExitCode: 3 }, Path: "sh", Args: ["-c", "exit 3"] });
    expect((await cli.ok(["inspect", "-f", "{{.State.ExitCode}} {{.Config.Image}}", "keeper"]))).toBe("3 busybox\n");
    const dup = await cli.run(["run", "--name", "keeper", "busybox", "true"]);
    expect(dup.code).toBe(125);
    expect(dup.stderr).toContain("already in use");
    // An image in use is not removed without -f.
    expect((await cli.run(["rmi", "busybox"])).code).toBe(1);
    expect(await cli.ok(["rm", "keeper"])).toBe("keeper\n");
    expect(await cli.ok(["ps", "-a", "-q"])).toBe("");
    const gone = await cli.run(["rm", "keeper"]);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain("No such container: keeper");
  });

  test("a signal to berth run reaches the container; everything is cleaned up", async () => {
    const p = Bun.spawn(cli.argv(["run", "--rm", "--name", "sig", "busybox", "sh", "-c", "trap 'echo got TERM; exit 143' TERM; echo ready; sleep 30 & wait"]), {
      stdout: "pipe", stderr: "pipe", stdin: "ignore",
    });
    const reader = p.stdout.getReader();
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toBe("ready\n");
    expect((await cli.ok(["ps", "--format", "{{.Names}} {{.State}}"])).trim()).toBe("sig running");
    p.kill("SIGTERM");
    const code = await p.exited;
    let rest = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      rest += new TextDecoder().decode(value);
    }
    expect(rest).toBe("got TERM\n");
    expect(code).toBe(143);
    expect(await cli.ok(["ps", "-a", "-q", "--filter", "name=^sig$"])).toBe("");
    expect(mountsUnder(cli.dir)).toEqual([]);
  });

  test("a berth run killed with SIGKILL leaves its container running under its monitor; rm -f removes its process, cgroup, mount and snapshot", async () => {
    const p = Bun.spawn(cli.argv(["run", "--name", "orphan", "busybox", "sh", "-c", "echo up; sleep 30"]), { stdout: "pipe", stderr: "ignore", stdin: "ignore" });
    await p.stdout.getReader().read();
    p.kill("SIGKILL");
    await p.exited;
    expect((await cli.ok(["ps", "--filter", "name=orphan", "--format", "{{.Names}} {{.State}}"])).trim()).toBe("orphan running");
    const id = (await cli.ok(["inspect", "-f", "{{.Id}}", "orphan"])).trim();
    expect(mountsUnder(cli.dir).length).toBeGreaterThan(0);
    expect(containerCgroups().filter((c) => c.endsWith(id)).length).toBeGreaterThan(0);
    expect(await cli.ok(["rm", "-f", "orphan"])).toBe("orphan\n");
    expect(mountsUnder(cli.dir)).toEqual([]);
    expect(containerCgroups().filter((c) => c.endsWith(id))).toEqual([]);
    expect(readdirNames(join(cli.runroot, "runtime")).filter((n) => !n.startsWith("."))).toEqual([]);
  });

  test("rm -f stops a running container", async () => {
    const p = Bun.spawn(cli.argv(["run", "--name", "victim", "busybox", "sh", "-c", "echo up; sleep 30"]), { stdout: "pipe", stderr: "ignore", stdin: "ignore" });
    await p.stdout.getReader().read();
    const refused = await cli.run(["rm", "victim"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("running");
    expect(await cli.ok(["rm", "-f", "victim"])).toBe("victim\n");
    expect(await p.exited).toBe(137);
    expect(await cli.ok(["ps", "-a", "-q", "--filter", "name=victim"])).toBe("");
    expect(mountsUnder(cli.dir)).toEqual([]);
  });
});

function readdirNames(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
