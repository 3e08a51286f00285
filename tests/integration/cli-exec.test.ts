// `berth exec` and health checks end to end with the compiled CLI on real containers: docker's
// flags, output and exit codes; -it through a real pty (util-linux `script`); -d with its exit
// recorded; a killed `berth exec` leaving no process or session behind; health states in ps,
// inspect and events, with the check's timeout killing a hanging check.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BERTH, Cli } from "./cli-helpers.ts";
import { isAlive, pidsWithArg } from "../helpers/leftovers.ts";

const ready = process.getuid?.() === 0 && existsSync(BERTH) && existsSync("/bin/busybox") && existsSync("/usr/bin/script");
let cli: Cli;
let ctr = "";

async function until<T>(f: () => T | Promise<T>, ok: (v: T) => boolean, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (ok(v) || Date.now() > end) return v;
    await Bun.sleep(50);
  }
}

/** The container's events as JSON objects (docker's --format '{{json .}}'). */
async function events(ref: string): Promise<{ Action: string; Actor: { Attributes: Record<string, string> } }[]> {
  const out = await cli.ok(["events", "--since", "1h", "--until", "0s", "--filter", `container=${ref}`, "--format", "{{json .}}"]);
  return out.split("\n").filter(Boolean).map((l) => JSON.parse(l));
}

const execDirs = () => (existsSync(join(cli.runroot, "execs")) ? readdirSync(join(cli.runroot, "execs")) : []);
/** `berth … exec …` CLI processes of this test (not the monitors, whose argv holds the root too). */
const execClis = () => pidsWithArg(cli.root).filter((p) => {
  try {
    const argv = readFileSync(`/proc/${p}/cmdline`, "utf8").split("\0");
    return argv[0] === BERTH && argv.includes("exec");
  } catch {
    return false;
  }
});

/** A command in a pseudo-terminal (script(1)); `input` is written after `delayMs`, piece by piece. */
function inPty(args: string[], steps: { delayMs: number; input: string }[]) {
  const cmd = cli.argv(args).map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(" ");
  const p = Bun.spawn(["script", "-qfec", `stty rows 24 cols 81; exec ${cmd}`, "/dev/null"], { stdin: "pipe", stdout: "pipe", stderr: "pipe" });
  void (async () => {
    for (const s of steps) {
      await Bun.sleep(s.delayMs);
      try {
        p.stdin.write(s.input);
        p.stdin.flush();
      } catch {}
    }
  })();
  const timer = setTimeout(() => p.kill("SIGKILL"), 20_000);
  const done = (async () => {
    const [out, code] = await Promise.all([new Response(p.stdout).text(), p.exited]);
    clearTimeout(timer);
    return { out, code };
  })();
  return { proc: p, done };
}

beforeAll(async () => {
  cli = new Cli("bt-cli-exec-");
  if (!ready) return;
  ctr = (await cli.ok(["run", "-d", "--name", "box", "--network", "none", "-e", "BASE=1", "-w", "/srv", "busybox", "sleep", "600"])).trim();
});

afterAll(async () => {
  const left = await cli.cleanup();
  expect(left.mounts).toEqual([]);
  expect(left.cgroups).toEqual([]);
  expect(pidsWithArg(cli.dir)).toEqual([]);
});

