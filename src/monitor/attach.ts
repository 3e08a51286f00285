// A client of berth-monitor's attach socket (<dir>/attach.sock): the container's output as it
// is produced, stdin, terminal resizes, the exit record, and the cleanup hand-off. Frames:
// u8 type, u32 little-endian length, payload (native/berth-monitor.c has the table).
import { closeSync, openSync } from "node:fs";
import { join } from "node:path";
import { unavailable } from "../sys/errdefs.ts";
import type { MonitorStatus } from "./monitor.ts";

const F = { HELLO: 1, STDIN: 2, STDIN_EOF: 3, RESIZE: 4, STOPPING: 5, DONE: 6, DETACH: 7, REOPEN_LOG: 8, STATUS: 16, STDOUT: 17, STDERR: 18, EXIT: 19 } as const;
export const ATTACH = { stdout: 1, stderr: 2, stdin: 4, cleanup: 8 } as const;

export interface AttachHandlers {
  onStdout?(data: Uint8Array): void;
  onStderr?(data: Uint8Array): void;
}

/** sun_path holds 107 bytes; a longer directory is reached through /proc/self/fd (conmon's trick). */
function socketPath(dir: string): { path: string; dirFd?: number } {
  const direct = join(dir, "attach.sock");
  if (Buffer.byteLength(direct) < 100) return { path: direct };
  const dirFd = openSync(dir, "r");
  return { path: `/proc/self/fd/${dirFd}/attach.sock`, dirFd };
}

export class AttachClient {
  /** The monitor's status when we connected. */
  status!: MonitorStatus;
  /** Resolves with the exit record (after the last output), or undefined if the monitor went away. */
  readonly exit: Promise<MonitorStatus | undefined>;
  /** Resolves when the connection is closed (the monitor exits after its clients are done). */
  readonly closed: Promise<void>;
  private sock!: Bun.Socket<undefined>;
  private pending: Uint8Array[] = [];
  private inbuf = new Uint8Array(0);
  private resolveExit!: (s: MonitorStatus | undefined) => void;
  private resolveClosed!: () => void;
  private gotStatus!: (s: MonitorStatus) => void;
  private exited = false;

  private constructor(private readonly h: AttachHandlers) {
    this.exit = new Promise((r) => (this.resolveExit = r));
    this.closed = new Promise((r) => (this.resolveClosed = r));
  }

  /** Connect and say hello; `flags` from ATTACH. */
  static async connect(dir: string, flags: number, h: AttachHandlers = {}): Promise<AttachClient> {
    const c = new AttachClient(h);
    const { path, dirFd } = socketPath(dir);
    const status = new Promise<MonitorStatus>((r) => (c.gotStatus = r));
    try {
      c.sock = await Bun.connect({
        unix: path,
        socket: {
          data: (_s, data) => c.onData(data),
          drain: () => c.flush(),
          close: () => c.onClose(),
          error: () => c.onClose(),
        },
      });
    } catch (e) {
      throw unavailable(`cannot attach to the container's monitor (${join(dir, "attach.sock")}): ${(e as Error).message}; is the container running?`, "container");
    } finally {
      if (dirFd !== undefined) closeSync(dirFd);
    }
    const hello = new Uint8Array(4);
    new DataView(hello.buffer).setUint32(0, flags, true);
    c.send(F.HELLO, hello);
    const first = await Promise.race([status, c.closed.then(() => undefined)]);
    if (!first) throw unavailable(`the container's monitor closed the attach socket in ${dir}`, "container");
    c.status = first;
    return c;
  }

  write(data: Uint8Array | string): void {
    const b = typeof data === "string" ? new TextEncoder().encode(data) : data;
    for (let off = 0; off < b.length; off += 1 << 16) this.send(F.STDIN, b.subarray(off, off + (1 << 16)));
  }
  closeStdin(): void {
    this.send(F.STDIN_EOF);
  }
  resize(rows: number, cols: number): void {
    const b = new Uint8Array(4);
    const v = new DataView(b.buffer);
    v.setUint16(0, rows, true);
    v.setUint16(2, cols, true);
    this.send(F.RESIZE, b);
  }
  /** The next exit is a user's stop: the monitor must not restart the container. */
  stopping(): void {
    this.send(F.STOPPING);
  }
  /** The cleanup promised with ATTACH.cleanup is done. */
  done(): void {
    this.send(F.DONE);
  }
  /** Close the log file and open its path again (the CRI's ReopenContainerLog after a rotation). */
  reopenLog(): void {
    this.send(F.REOPEN_LOG);
  }
  /** We leave on purpose (detach keys): the process's stdin stays open (--stdin-once). */
  detach(): void {
    this.send(F.DETACH);
  }
  close(): void {
    try {
      this.sock.end();
    } catch {}
  }
  /** Stop reading the monitor's frames (a slow reader downstream); the monitor buffers 4 MiB for us, then drops us. */
  pause(): void {
    this.sock.pause();
  }
  resume(): void {
    this.sock.resume();
  }

  private send(type: number, payload: Uint8Array = new Uint8Array(0)): void {
    const f = new Uint8Array(5 + payload.length);
    f[0] = type;
    new DataView(f.buffer).setUint32(1, payload.length, true);
    f.set(payload, 5);
    this.pending.push(f);
    this.flush();
  }

  private flush(): void {
    while (this.pending.length) {
      const f = this.pending[0]!;
      const n = this.sock.write(f);
      if (n < 0) return;
      if (n < f.length) {
        this.pending[0] = f.subarray(n);
        return;
      }
      this.pending.shift();
    }
  }

  private onData(data: Uint8Array): void {
    const joined = new Uint8Array(this.inbuf.length + data.length);
    joined.set(this.inbuf);
    joined.set(data, this.inbuf.length);
    let off = 0;
    while (joined.length - off >= 5) {
      const len = new DataView(joined.buffer, joined.byteOffset + off + 1, 4).getUint32(0, true);
      if (joined.length - off < 5 + len) break;
      const type = joined[off]!;
      const payload = joined.slice(off + 5, off + 5 + len);
      off += 5 + len;
      if (type === F.STDOUT) this.h.onStdout?.(payload);
      else if (type === F.STDERR) this.h.onStderr?.(payload);
      else if (type === F.STATUS) this.gotStatus(JSON.parse(new TextDecoder().decode(payload)) as MonitorStatus);
      else if (type === F.EXIT) {
        this.exited = true;
        this.resolveExit(JSON.parse(new TextDecoder().decode(payload)) as MonitorStatus);
      }
    }
    this.inbuf = joined.slice(off);
  }

  private onClose(): void {
    if (!this.exited) this.resolveExit(undefined);
    this.resolveClosed();
  }
}
