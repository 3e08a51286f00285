// Reading a container's logs as its monitor writes them: docker's json-file lines
// ({"log","stream","time"}) or the CRI's k8s-file lines ("<time> stdout|stderr F|P text"), over
// the rotated files (oldest first), with --since/--until/--tail, and --follow until the
// container stops (following rotation by inode).
import { closeSync, existsSync, fstatSync, openSync, readSync, statSync } from "node:fs";
import { dirname } from "node:path";
import { errno, libcSymbols, EINTR, LOCK_SH } from "../sys/libc.ts";
import type { Engine } from "./engine.ts";
import { failedPrecondition } from "../sys/errdefs.ts";
import type { Container } from "./containers.ts";

export interface LogEntry {
  stream: "stdout" | "stderr";
  /** RFC 3339 with nanoseconds, as recorded. */
  time: string;
  /** Unix nanoseconds (for filters). */
  ns: bigint;
  /** The bytes of the line (with its newline, when it had one). */
  text: string;
}

export interface LogOptions {
  stdout?: boolean;
  stderr?: boolean;
  /** Unix milliseconds. */
  since?: number;
  until?: number;
  /** Last N lines (before following); undefined: all. */
  tail?: number;
  follow?: boolean;
  signal?: AbortSignal;
}

function parseTime(t: string): bigint {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/.exec(t);
  if (!m) return 0n;
  const ms = Date.parse(`${m[1]}${m[3]}`);
  return BigInt(ms) * 1_000_000n + BigInt((m[2] ?? "").padEnd(9, "0"));
}

export function parseLogLine(line: string, driver: string): LogEntry | undefined {
  if (driver === "k8s-file") {
    const m = /^(\S+) (stdout|stderr) ([FP]) (.*)$/.exec(line);
    if (!m) return undefined;
    return { stream: m[2] as "stdout" | "stderr", time: m[1]!, ns: parseTime(m[1]!), text: m[3] === "F" ? `${m[4]}\n` : m[4]! };
  }
  try {
    const j = JSON.parse(line) as { log: string; stream: "stdout" | "stderr"; time: string };
    return { stream: j.stream, time: j.time, ns: parseTime(j.time), text: j.log };
  } catch {
    return undefined;
  }
}

function files(path: string, maxFiles: number): string[] {
  const out: string[] = [];
  for (let i = Math.max(maxFiles, 1) + 2; i >= 1; i--) if (existsSync(`${path}.${i}`)) out.push(`${path}.${i}`);
  out.push(path);
  return out;
}

/**
 * Opens the log's files, oldest first, under a shared flock of their directory: berth-monitor
 * rotates under an exclusive one, so the set is one moment's (no file renamed between two opens,
 * the live name never missing). The last fd is the live file's, or -1 when it is not there.
 */
function openLogSet(path: string, maxFiles: number): number[] {
  let dfd = -1;
  try {
    dfd = openSync(dirname(path), "r");
    while (libcSymbols().flock(dfd, LOCK_SH) !== 0 && errno() === EINTR) {}
  } catch {
    // no directory: no logs yet
  }
  try {
    return files(path, maxFiles).map((f) => {
      try {
        return openSync(f, "r");
      } catch {
        return -1;
      }
    });
  } finally {
    if (dfd >= 0) closeSync(dfd); // drops the flock
  }
}

/** The rest of an open file from `pos` on, as text; returns it and the new position. */
function readRest(fd: number, pos: number): { text: string; pos: number } {
  const chunks: Buffer[] = [];
  const buf = Buffer.alloc(65536);
  for (;;) {
    const n = readSync(fd, buf, 0, buf.length, pos);
    if (n <= 0) break;
    pos += n;
    chunks.push(Buffer.from(buf.subarray(0, n)));
  }
  return { text: Buffer.concat(chunks).toString("utf8"), pos };
}

