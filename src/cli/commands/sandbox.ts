// `berth sandbox run` and `berth sandbox bench`: the sandbox library (src/sandbox) from the shell.
// run prints the program's output, then its verdict (or one JSON object with --json), and exits
// with a status that mirrors the verdict; bench measures start-to-exit time and runs per second.
import { randomString } from "../../sys/digest.ts";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { command } from "../command.ts";
import { parseBytes, parseDuration, parseFlags, flagUsage, UsageError, type FlagTable, type Parsed } from "../flags.ts";
import type { Engine } from "../../engine/engine.ts";
import { notFound } from "../../sys/errdefs.ts";
import { parseSignal } from "../../sys/signals.ts";
import type { Sandbox, SandboxBind, SandboxResult, SandboxRunOptions } from "../../sandbox/index.ts";
import { stdout, stderr } from "../stdio.ts";

const WHERE: FlagTable = {
  image: { kind: "string", help: "an image of the store as the read-only root (busybox: the built-in one)" },
  rootfs: { kind: "string", value: "dir", help: "a directory as the read-only root" },
};

const RUN: FlagTable = {
  ...WHERE,
  cpu: { kind: "string", value: "duration", help: "CPU time limit of all the run's processes (default 5s; 500ms, 2m)" },
  wall: { kind: "string", value: "duration", help: "real time limit (default 10s)" },
  memory: { kind: "string", value: "bytes", help: "memory limit (default 256m; 0: none)" },
  pids: { kind: "int", help: "processes and threads (default 64; 0: none)" },
  output: { kind: "string", value: "bytes", help: "bytes kept of stdout and of stderr; more ends the run (default 1m)" },
  fsize: { kind: "string", value: "bytes", help: "largest file the program may write (default 64m)" },
  nofile: { kind: "int", help: "open files (default 256)" },
  stack: { kind: "string", value: "bytes", help: "stack size (default 8m)" },
  tmpfs: { kind: "string", value: "bytes", help: "size of the run's tmpfs: /tmp, /dev/shm and writes to / (default 64m)" },
  stdin: { kind: "string", value: "file", help: "the program's stdin (default /dev/null)" },
  bind: { kind: "list", value: "src:dst[:rw]", help: "make a host path visible (read-only unless :rw)" },
  env: { kind: "list", short: "e", value: "NAME=value", help: "set an environment variable" },
  workdir: { kind: "string", short: "w", value: "dir", help: "working directory inside the run (default /)" },
  user: { kind: "string", short: "u", value: "uid[:gid]", help: "run as this user (default 65534, nobody)" },
  seccomp: { kind: "string", value: "profile", help: "default, strict (forbidden syscalls end the run, named), or a JSON profile file" },
  network: { kind: "bool", help: "share the host's network (default: only a down loopback)" },
  writable: { kind: "bool", help: "let the program write to / (on the run's tmpfs; default read-only)" },
  json: { kind: "bool", help: "print the verdict as one JSON object (stdout and stderr in it)" },
};

const BENCH: FlagTable = {
  ...WHERE,
  runs: { kind: "int", help: "runs to measure (default 200)" },
  concurrency: { kind: "int", short: "c", help: "runs at once for the throughput part (default 2)" },
  json: { kind: "bool", help: "print the numbers as JSON" },
};

/**
 * The exit status of `berth sandbox run`: the program's own for ok/exit/signal (128+n), and for
 * the limits the code a shell user knows for that kind of end.
 */
export function exitStatusOf(r: SandboxResult): number {
  switch (r.status) {
    case "ok": return 0;
    case "exit": return r.exitCode ?? 1;
    case "signal": return 128 + signalNumber(r.signal);
    case "time": return 152; // 128 + SIGXCPU, what RLIMIT_CPU ends a process with
    case "wall": return 124; // timeout(1)
    case "memory": return 137; // 128 + SIGKILL, an OOM kill as docker reports it
    case "output": return 153; // 128 + SIGXFSZ, "file too large"
    case "seccomp": return 159; // 128 + SIGSYS
    case "pids": return 254;
    case "setup": return 125; // berth's own, as docker run's
  }
}

