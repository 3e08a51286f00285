import { writeSync } from "node:fs";

/**
 * Write all of `data` to `fd`, synchronously. A non-blocking fd (a pipe shared with a parent that
 * set O_NONBLOCK) answers EAGAIN when its reader is behind: wait for it, 1 ms at a time. Other
 * errors (EPIPE: the reader went away) are the caller's.
 */
export function writeAllSync(fd: number, data: Uint8Array | string): void {
  const b = typeof data === "string" ? Buffer.from(data) : data;
  for (let off = 0; off < b.length; ) {
    try {
      off += writeSync(fd, b, off, b.length - off);
    } catch (e) {
      if ((e as { code?: string }).code !== "EAGAIN") throw e;
      Bun.sleepSync(1);
    }
  }
}