export async function* readLogs(e: Engine, c: Container, o: LogOptions = {}, stillRunning?: () => Promise<boolean>): AsyncGenerator<LogEntry> {
  const driver = c.spec.log?.driver ?? "json-file";
  const path = c.resolved.logPath;
  const want = (x: LogEntry) => (x.stream === "stdout" ? o.stdout !== false : o.stderr !== false)
    && (o.since === undefined || x.ns >= BigInt(Math.floor(o.since)) * 1_000_000n)
    && (o.until === undefined || x.ns <= BigInt(Math.floor(o.until)) * 1_000_000n);
  let entries: LogEntry[] = [];
  const maxFiles = c.spec.log?.maxFiles ?? 3;
  const fds = openLogSet(path, maxFiles);
  // Follow from where this read of the live file ended, on the same file.
  let fd = fds.pop()!, ino = 0, pos = 0;
  let partial = "";
  try {
    for (const f of [...fds, fd]) {
      if (f < 0) continue;
      const r = readRest(f, 0);
      let text = r.text;
      if (f === fd) {
        pos = r.pos;
        ino = fstatSync(fd).ino;
        // A line the monitor is still writing is finished by the follow below.
        const cut = text.lastIndexOf("\n") + 1;
        if (o.follow && stillRunning) {
          partial = text.slice(cut);
          text = text.slice(0, cut);
        }
      }
      for (const line of text.split("\n")) {
        if (!line) continue;
        const x = parseLogLine(line, driver);
        if (x && want(x)) entries.push(x);
      }
    }
  } finally {
    for (const f of fds) if (f >= 0) closeSync(f);
  }
  if (o.tail !== undefined && o.tail >= 0) entries = entries.slice(Math.max(0, entries.length - o.tail));
  try {
    for (const x of entries) yield x;
    if (!o.follow || !stillRunning) return;
    yield* follow();
  } finally {
    if (fd >= 0) closeSync(fd);
  }

  /** The complete lines of `partial`, as entries; the unfinished rest stays in it. */
  function* complete(): Generator<LogEntry> {
    let nl;
    while ((nl = partial.indexOf("\n")) >= 0) {
      const line = partial.slice(0, nl);
      partial = partial.slice(nl + 1);
      const x = parseLogLine(line, driver);
      if (x && want(x)) yield x;
    }
  }

  async function* follow(): AsyncGenerator<LogEntry> {
    const open = () => {
      try {
        fd = openSync(path, "r");
        const st = fstatSync(fd);
        ino = st.ino;
        return st.size;
      } catch {
        fd = -1;
        return 0;
      }
    };
    if (fd < 0) pos = open();
    const buf = Buffer.alloc(65536);
    let idle = 0;
    for (;;) {
      if (o.signal?.aborted) return;
      let got = 0;
      if (fd >= 0) {
        for (;;) {
          const n = readSync(fd, buf, 0, buf.length, pos);
          if (n <= 0) break;
          pos += n;
          got += n;
          partial += buf.subarray(0, n).toString("utf8");
          yield* complete();
        }
      }
      // Rotated: the live name points at a new file; ours is read to its end above. Several
      // rotations can pass between two polls: the files written after ours (found by its inode
      // in the set, opened at one moment) are read in order before the live one is followed.
      let rotated = false;
      try {
        rotated = statSync(path).ino !== ino;
      } catch {}
      if (rotated && ino === 0) {
        // The live file appeared (no file before): follow it from its start.
        pos = 0;
        open();
        continue;
      }
      if (rotated) {
        const set = openLogSet(path, maxFiles);
        const at = set.findIndex((f) => f >= 0 && fstatSync(f).ino === ino);
        for (const f of set.slice(0, at + 1)) if (f >= 0) closeSync(f);
        const newer = set.slice(at + 1);
        const live = newer.pop()!;
        // Ours first: what the monitor wrote to it after our read above, before it rotated.
        for (const [f, from] of [[fd, pos] as const, ...newer.map((f) => [f, 0] as const)]) {
          if (f < 0) continue;
          partial += readRest(f, from).text;
          closeSync(f);
          yield* complete();
        }
        fd = live;
        pos = 0;
        ino = live >= 0 ? fstatSync(live).ino : 0;
        continue;
      }
      if (got === 0) {
        if (++idle % 5 === 0 && !(await stillRunning!())) {
          // One last read: what was written between our read and the exit.
          if (fd >= 0) {
            const n = readSync(fd, buf, 0, buf.length, pos);
            if (n > 0) {
              pos += n;
              partial += buf.subarray(0, n).toString("utf8");
              continue;
            }
          }
          return;
        }
        await Bun.sleep(50);
      } else idle = 0;
    }
  }
}

/**
 * Have the running container's monitor close its log and open the path again (the CRI's
 * ReopenContainerLog: kubelet renamed the file to rotate it). Returns once the new file exists.
 */
export async function reopenContainerLog(e: Engine, c: Container): Promise<void> {
  if (c.state !== "running" && c.state !== "paused") throw failedPrecondition(`container ${c.id} is not running: only a running container's log can be reopened`, "container");
  const path = c.spec.log?.path ?? c.resolved.logPath;
  if ((c.spec.log?.driver ?? "json-file") === "none") throw failedPrecondition(`container ${c.id} has no log to reopen`, "container");
  const { AttachClient } = await import("../monitor/attach.ts");
  const client = await AttachClient.connect(e.containerDir(c.id), 0);
  client.reopenLog();
  client.close();
  for (let i = 0; i < 200 && !existsSync(path); i++) await Bun.sleep(10);
  if (!existsSync(path)) throw failedPrecondition(`container ${c.id}: its monitor did not reopen ${path}`, "container");
}
