// The real docker CLI (28.2, client only) against berthd on a private root: run (foreground,
// -d, --rm, -it through a pty, -i with piped stdin), logs -f, stop with a timeout, restart,
// ps --filter, inspect -f, wait, rm -f, the errors docker gives; nothing left behind.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, statSync } from "node:fs";
import { BERTH } from "./cli-helpers.ts";
import { Berthd, DOCKER } from "./berthd-harness.ts";
import { startRegistry } from "./registry-harness.ts";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const ready = process.getuid?.() === 0 && existsSync(BERTH) && existsSync("/bin/busybox") && DOCKER !== "";
let d: Berthd;

beforeAll(async () => {
  if (!ready) return;
  d = new Berthd();
  await d.start();
});

afterAll(async () => {
  if (!ready) return;
  const left = await d.cleanup();
  expect(left.mounts).toEqual([]);
  expect(left.cgroups).toEqual([]);
});

describe.if(ready)("docker CLI against berthd", () => {
  test("the socket is 0660, /_ping advertises the API version, version and info answer", async () => {
    expect(statSync(d.socket).mode & 0o777).toBe(0o660);
    const r = await d.api("HEAD", "/_ping");
    expect(r.status).toBe(200);
    expect(r.headers.get("api-version")).toBe("1.50");
    expect(await (await d.api("GET", "/_ping")).text()).toBe("OK");
    expect((await d.dockerOk(["version", "--format", "{{.Server.APIVersion}}"])).trim()).toBe("1.50");
    expect((await d.dockerOk(["info", "--format", "{{.Driver}}"])).trim()).toBe("overlay");
    // Any /vX.Y prefix works; docker's error shape for unknown paths and bad JSON.
    expect((await d.api("GET", "/v1.41/version")).status).toBe(200);
    const bad = await d.api("POST", "/v1.50/containers/create", "{not json");
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { message: string }).message).toContain("JSON");
  });

  test("run --rm busybox echo hi; exit codes; stderr apart; errors are docker's", async () => {
    const r = await d.docker(["run", "--rm", "busybox", "echo", "hi"]);
    expect(r).toEqual({ code: 0, stdout: "hi\n", stderr: "" });
    const e = await d.docker(["run", "--rm", "busybox", "sh", "-c", "echo out; echo err >&2; exit 3"]);
    expect(e.code).toBe(3);
    expect(e.stdout).toBe("out\n");
    expect(e.stderr).toBe("err\n");
    const nf = await d.docker(["run", "--rm", "busybox", "no-such-command"]);
    expect(nf.code).toBe(127);
    expect(nf.stderr).toContain("no-such-command");
    expect(await d.dockerOk(["ps", "-aq"])).toBe("");
    const missing = await d.docker(["inspect", "nosuch"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("No such object: nosuch");
    const rm = await d.docker(["rm", "nosuch"]);
    expect(rm.code).toBe(1);
    expect(rm.stderr).toContain("Error response from daemon: No such container: nosuch");
  });

  test("run --group-add, --cpu-period/--cpu-quota, --cpuset-mems (HostConfig): seen inside; inspect shows them", async () => {
    expect(await d.dockerOk(["run", "--rm", "--network", "none", "--group-add", "daemon", "--group-add", "4242", "busybox", "id", "-G"])).toBe("0 1 10 4242\n");
    expect(await d.dockerOk(["run", "--rm", "--network", "none", "--cpu-period", "50000", "--cpu-quota", "25000", "busybox", "cat", "/sys/fs/cgroup/cpu/cpu.cfs_period_us", "/sys/fs/cgroup/cpu/cpu.cfs_quota_us"])).toBe("50000\n25000\n");
    const id = (await d.dockerOk(["create", "--group-add", "4242", "--cpu-period", "50000", "--cpu-quota", "25000", "--cpuset-mems", "0", "busybox", "true"])).trim();
    expect(await d.dockerOk(["inspect", "-f", "{{json .HostConfig.GroupAdd}} {{.HostConfig.CpuPeriod}} {{.HostConfig.CpuQuota}} {{.HostConfig.CpusetMems}}", id])).toBe('["4242"] 50000 25000 0\n');
    await d.dockerOk(["rm", id]);
  });

  test("run -i with piped stdin: the data, then EOF", async () => {
    const r = await d.docker(["run", "-i", "--rm", "busybox", "sh", "-c", "cat; echo done"], { stdin: "piped-data\n" });
    expect(r).toEqual({ code: 0, stdout: "piped-data\ndone\n", stderr: "" });
  });

  test("run --rm -it through a pty: a shell, the terminal's size, its exit code", async () => {
    const p = Bun.spawn(["script", "-qec", "stty rows 30 cols 100; docker run --rm -it busybox sh", "/dev/null"], { stdin: "pipe", stdout: "pipe", stderr: "pipe", env: d.env() });
    let out = "";
    const reading = (async () => {
      const dec = new TextDecoder();
      for await (const ch of p.stdout) out += dec.decode(ch);
    })();
    const until = async (s: string) => {
      for (let i = 0; i < 200 && !out.includes(s); i++) await Bun.sleep(50);
      expect(out).toContain(s);
    };
    await until("# ");
    p.stdin.write("echo tty-$((6*7)); tty; stty size\r");
    await until("tty-42");
    await until("30 100");
    p.stdin.write("exit 7\r");
    p.stdin.end();
    expect(await p.exited).toBe(7);
    await reading;
    expect(out).toContain("/dev/pts/0");
    expect(await d.dockerOk(["ps", "-aq"])).toBe("");
  });

  test("run -d, ps --filter, logs -f, inspect -f, stop -t, restart, wait, rm -f", async () => {
    const id = (await d.dockerOk(["run", "-d", "--name", "web", "-l", "app=web", "busybox", "sh", "-c", "trap 'echo bye; exit 0' TERM; i=0; while true; do echo line $i; i=$((i+1)); sleep 0.1; done"])).trim();
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    expect((await d.dockerOk(["ps", "-q", "--filter", "name=web", "--filter", "status=running"])).trim()).toBe(id.slice(0, 12));
    expect((await d.dockerOk(["ps", "-q", "--filter", "label=app=other"])).trim()).toBe("");
    expect((await d.dockerOk(["ps", "--format", "{{.Names}} {{.Image}} {{.Status}}"])).trim()).toMatch(/^web busybox Up /);
    expect((await d.dockerOk(["inspect", "-f", "{{.State.Status}} {{.Name}} {{.Config.Labels.app}}", id.slice(0, 12)])).trim()).toBe("running /web web");
    // logs -f follows: lines keep coming until we stop reading.
    const f = Bun.spawn([DOCKER, "logs", "-f", "--tail", "1", "web"], { stdout: "pipe", stderr: "pipe", env: d.env() });
    let got = "";
    const rd = (async () => {
      const dec = new TextDecoder();
      for await (const ch of f.stdout) got += dec.decode(ch);
    })();
    for (let i = 0; i < 100 && got.split("\n").length < 6; i++) await Bun.sleep(50);
    f.kill();
    await f.exited;
    await rd;
    const nums = got.trim().split("\n").map((l) => Number(l.replace("line ", "")));
    expect(nums.length).toBeGreaterThanOrEqual(5);
    for (let i = 1; i < nums.length; i++) expect(nums[i]).toBe(nums[i - 1]! + 1);
    const ts = (await d.dockerOk(["logs", "-t", "--tail", "1", "web"])).trim();
    expect(ts).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d+Z line \d+$/);
    // stop: the TERM trap runs (it prints bye and exits 0) well within the timeout.
    const t0 = performance.now();
    expect((await d.dockerOk(["stop", "-t", "5", "web"])).trim()).toBe("web");
    expect(performance.now() - t0).toBeLessThan(4000);
    expect((await d.dockerOk(["logs", "--tail", "1", "web"])).trim()).toBe("bye");
    expect((await d.dockerOk(["inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", "web"])).trim()).toBe("exited 0");
    expect((await d.docker(["stop", "web"])).code).toBe(0); // 304: already stopped counts as done
    expect((await d.dockerOk(["restart", "-t", "1", "web"])).trim()).toBe("web");
    expect((await d.dockerOk(["inspect", "-f", "{{.State.Running}}", "web"])).trim()).toBe("true");
    const rmRunning = await d.docker(["rm", "web"]);
    expect(rmRunning.code).toBe(1);
    expect(rmRunning.stderr).toContain("stop the container before removing or force remove");
    const w = d.docker(["wait", "web"]);
    await Bun.sleep(200);
    await d.dockerOk(["kill", "web"]);
    expect((await w).stdout.trim()).toBe("137");
    expect((await d.dockerOk(["rm", "-f", "web"])).trim()).toBe("web");
    expect(await d.dockerOk(["ps", "-aq"])).toBe("");
  });

  test("name in use is 409, start -a of a created container, rename, rm of a missing one", async () => {
    await d.dockerOk(["create", "--name", "c1", "busybox", "echo", "created-then-started"]);
    const dup = await d.docker(["create", "--name", "c1", "busybox", "true"]);
    expect(dup.code).toBe(1); // docker create's own exit code for a daemon error (run's is 125)
    expect(dup.stderr).toContain('Error response from daemon: the container name "/c1" is already in use');
    const s = await d.docker(["start", "-a", "c1"]);
    expect(s).toEqual({ code: 0, stdout: "created-then-started\n", stderr: "" });
    await d.dockerOk(["rename", "c1", "c2"]);
    expect((await d.dockerOk(["ps", "-a", "--format", "{{.Names}}"])).trim()).toBe("c2");
    expect((await d.dockerOk(["rm", "c2"])).trim()).toBe("c2");
    const gone = await d.docker(["rm", "-f", "c2"]);
    expect(gone.code).toBe(0); // rm -f of a missing container prints the error but succeeds, as docker
  });

  test("pull/push against a local registry, tag, rmi, save/load, history; search and build are refused", async () => {
    const reg = await startRegistry();
    try {
      const pulled = await d.dockerOk(["pull", "busybox"]);
      expect(pulled).toContain("Status:");
      const ref = `${reg.host}/t/bb:1`;
      await d.dockerOk(["tag", "busybox", ref]);
      const pushed = await d.dockerOk(["push", ref]);
      expect(pushed).toMatch(/Pushed/);
      expect(pushed).toMatch(/1: digest: sha256:[0-9a-f]{64} size: \d+/);
      expect((await d.dockerOk(["rmi", ref])).trim()).toBe(`Untagged: ${ref}`);
      const p = await d.dockerOk(["pull", ref]);
      expect(p).toContain(`Status: Downloaded newer image for ${ref}`);
      expect((await d.dockerOk(["run", "--rm", ref, "echo", "from-registry"])).trim()).toBe("from-registry");
      // A missing image: 404 before any stream, so `run` tries the pull and exits 125 with the registry's reason.
      const missing = await d.docker(["run", "--rm", `${reg.host}/t/nothing:1`, "true"]);
      expect(missing.code).toBe(125);
      expect(missing.stderr).toContain("manifest unknown");
      const tar = join(d.cli.dir, "bb.tar");
      await d.dockerOk(["save", "-o", tar, ref]);
      await d.dockerOk(["rmi", ref]);
      expect(await d.dockerOk(["load", "-i", tar])).toContain(`Loaded image: ${ref}`);
      expect((await d.dockerOk(["images", "--format", "{{.Repository}}:{{.Tag}}"])).split("\n").sort().filter(Boolean)).toEqual([`${reg.host}/t/bb:1`, "busybox:latest"]);
      expect(await d.dockerOk(["history", "busybox"])).toContain("IMAGE");
      await d.dockerOk(["rmi", ref]);
      const search = await d.docker(["search", "foo"]);
      expect(search.code).toBe(1);
      expect(search.stderr).toContain("not supported by berth yet");
      const ctx = join(d.cli.dir, "ctx");
      mkdirSync(ctx);
      writeFileSync(join(ctx, "Dockerfile"), "FROM busybox\n");
      const build = await d.docker(["build", ctx], { timeoutMs: 30_000 });
      expect(build.code).not.toBe(0);
    } finally {
      await reg.stop();
    }
  });

  test("a named volume keeps data across containers; a user network resolves names; -p reaches a server", async () => {
    expect((await d.dockerOk(["volume", "create", "v1"])).trim()).toBe("v1");
    await d.dockerOk(["run", "--rm", "-v", "v1:/data", "busybox", "sh", "-c", "echo keep > /data/f"]);
    expect((await d.dockerOk(["run", "--rm", "-v", "v1:/data", "busybox", "cat", "/data/f"])).trim()).toBe("keep");
    expect((await d.dockerOk(["volume", "ls", "-q"])).trim()).toBe("v1");
    expect((await d.dockerOk(["volume", "rm", "v1"])).trim()).toBe("v1");
    const gone = await d.docker(["volume", "inspect", "v1"]);
    expect(gone.code).toBe(1);

    await d.dockerOk(["network", "create", "btn1"]);
    await d.dockerOk(["run", "-d", "--name", "a1", "--network", "btn1", "busybox", "sleep", "60"]);
    const ping = await d.docker(["run", "--rm", "--network", "btn1", "busybox", "ping", "-c1", "-W3", "a1"]);
    expect(ping.code).toBe(0);
    expect(ping.stdout).toContain("1 packets received");
    await d.dockerOk(["rm", "-f", "a1"]);
    await d.dockerOk(["network", "rm", "btn1"]);

    await d.dockerOk(["run", "-d", "--name", "srv", "-p", "127.0.0.1::8080", "busybox", "sh", "-c", "echo hello-http > /tmp/i; exec httpd -f -p 8080 -h /tmp"]);
    const port = (await d.dockerOk(["port", "srv", "8080"])).trim();
    expect(port).toMatch(/^127\.0\.0\.1:\d+$/);
    let body = "";
    for (let i = 0; i < 50 && body === ""; i++) {
      body = await fetch(`http://${port}/i`).then((r) => r.text()).catch(() => "");
      if (!body) await Bun.sleep(100);
    }
    expect(body).toBe("hello-http\n");
    await d.dockerOk(["rm", "-f", "srv"]);
  });

  test("top, pause/unpause, diff, events --since/--until, system df, system prune -f", async () => {
    const since = Math.floor(Date.now() / 1000) - 1;
    await d.dockerOk(["run", "-d", "--name", "t1", "busybox", "sleep", "60"]);
    expect(await d.dockerOk(["top", "t1"])).toContain("sleep 60");
    await d.dockerOk(["pause", "t1"]);
    expect((await d.dockerOk(["ps", "--format", "{{.Status}}"])).trim()).toMatch(/\(Paused\)$/);
    await d.dockerOk(["unpause", "t1"]);
    await d.dockerOk(["rm", "-f", "t1"]);
    await d.dockerOk(["run", "--name", "d1", "busybox", "sh", "-c", "echo x > /newfile; mkdir /tmp/dd"]);
    expect((await d.dockerOk(["diff", "d1"])).trim().split("\n")).toEqual(["A /newfile", "C /tmp", "A /tmp/dd"]);
    const until = Math.ceil(Date.now() / 1000) + 1;
    await Bun.sleep(1100);
    // By its id: docker's container filter also takes any id that starts with the value, and
    // "d1" is hex (t1's, or an earlier test's container, may start with it: 1 in 256 each).
    const d1 = (await d.dockerOk(["inspect", "-f", "{{.Id}}", "d1"])).trim();
    const ev = await d.dockerOk(["events", "--since", String(since), "--until", String(until), "--filter", `container=${d1}`, "--format", "{{.Action}}"]);
    expect(ev.trim().split("\n")).toEqual(["create", "start", "die"]);
    expect(await d.dockerOk(["system", "df"])).toMatch(/Containers\s+1\s+0/);
    const pr = await d.dockerOk(["system", "prune", "-f"]);
    expect(pr).toContain("Total reclaimed space");
    expect(await d.dockerOk(["ps", "-aq"])).toBe("");
  });

  test("exec: output, exit codes, piped stdin, -d, -it through a pty, not found, stopped container; stats --no-stream", async () => {
    await d.dockerOk(["run", "-d", "--name", "x1", "busybox", "sleep", "60"]);
    expect(await d.docker(["exec", "x1", "echo", "x"])).toEqual({ code: 0, stdout: "x\n", stderr: "" });
    expect((await d.docker(["exec", "x1", "sh", "-c", "exit 4"])).code).toBe(4);
    expect((await d.docker(["exec", "-i", "x1", "cat"], { stdin: "in\n" })).stdout).toBe("in\n");
    const nf = await d.docker(["exec", "x1", "nosuch"]);
    expect(nf.code).toBe(127);
    expect(nf.stdout + nf.stderr).toContain("executable file not found");
    await d.dockerOk(["exec", "-d", "x1", "sh", "-c", "echo detached > /tmp/d"]);
    let got = "";
    for (let i = 0; i < 50 && got === ""; i++) {
      got = (await d.docker(["exec", "x1", "cat", "/tmp/d"])).stdout;
      if (!got) await Bun.sleep(50);
    }
    expect(got).toBe("detached\n");
    const p = Bun.spawn(["script", "-qec", "stty rows 30 cols 100; docker exec -it x1 sh", "/dev/null"], { stdin: "pipe", stdout: "pipe", stderr: "pipe", env: d.env() });
    let out = "";
    const reading = (async () => {
      const dec = new TextDecoder();
      for await (const ch of p.stdout) out += dec.decode(ch);
    })();
    for (let i = 0; i < 200 && !out.includes("# "); i++) await Bun.sleep(50);
    p.stdin.write("stty size; echo $((6*7))\r");
    for (let i = 0; i < 200 && !out.includes("42"); i++) await Bun.sleep(50);
    p.stdin.write("exit 5\r");
    p.stdin.end();
    expect(await p.exited).toBe(5);
    await reading;
    expect(out).toContain("30 100");
    const st = await d.dockerOk(["stats", "--no-stream", "--format", "{{.Name}} {{.PIDs}}"]);
    expect(st.trim()).toMatch(/^x1 [1-9]\d*$/); // the sleep, and an exec session that is still ending
    await d.dockerOk(["stop", "-t", "0", "x1"]);
    const stopped = await d.docker(["exec", "x1", "true"]);
    expect(stopped.code).toBe(1);
    expect(stopped.stderr).toContain("is not running");
    await d.dockerOk(["rm", "x1"]);
  });

  test("the typed stop record: OOMKilled and the oom event; --stop-signal; a pinned DOCKER_API_VERSION", async () => {
    const since = Math.floor(Date.now() / 1000) - 1;
    const r = await d.docker(["run", "--name", "oomer", "-m", "8m", "--memory-swap", "8m", "--network", "none", "busybox", "sh", "-c", "a=$(head -c 40000000 /dev/zero | tr '\\0' a); echo survived"]);
    expect(r.code).toBe(137);
    expect(r.stdout).toBe("");
    expect((await d.dockerOk(["inspect", "-f", "{{.State.OOMKilled}} {{.State.ExitCode}}", "oomer"])).trim()).toBe("true 137");
    const ev = await d.dockerOk(["events", "--since", String(since), "--until", String(Math.ceil(Date.now() / 1000) + 1), "--filter", "container=oomer", "--filter", "event=oom", "--format", "{{.Action}}"]);
    expect(ev.trim()).toBe("oom");
    await d.dockerOk(["rm", "oomer"]);
    // The stop signal a container asked for is what stop sends (its trap answers, well before the timeout).
    await d.dockerOk(["run", "-d", "--name", "sig", "--stop-signal", "USR1", "busybox", "sh", "-c", "trap 'echo got-usr1; exit 0' USR1; while true; do sleep 0.1; done"]);
    expect((await d.dockerOk(["inspect", "-f", "{{.Config.StopSignal}}", "sig"])).trim()).toBe("SIGUSR1");
    await d.dockerOk(["stop", "-t", "10", "sig"]);
    expect((await d.dockerOk(["logs", "sig"])).trim()).toBe("got-usr1");
    expect((await d.dockerOk(["inspect", "-f", "{{.State.ExitCode}}", "sig"])).trim()).toBe("0");
    await d.dockerOk(["rm", "sig"]);
    const pinned = Bun.spawn([DOCKER, "ps", "-a", "-q"], { stdout: "pipe", stderr: "pipe", env: { ...d.env(), DOCKER_API_VERSION: "1.41" } });
    expect(await pinned.exited).toBe(0);
  });

  test("cp both ways, a file and a directory, into a running and out of a stopped container", async () => {
    const host = join(d.cli.dir, "cp");
    mkdirSync(join(host, "tree", "sub"), { recursive: true });
    writeFileSync(join(host, "in.txt"), "hello-in\n");
    writeFileSync(join(host, "tree", "sub", "f"), "deep\n");
    await d.dockerOk(["run", "-d", "--name", "cp1", "busybox", "sleep", "60"]);
    await d.dockerOk(["cp", join(host, "in.txt"), "cp1:/tmp/"]);
    await d.dockerOk(["cp", join(host, "tree"), "cp1:/tmp/tree2"]);
    expect((await d.dockerOk(["exec", "cp1", "cat", "/tmp/in.txt", "/tmp/tree2/sub/f"]))).toBe("hello-in\ndeep\n");
    await d.dockerOk(["cp", "cp1:/etc/hostname", join(host, "hostname")]);
    expect((await Bun.file(join(host, "hostname")).text()).trim()).toMatch(/^[0-9a-f]{12}$/);
    await d.dockerOk(["stop", "-t", "0", "cp1"]);
    await d.dockerOk(["cp", "cp1:/tmp/tree2", join(host, "back")]);
    expect(await Bun.file(join(host, "back", "sub", "f")).text()).toBe("deep\n");
    const missing = await d.docker(["cp", "cp1:/nope", join(host, "x")]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("Could not find the file /nope in container cp1");
    await d.dockerOk(["rm", "cp1"]);
  });

  // As under dockerd: the slow reader blocks the docker CLI, berthd (its socket is full: it pauses
  // the monitor connection), the monitor (it stops reading the container's pipe), then head.
  test("a slow reader of docker run and docker exec still gets every byte", async () => {
    const slow = async (cmd: string) => {
      const p = Bun.spawn(["sh", "-c", `${cmd} | (sleep 2; wc -c)`], { stdout: "pipe", stderr: "pipe", env: d.env() });
      const [out, code] = await Promise.all([new Response(p.stdout).text(), p.exited]);
      expect(code).toBe(0);
      return out.trim();
    };
    // 24 MB: far past every buffer on the way (monitor, berthd, sockets): the container must block.
    expect(await slow(`${DOCKER} run --rm --network none busybox head -c 24000000 /dev/zero`)).toBe("24000000");
    await d.dockerOk(["run", "-d", "--name", "big", "--network", "none", "busybox", "sleep", "60"]);
    expect(await slow(`${DOCKER} exec big head -c 24000000 /dev/zero`)).toBe("24000000");
    await d.dockerOk(["rm", "-f", "big"]);
  });

  test("attach to a running -it container through a pty, type, detach with ctrl-p ctrl-q: it keeps running", async () => {
    await d.dockerOk(["run", "-dit", "--name", "tt", "busybox", "sh"]);
    const p = Bun.spawn(["script", "-qec", "docker attach tt", "/dev/null"], { stdin: "pipe", stdout: "pipe", stderr: "pipe", env: d.env() });
    let out = "";
    const reading = (async () => {
      const dec = new TextDecoder();
      for await (const ch of p.stdout) out += dec.decode(ch);
    })();
    await Bun.sleep(500);
    p.stdin.write("echo again-$((3+4))\r");
    for (let i = 0; i < 100 && !out.includes("again-7"); i++) await Bun.sleep(50);
    expect(out).toContain("again-7");
    p.stdin.write("\x10\x11");
    p.stdin.end();
    await p.exited;
    await reading;
    expect(out).toContain("read escape sequence");
    expect((await d.dockerOk(["inspect", "-f", "{{.State.Running}}", "tt"])).trim()).toBe("true");
    await d.dockerOk(["rm", "-f", "tt"]);
  });

  test("network connect and disconnect a running container; inspect shows it; prune removes unused networks", async () => {
    await d.dockerOk(["network", "create", "btn2"]);
    await d.dockerOk(["run", "-d", "--name", "nc1", "busybox", "sleep", "60"]);
    await d.dockerOk(["network", "connect", "btn2", "nc1"]);
    expect((await d.dockerOk(["inspect", "-f", "{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}", "nc1"])).trim().split(" ").sort()).toEqual(["bridge", "btn2"]);
    const ping = await d.docker(["run", "--rm", "--network", "btn2", "busybox", "ping", "-c1", "-W3", "nc1"]);
    expect(ping.code).toBe(0);
    await d.dockerOk(["network", "disconnect", "btn2", "nc1"]);
    expect((await d.dockerOk(["inspect", "-f", "{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}", "nc1"])).trim()).toBe("bridge");
    const notRunning = await d.docker(["network", "connect", "btn2", "nosuch"]);
    expect(notRunning.code).toBe(1);
    expect(notRunning.stderr).toContain("No such container: nosuch");
    await d.dockerOk(["rm", "-f", "nc1"]);
    expect(await d.dockerOk(["network", "prune", "-f"])).toContain("btn2");
    expect((await d.docker(["network", "inspect", "btn2"])).code).toBe(1);
  });
});
