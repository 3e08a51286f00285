// Stress for the exec-session hang through the CRI: many ExecSync calls at once (grpc-js, as
// kubelet's probes) into one pod's container in berthd, while other pods' containers are
// created, started and removed in parallel. A call not answered after HANG_MS is reported with
// the state of every exec session still in berthd's runroot (monitor /proc, fds, strace, files).
// Not a benchmark and not a test: a tool to reproduce the flake by hand.
//   node_modules/bun/bin/bun.exe bench/exec-race-cri.ts [calls] [concurrency] [loaders]
import * as grpc from "@grpc/grpc-js";
import { existsSync, readdirSync, readFileSync, readlinkSync, statSync } from "node:fs";
import { join } from "node:path";
import { criProto } from "../src/api/cri/proto.ts";
import { CriServer } from "../tests/integration/cri-harness.ts";

const total = Number(process.argv[2] ?? 400);
const conc = Number(process.argv[3] ?? 16);
const loaders = Number(process.argv[4] ?? 2);
const HANG_MS = 10_000;

function call<Res>(client: object, method: string, req: object, deadlineMs = 0): Promise<Res> {
  return new Promise((resolve, reject) => {
    const opts = deadlineMs ? { deadline: Date.now() + deadlineMs } : {};
    (client as Record<string, (r: object, m: grpc.Metadata, o: object, cb: (e: grpc.ServiceError | null, v: Res) => void) => void>)[method]!(req, new grpc.Metadata(), opts, (e, v) => (e ? reject(e) : resolve(v)));
  });
}
function tryRead(p: string): string {
  try { return readFileSync(p, "utf8"); } catch (err) { return `(${(err as Error).message})`; }
}
function sh(cmd: string[]): string {
  const p = Bun.spawnSync(cmd, { stdout: "pipe", stderr: "pipe" });
  return new TextDecoder().decode(p.stdout) + new TextDecoder().decode(p.stderr);
}
function proc(what: string, p: number, strace: boolean): void {
  console.log(`--- ${what} ${p}: ${tryRead(`/proc/${p}/status`).split("\n").filter((l) => /^(Name|State|PPid|NSpid)/.test(l)).join(" | ")}`);
  console.log(`cmdline: ${tryRead(`/proc/${p}/cmdline`).replaceAll("\0", " ")}`);
  console.log(`stack:\n${tryRead(`/proc/${p}/stack`)}`);
  try {
    for (const f of readdirSync(`/proc/${p}/fd`)) {
      let l = "";
      try { l = readlinkSync(`/proc/${p}/fd/${f}`); } catch {}
      console.log(`  fd ${f} -> ${l}`);
    }
  } catch {}
  console.log(`children: ${tryRead(`/proc/${p}/task/${p}/children`)}`);
  if (strace) console.log(`strace:\n${sh(["timeout", "2", "strace", "-p", String(p)])}`);
}

/** Every exec session directory older than HANG_MS, with its monitor and process. */
function dumpSessions(runroot: string, berthd: number): void {
  const execs = join(runroot, "execs");
  const now = Date.now();
  for (const id of existsSync(execs) ? readdirSync(execs) : []) {
    const d = join(execs, id);
    let age = 0;
    try { age = now - statSync(d).mtimeMs; } catch { continue; }
    if (age < HANG_MS / 2) continue;
    console.log(`\n===== old exec session ${id.slice(0, 12)} (${age} ms): ${readdirSync(d).join(" ")}`);
    const status = tryRead(join(d, "status.json"));
    console.log(`status.json: ${status}\nmonitor.log: ${tryRead(join(d, "monitor.log"))}\nevents.jsonl: ${tryRead(join(d, "events.jsonl"))}`);
    let st: { monitorPid?: number; pid?: number } = {};
    try { st = JSON.parse(status); } catch {}
    if (st.monitorPid) proc("monitor", st.monitorPid, true);
    if (st.pid) proc("process", st.pid, false);
  }
  proc("berthd", berthd, false);
}

