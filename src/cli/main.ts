// berth: the docker-like command line, daemonless (podman-style): every verb opens the engine's
// stores under --root itself. This file parses the global flags and loads one verb from
// ./commands on demand, so `berth run` loads only what running a container needs.
import { BerthError } from "../sys/errdefs.ts";
import { parseFlags, flagUsage, UsageError, type FlagTable } from "./flags.ts";
import { DEFAULT_ROOT, DEFAULT_RUNROOT, Engine, type EngineOptions } from "../engine/engine.ts";
import { help, parseVerb, type Command } from "./command.ts";

import { VERSION } from "./version.ts";
import { stdout, stderr, usedNodeStreams } from "./stdio.ts";
export { VERSION };

const GLOBAL: FlagTable = {
  root: { kind: "string", value: "dir", help: `images, snapshots and meta.db (default "${DEFAULT_ROOT}")` },
  runroot: { kind: "string", value: "dir", help: `per-container runtime files and state (default "${DEFAULT_RUNROOT}")` },
  "storage-driver": { kind: "string", value: "name", help: 'snapshotter: overlay (default) or native (copies)' },
  "registries-config": { kind: "string", value: "file", help: "registry mirrors and insecure registries, JSON (default <root>/registries.json)" },
  debug: { kind: "bool", short: "D", help: "print debug messages and stacks of internal errors" },
  explain: { kind: "bool", help: "print every kernel step (clone, mounts, pivot_root, cgroup writes) with its time" },
  version: { kind: "bool", short: "v", help: "print the version" },
  help: { kind: "bool", short: "h", help: "print usage" },
};

/** Each verb's module, imported only when that verb runs. */
const VERBS: Record<string, [summary: string, load: () => Promise<{ default: Command }>]> = {
  run: ["Create and run a new container from an image", () => import("./commands/run.ts")],
  create: ["Create a new container", () => import("./commands/create.ts")],
  start: ["Start one or more stopped containers", () => import("./commands/start.ts")],
  attach: ["Attach local standard input, output, and error streams to a running container", () => import("./commands/attach.ts")],
  exec: ["Execute a command in a running container", () => import("./commands/exec.ts")],
  stop: ["Stop one or more running containers", () => import("./commands/stop.ts")],
  kill: ["Kill one or more running containers", () => import("./commands/kill.ts")],
  restart: ["Restart one or more containers", () => import("./commands/restart.ts")],
  wait: ["Block until one or more containers stop, then print their exit codes", () => import("./commands/wait.ts")],
  rm: ["Remove one or more containers", () => import("./commands/rm.ts")],
  rename: ["Rename a container", () => import("./commands/rename.ts")],
  pause: ["Pause all processes within one or more containers", () => import("./commands/pause.ts")],
  unpause: ["Unpause all processes within one or more containers", () => import("./commands/unpause.ts")],
  top: ["Display the running processes of a container", () => import("./commands/top.ts")],
  stats: ["Display a live stream of container(s) resource usage statistics", () => import("./commands/stats.ts")],
  cp: ["Copy files/folders between a container and the local filesystem", () => import("./commands/cp.ts")],
  port: ["List port mappings or a specific mapping for the container", () => import("./commands/port.ts")],
  logs: ["Fetch the logs of a container", () => import("./commands/logs.ts")],
  ps: ["List containers", () => import("./commands/ps.ts")],
  inspect: ["Return low-level information on images and containers", () => import("./commands/inspect.ts")],
  container: ["Manage containers (the verbs above as subcommands)", () => import("./commands/container.ts")],
  image: ["Manage images (the verbs below as subcommands, and history, prune)", () => import("./commands/image.ts")],
  images: ["List images", () => import("./commands/images.ts")],
  history: ["Show the history of an image", () => import("./commands/history.ts")],
  pull: ["Download an image from a registry", () => import("./commands/pull.ts")],
  push: ["Upload an image to a registry", () => import("./commands/push.ts")],
  tag: ["Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE", () => import("./commands/tag.ts")],
  rmi: ["Remove one or more images", () => import("./commands/rmi.ts")],
  save: ["Save images to a tar archive (docker-save and OCI layout in one)", () => import("./commands/save.ts")],
  load: ["Load images from a tar archive (docker save or OCI layout) or STDIN", () => import("./commands/load.ts")],
  import: ["Import images from an OCI layout directory or archive", () => import("./commands/import.ts")],
  network: ["Manage networks (create, ls, inspect, rm, prune)", () => import("./commands/network.ts")],
  volume: ["Manage volumes", () => import("./commands/volume.ts")],
  events: ["Get real time events from the engine", () => import("./commands/events.ts")],
  content: ["Manage the content store (ls, get, rm), as ctr content", () => import("./commands/content.ts")],
  snapshots: ["Look at snapshots (ls, tree, usage), as ctr snapshots", () => import("./commands/snapshots.ts")],
  leases: ["Look at leases (ls), as ctr leases", () => import("./commands/leases.ts")],
  tasks: ["Look at tasks: containers with a live process (ls), as ctr tasks", () => import("./commands/tasks.ts")],
  system: ["Manage berth (prune, df, events, info)", () => import("./commands/system.ts")],
  info: ["Display system-wide information", () => import("./commands/info.ts")],
  version: ["Show the berth version information", () => import("./commands/version.ts")],
  daemon: ["Run berthd: serve the Docker Engine API over a unix socket", () => import("./commands/daemon.ts")],
  sandbox: ["Run an untrusted program with limits and print its verdict; measure runs per second", () => import("./commands/sandbox.ts")],
};