describe.if(ready)("berth exec", () => {
  test("output, exit status, -e (and NAME from ours), --env-file, -w, -u, --privileged", async () => {
    const r = await cli.run(["exec", "box", "sh", "-c", "echo out; echo err >&2; exit 3"]);
    expect(r).toEqual({ code: 3, stdout: "out\n", stderr: "err\n" });
    const envFile = join(cli.dir, "env");
    writeFileSync(envFile, "# a comment\nFROMFILE=yes\nOURS\n");
    const env = await cli.run(["exec", "-e", "X=2", "-e", "OURS", "--env-file", envFile, "box", "sh", "-c", "echo $BASE $X $OURS $FROMFILE; pwd"], { env: { OURS: "mine" } });
    expect(env).toEqual({ code: 0, stdout: "1 2 mine yes\n/srv\n", stderr: "" });
    expect(await cli.ok(["exec", "-w", "/tmp", "-u", "nobody", "box", "sh", "-c", "pwd; id"])).toBe("/tmp\nuid=65534(nobody) gid=65534(nogroup)\n");
    expect(await cli.ok(["exec", "--user", "1000:1000", "--workdir", "/", "box", "id"])).toBe("uid=1000 gid=1000\n");
    const cap = (s: string) => BigInt(`0x${/CapEff:\s*([0-9a-f]+)/.exec(s)![1]}`);
    const plain = cap(await cli.ok(["exec", "box", "cat", "/proc/self/status"]));
    const priv = cap(await cli.ok(["exec", "--privileged", "box", "cat", "/proc/self/status"]));
    expect(priv & plain).toBe(plain);
    expect(priv).toBeGreaterThan(plain);
    const u = await cli.run(["exec", "-u", "nosuchuser", "box", "id"]);
    expect(u.code).toBe(126);
    expect(u.stderr).toContain("unable to find user nosuchuser");
  });

  test("10 at once: each its own output and status", async () => {
    const rs = await Promise.all(Array.from({ length: 10 }, (_, i) => cli.run(["exec", "box", "sh", "-c", `echo n${i}; exit ${i + 1}`])));
    expect(rs.map((r) => `${r.stdout.trim()}:${r.code}`)).toEqual(Array.from({ length: 10 }, (_, i) => `n${i}:${i + 1}`));
    expect(rs.every((r) => r.stderr === "")).toBe(true);
    expect(execDirs()).toEqual([]);
  });

  test("-i passes our stdin until it ends", async () => {
    expect(await cli.ok(["exec", "-i", "box", "sh", "-c", "cat; echo end"], { stdin: "one\ntwo\n" })).toBe("one\ntwo\nend\n");
    // Without -i the process's stdin is empty.
    expect(await cli.ok(["exec", "box", "sh", "-c", "cat; echo end"], { stdin: "ignored\n" })).toBe("end\n");
  });

  test("127 for a missing command, 126 for one that cannot run; errors for a missing, paused, stopped container", async () => {
    const nf = await cli.run(["exec", "box", "no-such-cmd"]);
    expect(nf.code).toBe(127);
    expect(nf.stderr).toContain('exec: "no-such-cmd": executable file not found in $PATH');
    const dir = await cli.run(["exec", "box", "/etc"]);
    expect(dir.code).toBe(126);
    expect(dir.stderr).toContain("/etc");
    const missing = await cli.run(["exec", "nothere", "true"]);
    expect(missing).toMatchObject({ code: 1, stdout: "" });
    expect(missing.stderr).toBe("berth: No such container: nothere\n");
    await cli.ok(["pause", "box"]);
    const paused = await cli.run(["exec", "box", "true"]);
    await cli.ok(["unpause", "box"]);
    expect(paused).toMatchObject({ code: 1, stderr: `berth: container ${ctr} is paused, unpause the container before exec\n` });
    const stopped = (await cli.ok(["create", "--network", "none", "busybox", "true"])).trim();
    expect(await cli.run(["exec", stopped, "true"])).toMatchObject({ code: 1, stderr: `berth: container ${stopped} is not running\n` });
    await cli.ok(["rm", stopped]);
    expect((await cli.run(["exec", "box"])).code).toBe(125);
    expect((await cli.run(["exec", "--no-such-flag", "box", "true"])).code).toBe(125);
    expect(execDirs()).toEqual([]);
  });

  test("-d returns at once, prints nothing; the exit is recorded (exec_die) with nobody attached", async () => {
    const t0 = Date.now();
    const r = await cli.run(["exec", "-d", "box", "sh", "-c", "sleep 1; exit 7"]);
    expect(r).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(Date.now() - t0).toBeLessThan(1000);
    const ids = JSON.parse(await cli.ok(["inspect", "-f", "{{json .ExecIDs}}", "box"])) as string[];
    expect(ids).toHaveLength(1);
    const die = await until(() => events("box"), (ev) => ev.some((x) => x.Action === "exec_die" && x.Actor.Attributes.execID === ids[0]));
    const actions = die.filter((x) => x.Actor.Attributes.execID === ids[0]).map((x) => `${x.Action} ${x.Actor.Attributes.exitCode ?? ""}`.trim());
    expect(actions).toEqual(["exec_create: sh -c sleep 1; exit 7", "exec_start: sh -c sleep 1; exit 7", "exec_die 7"]);
    expect(await cli.ok(["inspect", "-f", "{{json .ExecIDs}}", "box"])).toBe("null\n");
    await until(() => execDirs().length, (n) => n === 0);
    expect(execDirs()).toEqual([]);
    expect(pidsWithArg(join(cli.runroot, "execs"))).toEqual([]);
  });

  test("-it: a terminal of our size, its exit status; --detach-keys leaves it running", async () => {
    const a = inPty(["exec", "-it", "box", "sh"], [{ delayMs: 800, input: "stty size; tty; exit 5\n" }]);
    const r = await a.done;
    expect(r.code).toBe(5);
    expect(r.out).toContain("24 81");
    expect(r.out).toMatch(/\/dev\/pts\/\d+/);

    // A resize of our terminal (SIGWINCH) reaches the session's: -t without -i, in the background.
    const cmd = cli.argv(["exec", "-t", "box", "sh", "-c", "sleep 1.5; stty size"]).map((x) => `'${x}'`).join(" ");
    const w = Bun.spawn(["script", "-qfec", `stty rows 24 cols 81; ${cmd} & sleep 0.7; stty rows 40 cols 100; kill -WINCH $!; wait $!`, "/dev/null"], { stdin: "pipe", stdout: "pipe" });
    expect(await new Response(w.stdout).text()).toContain("40 100");
    expect(await w.exited).toBe(0);

    const b = inPty(["exec", "-it", "--detach-keys", "ctrl-x", "box", "sh", "-c", "echo started; sleep 600"], [{ delayMs: 800, input: "\x18" }]);
    const d = await b.done;
    expect(d.code).toBe(0);
    expect(d.out).toContain("started");
    const ids = JSON.parse(await cli.ok(["inspect", "-f", "{{json .ExecIDs}}", "box"])) as string[];
    expect(ids).toHaveLength(1);
    expect((await cli.ok(["top", "box"]))).toContain("sleep 600");
    expect((await cli.run(["exec", "-it", "--detach-keys", "ctrl-", "box", "true"])).code).toBe(125);
  });

  test("kill -9 of berth exec: -i closes the process's stdin, -it hangs its terminal up; no monitor is left", async () => {
    const before = new Set(execDirs());
    const diesBefore = (await events("box")).filter((e) => e.Action === "exec_die").length;
    const p = Bun.spawn(cli.argv(["exec", "-i", "box", "sh", "-c", "cat; exit 9"]), { stdin: "pipe", stdout: "pipe", stderr: "pipe" });
    p.stdin.write("x\n");
    p.stdin.flush();
    await until(() => execDirs().filter((d) => !before.has(d)).length, (n) => n === 1);
    await Bun.sleep(300);
    p.kill("SIGKILL");
    await p.exited;
    const t = inPty(["exec", "-it", "box", "sh"], []);
    await until(() => execClis().length, (n) => n === 1);
    await Bun.sleep(500);
    for (const pid of execClis()) process.kill(pid, "SIGKILL");
    await t.done;
    const dies = async () => (await events("box")).filter((e) => e.Action === "exec_die").slice(diesBefore).map((e) => e.Actor.Attributes.exitCode);
    const ended = await until(dies, (x) => x.length === 2);
    expect(ended.sort()).toEqual(["129", "9"]);
    await until(() => execDirs().filter((d) => !before.has(d)).length, (n) => n === 0);
    expect(execDirs().filter((d) => !before.has(d))).toEqual([]);
  });

  test("a plain exec whose CLI is killed runs on (as docker); removing the container ends it and its monitor", async () => {
    const p = Bun.spawn(cli.argv(["exec", "box", "sleep", "601"]), { stdout: "pipe", stderr: "pipe" });
    await until(async () => (await cli.ok(["top", "box"])).includes("sleep 601"), (x) => x);
    p.kill("SIGKILL");
    await p.exited;
    await Bun.sleep(200);
    expect(await cli.ok(["top", "box"])).toContain("sleep 601");
    const monitors = pidsWithArg(join(cli.runroot, "execs"));
    expect(monitors.length).toBeGreaterThan(0);
    await cli.ok(["rm", "-f", "box"]);
    expect(monitors.filter(isAlive)).toEqual([]);
    expect(execDirs()).toEqual([]);
    ctr = (await cli.ok(["run", "-d", "--name", "box", "--network", "none", "-e", "BASE=1", "-w", "/srv", "busybox", "sleep", "600"])).trim();
  });
});