function signalNumber(name: string | undefined): number {
  try {
    return name ? parseSignal(name) : 9;
  } catch {
    return 9; // a number signalName() could not name: report it as killed
  }
}

const mib = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;

function describe(r: SandboxResult): string {
  const how = r.status === "ok" ? "" : ` (${r.syscall ?? r.signal ?? (r.exitCode !== undefined ? `exit ${r.exitCode}` : "")})`.replace(" ()", "");
  return `${r.status}${how}: ${r.message ?? "exited with status 0"}; cpu ${r.cpuMs.toFixed(1)} ms, wall ${r.wallMs.toFixed(1)} ms, peak memory ${mib(r.peakMemoryBytes)}${r.outputTruncated ? "; output truncated" : ""}`;
}

function usage(sub: string, flags: FlagTable, args: string): string {
  return `\nUsage:  berth sandbox ${sub} [OPTIONS] ${args}\n\nOptions:\n${flagUsage(flags)}\n`;
}

/** --image or --rootfs, as the library wants it; `done` removes what was made for it. */
async function rootOf(e: Engine, f: Parsed["flags"]): Promise<{ where: Pick<SandboxRunOptions, "rootfs" | "image">; done: () => Promise<void> }> {
  if ((f.image === undefined) === (f.rootfs === undefined)) throw new UsageError("give exactly one of --image NAME and --rootfs DIR", "--image");
  if (f.rootfs !== undefined) return { where: { rootfs: f.rootfs as string }, done: async () => {} };
  const ref = f.image as string;
  const { findImage, normalizeName, readImage } = await import("../../engine/images.ts");
  let img = await findImage(e, ref);
  if (!img) {
    const { BUILTIN_BUSYBOX_NAME, installBuiltinBusybox } = await import("../../image/builtin-busybox.ts");
    if (normalizeName(ref) !== BUILTIN_BUSYBOX_NAME) throw notFound(`No such image: ${ref} (berth pull ${ref} first)`, "--image");
    await installBuiltinBusybox({ content: e.content, images: e.images });
    img = await readImage(e, e.images.get(BUILTIN_BUSYBOX_NAME));
  }
  const diffIDs = img.configDoc.rootfs?.diff_ids ?? [];
  if (diffIDs.length !== img.layers.length || diffIDs.length === 0) throw new UsageError(`image ${ref} has no layers its config agrees on; pull it again`, "--image");
  const sn = await e.snapshotter();
  mkdirSync(e.tmp, { recursive: true });
  const { applyLayers } = await import("../../snapshots/apply-layers.ts");
  const { chainID } = await applyLayers(sn, img.layers.map((l, i) => ({ diffID: diffIDs[i]!, data: () => e.content.read(l.digest) })), e.tmp);
  // A read-only view names the layer directories (top first). Overlay's are the committed
  // layers' own, so the view record can go at once; native's view is a copy, kept for the run.
  const key = `sandbox-${process.pid}-${randomString(4)}`;
  const mounts = await sn.view(key, chainID);
  const m = mounts[0]!;
  const layers = m.type === "bind" ? [m.source] : (m.options.find((o) => o.startsWith("lowerdir="))?.slice(9).split(":") ?? []);
  const remove = () => sn.remove(key).catch(() => {});
  if (sn.name === "overlay") {
    await remove();
    return { where: { image: { layers } }, done: async () => {} };
  }
  return { where: { image: { layers } }, done: remove };
}

function bindOf(spec: string): SandboxBind {
  const parts = spec.split(":");
  const rw = parts.length === 3 && parts[2] === "rw";
  if (parts.length < 2 || parts.length > 3 || (parts.length === 3 && parts[2] !== "rw" && parts[2] !== "ro"))
    throw new UsageError(`invalid --bind ${JSON.stringify(spec)}: use /host/path:/path/inside[:rw]`, "--bind");
  return { source: parts[0]!, target: parts[1]!, readOnly: !rw };
}

