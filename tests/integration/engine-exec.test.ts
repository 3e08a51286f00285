// Exec sessions and health checks in the engine core (what berthd's Docker API — exec
// create/start/inspect/resize — and CRI's Exec call), on real containers: typed records, the
// exit recorded whether a client is attached or not, nothing left after the container goes.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { Engine, type EngineOptions } from "../../src/engine/engine.ts";
import { createContainer, getContainer, pauseContainer, removeContainer, startContainer, stopContainer, unpauseContainer, StartError } from "../../src/engine/containers.ts";
import { createExec, finishExec, inspectExec, listExecs, resizeExec, startExec, type ExecSpec } from "../../src/engine/exec.ts";
import { runHealthcheck, type HealthState } from "../../src/engine/health.ts";
import { systemReset } from "../../src/engine/prune.ts";
import { installBuiltinBusybox } from "../../src/image/builtin-busybox.ts";
import { findImage, normalizeName } from "../../src/engine/images.ts";
import { writeBytes } from "../../src/content/write-blob.ts";
import { isAlive, mountsUnder, pidsWithArg } from "../helpers/leftovers.ts";

const TOP = resolve(import.meta.dir, "../..");
const BERTH = join(TOP, "build/berth");
const ready = process.getuid?.() === 0 && existsSync(BERTH) && existsSync(join(TOP, "build/berth-monitor"));
const dir = mkdtempSync("/tmp/bt-engine-exec-");
const root = join(dir, "root"), runroot = join(dir, "run");
const opts: EngineOptions = {
  root, runroot, storageDriver: "overlay",
  berthInit: join(TOP, "build/berth-init"), monitor: join(TOP, "build/berth-monitor"), runtime: join(TOP, "build/berth-runtime"),
  exitCommand: [BERTH, "--root", root, "--runroot", runroot, "container", "cleanup"],
};
let e: Engine;
let cid = "";

const text = (chunks: Uint8Array[]) => new TextDecoder().decode(Buffer.concat(chunks));

/** Run one session attached; its output and exit. */
async function run(spec: ExecSpec, ref = cid): Promise<{ out: string; err: string; code: number; id: string }> {
  const out: Uint8Array[] = [], err: Uint8Array[] = [];
  const ex = await createExec(e, ref, spec);
  const s = await startExec(e, ex.id, { attach: { stdout: true, stderr: true, handlers: { onStdout: (d) => out.push(d), onStderr: (d) => err.push(d) } } });
  const r = await finishExec(e, s);
  return { out: text(out), err: text(err), code: r.exitCode, id: ex.id };
}

async function until<T>(f: () => T | Promise<T>, ok: (v: T) => boolean, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (ok(v) || Date.now() > end) return v;
    await Bun.sleep(25);
  }
}

beforeAll(async () => {
  e = new Engine(opts);
  if (!ready) return;
  await installBuiltinBusybox({ content: e.content, images: e.images });
  const c = await createContainer(e, { image: "busybox", name: "ex", command: ["sleep", "600"], env: ["BASE=1"], workdir: "/srv", network: { mode: "none" } });
  await startContainer(e, c.id);
  cid = c.id;
});

afterAll(async () => {
  if (ready) await systemReset(e);
  await e.close();
  expect(mountsUnder(dir)).toEqual([]);
  expect(pidsWithArg(dir)).toEqual([]);
  rmSync(dir, { recursive: true, force: true });
});

