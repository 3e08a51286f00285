// Reading a container's logs as its monitor writes them: docker's json-file lines
// ({"log","stream","time"}) or the CRI's k8s-file lines ("<time> stdout|stderr F|P text"), over
// the rotated files (oldest first), with --since/--until/--tail, and --follow until the
// container stops (following rotation by inode).
import { closeSync, existsSync, fstatSync, openSync, readFileSync, readSync, statSync } from "node:fs";
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

function readAll(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

export async function* readLogs(e: Engine, c: Container, o: LogOptions = {}, stillRunning?: () => Promise<boolean>): AsyncGenerator<LogEntry> {
  const driver = c.spec.log?.driver ?? "json-file";
  const path = c.resolved.logPath;
  const want = (x: LogEntry) => (x.stream === "stdout" ? o.stdout !== false : o.stderr !== false)
    && (o.since === undefined || x.ns >= BigInt(Math.floor(o.since)) * 1_000_000n)
    && (o.until === undefined || x.ns <= BigInt(Math.floor(o.until)) * 1_000_000n);
  let entries: LogEntry[] = [];
  for (const f of files(path, c.spec.log?.maxFiles ?? 3)) {
    for (const line of readAll(f).split("\n")) {
      if (!line) continue;
      const x = parseLogLine(line, driver);
      if (x && want(x)) entries.push(x);
    }
  }
  if (o.tail !== undefined && o.tail >= 0) entries = entries.slice(Math.max(0, entries.length - o.tail));
  for (const x of entries) yield x;
  if (!o.follow || !stillRunning) return;
  // Follow from the current end of the live file.
  let fd = -1, ino = 0, pos = 0;
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
  pos = open();
  let partial = "";
  const buf = Buffer.alloc(65536);
  let idle = 0;
  try {
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
          let nl;
          while ((nl = partial.indexOf("\n")) >= 0) {
            const line = partial.slice(0, nl);
            partial = partial.slice(nl + 1);
            const x = parseLogLine(line, driver);
            if (x && want(x)) yield x;
          }
        }
      }
      // Rotated: the live name points at a new file; the old one is read to its end above.
      try {
        if (statSync(path).ino !== ino) {
          if (fd >= 0) closeSync(fd);
          open();
          pos = 0;
          continue;
        }
      } catch {}
      if (got === 0) {
        if (++idle % 5 === 0 && !(await stillRunning())) {
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
  } finally {
    if (fd >= 0) closeSync(fd);
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
