// The engine core through the berth CLI, on real containers: detached containers that outlive
// every berth process (their monitor holds them), logs, attach, stop with the image's StopSignal
// and -t, kill, wait, restart policies, pause, rename, top, inspect's typed stop record, events,
// volumes — and that nothing is left behind.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { Cli, BERTH, containerCgroups } from "./cli-helpers.ts";
import { mountsUnder } from "../helpers/leftovers.ts";
import { makeBusyboxOciLayout } from "../helpers/busybox-oci-image.ts";
import { runCommand } from "../helpers/run-command.ts";

const ready = process.getuid?.() === 0 && existsSync(BERTH) && existsSync("/bin/busybox");
let cli: Cli;

beforeAll(async () => {
  cli = new Cli("bt-life-");
  if (!ready) return;
  await cli.ok(["pull", "busybox"]).catch(() => cli.ok(["run", "--rm", "busybox", "true"]));
  // An image with a StopSignal and a VOLUME (with content), as a Dockerfile would make it.
  const layout = join(cli.dir, "sig-layout");
  await makeBusyboxOciLayout(layout, "1", ["--config.stopsignal", "SIGUSR1", "--config.volume", "/seed"]);
  await cli.ok(["import", layout, "sigimg:1"]);
});

afterAll(async () => {
  const left = await cli.cleanup();
  expect(left.mounts).toEqual([]);
  expect(left.cgroups).toEqual([]);
});

async function until<T>(what: string, f: () => Promise<T | undefined> | T | undefined, ms = 10_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await f();
    if (v !== undefined && v !== false) return v;
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(50);
  }
}

const inspect = async (ref: string, fmt: string) => (await cli.ok(["inspect", "-f", fmt, ref])).trim();

