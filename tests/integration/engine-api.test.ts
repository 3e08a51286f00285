// The engine core as a library (what berthd's Docker API and the CRI call), on real containers:
// typed records and reports, no printing; the same stores a CLI process would open.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { Engine, type EngineOptions } from "../../src/engine/engine.ts";
import {
  cleanupContainer, createContainer, getContainer, killContainer, listContainers, pauseContainer, removeContainer, renameContainer, unpauseContainer,
  reconcile, startContainer, stopContainer, waitContainer, StartError, type Container,
} from "../../src/engine/containers.ts";
import { readLogs } from "../../src/engine/logs.ts";
import { createVolume, removeVolume } from "../../src/engine/volumes.ts";
import { systemReset } from "../../src/engine/prune.ts";
import { installBuiltinBusybox } from "../../src/image/builtin-busybox.ts";
import { mountsUnder, pidsWithArg } from "../helpers/leftovers.ts";

const TOP = resolve(import.meta.dir, "../..");
const BERTH = join(TOP, "build/berth");
const ready = process.getuid?.() === 0 && existsSync(BERTH) && existsSync(join(TOP, "build/berth-monitor"));
const dir = mkdtempSync("/tmp/bt-engine-api-");
const root = join(dir, "root"), runroot = join(dir, "run");
const opts: EngineOptions = {
  root, runroot, storageDriver: "overlay",
  berthInit: join(TOP, "build/berth-init"), monitor: join(TOP, "build/berth-monitor"), runtime: join(TOP, "build/berth-runtime"),
  exitCommand: [BERTH, "--root", root, "--runroot", runroot, "container", "cleanup"],
};
let e: Engine;

beforeAll(async () => {
  e = new Engine(opts);
  if (ready) await installBuiltinBusybox({ content: e.content, images: e.images });
});

afterAll(async () => {
  if (ready) await systemReset(e);
  await e.close();
  expect(mountsUnder(dir)).toEqual([]);
  rmSync(dir, { recursive: true, force: true });
});

