// Many short exec sessions at once into one running container while other containers start and
// go (the reported flake: a session whose process was gone stayed "running" and its ExecSync never
// returned): through the engine's API, and through the CRI's ExecSync in berthd. Each session
// must end within a generous deadline with its own output and status; a session that does not is
// reported with what its monitor wrote (status.json, monitor.log), and nothing may be left after.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as grpc from "@grpc/grpc-js";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { Engine, type EngineOptions } from "../../src/engine/engine.ts";
import { createContainer, removeContainer, startContainer } from "../../src/engine/containers.ts";
import { createExec, finishExec, listExecs, startExec } from "../../src/engine/exec.ts";
import { systemReset } from "../../src/engine/prune.ts";
import { installBuiltinBusybox } from "../../src/image/builtin-busybox.ts";
import { criProto } from "../../src/api/cri/proto.ts";
import { monitorAlive, readStatus, spawnMonitor } from "../../src/monitor/monitor.ts";
import { killPid, mountsUnder, pidsWithArg } from "../helpers/leftovers.ts";
import { CriServer } from "./cri-harness.ts";

const TOP = resolve(import.meta.dir, "../..");
const BERTH = join(TOP, "build/berth");
const ready = process.getuid?.() === 0 && existsSync(BERTH) && existsSync(join(TOP, "build/berth-monitor"));
/** Per session: far above what one takes on a loaded 2-core machine (tens of ms). */
const DEADLINE_MS = 30_000;

const text = (chunks: Uint8Array[]) => new TextDecoder().decode(Buffer.concat(chunks));
const read = (p: string) => { try { return readFileSync(p, "utf8").trim(); } catch { return "(none)"; } };

/** The value, or an error naming `what` once `ms` passed. */
async function within<T>(p: Promise<T>, ms: number, what: () => string): Promise<T> {
  let timer: Timer | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`not finished after ${ms} ms: ${what()}`)), ms)));
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Run `n` jobs, `width` at a time; the failures' messages. */
async function pool(n: number, width: number, job: (i: number) => Promise<void>): Promise<string[]> {
  const failures: string[] = [];
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < n) {
      const i = next++;
      try {
        await job(i);
      } catch (err) {
        failures.push(`#${i}: ${(err as Error).message}`);
      }
    }
  }));
  return failures;
}

async function until<T>(f: () => T, ok: (v: T) => boolean, ms: number): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = f();
    if (ok(v) || Date.now() > end) return v;
    await Bun.sleep(25);
  }
}