describe.if(ready)("detached containers", () => {
  test("run -d returns at once; the container outlives it under its monitor, which is not our child", async () => {
    const id = (await cli.ok(["run", "-d", "--name", "bg", "busybox", "sh", "-c", "echo started; sleep 60"])).trim();
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    expect(await inspect("bg", "{{.State.Status}} {{.State.Running}}")).toBe("running true");
    const pid = Number(await inspect("bg", "{{.State.Pid}}"));
    // State.Pid is the container's init: entering its namespaces shows the container's hostname.
    const ns = await runCommand(["nsenter", "-t", String(pid), "-u", "hostname"]);
    expect(ns.stdout.trim()).toBe(id.slice(0, 12));
    const status = JSON.parse(readFileSync(join(cli.runroot, "containers", id, "status.json"), "utf8")) as { monitorPid: number; pid: number };
    expect(status.pid).toBe(pid);
    const ppid = Number(/PPid:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]);
    expect(ppid).toBe(status.monitorPid); // the monitor reaps it
    expect(readFileSync(`/proc/${status.monitorPid}/cmdline`, "utf8").split("\0")[0]).toMatch(/berth-monitor$/);
    await until("the first log line", async () => (await cli.ok(["logs", "bg"])) === "started\n" || undefined);
    expect(await cli.ok(["rm", "-f", "bg"])).toBe("bg\n");
    expect(existsSync(`/proc/${status.monitorPid}`) && !readFileSync(`/proc/${status.monitorPid}/status`, "utf8").includes("zombie")).toBe(false);
  });

  test("logs -f follows a running container and ends when it stops; --tail, -t, --since", async () => {
    await cli.ok(["run", "-d", "--name", "ticker", "busybox", "sh", "-c", "for i in 1 2 3 4 5; do echo tick $i; echo err $i >&2; sleep 0.2; done"]);
    const p = Bun.spawn(cli.argv(["logs", "-f", "ticker"]), { stdout: "pipe", stderr: "pipe" });
    const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
    expect(code).toBe(0);
    expect(out).toBe("tick 1\ntick 2\ntick 3\ntick 4\ntick 5\n");
    expect(err).toBe("err 1\nerr 2\nerr 3\nerr 4\nerr 5\n");
    // --tail counts the lines of both streams, as docker's: the last two are tick 5 and err 5.
    const tail = await cli.run(["logs", "--tail", "2", "ticker"]);
    expect([tail.stdout, tail.stderr]).toEqual(["tick 5\n", "err 5\n"]);
    const ts = await cli.ok(["logs", "-t", "--tail", "2", "ticker"]);
    expect(ts).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z tick 5\n$/);
    expect(await cli.ok(["logs", "--since", "1h", "--until", "2h", "ticker"])).toBe("");
    // docker's json-file lines on disk.
    const path = await inspect("ticker", "{{.LogPath}}");
    const first = JSON.parse(readFileSync(path, "utf8").split("\n")[0]!) as Record<string, string>;
    expect(Object.keys(first)).toEqual(["log", "stream", "time"]);
    await cli.ok(["rm", "ticker"]);
    expect(existsSync(path)).toBe(false);
  });

  test("attach reattaches to a running container's output; detached keys leave it running", async () => {
    await cli.ok(["run", "-d", "--name", "att", "busybox", "sh", "-c", "sleep 0.5; for i in 1 2 3; do echo line $i; sleep 0.1; done"]);
    const r = await cli.run(["attach", "att"]);
    expect(r.stdout).toBe("line 1\nline 2\nline 3\n");
    expect(r.code).toBe(0);
    await cli.ok(["rm", "att"]);
  });

  test("stop sends the image's StopSignal, then SIGKILL after -t", async () => {
    await cli.ok(["run", "-d", "--name", "usr1", "sigimg:1", "sh", "-c", "trap 'echo got USR1; exit 7' USR1; echo ready; while true; do sleep 0.1; done"]);
    await until("ready", async () => (await cli.ok(["logs", "usr1"])).includes("ready") || undefined);
    expect(await inspect("usr1", "{{.Config.StopSignal}}")).toBe("SIGUSR1");
    expect(await cli.ok(["stop", "usr1"])).toBe("usr1\n");
    expect(await inspect("usr1", "{{.State.Status}} {{.State.ExitCode}}")).toBe("exited 7");
    expect(await cli.ok(["logs", "usr1"])).toBe("ready\ngot USR1\n");
    // A process that ignores its stop signal is killed after the timeout.
    await cli.ok(["run", "-d", "--name", "stubborn", "--stop-signal", "SIGUSR2", "busybox", "sh", "-c", "trap '' USR2; echo ready; while true; do sleep 0.1; done"]);
    await until("ready", async () => (await cli.ok(["logs", "stubborn"])).includes("ready") || undefined);
    const t0 = Date.now();
    await cli.ok(["stop", "-t", "1", "stubborn"]);
    const took = Date.now() - t0;
    expect(took).toBeGreaterThanOrEqual(1000);
    expect(await inspect("stubborn", "{{.State.ExitCode}}")).toBe("137");
    // Stopping a stopped container is not an error (docker prints the name).
    expect(await cli.ok(["stop", "stubborn"])).toBe("stubborn\n");
    await cli.ok(["rm", "usr1", "stubborn"]);
  });

  test("kill -s, wait, restart, start of an exited container appends to its logs", async () => {
    await cli.ok(["run", "-d", "--name", "k", "busybox", "sh", "-c", "trap 'echo hup' HUP; echo up; while true; do sleep 0.1; done"]);
    await until("up", async () => (await cli.ok(["logs", "k"])).includes("up") || undefined);
    await cli.ok(["kill", "-s", "HUP", "k"]);
    await until("hup", async () => (await cli.ok(["logs", "k"])).includes("hup") || undefined);
    expect(await inspect("k", "{{.State.Status}}")).toBe("running");
    const w = Bun.spawn(cli.argv(["wait", "k"]), { stdout: "pipe" });
    await Bun.sleep(200);
    await cli.ok(["kill", "k"]);
    expect(await new Response(w.stdout).text()).toBe("137\n");
    expect((await cli.run(["kill", "k"])).stderr).toContain("is not running");
    await cli.ok(["start", "k"]);
    expect(await inspect("k", "{{.State.Status}}")).toBe("running");
    await cli.ok(["restart", "-t", "0", "k"]);
    expect(await inspect("k", "{{.State.Status}}")).toBe("running");
    expect((await cli.ok(["logs", "k"])).split("\n").filter((l) => l === "up").length).toBe(3);
    await cli.ok(["rm", "-f", "k"]);
  });

  test("--restart on-failure:3: a container that exits 1 is restarted exactly 3 times by its monitor", async () => {
    await cli.ok(["run", "-d", "--name", "flaky", "--restart", "on-failure:3", "busybox", "sh", "-c", "echo run; exit 1"]);
    // Back-off 100, 200, 400 ms between the four runs.
    await until("the last exit", async () => (await inspect("flaky", "{{.State.Status}} {{.RestartCount}}")) === "exited 3" || undefined, 15_000);
    expect(await inspect("flaky", "{{.State.ExitCode}} {{.HostConfig.RestartPolicy.Name}} {{.HostConfig.RestartPolicy.MaximumRetryCount}}")).toBe("1 on-failure 3");
    expect(await cli.ok(["logs", "flaky"])).toBe("run\nrun\nrun\nrun\n");
    const ev = await cli.ok(["events", "--since", "1m", "--until", "0s", "--filter", "container=flaky", "--format", "{{.Action}}"]);
    expect(ev.split("\n").filter(Boolean)).toEqual(["create", "start", "die", "restart", "start", "die", "restart", "start", "die", "restart", "start", "die"]);
    // always: stopped by the user, it stays stopped.
    await cli.ok(["run", "-d", "--name", "always", "--restart", "always", "busybox", "sh", "-c", "sleep 60"]);
    await cli.ok(["stop", "-t", "0", "always"]);
    await Bun.sleep(500);
    expect(await inspect("always", "{{.State.Status}} {{.RestartCount}}")).toBe("exited 0");
    await cli.ok(["rm", "flaky", "always"]);
  });

  test("pause/unpause freeze the container; rename; top lists its processes", async () => {
    await cli.ok(["run", "-d", "--name", "p1", "busybox", "sh", "-c", "while true; do sleep 0.1; done"]);
    await cli.ok(["pause", "p1"]);
    expect(await inspect("p1", "{{.State.Status}} {{.State.Paused}}")).toBe("paused true");
    expect(await cli.ok(["ps", "--filter", "name=p1", "--format", "{{.Status}}"])).toMatch(/^Up .* \(Paused\)\n$/);
    await cli.ok(["unpause", "p1"]);
    expect(await inspect("p1", "{{.State.Status}}")).toBe("running");
    await cli.ok(["rename", "p1", "p2"]);
    expect(await inspect("p2", "{{.Name}}")).toBe("/p2");
    expect((await cli.run(["inspect", "p1"])).code).toBe(1);
    const top = await cli.ok(["top", "p2"]);
    expect(top.split("\n")[0]).toMatch(/^UID\s+PID\s+PPID\s+C\s+STIME\s+TTY\s+TIME\s+CMD$/);
    expect(top).toContain("sh -c while true");
    await cli.ok(["rm", "-f", "p2"]);
  });
});