async function runOptions(e: Engine, f: Parsed["flags"], argv: string[]): Promise<{ o: SandboxRunOptions; done: () => Promise<void> }> {
  if (argv.length === 0) throw new UsageError(`"berth sandbox run" needs the program to run: berth sandbox run --rootfs DIR -- PROGRAM [ARG...]`, "arguments");
  const limits: Record<string, number> = {};
  if (f.cpu !== undefined) limits.cpuMs = parseDuration(f.cpu as string, "--cpu");
  if (f.wall !== undefined) limits.wallMs = parseDuration(f.wall as string, "--wall");
  if (f.memory !== undefined) limits.memoryBytes = parseBytes(f.memory as string, "--memory");
  if (f.pids !== undefined) limits.pids = f.pids as number;
  if (f.output !== undefined) limits.outputBytes = parseBytes(f.output as string, "--output");
  if (f.fsize !== undefined) limits.fileSizeBytes = parseBytes(f.fsize as string, "--fsize");
  if (f.nofile !== undefined) limits.openFiles = f.nofile as number;
  if (f.stack !== undefined) limits.stackBytes = parseBytes(f.stack as string, "--stack");
  const env: Record<string, string> = {};
  for (const kv of (f.env as string[] | undefined) ?? []) {
    const eq = kv.indexOf("=");
    if (eq <= 0) throw new UsageError(`invalid --env ${JSON.stringify(kv)}: use NAME=value`, "--env");
    env[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  let seccomp: SandboxRunOptions["seccomp"];
  const s = f.seccomp as string | undefined;
  if (s === "default" || s === "strict") seccomp = s;
  else if (s !== undefined) {
    try {
      seccomp = JSON.parse(await Bun.file(s).text());
    } catch (err) {
      throw new UsageError(`--seccomp ${s}: not default, strict, or a readable JSON profile (${(err as Error).message})`, "--seccomp");
    }
  }
  let ids: { uid?: number; gid?: number } = {};
  if (f.user !== undefined) {
    const m = /^(\d+)(?::(\d+))?$/.exec(f.user as string);
    if (!m) throw new UsageError(`invalid --user ${JSON.stringify(f.user)}: use uid[:gid] (numbers)`, "--user");
    ids = { uid: Number(m[1]), ...(m[2] !== undefined ? { gid: Number(m[2]) } : {}) };
  }
  const root = await rootOf(e, f);
  const o: SandboxRunOptions = {
    ...root.where, argv, env, limits, ...ids,
    ...(f.tmpfs !== undefined ? { tmpfsBytes: parseBytes(f.tmpfs as string, "--tmpfs") } : {}),
    ...(f.stdin !== undefined ? { stdin: { file: f.stdin as string } } : {}),
    ...(f.workdir !== undefined ? { cwd: f.workdir as string } : {}),
    ...(seccomp !== undefined ? { seccomp } : {}),
    binds: ((f.bind as string[] | undefined) ?? []).map(bindOf),
    network: f.network === true,
    readOnly: f.writable !== true,
  };
  return { o, done: root.done };
}

async function openSandbox(e: Engine): Promise<Sandbox> {
  const { Sandbox } = await import("../../sandbox/index.ts");
  // Under --runroot: the state directory (the guard removes it) and the compiled filters.
  const dir = join(e.opts.runroot, "sandbox");
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return Sandbox.open({ stateParent: dir, seccompCacheDir: join(dir, "seccomp-cache") });
}

async function run(e: Engine, argv: string[]): Promise<number> {
  const p = parseFlags(argv, { ...RUN, help: { kind: "bool", help: "print usage" } }, { stopAtPositional: true, what: "berth sandbox run" });
  if (p.flags.help) {
    stdout.write(usage("run", RUN, "(--image NAME | --rootfs DIR) [--] PROGRAM [ARG...]"));
    return 0;
  }
  const { o, done } = await runOptions(e, p.flags, p.rest);
  const sandbox = await openSandbox(e);
  let r: SandboxResult;
  try {
    r = await sandbox.run(o);
  } finally {
    await sandbox.close();
    await done();
  }
  if (p.flags.json) {
    stdout.write(`${JSON.stringify({ ...r, stdout: r.stdout.toString("utf8"), stderr: r.stderr.toString("utf8") })}\n`);
  } else {
    stdout.write(r.stdout);
    stderr.write(r.stderr);
    stderr.write(`berth sandbox: ${describe(r)}\n`);
  }
  return exitStatusOf(r);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1] ?? 0;

async function bench(e: Engine, argv: string[]): Promise<number> {
  const p = parseFlags(argv, { ...BENCH, help: { kind: "bool", help: "print usage" } }, { stopAtPositional: true, what: "berth sandbox bench" });
  if (p.flags.help) {
    stdout.write(usage("bench", BENCH, "(--image NAME | --rootfs DIR) [-- PROGRAM [ARG...]] (default: true)"));
    return 0;
  }
  const runs = (p.flags.runs as number | undefined) ?? 200;
  const concurrency = (p.flags.concurrency as number | undefined) ?? 2;
  if (runs < 1 || concurrency < 1) throw new UsageError("--runs and --concurrency must be at least 1", "--runs");
  const root = await rootOf(e, p.flags);
  const o: SandboxRunOptions = { ...root.where, argv: p.rest.length ? p.rest : ["true"] };
  const sandbox = await openSandbox(e);
  try {
    const first = await sandbox.run(o); // compiles the seccomp profile, warms the caches
    if (first.status !== "ok") throw new UsageError(`the benchmark's program does not run cleanly: ${describe(first)}`, "arguments");
    const latencies: number[] = [];
    for (let i = 0; i < Math.min(runs, 100); i++) {
      const t0 = performance.now();
      await sandbox.run(o);
      latencies.push(performance.now() - t0);
    }
    let started = 0;
    const t0 = performance.now();
    await Promise.all(Array.from({ length: concurrency }, async () => {
      while (started < runs) {
        started++;
        await sandbox.run(o);
      }
    }));
    const perSecond = (runs / (performance.now() - t0)) * 1000;
    const out = { startToExitMs: median(latencies), runsPerSecond: perSecond, runs, concurrency };
    if (p.flags.json) stdout.write(`${JSON.stringify(out)}\n`);
    else stdout.write(`start to exit: ${out.startToExitMs.toFixed(2)} ms (median of ${latencies.length})\nthroughput:    ${perSecond.toFixed(1)} runs/s (${runs} runs, ${concurrency} at once)\n`);
    return 0;
  } finally {
    await sandbox.close();
    await root.done();
  }
}

export default command({
  name: "sandbox",
  usage: "run|bench [OPTIONS] (--image NAME | --rootfs DIR) [--] PROGRAM [ARG...]",
  summary: [
    "Run an untrusted program with limits and print its verdict (run), or measure runs per second (bench).",
    "",
    "  run    ok, exit, signal, time, wall, memory, output, pids, seccomp or setup; exits with 0, the",
    "         program's status, 128+signal, 152 time, 124 wall, 137 memory, 153 output, 254 pids,",
    "         159 seccomp, 125 setup",
    "  bench  start-to-exit time of one run and sustained runs per second on this host",
    "",
    "See 'berth sandbox run --help' and 'berth sandbox bench --help'.",
  ].join("\n"),
  stopAtPositional: true,
  ownErrorStatus: 125,
  flags: {},
  async run(p, e) {
    const [sub, ...rest] = p.rest;
    if (sub === "run") return run(e, rest);
    if (sub === "bench") return bench(e, rest);
    throw new UsageError(`"berth sandbox" needs run or bench, not ${JSON.stringify(sub ?? "")}. See 'berth sandbox --help'.`, "arguments");
  },
});