describe.if(ready)("exec sessions in the core", () => {
  test("create → start attached → exit: output, record, events, ExecIDs", async () => {
    const events: string[] = [];
    const off = e.onEvent((ev) => events.push(`${ev.action}|${ev.attributes.exitCode ?? ""}`));
    const ex = await createExec(e, "ex", { cmd: ["sh", "-c", "echo out; echo err >&2; exit 3"] });
    expect(ex).toMatchObject({ containerId: cid, state: "created", pid: 0 });
    expect(ex.exitCode).toBeUndefined();
    expect(listExecs(e, cid).map((x) => x.id)).toContain(ex.id);
    const out: Uint8Array[] = [], err: Uint8Array[] = [];
    const s = await startExec(e, ex.id, { attach: { stdout: true, stderr: true, handlers: { onStdout: (d) => out.push(d), onStderr: (d) => err.push(d) } } });
    expect(s.pid).toBeGreaterThan(1);
    const r = await finishExec(e, s);
    off();
    expect(r).toEqual({ exitCode: 3 });
    expect(text(out)).toBe("out\n");
    expect(text(err)).toBe("err\n");
    expect(inspectExec(e, ex.id)).toMatchObject({ id: ex.id, state: "exited", exitCode: 3, pid: 0 });
    expect(events).toEqual(["exec_create: sh -c echo out; echo err >&2; exit 3|", "exec_start: sh -c echo out; echo err >&2; exit 3|", "exec_die|3"]);
    expect(existsSync(e.execDir(ex.id))).toBe(false);
    await expect(startExec(e, ex.id)).rejects.toMatchObject({ code: "Conflict" });
  });

  test("the container's env, workdir and user, changed by the session's spec; privileged", async () => {
    expect((await run({ cmd: ["sh", "-c", "echo $BASE; pwd; id -u"] })).out).toBe("1\n/srv\n0\n");
    const r = await run({ cmd: ["sh", "-c", "echo $BASE $X $HOME; pwd; id"], env: ["X=2", "BASE=3"], workdir: "/tmp", user: "nobody" });
    expect(r.out).toBe("3 2 /home\n/tmp\nuid=65534(nobody) gid=65534(nogroup)\n");
    expect((await run({ cmd: ["id"], user: "1000:10" })).out).toBe("uid=1000 gid=10(wheel)\n");
    const cap = (s: string) => BigInt(`0x${/CapEff:\s*([0-9a-f]+)/.exec(s)![1]}`);
    const plain = cap((await run({ cmd: ["cat", "/proc/self/status"] })).out);
    const priv = cap((await run({ cmd: ["cat", "/proc/self/status"], privileged: true })).out);
    expect(priv & plain).toBe(plain);
    expect(priv).toBeGreaterThan(plain);
    await expect(createExec(e, cid, { cmd: ["id"], user: "nosuchuser" }).then((x) => startExec(e, x.id))).rejects.toThrow(/unable to find user nosuchuser/);
    await expect(createExec(e, cid, { cmd: ["true"], env: ["NOEQUALS"] })).rejects.toMatchObject({ code: "InvalidArgument" });
  });

  test("a command that is not there: 127; not executable: 126; both recorded", async () => {
    for (const [cmd, code] of [["no-such-cmd", 127], ["/etc", 126]] as const) {
      const ex = await createExec(e, cid, { cmd: [cmd] });
      const err = await startExec(e, ex.id).catch((x: unknown) => x);
      expect(err).toBeInstanceOf(StartError);
      expect((err as StartError).exitCode).toBe(code);
      expect((err as StartError).message).toContain(cmd);
      expect(inspectExec(e, ex.id)).toMatchObject({ state: "exited", exitCode: code });
      expect(existsSync(e.execDir(ex.id))).toBe(false);
    }
  });

  test("detached: start returns while it runs; the exit is recorded with nobody attached", async () => {
    const ex = await createExec(e, cid, { cmd: ["sh", "-c", "sleep 0.5; exit 7"] });
    const s = await startExec(e, ex.id);
    expect(s.attach).toBeUndefined();
    expect(inspectExec(e, ex.id)).toMatchObject({ state: "running", pid: s.pid });
    expect(isAlive(s.pid)).toBe(true);
    const done = await until(() => inspectExec(e, ex.id), (x) => x.state === "exited");
    expect(done).toMatchObject({ state: "exited", exitCode: 7 });
    await until(() => pidsWithArg(e.execDir(ex.id)).length, (n) => n === 0);
    expect(pidsWithArg(e.execDir(ex.id))).toEqual([]);
    expect(existsSync(e.execDir(ex.id))).toBe(false);
    // finishExec waits on a detached session through its monitor.
    const other = await startExec(e, (await createExec(e, cid, { cmd: ["sh", "-c", "sleep 0.3; exit 6"] })).id);
    expect(await finishExec(e, other)).toEqual({ exitCode: 6 });
    expect(await until(() => inspectExec(e, other.exec.id), (x) => x.state === "exited")).toMatchObject({ exitCode: 6 });
  });

  test("a terminal: stdin, the size set at start and by resize", async () => {
    const out: Uint8Array[] = [];
    const ex = await createExec(e, cid, { cmd: ["sh"], tty: true, stdin: true });
    const s = await startExec(e, ex.id, { attach: { stdin: true, stdout: true, handlers: { onStdout: (d) => out.push(d) } }, size: { rows: 21, cols: 77 } });
    s.attach!.write("stty size; tty\n");
    // Both lines before the next input: the terminal echoes input as it arrives, so a line sent
    // after "21 77" alone could land between it and tty's answer.
    await until(() => text(out), (t) => /21 77\r\n\/dev\/pts\/\d+\r\n/.test(t));
    await resizeExec(e, ex.id, 33, 99);
    s.attach!.write("stty size; exit 5\n");
    const r = await finishExec(e, s);
    expect(r.exitCode).toBe(5);
    expect(text(out)).toMatch(/21 77\r\n\/dev\/pts\/\d+\r\n/);
    expect(text(out)).toContain("33 99");
    await expect(resizeExec(e, ex.id, 1, 1)).rejects.toMatchObject({ code: "Conflict" });
  });

  test("a paused, a stopped and a missing container refuse exec with docker's words", async () => {
    await pauseContainer(e, cid);
    await expect(createExec(e, cid, { cmd: ["true"] })).rejects.toThrow(`container ${cid} is paused, unpause the container before exec`);
    await unpauseContainer(e, cid);
    await expect(createExec(e, "no-such-container", { cmd: ["true"] })).rejects.toMatchObject({ code: "NotFound" });
    await expect(createExec(e, cid, { cmd: [] })).rejects.toMatchObject({ code: "InvalidArgument" });
    const c = await createContainer(e, { image: "busybox", command: ["sleep", "600"], network: { mode: "none" } });
    await expect(createExec(e, c.id, { cmd: ["true"] })).rejects.toThrow(`container ${c.id} is not running`);
    await startContainer(e, c.id);
    const ex = await createExec(e, c.id, { cmd: ["true"] });
    await stopContainer(e, c.id, { timeoutSec: 0 });
    await expect(startExec(e, ex.id)).rejects.toMatchObject({ code: "Conflict" });
    await removeContainer(e, c.id);
  });

  test("sessions still running when their container stops are recorded; their monitors go", async () => {
    const c = await createContainer(e, { image: "busybox", command: ["sleep", "600"], network: { mode: "none" } });
    await startContainer(e, c.id);
    const ex = await createExec(e, c.id, { cmd: ["sleep", "600"] });
    const s = await startExec(e, ex.id);
    const attached = await createExec(e, c.id, { cmd: ["sleep", "601"] });
    const s2 = await startExec(e, attached.id, { attach: { stdout: true } });
    const ended = finishExec(e, s2);
    await stopContainer(e, c.id, { timeoutSec: 0 });
    expect((await ended).exitCode).toBe(137);
    expect(inspectExec(e, ex.id)).toMatchObject({ state: "exited", exitCode: 137 });
    expect(isAlive(s.pid)).toBe(false);
    expect(pidsWithArg(e.execDir(ex.id))).toEqual([]);
    expect(pidsWithArg(e.execDir(attached.id))).toEqual([]);
    // docker forgets a container's sessions when it starts again.
    await startContainer(e, c.id);
    expect(listExecs(e, c.id)).toEqual([]);
    await removeContainer(e, c.id, { force: true });
    expect(existsSync(join(runroot, "execs")) ? readdirSync(join(runroot, "execs")) : []).toEqual([]);
  });
});

