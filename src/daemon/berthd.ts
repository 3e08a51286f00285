// berthd: the engine core served to other programs. It opens one Engine and starts each front
// on its own socket: the Docker Engine API (src/api/docker), and with --cri-socket the CRI
// (src/api/cri), one entry each in FRONTS. It holds no container state: the containers' monitors and the engine's
// records are the truth, so a berthd killed with -9 loses nothing and the next one carries on.
// SIGTERM/SIGINT: stop accepting, let requests in flight finish, leave the containers running.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Engine } from "../engine/engine.ts";
import { invalidArgument } from "../sys/errdefs.ts";
import { longLived } from "../sys/remove-tree.ts";

export interface DaemonOptions {
  engine: Engine;
  /** -H: unix:///run/berth/docker.sock */
  host: string;
  pidfile?: string;
  /** --cri-socket: also serve the CRI (runtime.v1) on this unix socket (src/api/cri). */
  criSocket?: string;
  /** One line per request and each front's errors. */
  log?: (line: string) => void;
}

export interface RunningFront {
  name: string;
  address: string;
  close(): Promise<void>;
}

interface Front {
  name: string;
  /** Whether this front was asked for. */
  wanted(o: DaemonOptions): boolean;
  start(o: DaemonOptions): Promise<RunningFront>;
}

type CriModule = typeof import("../api/cri/server.ts");

/**
 * The CRI front (grpc-js, protobufjs, the descriptor: 2.7 MB) is not compiled into the berth
 * executable — measured, bundling it slowed every `berth` command's start by ~2-5 ms here even
 * unused — but built beside it as build/berth-cri.js (scripts/build.sh) and loaded by path on
 * the first --cri-socket. Run from the sources, the sources are loaded.
 */
async function loadCri(): Promise<CriModule> {
  // In a compiled executable the entry is in its embedded filesystem (import.meta.dir is the
  // build-time source path there, so it cannot tell).
  const compiled = Bun.main.startsWith("/$bunfs/");
  const path = compiled ? join(dirname(process.execPath), "berth-cri.js") : join(import.meta.dir, "../api/cri/server.ts");
  if (compiled && !existsSync(path)) throw invalidArgument(`--cri-socket needs ${path}: run scripts/build.sh (it builds berth-cri.js beside berth)`, "--cri-socket");
  return (await import(path)) as CriModule;
}

/** The fronts berthd serves, started in this order and closed in the reverse. */
const FRONTS: Front[] = [
  {
    name: "docker",
    wanted: () => true,
    async start(o) {
      const { startDockerApi } = await import("../api/docker/server.ts");
      const s = await startDockerApi({ engine: o.engine, host: o.host, ...(o.log ? { log: o.log } : {}) });
      return { name: "docker", address: `unix://${s.socket}`, close: () => s.close() };
    },
  },
  {
    name: "cri",
    wanted: (o) => o.criSocket !== undefined,
    async start(o) {
      const { startCriServer } = await loadCri();
      // The CRI runs on an Engine of its own (same stores): it may be another bundle's code.
      const s = await startCriServer(o.engine.opts, { socket: o.criSocket!, ...(o.log ? { log: o.log } : {}) });
      return { name: "cri", address: `unix://${s.socket}`, close: () => s.close() };
    },
  },
];

export interface Daemon {
  fronts: RunningFront[];
  close(): Promise<void>;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

function writePidfile(path: string): void {
  try {
    const old = Number(readFileSync(path, "utf8").trim());
    if (old > 0 && old !== process.pid && alive(old)) {
      throw invalidArgument(`--pidfile ${path}: berthd (pid ${old}) is running; stop it first or use another pid file`, "--pidfile");
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
  }
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(`${path}.tmp`, `${process.pid}\n`);
  renameSync(`${path}.tmp`, path);
}

export async function startDaemon(o: DaemonOptions): Promise<Daemon> {
  longLived(); // big removals (a container's layer) in the thread pool, off the API's event loop
  if (o.pidfile) writePidfile(o.pidfile);
  const running: RunningFront[] = [];
  try {
    for (const f of FRONTS) if (f.wanted(o)) running.push(await f.start(o));
  } catch (err) {
    for (const r of running.reverse()) await r.close().catch(() => {});
    if (o.pidfile) rmSync(o.pidfile, { force: true });
    throw err;
  }
  return {
    fronts: running,
    async close() {
      for (const r of [...running].reverse()) await r.close().catch((e: unknown) => o.log?.(`closing ${r.name}: ${(e as Error).message}`));
      if (o.pidfile) rmSync(o.pidfile, { force: true });
    },
  };
}
