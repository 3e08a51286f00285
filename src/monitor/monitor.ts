// The TypeScript side of berth-monitor (native/berth-monitor.c, one per running container):
// spawning it, the sync socket it answers on, and reading what it records in the container's
// runtime directory (status.json, events.jsonl). The protocol is documented in the C file's
// header; this file and attach.ts are its only other speakers.
import { closeSync, existsSync, readFileSync, readSync, statSync, writeSync } from "node:fs";
import { dirname, join } from "node:path";
import { BerthError, internal } from "../sys/errdefs.ts";
import { processAlive, processStartTime } from "../sys/proc.ts";

export type MonitorState = "creating" | "running" | "restarting" | "exited";

/** status.json, as berth-monitor writes it. */
export interface MonitorStatus {
  state: MonitorState;
  monitorPid: number;
  /** Start time of the monitor (clock ticks since boot): tells a live monitor from a reused pid. */
  monitorStart: number;
  pid: number;
  restartCount: number;
  startedAt: string;
  finishedAt: string;
  exitCode: number;
  signal: number;
  oomKilled: boolean;
  /** A user's stop was announced (no restart followed). */
  stopping: boolean;
  error: string;
}

export interface MonitorEvent {
  /** Unix time in nanoseconds. */
  time: number;
  action: "start" | "die" | "oom" | "restart";
  exitCode?: number;
  oomKilled?: boolean;
}

/** Where the binaries live: beside the running executable (build/), or build/ of the sources. */
export function findBinary(name: string, env?: string): string {
  const fromEnv = env ? process.env[env] : undefined;
  if (fromEnv) return fromEnv;
  for (const p of [join(dirname(process.execPath), name), join(import.meta.dir, "../../build", name)]) if (existsSync(p)) return p;
  throw new BerthError("FailedPrecondition", `${name} is not built: run scripts/setup.sh (or scripts/build.sh)`, name);
}

export interface RestartPolicy {
  name: "no" | "always" | "on-failure" | "unless-stopped";
  maximumRetryCount?: number;
}

export interface MonitorOptions {
  id: string;
  /** The container's runtime directory: sockets, status.json, events.jsonl, monitor.log. */
  dir: string;
  log?: { path: string; driver: "json-file" | "k8s-file" | "none"; maxSize: number; maxFiles: number };
  stdin: boolean;
  tty: boolean;
  restart: RestartPolicy;
  restartCount?: number;
  /** For restarts: berth-runtime, its --root, the bundle. */
  runtime: string;
  runtimeRoot: string;
  bundle: string;
  berthInit: string;
  monitor: string;
  /** Run after the final exit when no attached client took the cleanup over. */
  exitCommand: string[];
  /**
   * The health check: run `intervalMs` after the last one ended while the container runs (never
   * two at once); `startIntervalMs` instead within `startPeriodMs` of the start until one passes.
   */
  health?: { intervalMs: number; startIntervalMs?: number; startPeriodMs?: number; command: string[] };
  /** A stdin client that goes away without detaching closes the process's stdin (exec sessions). */
  stdinOnce?: boolean;
}

export interface SpawnedMonitor {
  readonly pid: number;
  /** The report socket berth-init got (for runtime.create's launchVia). */
  readonly initSock: number;
  /** Tell the monitor which pid is the container's init (and where its OOM counter is). */
  started(pid: number, oomFile: string | undefined): void;
  /**
   * After `started` and the runtime's start: resolves once the init has called execve (its end of
   * the report socket is close-on-exec, so end of file says so), or it died, or after timeoutMs;
   * then closes the socket. So a `top` right after `run -d` sees the program, not berth-init.
   */
  execed(timeoutMs: number): Promise<void>;
  /**
   * The start failed; the caller cleans up, the monitor exits without running the exit command.
   * Resolves once it has exited (at most 2 s), so a refused start leaves no process behind and
   * the caller can remove the directory the monitor writes its status to.
   */
  abort(): Promise<void>;
  close(): void;
}