describe.if(ready)("the typed stop record", () => {
  test("an OOM kill: exit 137, a message on a foreground run's stderr, OOMKilled in inspect", async () => {
    const r = await cli.run(["run", "--name", "oom", "-m", "16m", "busybox", "sh", "-c", "x=a; while true; do x=$x$x; done"]);
    expect(r.code).toBe(137);
    expect(r.stderr).toContain("container was killed: out of memory (limit 16 MiB)");
    expect(await inspect("oom", "{{.State.OOMKilled}} {{.State.ExitCode}}")).toBe("true 137");
    await cli.ok(["rm", "oom"]);
  });

  test("a command that does not exist: 127, State.Error names it, ps says Created", async () => {
    const r = await cli.run(["run", "--name", "nf", "busybox", "no-such-binary"]);
    expect(r.code).toBe(127);
    expect(await inspect("nf", "{{.State.Status}} {{.State.ExitCode}}")).toBe("created 127");
    expect(await inspect("nf", "{{.State.Error}}")).toContain("no-such-binary");
    expect(await cli.ok(["ps", "-a", "--filter", "name=nf", "--format", "{{.Status}}"])).toBe("Created\n");
    await cli.ok(["rm", "nf"]);
  });

  test("a killed monitor: the next command marks the container exited (255) with the reason and collects it", async () => {
    const id = (await cli.ok(["run", "-d", "--name", "orphaned", "busybox", "sleep", "60"])).trim();
    const st = JSON.parse(readFileSync(join(cli.runroot, "containers", id, "status.json"), "utf8")) as { monitorPid: number; pid: number };
    process.kill(st.monitorPid, "SIGKILL");
    await until("the monitor gone", () => !existsSync(`/proc/${st.monitorPid}/cmdline`) || readFileSync(`/proc/${st.monitorPid}/cmdline`).length === 0 || undefined);
    expect(await inspect("orphaned", "{{.State.Status}} {{.State.ExitCode}}")).toBe("exited 255");
    expect(await inspect("orphaned", "{{.State.Error}}")).toContain(`berth-monitor (pid ${st.monitorPid}) died`);
    const state = readFileSync(`/proc/${st.pid}/status`, "utf8").match(/State:\s+(\S)/)?.[1];
    expect(state === undefined || state === "Z").toBe(true);
    expect(mountsUnder(join(cli.runroot, "containers", id))).toEqual([]);
    expect(containerCgroups().filter((c) => c.endsWith(id))).toEqual([]);
    await cli.ok(["rm", "orphaned"]);
  });
});