/** `berth ARGS | (sleep SLOW; wc -c)` through sh: what a reader that starts late gets. */
async function slowReader(args: string[], slow = 2): Promise<{ count: string; code: number; stderr: string }> {
  const cmd = cli.argv(args).map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(" ");
  const p = Bun.spawn(["sh", "-c", `${cmd} | (sleep ${slow}; wc -c)`], { stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => p.kill("SIGKILL"), 60_000);
  const [count, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  clearTimeout(timer);
  return { count: count.trim(), code, stderr };
}

// The monitor applies back-pressure (docker's and conmon's rule): a reader that falls behind
// blocks the process on its pipe instead of losing output; 24 MB is far past every buffer on the
// way (our pipe, the CLI, the monitor's socket and its 64 KiB, the container's pipe).
describe.if(ready)("a slow reader", () => {
  test("of berth exec and of a foreground berth run gets every byte; the run's json-file log holds all of it", async () => {
    expect(await slowReader(["exec", "box", "head", "-c", "24000000", "/dev/zero"])).toEqual({ count: "24000000", code: 0, stderr: "" });
    // json-file writes each NUL as \u0000 (6 bytes): 144 MB, past the default 10m x 3 rotation.
    const run = await slowReader(["run", "--name", "slowrun", "--network", "none", "--log-opt", "max-size=200m", "busybox", "head", "-c", "24000000", "/dev/zero"]);
    expect(run).toEqual({ count: "24000000", code: 0, stderr: "" });
    const logs = Bun.spawn(cli.argv(["logs", "slowrun"]), { stdout: "pipe", stderr: "pipe" });
    const [bytes, code] = await Promise.all([new Response(logs.stdout).arrayBuffer(), logs.exited]);
    expect(code).toBe(0);
    expect(bytes.byteLength).toBe(24000000);
    await cli.ok(["rm", "slowrun"]);
  });

  test("blocks on the slowest attached client; one that goes away unblocks the others; with nobody attached, nothing blocks", async () => {
    // Output starts after both attaches are in; it ends with a marker after the 24 MB.
    // One log file for all of it (json-file writes each NUL as \u0000: 144 MB), so the reads
    // below never meet a rotation's rename.
    await cli.ok(["run", "-d", "--name", "two", "--network", "none", "--log-opt", "max-size=200m", "busybox", "sh", "-c", "sleep 3; head -c 24000000 /dev/zero; echo END; sleep 600"]);
    const cmd = cli.argv(["attach", "two"]).join(" ");
    // A reader that never reads (sleep holds the pipe): its berth attach blocks, and so does the container.
    const stuck = Bun.spawn(["sh", "-c", `${cmd} | sleep 600`], { stdout: "ignore", stderr: "ignore" });
    const other = Bun.spawn(["sh", "-c", `${cmd} | (sleep 1; wc -c)`], { stdout: "pipe", stderr: "pipe" });
    const counted = new Response(other.stdout).text();
    await Bun.sleep(6000);
    // Held back by the stuck reader: the marker is not in the log yet, and far from 24 MB went out.
    const logPath = (await cli.ok(["inspect", "-f", "{{.LogPath}}", "two"])).trim();
    expect(readFileSync(logPath, "utf8").includes("END")).toBe(false);
    // The stuck reader's attach goes away (kill -9): the other one gets everything at once.
    const children = (await Bun.$`pgrep -P ${stuck.pid}`.nothrow().text()).split("\n").filter(Boolean).map(Number);
    const attachPid = children.find((p) => readFileSync(`/proc/${p}/cmdline`, "utf8").split("\0")[0] === BERTH);
    expect(attachPid).toBeGreaterThan(0);
    process.kill(attachPid!, "SIGKILL");
    // The pipeline's `sleep 600` too: killing the shell alone would leave it running, reparented.
    for (const p of children) if (p !== attachPid) try { process.kill(p, "SIGKILL"); } catch {}
    stuck.kill("SIGKILL");
    await until(() => readFileSync(logPath, "utf8").includes("END"), (v) => v, 20_000);
    await cli.ok(["kill", "two"]);
    expect(await other.exited).toBe(0);
    expect((await counted).trim()).toBe("24000004");
    await cli.ok(["rm", "two"]);
    // Detached, nobody attached: the container runs to its end at once, the log has it all.
    await cli.ok(["run", "-d", "--name", "alone", "--network", "none", "busybox", "sh", "-c", "head -c 3000000 /dev/zero; echo END"]);
    expect((await until(() => cli.ok(["inspect", "-f", "{{.State.Status}}", "alone"]), (v) => v.trim() === "exited")).trim()).toBe("exited");
    const alone = Bun.spawn(cli.argv(["logs", "alone"]), { stdout: "pipe" });
    expect((await new Response(alone.stdout).arrayBuffer()).byteLength).toBe(3000004);
    await cli.ok(["rm", "alone"]);
  });
});

describe.if(ready)("health checks", () => {
  test("a passing check turns healthy (ps, --filter health=, inspect, health_status event)", async () => {
    const id = (await cli.ok(["run", "-d", "--name", "hok", "--network", "none", "--health-cmd", "echo ok", "--health-interval", "200ms", "busybox", "sleep", "600"])).trim();
    expect(await cli.ok(["ps", "--filter", "name=hok", "--format", "{{.Status}}"])).toMatch(/^Up .* \(health: starting\)\n$/);
    await until(() => cli.ok(["ps", "--filter", "name=hok", "--format", "{{.Status}}"]), (s) => s.includes("(healthy)"));
    expect(await cli.ok(["ps", "--filter", "name=hok", "--format", "{{.Status}}"])).toMatch(/^Up .* \(healthy\)\n$/);
    expect(await cli.ok(["ps", "--filter", "health=healthy", "-q", "--no-trunc"])).toBe(`${id}\n`);
    expect(await cli.ok(["ps", "--filter", "health=unhealthy", "-q"])).toBe("");
    const h = JSON.parse(await cli.ok(["inspect", "-f", "{{json .State.Health}}", "hok"])) as { Status: string; FailingStreak: number; Log: Record<string, unknown>[] };
    expect(h.Status).toBe("healthy");
    expect(h.FailingStreak).toBe(0);
    expect(h.Log[0]).toMatchObject({ ExitCode: 0, Output: "ok\n" });
    expect(Object.keys(h.Log[0]!).sort()).toEqual(["End", "ExitCode", "Output", "Start"]);
    await until(async () => ((JSON.parse(await cli.ok(["inspect", "-f", "{{json .State.Health}}", "hok"])) as { Log: unknown[] }).Log.length), (n) => n === 5, 10_000);
    await Bun.sleep(600);
    expect((JSON.parse(await cli.ok(["inspect", "-f", "{{json .State.Health}}", "hok"])) as { Log: unknown[] }).Log).toHaveLength(5);
    const ev = await events("hok");
    expect(ev.filter((e) => e.Action.startsWith("health_status")).map((e) => e.Action)).toEqual(["health_status: healthy"]);
    expect(ev.some((e) => e.Action === "exec_start: /bin/sh -c echo ok")).toBe(true);
    await cli.ok(["rm", "-f", "hok"]);
  });

  test("a failing check turns unhealthy after --health-retries; a later pass recovers", async () => {
    await cli.ok(["run", "-d", "--name", "hbad", "--network", "none", "--health-cmd", "cat /tmp/ok", "--health-interval", "200ms", "--health-retries", "3", "busybox", "sleep", "600"]);
    const streaks: number[] = [];
    const h = await until(async () => {
      const x = JSON.parse(await cli.ok(["inspect", "-f", "{{json .State.Health}}", "hbad"])) as { Status: string; FailingStreak: number; Log: { ExitCode: number; Output: string }[] };
      streaks.push(x.FailingStreak);
      return x;
    }, (x) => x.Status === "unhealthy");
    expect(h).toMatchObject({ Status: "unhealthy" });
    expect(h.FailingStreak).toBeGreaterThanOrEqual(3);
    // starting until the third failure: never unhealthy with a streak under 3
    expect(streaks.some((s) => s > 0 && s < 3)).toBe(true);
    expect(h.Log[0]).toMatchObject({ ExitCode: 1, Output: "cat: can't open '/tmp/ok': No such file or directory\n" });
    expect(await cli.ok(["ps", "--filter", "health=unhealthy", "--format", "{{.Names}} {{.Status}}"])).toMatch(/^hbad Up .* \(unhealthy\)\n$/);
    await cli.ok(["exec", "hbad", "touch", "/tmp/ok"]);
    await until(() => cli.ok(["ps", "--filter", "name=hbad", "--format", "{{.Status}}"]), (s) => s.includes("(healthy)"));
    const ev = await events("hbad");
    expect(ev.filter((e) => e.Action.startsWith("health_status")).map((e) => e.Action)).toEqual(["health_status: unhealthy", "health_status: healthy"]);
    await cli.ok(["rm", "-f", "hbad"]);
  });

  test("a container restarted by its policy starts its health over (a second health_status: healthy)", async () => {
    await cli.ok(["run", "-d", "--name", "hre", "--network", "none", "--restart", "on-failure:1", "--health-cmd", "true", "--health-interval", "100ms", "busybox", "sh", "-c", "sleep 1; exit 1"]);
    const healthy = async () => (await events("hre")).filter((e) => e.Action === "health_status: healthy").length;
    expect(await until(healthy, (n) => n === 2, 20_000)).toBe(2);
    expect(await cli.ok(["inspect", "-f", "{{.RestartCount}}", "hre"])).toBe("1\n");
    await cli.ok(["rm", "-f", "hre"]);
  });

  test("--health-timeout kills a hanging check; --health-start-period keeps it starting; --no-healthcheck", async () => {
    await cli.ok(["run", "-d", "--name", "hhang", "--network", "none", "--health-cmd", "sleep 60", "--health-interval", "100ms", "--health-timeout", "400ms", "--health-retries", "1", "busybox", "sleep", "600"]);
    const h = await until(async () => JSON.parse(await cli.ok(["inspect", "-f", "{{json .State.Health}}", "hhang"])) as { Status: string; Log: { ExitCode: number; Output: string; Start: string; End: string }[] }, (x) => x.Status === "unhealthy");
    expect(h.Log[0]).toMatchObject({ ExitCode: -1, Output: "Health check exceeded timeout (400ms)" });
    const took = Date.parse(h.Log[0]!.End) - Date.parse(h.Log[0]!.Start);
    expect(took).toBeGreaterThanOrEqual(400);
    expect(took).toBeLessThan(3000);
    // Never more than the one check running now: the timed-out ones were killed.
    const sleeps = (await cli.ok(["top", "hhang"])).split("\n").filter((l) => / sleep 60$/.test(l));
    expect(sleeps.length).toBeLessThanOrEqual(1);
    await cli.ok(["rm", "-f", "hhang"]);

    await cli.ok(["run", "-d", "--name", "hstart", "--network", "none", "--health-cmd", "exit 1", "--health-interval", "100ms", "--health-retries", "1",
      "--health-start-period", "1h", "--health-start-interval", "100ms", "busybox", "sleep", "600"]);
    const s = await until(async () => JSON.parse(await cli.ok(["inspect", "-f", "{{json .State.Health}}", "hstart"])) as { Status: string; FailingStreak: number; Log: unknown[] }, (x) => x.Log.length >= 3);
    expect(s).toMatchObject({ Status: "starting", FailingStreak: 0 });
    expect(await cli.ok(["ps", "--filter", "name=hstart", "--format", "{{.Status}}"])).toMatch(/\(health: starting\)/);
    const cfg = JSON.parse(await cli.ok(["inspect", "-f", "{{json .Config.Healthcheck}}", "hstart"]));
    expect(cfg).toEqual({ Test: ["CMD-SHELL", "exit 1"], Interval: 100e6, Timeout: 0, StartPeriod: 3600e9, StartInterval: 100e6, Retries: 1 });
    await cli.ok(["rm", "-f", "hstart"]);

    await cli.ok(["run", "-d", "--name", "hnone", "--network", "none", "--no-healthcheck", "busybox", "sleep", "600"]);
    expect(await cli.ok(["inspect", "-f", "{{json .State.Health}}", "hnone"])).toBe("null\n");
    await cli.ok(["rm", "-f", "hnone"]);
    const bad = await cli.run(["run", "-d", "--health-interval", "1s", "busybox", "true"]);
    expect(bad.code).toBe(125);
    expect(execDirs()).toEqual([]);
  });
});