function globalHelp(): string {
  return [
    "",
    "Usage:  berth [OPTIONS] COMMAND",
    "",
    "A Linux container engine, daemonless: images, snapshots and containers under --root.",
    "",
    "Commands:",
    ...Object.entries(VERBS).map(([n, [s]]) => `  ${n.padEnd(10)}${s}`),
    "",
    "Global Options:",
    flagUsage(GLOBAL),
    "",
    "Run 'berth COMMAND --help' for more information on a command.",
    "",
  ].join("\n");
}

export async function main(argv: string[]): Promise<number> {
  let debug = false;
  let status = 1;
  let engine: Engine | undefined;
  try {
    status = 125;
    const { flags, rest } = parseFlags(argv, GLOBAL, { stopAtPositional: true, what: "berth" });
    debug = flags.debug === true;
    if (flags.version) {
      stdout.write(`berth version ${VERSION}\n`);
      return 0;
    }
    const [verb, ...verbArgs] = rest;
    if (!verb || flags.help || verb === "help") {
      const target = verb === "help" ? verbArgs[0] : undefined;
      if (target && VERBS[target]) stdout.write(help((await VERBS[target]![1]()).default));
      else stdout.write(globalHelp());
      return verb || flags.help ? 0 : 1;
    }
    const entry = VERBS[verb];
    if (!entry) throw new UsageError(`'${verb}' is not a berth command.\nSee 'berth --help'`, verb);
    const cmd = (await entry[1]()).default;
    const p = parseVerb(cmd, verbArgs);
    if (p.flags.help) {
      stdout.write(help(cmd));
      return 0;
    }
    const driver = (flags["storage-driver"] as string | undefined) ?? "overlay";
    if (driver !== "overlay" && driver !== "native") throw new UsageError(`--storage-driver ${driver}: use overlay or native`, "--storage-driver");
    const root = (flags.root as string | undefined) ?? DEFAULT_ROOT;
    const runroot = (flags.runroot as string | undefined) ?? DEFAULT_RUNROOT;
    const g: EngineOptions = {
      root,
      runroot,
      explain: flags.explain === true,
      storageDriver: driver,
      ...(flags["registries-config"] !== undefined ? { registriesConfig: flags["registries-config"] as string } : {}),
      // What a container's monitor runs after the container's last exit when no berth process
      // is there to clean up (a detached container, a killed `berth run`).
      exitCommand: [...selfArgv(), "--root", root, "--runroot", runroot, "--storage-driver", driver, "container", "cleanup"],
      healthCommand: [...selfArgv(), "--root", root, "--runroot", runroot, "--storage-driver", driver, "container", "healthcheck"],
    };
    if (g.explain) {
      const { explain } = await import("../explain/channel.ts");
      explain.subscribe((ev) => {
        const ms = ev.ms !== undefined ? ` ${ev.ms.toFixed(3)} ms` : "";
        const what = ev.who === "runtime" || ev.who === "cli" || ev.who === undefined ? `${ev.step}: ${ev.detail}` : ev.detail;
        stderr.write(`[explain] ${(ev.who ?? "runtime").padEnd(7)} ${what}${ms}\n`);
      });
    }
    status = cmd.ownErrorStatus ?? 1;
    engine = new Engine(g);
    return await cmd.run(p, engine);
  } catch (e) {
    // A reader that went away (`berth save | head`): stop quietly, as a Go CLI dies of SIGPIPE.
    if ((e as { code?: string }).code === "EPIPE") return 141;
    if (e instanceof UsageError) status = 125;
    if (e instanceof BerthError) {
      // An error that carries docker's own exit status for it (a --format template: 64 or 1).
      const own = (e as { exitStatus?: unknown }).exitStatus;
      if (typeof own === "number") status = own;
      stderr.write(`berth: ${e.message}\n`);
      if (debug && e.stack) stderr.write(`${e.stack}\n`);
      return status;
    }
    // A system error (EACCES on a path, …) names its path: show it. Anything else is a bug.
    const err = e as Error & { code?: string };
    stderr.write(
      `berth: ${typeof err.code === "string" ? err.message : debug ? (err.stack ?? String(e)) : `internal error: ${err.message ?? String(e)} (run with --debug for the stack)`}\n`,
    );
    return status;
  } finally {
    await engine?.close().catch(() => {});
  }
}

/** How to run this same berth again: the compiled executable, or Bun with this script. */
function selfArgv(): string[] {
  const exe = process.execPath;
  return /\/bun(\.exe)?$/.test(exe) && process.argv[1] ? [exe, process.argv[1]] : [exe];
}

/** Wait until the node streams we used (stdio.ts: most output is written synchronously) have
 * handed everything to their readers: Bun's process.exit drops what a full pipe has not taken. */
function flushStdio(): Promise<unknown> {
  const fin = (s: NodeJS.WriteStream) => new Promise<void>((r) => {
    s.once("finish", () => r());
    s.once("error", () => r());
    s.end();
  });
  return Promise.all(usedNodeStreams().map(fin));
}

if (import.meta.main) void main(process.argv.slice(2)).then(async (code) => {
  await flushStdio();
  process.exit(code);
});