/** Start berth-monitor for one start of a container; resolves once it listens on its sockets. */
export async function spawnMonitor(o: MonitorOptions): Promise<SpawnedMonitor> {
  const argv = [o.monitor, "--id", o.id, "--dir", o.dir, "--sync-fd", "4", "--init-fd", "3", "--berth-init", o.berthInit,
    "--runtime", o.runtime, "--runtime-root", o.runtimeRoot, "--bundle", o.bundle,
    "--restart", o.restart.name + (o.restart.name === "on-failure" && o.restart.maximumRetryCount ? `:${o.restart.maximumRetryCount}` : ""),
    "--restart-count", String(o.restartCount ?? 0)];
  if (o.log) argv.push("--log", o.log.path, "--log-driver", o.log.driver, "--log-max-size", String(o.log.maxSize), "--log-max-files", String(o.log.maxFiles));
  else argv.push("--log-driver", "none");
  if (o.stdin) argv.push("--stdin");
  if (o.tty) argv.push("--tty");
  if (o.stdinOnce) argv.push("--stdin-once");
  for (const a of o.exitCommand) argv.push("--exit-arg", a);
  if (o.health && o.health.command.length) {
    argv.push("--health-interval-ms", String(o.health.intervalMs));
    if (o.health.startIntervalMs && o.health.startPeriodMs) {
      argv.push("--health-start-interval-ms", String(o.health.startIntervalMs), "--health-start-period-ms", String(o.health.startPeriodMs));
    }
    for (const a of o.health.command) argv.push("--health-arg", a);
  }
  const child = Bun.spawn(argv, { stdio: ["ignore", "ignore", "pipe", "pipe", "pipe"], env: process.env });
  const fds = child.stdio as unknown as (number | null)[];
  const initSock = fds[3], sync = fds[4];
  if (typeof initSock !== "number" || typeof sync !== "number") throw internal("could not make the sockets for berth-monitor");
  const code = await child.exited; // the first process exits once it has forked the monitor
  if (code !== 0) {
    const err = await new Response(child.stderr as ReadableStream).text();
    closeSync(initSock);
    closeSync(sync);
    throw internal(`berth-monitor exited with ${code}: ${err.trim()}`, "berth-monitor");
  }
  const line = await readLine(sync);
  const m = /^ready (\d+)$/.exec(line);
  if (!m) {
    closeSync(initSock);
    closeSync(sync);
    throw internal(`berth-monitor did not start: ${line.replace(/^error /, "") || "no answer"} (see ${join(o.dir, "monitor.log")})`, "berth-monitor");
  }
  // Each fd closed once (a second close could hit a reused fd number).
  let syncOpen = true, sockOpen = true;
  const send = (s: string) => {
    if (!syncOpen) return;
    try {
      writeSync(sync, s);
    } catch {
      // the monitor is gone: its status file says why
    }
  };
  const closeSync_ = () => {
    if (syncOpen) try { closeSync(sync); } catch {}
    syncOpen = false;
  };
  const closeSock = () => {
    if (sockOpen) try { closeSync(initSock); } catch {}
    sockOpen = false;
  };
  const close = () => {
    closeSync_();
    closeSock();
  };
  const pid = Number(m[1]);
  const pidStart = processStartTime(pid);
  return {
    pid,
    initSock,
    started(pid, oomFile) {
      send(`start ${pid} ${oomFile ?? "-"}\n`);
      closeSync_();
    },
    async execed(timeoutMs) {
      if (!sockOpen) return;
      const reader = Bun.file(initSock).stream().getReader();
      const timer = setTimeout(() => void reader.cancel().catch(() => {}), timeoutMs);
      try {
        for (;;) if ((await reader.read()).done) break; // reports after READY (none, or an exec error the monitor records) are not ours
      } catch {
        // cancelled by the timer, or the socket failed: either way, stop waiting
      } finally {
        clearTimeout(timer);
        reader.releaseLock();
        closeSock();
      }
    },
    async abort() {
      send("abort\n");
      close();
      for (const end = Date.now() + 2000; Date.now() < end && processAlive(pid, pidStart); ) await Bun.sleep(5);
    },
    close,
  };
}

