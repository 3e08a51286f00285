// Stress for the exec-session hang (a session whose process is gone stays "running"): many short
// exec sessions at once into one running container, through the engine API, while other
// containers are started and removed in parallel. A session not finished after HANG_MS is
// reported with the state of its monitor (/proc, fds, strace), its directory and its process.
// Not a benchmark and not a test: a tool to reproduce the flake by hand.
//   node_modules/bun/bin/bun.exe bench/exec-race.ts [sessions] [concurrency] [loaders] [api|cli]
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { Engine, type EngineOptions } from "../src/engine/engine.ts";
import { createContainer, removeContainer, startContainer } from "../src/engine/containers.ts";
import { createExec, finishExec, startExec } from "../src/engine/exec.ts";
import { systemReset } from "../src/engine/prune.ts";
import { installBuiltinBusybox } from "../src/image/builtin-busybox.ts";

const TOP = resolve(import.meta.dir, "..");
const BERTH = join(TOP, "build/berth");
const total = Number(process.argv[2] ?? 400);
const conc = Number(process.argv[3] ?? 16);
const loaders = Number(process.argv[4] ?? 2);
const mode = process.argv[5] ?? "api";
// Short commands of several shapes: no output, a line, a status, a lot of output, a background
// child that outlives the session holding its stdout, a process that is gone before its start.
const COMMANDS = [["true"], ["sh", "-c", "echo hi"], ["sh", "-c", "exit 3"], ["sh", "-c", "head -c 300000 /dev/zero"], ["sh", "-c", "sleep 0.3 & echo bg"], ["/nonexistent"]];
const cmdOf = (i: number) => COMMANDS[i % (process.env.SHAPES ? Number(process.env.SHAPES) : 2)]!;
const HANG_MS = 10_000;
const dir = mkdtempSync("/tmp/bt-exec-race-");
const root = join(dir, "root"), runroot = join(dir, "run");
const opts: EngineOptions = {
  root, runroot, storageDriver: "overlay",
  berthInit: join(TOP, "build/berth-init"), monitor: join(TOP, "build/berth-monitor"), runtime: join(TOP, "build/berth-runtime"),
  exitCommand: [BERTH, "--root", root, "--runroot", runroot, "container", "cleanup"],
};
const e = new Engine(opts);

function sh(cmd: string[]): string {
  const p = Bun.spawnSync(cmd, { stdout: "pipe", stderr: "pipe" });
  return new TextDecoder().decode(p.stdout) + new TextDecoder().decode(p.stderr);
}
function tryRead(p: string): string {
  try { return readFileSync(p, "utf8"); } catch (err) { return `(${(err as Error).message})`; }
}

/** Everything about one hung session. */
function dump(id: string, pid: number, stage: string): void {
  const d = e.execDir(id);
  console.log(`\n===== HUNG exec ${id.slice(0, 12)} stage=${stage} process pid=${pid}`);
  console.log(`dir ${d}: ${existsSync(d) ? readdirSync(d).join(" ") : "(gone)"}`);
  const status = tryRead(join(d, "status.json"));
  console.log(`status.json: ${status}`);
  console.log(`monitor.log: ${tryRead(join(d, "monitor.log"))}`);
  console.log(`events.jsonl: ${tryRead(join(d, "events.jsonl"))}`);
  let mpid = 0;
  try { mpid = JSON.parse(status).monitorPid; } catch {}
  for (const [what, p] of [["monitor", mpid], ["process", pid]] as const) {
    if (!p) continue;
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
    if (what === "monitor") console.log(`strace:\n${sh(["timeout", "2", "strace", "-p", String(p)])}`);
  }
  // Who holds the other end of the monitor's sockets/pipes: every process's fds with the same inode.
  console.log(`ps:\n${sh(["ps", "-eo", "pid,ppid,stat,cmd", "--forest"]).split("\n").filter((l) => l.includes(dir.slice(5)) || l.includes("berth")).join("\n")}`);
}

async function loader(stop: { v: boolean }): Promise<number> {
  let n = 0;
  while (!stop.v) {
    try {
      const c = await createContainer(e, { image: "busybox", command: ["true"], network: { mode: process.env.NETWORK ?? "none" } });
      await startContainer(e, c.id);
      await removeContainer(e, c.id, { force: true });
      n++;
    } catch (err) {
      console.log(`loader: ${(err as Error).message}`);
    }
  }
  return n;
}

/** `berth exec` as a user runs it: its own process, its own engine on the same root. */
async function oneCli(cid: string, i: number): Promise<boolean> {
  const p = Bun.spawn([BERTH, "--root", root, "--runroot", runroot, "exec", cid, ...cmdOf(i)], { stdio: ["ignore", "pipe", "pipe"] });
  let done = false;
  const timer = setTimeout(() => {
    if (done) return;
    console.log(`\n===== HUNG berth exec pid ${p.pid}: ${tryRead(`/proc/${p.pid}/status`).split("\n").filter((l) => /^(State)/.test(l)).join("")}`);
    console.log(`children: ${tryRead(`/proc/${p.pid}/task/${p.pid}/children`)}`);
    for (const x of e.execs.listFor(cid).filter((x) => x.state === "running")) dump(x.id, x.pid, "cli");
  }, HANG_MS);
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  done = true;
  clearTimeout(timer);
  if (process.env.VERBOSE || (code !== 0 && code !== 3 && code !== 127)) console.log(`cli exec ${i}: exit ${code} out=${JSON.stringify(out)} err=${err.trim()}`);
  return code === 0 || code === 3;
}

async function one(cid: string, i: number): Promise<boolean> {
  if (mode === "cli") return oneCli(cid, i);
  let id = "", pid = 0, stage = "create";
  let done = false;
  const timer = setTimeout(() => { if (!done) dump(id, pid, stage); }, HANG_MS);
  try {
    const ex = await createExec(e, cid, { cmd: cmdOf(i) });
    id = ex.id;
    stage = "start";
    const s = await startExec(e, ex.id, { attach: { stdout: true, stderr: true, handlers: {} } });
    pid = s.pid;
    stage = "finish";
    const r = await finishExec(e, s);
    if (process.env.VERBOSE || r.error) console.log(`exec ${i}: exit ${r.exitCode} ${r.error ?? ""}`);
    return true;
  } catch (err) {
    if (process.env.VERBOSE || stage !== "start") console.log(`exec ${i} (${stage}): ${(err as Error).message}`);
    return false;
  } finally {
    done = true;
    clearTimeout(timer);
  }
}

try {
  await installBuiltinBusybox({ content: e.content, images: e.images });
  const c = await createContainer(e, { image: "busybox", name: "target", command: ["sleep", "3600"], network: { mode: process.env.NETWORK ?? "none" }, ...(process.env.PIDMODE ? { pidMode: process.env.PIDMODE } : {}) });
  await startContainer(e, c.id);
  const stop = { v: false };
  const loads = Array.from({ length: loaders }, () => loader(stop));
  let next = 0, ok = 0;
  const t0 = Date.now();
  await Promise.all(Array.from({ length: conc }, async () => {
    while (next < total) {
      const i = next++;
      if (await one(c.id, i)) ok++;
    }
  }));
  stop.v = true;
  const started = (await Promise.all(loads)).reduce((a, b) => a + b, 0);
  console.log(`${ok}/${total} sessions ok in ${Date.now() - t0} ms; ${started} load containers`);
} finally {
  await systemReset(e);
  await e.close();
  rmSync(dir, { recursive: true, force: true });
}