const s = new CriServer("bt-exec-race-cri-");
await s.start();
const p = await criProto();
const rt = new p.runtime.v1.RuntimeService(`unix://${s.socket}`, grpc.credentials.createInsecure()) as object;
const img = new p.runtime.v1.ImageService(`unix://${s.socket}`, grpc.credentials.createInsecure()) as object;
const pod = (name: string) => ({ metadata: { name, namespace: "exec-race", uid: `uid-${name}`, attempt: 0 }, hostname: name, log_directory: join(s.cli.dir, "logs", name) });
let dumped = false;
try {
  await call(img, "PullImage", { image: { image: "busybox" } });
  const podId = (await call<{ pod_sandbox_id: string }>(rt, "RunPodSandbox", { config: pod("target") })).pod_sandbox_id;
  const cfg = { metadata: { name: "sleeper" }, image: { image: "busybox" }, command: ["sleep", "3600"], log_path: "s.log" };
  const cid = (await call<{ container_id: string }>(rt, "CreateContainer", { pod_sandbox_id: podId, config: cfg, sandbox_config: pod("target") })).container_id;
  await call(rt, "StartContainer", { container_id: cid });

  const stop = { v: false };
  const loader = async (k: number): Promise<number> => {
    const lp = (await call<{ pod_sandbox_id: string }>(rt, "RunPodSandbox", { config: pod(`load${k}`) })).pod_sandbox_id;
    let n = 0;
    while (!stop.v) {
      try {
        const config = { metadata: { name: `c${n}` }, image: { image: "busybox" }, command: ["true"], log_path: `c${n}.log` };
        const id = (await call<{ container_id: string }>(rt, "CreateContainer", { pod_sandbox_id: lp, config, sandbox_config: pod(`load${k}`) })).container_id;
        await call(rt, "StartContainer", { container_id: id });
        await call(rt, "StopContainer", { container_id: id, timeout: 0 });
        await call(rt, "RemoveContainer", { container_id: id });
        n++;
      } catch (err) {
        console.log(`loader ${k}: ${(err as Error).message}`);
      }
    }
    await call(rt, "RemovePodSandbox", { pod_sandbox_id: lp });
    return n;
  };
  // LOADCLI=1: the load is `berth run` processes of their own on berthd's root instead.
  const cliLoader = async (k: number): Promise<number> => {
    let n = 0;
    while (!stop.v) {
      const p = Bun.spawn(s.cli.argv(["run", "--rm", "--network", "none", "busybox", "sh", "-c", `echo load${k}`]), { stdio: ["ignore", "ignore", "pipe"] });
      const [err, code] = await Promise.all([new Response(p.stderr).text(), p.exited]);
      if (code !== 0) console.log(`cli loader ${k}: ${code} ${err.trim()}`);
      n++;
    }
    return n;
  };
  const loads = Array.from({ length: loaders }, (_, k) => (process.env.LOADCLI ? cliLoader(k) : loader(k)));
  let next = 0, ok = 0, hung = 0;
  const t0 = Date.now();
  await Promise.all(Array.from({ length: conc }, async () => {
    while (next < total) {
      const i = next++;
      const cmd = i % 2 ? ["true"] : ["sh", "-c", "echo hi"];
      const timer = setTimeout(() => {
        hung++;
        console.log(`\n##### ExecSync ${i} not answered after ${HANG_MS} ms`);
        if (!dumped) { dumped = true; dumpSessions(s.cli.runroot, s.pid); }
      }, HANG_MS);
      try {
        const r = await call<{ exit_code: number; stdout: Buffer }>(rt, "ExecSync", { container_id: cid, cmd, timeout: 0 }, 60_000);
        if (r.exit_code !== 0) console.log(`exec ${i}: exit ${r.exit_code}`);
        else ok++;
      } catch (err) {
        console.log(`exec ${i}: ${(err as Error).message}`);
      } finally {
        clearTimeout(timer);
      }
    }
  }));
  stop.v = true;
  const started = (await Promise.all(loads)).reduce((a, b) => a + b, 0);
  console.log(`${ok}/${total} ExecSync ok in ${Date.now() - t0} ms, ${hung} past ${HANG_MS} ms; ${started} load containers`);
  await call(rt, "RemovePodSandbox", { pod_sandbox_id: podId });
} finally {
  (rt as grpc.Client).close();
  (img as grpc.Client).close();
  console.log(`left: ${JSON.stringify(await s.cleanup())}`);
}
