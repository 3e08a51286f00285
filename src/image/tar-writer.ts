// A streaming tar writer (POSIX ustar; pax headers for long names) for `berth save`: files are
// copied from disk in chunks, so an archive of large layers never sits in memory.
import { closeSync, openSync, readSync, writeSync } from "node:fs";

const enc = new TextEncoder();
const BLOCK = 512;

function header(name: string, size: number, type: "0" | "5" | "x", mode: number, mtime: number): Uint8Array {
  const h = new Uint8Array(BLOCK);
  const put = (off: number, len: number, s: string) => h.set(enc.encode(s).subarray(0, len), off);
  const oct = (off: number, len: number, v: number) => put(off, len, `${v.toString(8).padStart(len - 1, "0")}\0`);
  put(0, 100, name);
  oct(100, 8, mode);
  oct(108, 8, 0);
  oct(116, 8, 0);
  oct(124, 12, size);
  oct(136, 12, mtime);
  put(156, 1, type);
  put(257, 6, "ustar\0");
  put(263, 2, "00");
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  put(148, 8, `${sum.toString(8).padStart(6, "0")}\0 `);
  return h;
}

export class TarWriter {
  private closed = false;
  constructor(private readonly fd: number, private readonly mtime = 0) {}

  private write(b: Uint8Array): void {
    for (let off = 0; off < b.length; ) {
      try {
        off += writeSync(this.fd, b, off);
      } catch (e) {
        // STDOUT may be a non-blocking pipe: wait for the reader.
        if ((e as { code?: string }).code !== "EAGAIN") throw e;
        Bun.sleepSync(1);
      }
    }
  }
  private pad(size: number): void {
    const rem = size % BLOCK;
    if (rem) this.write(new Uint8Array(BLOCK - rem));
  }
  private head(name: string, size: number, type: "0" | "5", mode: number): void {
    if (enc.encode(name).length > 100) {
      const rec = (s: string) => {
        // A pax record's length counts its own digits.
        let n = s.length + 3;
        while (`${n} ${s}\n`.length !== n) n = `${n} ${s}\n`.length;
        return `${n} ${s}\n`;
      };
      const pax = enc.encode(rec(`path=${name}`));
      this.write(header("././@PaxHeader", pax.length, "x", 0o644, this.mtime));
      this.write(pax);
      this.pad(pax.length);
      name = name.slice(0, 100);
    }
    this.write(header(name, size, type, mode, this.mtime));
  }

  dir(name: string): void {
    this.head(name.endsWith("/") ? name : `${name}/`, 0, "5", 0o755);
  }

  bytes(name: string, data: Uint8Array): void {
    this.head(name, data.length, "0", 0o644);
    this.write(data);
    this.pad(data.length);
  }

  /** Copy a file of `size` bytes (a blob, verified already) into the archive. */
  file(name: string, path: string, size: number): void {
    this.head(name, size, "0", 0o644);
    const fd = openSync(path, "r");
    try {
      const buf = new Uint8Array(1 << 20);
      let left = size;
      while (left > 0) {
        const n = readSync(fd, buf, 0, Math.min(buf.length, left), null);
        if (n <= 0) throw new Error(`${path} is shorter than ${size} bytes`);
        this.write(buf.subarray(0, n));
        left -= n;
      }
    } finally {
      closeSync(fd);
    }
    this.pad(size);
  }

  end(): void {
    if (this.closed) return;
    this.closed = true;
    this.write(new Uint8Array(BLOCK * 2));
  }
}