/**
 * One line from the sync socket (the monitor's "ready" answer), read with readSync on our
 * non-blocking fd, polled. Not through Bun.file(fd).stream(): that reads through a duplicate of
 * the fd which stays open until the stream is garbage-collected, so our later close of the sync
 * socket did not reach the monitor as the end of file its protocol relies on ("EOF before start:
 * the start failed or the engine went away", see berth-monitor.c). In a long-lived engine
 * (berthd) a monitor whose "start" never came then waited for ever, its session "running" with
 * its process long gone. The poll costs at most 1 ms once per start (the monitor answers
 * within milliseconds of its spawn).
 */
async function readLine(fd: number): Promise<string> {
  const chunk = Buffer.alloc(1024);
  let text = "";
  for (let wait = 0; ; ) {
    let n: number;
    try {
      n = readSync(fd, chunk, 0, chunk.length, null);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EAGAIN") return text.trim(); // the monitor is gone (ECONNRESET…)
      // Every millisecond for the first 20 (the answer comes in ~2 ms: at most 1 ms late), then 5.
      await Bun.sleep(++wait <= 20 ? 1 : 5);
      continue;
    }
    if (n === 0) return text.trim();
    text += chunk.toString("utf8", 0, n);
    const nl = text.indexOf("\n");
    if (nl >= 0) return text.slice(0, nl); // nothing else comes before our "start"
  }
}

export function readStatus(dir: string): MonitorStatus | undefined {
  let text: string;
  try {
    text = readFileSync(join(dir, "status.json"), "utf8");
  } catch {
    return undefined;
  }
  try {
    return JSON.parse(text) as MonitorStatus;
  } catch {
    return undefined; // never half-written (rename), but a foreign file is not ours to trust
  }
}

/** Whether the monitor that wrote `s` still runs (same pid, same start time, not a zombie). */
export function monitorAlive(s: MonitorStatus): boolean {
  return s.monitorPid > 0 && s.monitorStart > 0 && processAlive(s.monitorPid, s.monitorStart);
}

/** How many bytes of events the monitor has appended (0 before its first): one stat, no read. */
export function monitorEventsSize(dir: string): number {
  return statSync(join(dir, "events.jsonl"), { throwIfNoEntry: false })?.size ?? 0;
}

/** Events the monitor appended after byte `offset` of events.jsonl; returns them and the new offset. */
export function readMonitorEvents(dir: string, offset: number): { events: MonitorEvent[]; offset: number } {
  let buf: Buffer;
  try {
    buf = readFileSync(join(dir, "events.jsonl"));
  } catch {
    return { events: [], offset };
  }
  if (buf.length <= offset) return { events: [], offset };
  const text = buf.subarray(offset).toString("utf8");
  const end = text.lastIndexOf("\n");
  if (end < 0) return { events: [], offset };
  const events: MonitorEvent[] = [];
  for (const l of text.slice(0, end).split("\n")) {
    try {
      events.push(JSON.parse(l) as MonitorEvent);
    } catch {
      // a line of another format: skipped
    }
  }
  return { events, offset: offset + Buffer.byteLength(text.slice(0, end + 1)) };
}

/** The runtime's --console-socket for the pty master: the monitor's console.sock, by a short path
 * (a unix socket path is at most 108 bytes; /proc/<monitor>/cwd is the same directory). */
export function consoleSocketPath(dir: string, monitorPid: number): string {
  const direct = join(dir, "console.sock");
  return Buffer.byteLength(direct) < 100 ? direct : `/proc/${monitorPid}/cwd/console.sock`;
}