describe.if(ready)("health checks in the core", () => {
  test("failures count toward retries → unhealthy; a pass → healthy; the last 5 results kept", async () => {
    // An interval of an hour: the monitor's timer never fires in this test; the checks are ours.
    const c = await createContainer(e, { image: "busybox", command: ["sleep", "600"], network: { mode: "none" }, healthcheck: { test: ["CMD-SHELL", "cat /tmp/ok"], intervalMs: 3_600_000, retries: 2 } });
    await startContainer(e, c.id);
    expect((await getContainer(e, c.id)).health).toEqual({ status: "starting", failingStreak: 0, log: [] });
    const statuses: string[] = [];
    const off = e.onEvent((ev) => ev.action.startsWith("health_status") && statuses.push(ev.action));
    const h1 = (await runHealthcheck(e, c.id))!;
    expect(h1).toMatchObject({ status: "starting", failingStreak: 1 });
    expect(h1.log[0]).toMatchObject({ exitCode: 1, output: "cat: can't open '/tmp/ok': No such file or directory\n" });
    expect(Date.parse(h1.log[0]!.end)).toBeGreaterThanOrEqual(Date.parse(h1.log[0]!.start));
    expect((await runHealthcheck(e, c.id))!).toMatchObject({ status: "unhealthy", failingStreak: 2 });
    await run({ cmd: ["sh", "-c", "echo fine > /tmp/ok"] }, c.id);
    let h: HealthState | undefined;
    for (let i = 0; i < 4; i++) h = await runHealthcheck(e, c.id);
    off();
    expect(h).toMatchObject({ status: "healthy", failingStreak: 0 });
    expect(h!.log.map((x) => x.exitCode)).toEqual([1, 0, 0, 0, 0]);
    expect(h!.log[4]!.output).toBe("fine\n");
    expect(statuses).toEqual(["health_status: unhealthy", "health_status: healthy"]);
    expect((await getContainer(e, c.id)).health).toMatchObject({ status: "healthy" });
    // The probes' sessions are forgotten once done (docker unregisters them).
    expect(listExecs(e, c.id).length).toBe(1);
    await removeContainer(e, c.id, { force: true });
  });

  test("the image's HEALTHCHECK (docker's config field) is used; a spec of NONE disables it", async () => {
    // busybox with a docker-style Healthcheck in its config (nanoseconds, as docker writes them).
    const bb = (await findImage(e, "busybox"))!;
    const cfg = { ...bb.configDoc, config: { ...bb.configDoc.config, Healthcheck: { Test: ["CMD", "test", "-d", "/tmp"], Interval: 3_600e9, Timeout: 5e9, Retries: 2 } } };
    const cfgDesc = await writeBytes(e.content, JSON.stringify(cfg), bb.config.mediaType);
    const manifest = JSON.parse(new TextDecoder().decode(await e.content.read(bb.manifest.digest))) as Record<string, unknown>;
    const mDesc = await writeBytes(e.content, JSON.stringify({ ...manifest, config: cfgDesc }), bb.manifest.mediaType);
    e.images.put({ name: normalizeName("hc-image:1"), target: mDesc });
    const c = await createContainer(e, { image: "hc-image:1", command: ["sleep", "600"], network: { mode: "none" } });
    expect(c.resolved.healthcheck).toEqual({ test: ["CMD", "test", "-d", "/tmp"], intervalMs: 3_600_000, timeoutMs: 5000, retries: 2 });
    await startContainer(e, c.id);
    expect((await runHealthcheck(e, c.id))!).toMatchObject({ status: "healthy", failingStreak: 0, log: [{ exitCode: 0, output: "" }] });
    await removeContainer(e, c.id, { force: true });
    const off = await createContainer(e, { image: "hc-image:1", command: ["sleep", "600"], network: { mode: "none" }, healthcheck: { test: ["NONE"] } });
    await startContainer(e, off.id);
    expect(await runHealthcheck(e, off.id)).toBeUndefined();
    expect((await getContainer(e, off.id)).health).toBeUndefined();
    await removeContainer(e, off.id, { force: true });
  });

  test("CMD form; the start period keeps failures from counting; a hanging check is killed at its timeout", async () => {
    const c = await createContainer(e, { image: "busybox", command: ["sleep", "600"], network: { mode: "none" }, healthcheck: { test: ["CMD", "sh", "-c", "exit 1"], intervalMs: 3_600_000, retries: 1, startPeriodMs: 60_000 } });
    await startContainer(e, c.id);
    expect((await runHealthcheck(e, c.id))!).toMatchObject({ status: "starting", failingStreak: 0 });
    await removeContainer(e, c.id, { force: true });

    const hang = await createContainer(e, { image: "busybox", command: ["sleep", "600"], network: { mode: "none" }, healthcheck: { test: ["CMD", "sleep", "30"], intervalMs: 3_600_000, timeoutMs: 300, retries: 1 } });
    await startContainer(e, hang.id);
    const t0 = Date.now();
    const h = (await runHealthcheck(e, hang.id))!;
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(h).toMatchObject({ status: "unhealthy", failingStreak: 1 });
    expect(h.log[0]).toMatchObject({ exitCode: -1, output: "Health check exceeded timeout (300ms)" });
    const { processes } = await import("../../src/runtime/operations/ps.ts");
    const left = await until(() => processes(e.runtimeRoot, hang.id).length, (n) => n === 1);
    expect(left).toBe(1); // the container's init only: the check was killed
    await removeContainer(e, hang.id, { force: true });
  });
});
