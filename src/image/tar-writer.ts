// A streaming tar writer (POSIX ustar; pax headers for long names) for `berth save` and `berth
// cp`: files are copied from disk in chunks, so an archive of large layers never sits in memory.
import { closeSync, openSync, readSync } from "node:fs";
import { writeAllSync } from "../sys/write-all.ts";

const enc = new TextEncoder();
const BLOCK = 512;

/** One entry's header fields (tar(5) ustar); `type` is the typeflag. */
export interface TarHeader {
  name: string;
  type: "0" | "1" | "2" | "3" | "4" | "5" | "6";
  mode: number;
  uid?: number;
  gid?: number;
  /** Seconds since the epoch. */
  mtime?: number;
  size?: number;
  /** Symlink text or hardlink target. */
  linkname?: string;
  devmajor?: number;
  devminor?: number;
}

function header(name: string, size: number, type: string, mode: number, mtime: number, extra: { uid?: number; gid?: number; linkname?: string; devmajor?: number; devminor?: number } = {}): Uint8Array {
  const h = new Uint8Array(BLOCK);
  const put = (off: number, len: number, s: string) => h.set(enc.encode(s).subarray(0, len), off);
  const oct = (off: number, len: number, v: number) => put(off, len, `${v.toString(8).padStart(len - 1, "0")}\0`);
  put(0, 100, name);
  oct(100, 8, mode);
  oct(108, 8, extra.uid ?? 0);
  oct(116, 8, extra.gid ?? 0);
  oct(124, 12, size);
  oct(136, 12, mtime);
  put(156, 1, type);
  if (extra.linkname) put(157, 100, extra.linkname);
  put(257, 6, "ustar\0");
  put(263, 2, "00");
  if (extra.devmajor !== undefined) oct(329, 8, extra.devmajor);
  if (extra.devminor !== undefined) oct(337, 8, extra.devminor);
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
    // STDOUT may be a non-blocking pipe: writeAllSync waits for the reader.
    writeAllSync(this.fd, b);
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

  /**
   * Any entry, with its own mode, owner, mtime and link target (pax records for names, link
   * targets and ids that ustar cannot hold). A regular file's data is read from `fd` (size bytes).
   */
  entry(h: TarHeader, fd?: number): void {
    const size = h.type === "0" ? (h.size ?? 0) : 0;
    const mtime = Math.max(0, Math.floor(h.mtime ?? this.mtime));
    const records: string[] = [];
    if (enc.encode(h.name).length > 100) records.push(`path=${h.name}`);
    if (h.linkname && enc.encode(h.linkname).length > 100) records.push(`linkpath=${h.linkname}`);
    if ((h.uid ?? 0) > 0o7777777) records.push(`uid=${h.uid}`);
    if ((h.gid ?? 0) > 0o7777777) records.push(`gid=${h.gid}`);
    if (size > 0o77777777777) records.push(`size=${size}`);
    if (records.length) {
      const rec = (s: string) => {
        let n = enc.encode(s).length + 3;
        while (enc.encode(`${n} ${s}\n`).length !== n) n = enc.encode(`${n} ${s}\n`).length;
        return `${n} ${s}\n`;
      };
      const pax = enc.encode(records.map(rec).join(""));
      this.write(header("././@PaxHeader", pax.length, "x", 0o644, mtime));
      this.write(pax);
      this.pad(pax.length);
    }
    const cap = (v: number | undefined) => Math.min(v ?? 0, 0o7777777);
    this.write(header(h.name, Math.min(size, 0o77777777777), h.type, h.mode & 0o7777, mtime, {
      uid: cap(h.uid), gid: cap(h.gid), ...(h.linkname ? { linkname: h.linkname } : {}),
      ...(h.type === "3" || h.type === "4" ? { devmajor: h.devmajor ?? 0, devminor: h.devminor ?? 0 } : {}),
    }));
    if (size === 0) return;
    if (fd === undefined) throw new Error(`tar entry ${h.name}: no data for ${size} bytes`);
    const buf = new Uint8Array(Math.min(1 << 20, size));
    let left = size;
    while (left > 0) {
      const n = readSync(fd, buf, 0, Math.min(buf.length, left), null);
      // A file that shrank while being read: pad with zeros so the archive stays well-formed.
      if (n <= 0) {
        this.write(new Uint8Array(left));
        break;
      }
      this.write(buf.subarray(0, n));
      left -= n;
    }
    this.pad(size);
  }

  end(): void {
    if (this.closed) return;
    this.closed = true;
    this.write(new Uint8Array(BLOCK * 2));
  }
}