describe.if(ready)("volumes", () => {
  test("a named volume keeps data across containers; in use it cannot be removed", async () => {
    await cli.ok(["volume", "create", "--label", "a=b", "keep"]);
    await cli.ok(["run", "--rm", "-v", "keep:/data", "busybox", "sh", "-c", "echo persisted > /data/f"]);
    expect(await cli.ok(["run", "--rm", "-v", "keep:/data:ro", "busybox", "cat", "/data/f"])).toBe("persisted\n");
    const v = JSON.parse(await cli.ok(["volume", "inspect", "keep"])) as { Name: string; Driver: string; Mountpoint: string; Labels: Record<string, string> }[];
    expect(v[0]).toMatchObject({ Name: "keep", Driver: "local", Labels: { a: "b" } });
    expect(readFileSync(join(v[0]!.Mountpoint, "f"), "utf8")).toBe("persisted\n");
    await cli.ok(["run", "-d", "--name", "user", "-v", "keep:/data", "busybox", "sleep", "60"]);
    const busy = await cli.run(["volume", "rm", "keep"]);
    expect(busy.code).toBe(1);
    expect(busy.stderr).toContain("volume is in use");
    await cli.ok(["rm", "-f", "user"]);
    expect(await cli.ok(["volume", "ls", "-q", "--filter", "name=keep"])).toBe("keep\n");
    expect(await cli.ok(["volume", "rm", "keep"])).toBe("keep\n");
    expect(existsSync(v[0]!.Mountpoint)).toBe(false);
  });

  test("an image's VOLUME becomes an anonymous volume with the image's content copied up; rm -v removes it", async () => {
    const id = (await cli.ok(["create", "--name", "anon", "sigimg:1", "sh", "-c", "ls /seed >/dev/null; echo new > /seed/x; echo ok"])).trim();
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    const mounts = JSON.parse(await inspect("anon", "{{json .Mounts}}")) as { Type: string; Name: string; Destination: string }[];
    expect(mounts).toEqual([expect.objectContaining({ Type: "volume", Destination: "/seed" })]);
    const name = mounts[0]!.Name;
    expect(name).toMatch(/^[0-9a-f]{64}$/);
    expect(await cli.ok(["start", "-a", "anon"])).toBe("ok\n");
    expect(readFileSync(join(cli.root, "volumes", name, "_data", "x"), "utf8")).toBe("new\n");
    expect(await cli.ok(["rm", "-v", "anon"])).toBe("anon\n");
    expect(existsSync(join(cli.root, "volumes", name))).toBe(false);
    expect((await cli.ok(["volume", "ls", "-q"])).split("\n")).not.toContain(name);
    // Without -v (docker's rule) the anonymous volume stays; volume prune takes it.
    await cli.ok(["run", "--name", "anon2", "sigimg:1", "true"]);
    const left = (JSON.parse(await inspect("anon2", "{{json .Mounts}}")) as { Name: string }[])[0]!.Name;
    await cli.ok(["rm", "anon2"]);
    expect((await cli.ok(["volume", "ls", "-q"])).split("\n")).toContain(left);
    expect(await cli.ok(["volume", "prune", "-f"])).toContain(left);
    expect((await cli.ok(["volume", "ls", "-q"])).split("\n")).not.toContain(left);
  });

  test("copy-up keeps the image's files in a new named volume, and nocopy skips it", async () => {
    const img = await cli.ok(["run", "--rm", "-v", "bins:/bin", "busybox", "sh", "-c", "ls /bin | wc -l"]);
    expect(Number(img.trim())).toBeGreaterThan(100);
    expect(readdirSync(join(cli.root, "volumes", "bins", "_data")).length).toBeGreaterThan(100);
    await cli.ok(["run", "--rm", "-v", "empty:/etc:nocopy", "busybox", "true"]);
    expect(readdirSync(join(cli.root, "volumes", "empty", "_data"))).toEqual([]);
    await cli.ok(["volume", "rm", "bins", "empty"]);
  });
});