describe.if(ready)("the monitor's sync socket", () => {
  // The protocol's safety net (berth-monitor.c): end of file before "start" means the start failed
  // or the engine went away, and the monitor records that and exits. It used to be defeated in the
  // engine's own process: the "ready" line was read through Bun.file(fd).stream(), whose duplicate
  // of the fd outlived our close, so a monitor whose "start" never came stayed "creating" for ever
  // (its session "running", its ExecSync unanswered) — seen here with the close below: still
  // "creating" after 10 s, the engine holding a second fd on the socket (ss -xp).
  test("closed by the engine before \"start\": the monitor records the failed start and exits", async () => {
    const dir = mkdtempSync("/tmp/bt-exec-race-sync-");
    try {
      const m = await spawnMonitor({
        id: "sync-eof", dir, stdin: false, tty: false, restart: { name: "no" },
        runtime: join(TOP, "build/berth-runtime"), runtimeRoot: join(dir, "runtime"), bundle: dir,
        berthInit: join(TOP, "build/berth-init"), monitor: join(TOP, "build/berth-monitor"), exitCommand: [],
      });
      m.close();
      const st = await until(() => readStatus(dir), (s) => s?.state === "exited", 10_000);
      expect(st).toMatchObject({ state: "exited", pid: 0, error: "the engine went away before the container started" });
      expect(await until(() => monitorAlive(st!), (alive) => !alive, 10_000)).toBe(false);
    } finally {
      const left = readStatus(dir); // ended by pid only while it is still this monitor (its start time)
      if (left && monitorAlive(left)) killPid(left.monitorPid);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe.if(ready)("exec sessions under load", () => {
  let dir = "", runroot = "";
  let e: Engine;

  beforeAll(async () => {
    dir = mkdtempSync("/tmp/bt-exec-race-");
    const root = join(dir, "root");
    runroot = join(dir, "run");
    const opts: EngineOptions = {
      root, runroot, storageDriver: "overlay",
      berthInit: join(TOP, "build/berth-init"), monitor: join(TOP, "build/berth-monitor"), runtime: join(TOP, "build/berth-runtime"),
      exitCommand: [BERTH, "--root", root, "--runroot", runroot, "container", "cleanup"],
    };
    e = new Engine(opts);
    await installBuiltinBusybox({ content: e.content, images: e.images });
  });

  afterAll(async () => {
    try {
      await systemReset(e);
      await e.close();
      expect(mountsUnder(dir)).toEqual([]);
      expect(pidsWithArg(dir)).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("engine API: 200 short sessions, 40 at a time, while containers start and go", async () => {
    const c = await createContainer(e, { image: "busybox", name: "target", command: ["sleep", "600"], network: { mode: "none" } });
    await startContainer(e, c.id);
    const stop = { v: false };
    let loaded = 0;
    const load = Array.from({ length: 2 }, async () => {
      while (!stop.v) {
        const x = await createContainer(e, { image: "busybox", command: ["true"], network: { mode: "none" } });
        await startContainer(e, x.id);
        await removeContainer(e, x.id, { force: true });
        loaded++;
      }
    });
    const failures = await pool(200, 40, async (i) => {
      const out: Uint8Array[] = [];
      const ex = await createExec(e, c.id, { cmd: ["sh", "-c", `echo s${i}; exit ${i % 3}`] });
      const what = () => `exec ${ex.id.slice(0, 12)}: status.json ${read(join(e.execDir(ex.id), "status.json"))}; monitor.log ${read(join(e.execDir(ex.id), "monitor.log"))}`;
      const r = await within((async () => {
        const s = await startExec(e, ex.id, { attach: { stdout: true, stderr: true, handlers: { onStdout: (d) => out.push(d) } } });
        return finishExec(e, s);
      })(), DEADLINE_MS, what);
      if (r.exitCode !== i % 3 || text(out) !== `s${i}\n`) throw new Error(`exit ${r.exitCode} (want ${i % 3}), output ${JSON.stringify(text(out))}: ${what()}`);
    });
    stop.v = true;
    await Promise.all(load);
    expect(failures).toEqual([]);
    expect(loaded).toBeGreaterThan(0);
    // Every session recorded as ended, and its directory gone with it.
    expect(listExecs(e, c.id).filter((x) => x.state !== "exited")).toEqual([]);
    expect(existsSync(join(runroot, "execs")) ? readdirSync(join(runroot, "execs")) : []).toEqual([]);
    await removeContainer(e, c.id, { force: true });
  }, 240_000);
});

describe.if(ready)("CRI ExecSync under load", () => {
  let s: CriServer;
  let rt: grpc.Client & Record<string, unknown>;
  function call<Res>(method: string, req: object): Promise<Res> {
    return new Promise((resolve, reject) => {
      (rt[method] as (r: object, cb: (e: grpc.ServiceError | null, v: Res) => void) => void)(req, (err, v) => (err ? reject(err) : resolve(v)));
    });
  }

  beforeAll(async () => {
    s = new CriServer("bt-exec-race-cri-");
    await s.start();
    const proto = await criProto();
    rt = new proto.runtime.v1.RuntimeService(`unix://${s.socket}`, grpc.credentials.createInsecure()) as unknown as typeof rt;
    const img = new proto.runtime.v1.ImageService(`unix://${s.socket}`, grpc.credentials.createInsecure()) as unknown as grpc.Client & Record<string, unknown>;
    await new Promise((res, rej) => (img.PullImage as (r: object, cb: (e: unknown) => void) => void)({ image: { image: "busybox" } }, (err) => (err ? rej(err) : res(undefined))));
    img.close();
  });

  afterAll(async () => {
    rt?.close();
    const left = await s.cleanup();
    expect(left).toEqual({ mounts: [], cgroups: [], processes: [] });
  });

  test("150 ExecSync, 30 at a time, while another pod's containers start and go", async () => {
    const pod = (name: string) => ({ metadata: { name, namespace: "exec-race", uid: `uid-${name}`, attempt: 0 }, hostname: name, log_directory: join(s.cli.dir, "logs", name) });
    const p = (await call<{ pod_sandbox_id: string }>("RunPodSandbox", { config: pod("target") })).pod_sandbox_id;
    const cfg = { metadata: { name: "sleeper" }, image: { image: "busybox" }, command: ["sleep", "600"], log_path: "s.log" };
    const cid = (await call<{ container_id: string }>("CreateContainer", { pod_sandbox_id: p, config: cfg, sandbox_config: pod("target") })).container_id;
    await call("StartContainer", { container_id: cid });
    const lp = (await call<{ pod_sandbox_id: string }>("RunPodSandbox", { config: pod("load") })).pod_sandbox_id;
    const stop = { v: false };
    let loaded = 0;
    const load = (async () => {
      while (!stop.v) {
        const config = { metadata: { name: `c${loaded}` }, image: { image: "busybox" }, command: ["true"], log_path: `c${loaded}.log` };
        const id = (await call<{ container_id: string }>("CreateContainer", { pod_sandbox_id: lp, config, sandbox_config: pod("load") })).container_id;
        await call("StartContainer", { container_id: id });
        await call("StopContainer", { container_id: id, timeout: 0 });
        await call("RemoveContainer", { container_id: id });
        loaded++;
      }
    })();
    const sessions = () => {
      const d = join(s.cli.runroot, "execs");
      return (existsSync(d) ? readdirSync(d) : []).map((id) => `${id.slice(0, 12)}: ${read(join(d, id, "status.json"))}`).filter((x) => !x.includes('"state":"exited"')).slice(0, 4).join("; ");
    };
    const failures = await pool(150, 30, async (i) => {
      const r = await within(call<{ exit_code: number; stdout: Buffer }>("ExecSync", { container_id: cid, cmd: ["sh", "-c", `echo x${i}; exit ${i % 2}`], timeout: 0 }), DEADLINE_MS, () => `sessions still there: ${sessions()}`);
      if (r.exit_code !== i % 2 || Buffer.from(r.stdout).toString() !== `x${i}\n`) throw new Error(`exit ${r.exit_code}, stdout ${JSON.stringify(Buffer.from(r.stdout).toString())}`);
    });
    stop.v = true;
    await load;
    expect(failures).toEqual([]);
    expect(loaded).toBeGreaterThan(0);
    await call("RemovePodSandbox", { pod_sandbox_id: lp });
    await call("RemovePodSandbox", { pod_sandbox_id: p });
  }, 240_000);
});