describe.if(ready)("the engine core as a library", () => {
  test("create → start with attach → exit record; logs; events; remove", async () => {
    const events: string[] = [];
    const off = e.onEvent((ev) => events.push(`${ev.type}:${ev.action}`));
    const c = await createContainer(e, { image: "busybox", name: "lib1", command: ["sh", "-c", "echo out; echo err >&2; exit 4"], network: { mode: "none" } });
    expect(c).toMatchObject({ name: "lib1", state: "created", image: "busybox", resolved: { path: "sh", args: ["-c", "echo out; echo err >&2; exit 4"], stopSignal: "SIGTERM" } });
    const out: string[] = [];
    const r = await startContainer(e, c.id, { attach: { stdout: true, stderr: true, takeCleanup: true, handlers: {
      onStdout: (d) => out.push(`1:${new TextDecoder().decode(d)}`), onStderr: (d) => out.push(`2:${new TextDecoder().decode(d)}`),
    } } });
    expect(r.container.state).toBe("running");
    expect(r.container.pid).toBeGreaterThan(1);
    const exit = await r.attach!.exit;
    expect(exit).toMatchObject({ state: "exited", exitCode: 4, oomKilled: false });
    const after = await cleanupContainer(e, c.id);
    r.attach!.done();
    await r.attach!.closed;
    expect(after).toMatchObject({ state: "exited", exitCode: 4, pid: 0 });
    expect(out.sort()).toEqual(["1:out\n", "2:err\n"]);
    const logs: string[] = [];
    for await (const x of readLogs(e, after!)) logs.push(`${x.stream}:${x.text}`);
    expect(logs.sort()).toEqual(["stderr:err\n", "stdout:out\n"]);
    await removeContainer(e, c.id);
    off();
    expect(events).toEqual(["container:create", "container:start", "container:die", "container:destroy"]);
    expect(() => e.containers.get(c.id)).toThrow(/No such container/);
  });

  test("a detached container: list, wait, kill, stop of a stopped one, rename", async () => {
    const c = await createContainer(e, { image: "busybox", command: ["sleep", "60"], network: { mode: "none" } });
    expect(c.name).toMatch(/^[a-z]+_[a-z]+$/);
    await startContainer(e, c.id);
    expect((await listContainers(e)).map((x) => x.id)).toContain(c.id);
    const again = await startContainer(e, c.id);
    expect(again.alreadyRunning).toBe(true);
    const waiting = waitContainer(e, c.id);
    await killContainer(e, c.id, "SIGTERM"); // PID 1 without a handler ignores it
    await Bun.sleep(200);
    expect((await getContainer(e, c.id)).state).toBe("running");
    await killContainer(e, c.id, "SIGKILL");
    expect(await waiting).toMatchObject({ exitCode: 137 });
    expect((await stopContainer(e, c.id)).alreadyStopped).toBe(true);
    await renameContainer(e, c.id, "renamed");
    expect((await getContainer(e, "renamed")).id).toBe(c.id);
    await expect(renameContainer(e, c.id, "renamed")).rejects.toThrow(/same name/);
    await removeContainer(e, "renamed");
    expect((await listContainers(e, { all: true })).map((x) => x.id)).not.toContain(c.id);
  });

  test("a monitor's events are recorded once, however many reconciles (here, two from one stale record) see them", async () => {
    // A restart policy keeps the container under its monitor: the first exit's die and restart
    // land in its events file while it still counts as running (the second run takes 0.5 s), and any
    // reconcile (berthd's list, a CLI's ps) imports them. listContainers reconciles records it
    // read before its awaits: one that another import has passed must not import them again.
    const c = await createContainer(e, { image: "busybox", command: ["sh", "-c", "if [ -e /ran ]; then sleep 0.5; else touch /ran; fi; exit 3"], network: { mode: "none" }, restart: { name: "on-failure", maximumRetryCount: 1 } });
    await startContainer(e, c.id);
    const stale = e.containers.get(c.id);
    expect(stale.monitorEventsOffset).toBe(0);
    const file = join(runroot, "containers", c.id, "events.jsonl");
    for (let i = 0; i < 200 && !(existsSync(file) && readFileSync(file, "utf8").includes('"restart"')); i++) await Bun.sleep(20);
    await reconcile(e, stale as Container);
    await reconcile(e, stale as Container);
    expect(await waitContainer(e, c.id)).toMatchObject({ exitCode: 3 });
    // From the log, which holds what the monitor's exit command (another process) recorded too.
    const seen = e.eventLog.list().filter((ev) => ev.actor === c.id).map((ev) => ev.action);
    expect(seen).toEqual(["create", "start", "die", "restart", "start", "die"]);
    await removeContainer(e, c.id);
  });

  test("a reconcile from a stale record does not undo what happened since (a pause after a restart)", async () => {
    // The first run exits at once and the monitor restarts it after its 100 ms back-off; the
    // second runs on. A record read during the back-off says "restarting"; by the time it is
    // reconciled the container runs again and was paused: it must stay paused.
    const c = await createContainer(e, { image: "busybox", command: ["sh", "-c", "if [ -e /ran ]; then sleep 30; else touch /ran; exit 3; fi"], network: { mode: "none" }, restart: { name: "on-failure", maximumRetryCount: 1 } });
    await startContainer(e, c.id);
    const status = () => JSON.parse(readFileSync(join(runroot, "containers", c.id, "status.json"), "utf8")) as { state: string; restartCount: number };
    for (let i = 0; i < 300 && status().state !== "restarting"; i++) await Bun.sleep(5);
    expect(status().state).toBe("restarting");
    const stale = await getContainer(e, c.id); // reconciled now: "restarting"
    expect(stale.state).toBe("restarting");
    for (let i = 0; i < 300 && !(status().state === "running" && status().restartCount === 1); i++) await Bun.sleep(10);
    expect(await getContainer(e, c.id)).toMatchObject({ state: "running", restartCount: 1 });
    await pauseContainer(e, c.id);
    expect((await reconcile(e, stale)).state).toBe("paused");
    expect(e.containers.get(c.id).state).toBe("paused");
    await unpauseContainer(e, c.id);
    await removeContainer(e, c.id, { force: true });
  });

  test("errors are typed: a missing image, a bad spec, a command that is not there", async () => {
    await expect(createContainer(e, { image: "no/such:image" })).rejects.toMatchObject({ code: "NotFound" });
    await expect(createContainer(e, { image: "busybox", memory: 1 })).rejects.toMatchObject({ code: "InvalidArgument", field: "memory" });
    const c = await createContainer(e, { image: "busybox", command: ["/nope"], network: { mode: "none" } });
    let err: unknown;
    try {
      await startContainer(e, c.id);
    } catch (x) {
      err = x;
    }
    expect(err).toBeInstanceOf(StartError);
    expect((err as StartError).exitCode).toBe(127);
    expect(await getContainer(e, c.id)).toMatchObject({ state: "exited", exitCode: 127 });
    await removeContainer(e, c.id);
    await expect(removeContainer(e, c.id)).rejects.toMatchObject({ code: "NotFound" });
  });

  test("a start that fails before the runtime is reached (a stopped container's network) leaves no monitor, mount or run dir", async () => {
    // The monitor and the network are started first (beside the mount and the bundle): a start
    // refused after that must still end them.
    const stopped = await createContainer(e, { image: "busybox", command: ["true"], network: { mode: "none" } });
    for (const mode of [`container:${stopped.id}`, "bridge"] as const) {
      const c = await createContainer(e, { image: "busybox", command: ["true"], network: { mode }, ...(mode === "bridge" ? { ipc: `container:${stopped.id}` } : {}) });
      await expect(startContainer(e, c.id)).rejects.toMatchObject({ exitCode: 125, message: expect.stringContaining(`container ${stopped.name}: it is not running`) });
      expect(await getContainer(e, c.id)).toMatchObject({ state: "created", pid: 0 });
      expect(pidsWithArg(c.id)).toEqual([]); // berth-monitor runs with --id <id>
      expect(existsSync(join(runroot, "containers", c.id))).toBe(false);
      expect(existsSync(join(runroot, "netns", c.id))).toBe(false);
      expect(mountsUnder(join(runroot, "containers", c.id))).toEqual([]);
      await removeContainer(e, c.id);
    }
    await removeContainer(e, stopped.id);
  });

  test("running containers are refused removal without force; volumes in use are kept", async () => {
    createVolume(e, { name: "libvol" });
    const c = await createContainer(e, { image: "busybox", command: ["sleep", "60"], network: { mode: "none" }, mounts: [{ type: "volume", source: "libvol", target: "/v" }] });
    await startContainer(e, c.id);
    await expect(removeContainer(e, c.id)).rejects.toMatchObject({ code: "Conflict" });
    expect(() => removeVolume(e, "libvol")).toThrow(/in use/);
    await removeContainer(e, c.id, { force: true });
    removeVolume(e, "libvol");
    expect(e.volumes.find("libvol")).toBeUndefined();
  });
});