describe.if(ready)("ps and events", () => {
  test("ps filters, -n, -l, --format table and json; events with filters and formats", async () => {
    expect((await cli.run(["run", "--name", "ev1", "-l", "tier=web", "busybox", "sh", "-c", "exit 2"])).code).toBe(2);
    await cli.ok(["run", "-d", "--name", "ev2", "-l", "tier=db", "busybox", "sleep", "60"]);
    expect(await cli.ok(["ps", "--format", "{{.Names}}"])).toBe("ev2\n");
    expect(await cli.ok(["ps", "-a", "--filter", "label=tier=web", "--format", "{{.Names}} {{.State}}"])).toBe("ev1 exited\n");
    expect(await cli.ok(["ps", "-a", "--filter", "exited=2", "--format", "{{.Names}}"])).toBe("ev1\n");
    expect(await cli.ok(["ps", "--filter", "status=exited", "--format", "{{.Names}}"])).toBe("ev1\n");
    expect(await cli.ok(["ps", "-l", "--format", "{{.Names}}"])).toBe("ev2\n");
    expect(await cli.ok(["ps", "-a", "-n", "2", "--format", "{{.Names}}"])).toBe("ev2\nev1\n");
    const tbl = (await cli.ok(["ps", "-a", "--filter", "name=e", "--format", "table {{.Names}}\t{{.Status}}"])).split("\n");
    expect(tbl[0]).toMatch(/^NAMES\s+STATUS$/);
    expect((await cli.run(["ps", "--filter", "colour=red"])).code).toBe(125);
    const ev = await cli.ok(["events", "--since", "30s", "--until", "0s", "--filter", "container=ev1", "--format", "json"]);
    const actions = ev.split("\n").filter(Boolean).map((l) => JSON.parse(l) as { Action: string; Actor: { Attributes: Record<string, string> } });
    expect(actions.map((a) => a.Action)).toEqual(["create", "start", "die"]);
    expect(actions[2]!.Actor.Attributes).toMatchObject({ exitCode: "2", name: "ev1", image: "busybox" });
    const line = (await cli.ok(["events", "--since", "30s", "--until", "0s", "--filter", "event=start", "--filter", "container=ev2"])).trim();
    expect(line).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z container start [0-9a-f]{64} \(image=busybox, name=ev2\)$/);
    await cli.ok(["rm", "-f", "ev1", "ev2"]);
    const destroyed = await cli.ok(["events", "--since", "30s", "--until", "0s", "--filter", "event=destroy", "--format", "{{.Actor.Attributes.name}}"]);
    expect(destroyed.split("\n").filter(Boolean)).toContain("ev2");
  });

  test("log rotation: --log-opt max-size/max-file bound the files; logs reads across them", async () => {
    await cli.ok(["run", "--name", "rot", "--log-opt", "max-size=2k", "--log-opt", "max-file=2", "busybox", "sh", "-c", "i=0; while [ $i -lt 200 ]; do echo line-$i; i=$((i+1)); done"]);
    const path = await inspect("rot", "{{.LogPath}}");
    const dir = path.slice(0, path.lastIndexOf("/"));
    const files = readdirSync(dir).filter((f) => f.includes("-json.log")).sort();
    expect(files.length).toBe(2);
    for (const f of files) expect(statSync(join(dir, f)).size).toBeLessThan(2048 + 200);
    const out = (await cli.ok(["logs", "rot"])).split("\n").filter(Boolean);
    expect(out.at(-1)).toBe("line-199");
    expect(out.length).toBeLessThan(200);
    expect(out).toEqual(out.slice().sort((a, b) => Number(a.slice(5)) - Number(b.slice(5))));
    await cli.ok(["rm", "rot"]);
  });

  test("log rotation while logs read and follow: no read fails, and each sees one contiguous run of lines", async () => {
    // ~75 bytes per json-file line, 1k files: a rotation every ~14 lines, hundreds while the readers run.
    await cli.ok(["run", "-d", "--name", "rotr", "--network", "none", "--log-opt", "max-size=1k", "--log-opt", "max-file=3", "busybox", "sh", "-c", "i=0; while [ $i -lt 20000 ]; do echo $i; i=$((i+1)); done; sleep 600"]);
    // A follower keeps up with rotations while the files hold more than it reads between two
    // polls (every 50 ms when idle): ~75-byte lines, 20 per 20 ms, 5 files of ~55 (~275 ms).
    await cli.ok(["run", "-d", "--name", "rotf", "--network", "none", "--log-opt", "max-size=4k", "--log-opt", "max-file=5", "busybox", "sh", "-c", "sleep 0.5; i=0; while [ $i -lt 2000 ]; do echo $i; i=$((i+1)); [ $((i % 20)) = 0 ] && sleep 0.02; done; sleep 600"]);
    const follow = Bun.spawn(cli.argv(["logs", "-f", "rotf"]), { stdout: "pipe", stderr: "pipe" });
    const contiguous = (lines: string[]) => lines.every((l, i) => i === 0 || Number(l) === Number(lines[i - 1]) + 1);
    const last = async (name: string, want: string) => {
      for (let i = 0; i < 600 && (await cli.ok(["logs", "--tail", "1", name])).trim() !== want; i++) await Bun.sleep(50);
      return (await cli.ok(["logs", "--tail", "1", name])).trim();
    };
    try {
      for (let round = 0; round < 25; round++) {
        const r = await cli.run(["logs", "rotr"]);
        expect({ round, code: r.code, stderr: r.stderr }).toEqual({ round, code: 0, stderr: "" });
        const lines = r.stdout.split("\n").filter(Boolean);
        expect({ round, contiguous: contiguous(lines) }).toEqual({ round, contiguous: true });
      }
      expect(await last("rotr", "19999")).toBe("19999");
      expect(await last("rotf", "1999")).toBe("1999");
      await Bun.sleep(300);
      await cli.ok(["rm", "-f", "rotf"]); // ends the follower
      const [out, err] = await Promise.all([new Response(follow.stdout).text(), new Response(follow.stderr).text(), follow.exited]);
      expect(err).toBe("");
      const lines = out.split("\n").filter(Boolean);
      // Started before the first line: it saw every line, in order, across ~35 rotations.
      expect({ first: lines[0], last: lines.at(-1), count: lines.length, contiguous: contiguous(lines) }).toEqual({ first: "0", last: "1999", count: 2000, contiguous: true });
    } finally {
      follow.kill();
      await cli.run(["rm", "-f", "rotr", "rotf"]);
    }
  }, 90_000);
});
