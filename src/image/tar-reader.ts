// A tar reader for image layers: POSIX ustar, pax extended headers (path, linkpath, size, uid,
// gid, mtime, SCHILY.xattr.*) and GNU long names (L/K), the formats Go's archive/tar, GNU tar and
// umoci write. xattr values are kept as raw bytes: security.capability is binary, so decoding
// pax records as text would corrupt it.

import { invalidArgument } from "../sys/errdefs.ts";

export type EntryType = "file" | "hardlink" | "symlink" | "char" | "block" | "directory" | "fifo";

export interface TarEntry {
  name: string;
  type: EntryType;
  mode: number;
  uid: number;
  gid: number;
  /** Seconds since the epoch, fractional when a pax header gave it. */
  mtime: number;
  linkname: string;
  devmajor: number;
  devminor: number;
  xattrs: Map<string, Uint8Array>;
  data: Uint8Array;
}

const TYPES: Record<string, EntryType> = {
  "0": "file", "\0": "file", "7": "file", "1": "hardlink", "2": "symlink", "3": "char", "4": "block", "5": "directory", "6": "fifo",
};

const dec = new TextDecoder();

function cstring(b: Uint8Array): string {
  const z = b.indexOf(0);
  return dec.decode(z >= 0 ? b.subarray(0, z) : b);
}

/** Octal, or base-256 (high bit set) for values that do not fit, as GNU and Go write them. */
function numeric(b: Uint8Array, field: string, entry: string): number {
  if (b.length > 0 && (b[0]! & 0x80) !== 0) {
    let v = b[0]! & 0x7f;
    for (let i = 1; i < b.length; i++) v = v * 256 + b[i]!;
    return v;
  }
  const s = cstring(b).trim();
  if (s === "") return 0;
  if (!/^[0-7]+$/.test(s)) throw invalidArgument(`tar entry ${JSON.stringify(entry)}: ${field} ${JSON.stringify(s)} is not octal`, "layer");
  return parseInt(s, 8);
}

function parsePax(data: Uint8Array, entry: string): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  let off = 0;
  while (off < data.length) {
    let sp = off;
    while (sp < data.length && data[sp] !== 0x20) sp++;
    const len = parseInt(dec.decode(data.subarray(off, sp)), 10);
    if (!Number.isInteger(len) || len <= 0 || off + len > data.length || data[off + len - 1] !== 0x0a) {
      if (data[off] === 0) break; // NUL padding
      throw invalidArgument(`tar entry ${JSON.stringify(entry)}: malformed pax record at byte ${off}`, "layer");
    }
    const rec = data.subarray(sp + 1, off + len - 1);
    const eq = rec.indexOf(0x3d);
    if (eq > 0) out.set(dec.decode(rec.subarray(0, eq)), rec.subarray(eq + 1));
    off += len;
  }
  return out;
}

/** Iterate the entries of an uncompressed tar held in memory. */
export function* readTar(tar: Uint8Array): Generator<TarEntry> {
  let off = 0;
  let pax = new Map<string, Uint8Array>();
  let globalPax = new Map<string, Uint8Array>();
  let longName: string | undefined;
  let longLink: string | undefined;
  while (off + 512 <= tar.length) {
    const h = tar.subarray(off, off + 512);
    if (h.every((b) => b === 0)) return; // end-of-archive marker
    let rawName = cstring(h.subarray(0, 100));
    // Checksum: the header summed with its checksum field read as spaces.
    let sum = 8 * 0x20;
    for (let i = 0; i < 512; i++) if (i < 148 || i >= 156) sum += h[i]!;
    const stored = numeric(h.subarray(148, 156), "checksum", rawName);
    if (stored !== sum) throw invalidArgument(`tar header at byte ${off} (${JSON.stringify(rawName)}) has a bad checksum; the layer is corrupt`, "layer");
    const typeflag = String.fromCharCode(h[156]!);
    let size = numeric(h.subarray(124, 136), "size", rawName);
    const magic = dec.decode(h.subarray(257, 262));
    if (magic === "ustar") {
      const prefix = cstring(h.subarray(345, 500));
      if (prefix) rawName = `${prefix}/${rawName}`;
    }
    const paxSize = pax.get("size") ?? globalPax.get("size");
    if (paxSize && typeflag !== "x" && typeflag !== "g") size = parseInt(dec.decode(paxSize), 10);
    const dataStart = off + 512;
    if (dataStart + size > tar.length) throw invalidArgument(`tar entry ${JSON.stringify(rawName)} is truncated; the layer is incomplete`, "layer");
    const data = tar.subarray(dataStart, dataStart + size);
    off = dataStart + Math.ceil(size / 512) * 512;

    if (typeflag === "x") { pax = parsePax(data, rawName); continue; }
    if (typeflag === "g") { globalPax = parsePax(data, rawName); continue; }
    if (typeflag === "L") { longName = cstring(data); continue; }
    if (typeflag === "K") { longLink = cstring(data); continue; }
    const type = TYPES[typeflag];
    const p = (k: string) => pax.get(k) ?? globalPax.get(k);
    const ps = (k: string) => { const v = p(k); return v === undefined ? undefined : dec.decode(v); };
    const name = ps("path") ?? longName ?? rawName;
    const linkname = ps("linkpath") ?? longLink ?? cstring(h.subarray(157, 257));
    const xattrs = new Map<string, Uint8Array>();
    for (const [k, v] of [...globalPax, ...pax]) if (k.startsWith("SCHILY.xattr.")) xattrs.set(k.slice("SCHILY.xattr.".length), v);
    const entry: TarEntry | undefined = type && {
      name,
      type,
      mode: numeric(h.subarray(100, 108), "mode", name) & 0o7777,
      uid: ps("uid") !== undefined ? Number(ps("uid")) : numeric(h.subarray(108, 116), "uid", name),
      gid: ps("gid") !== undefined ? Number(ps("gid")) : numeric(h.subarray(116, 124), "gid", name),
      mtime: ps("mtime") !== undefined ? Number(ps("mtime")) : numeric(h.subarray(136, 148), "mtime", name),
      linkname,
      devmajor: numeric(h.subarray(329, 337), "devmajor", name),
      devminor: numeric(h.subarray(337, 345), "devminor", name),
      xattrs,
      data,
    };
    pax = new Map();
    longName = undefined;
    longLink = undefined;
    if (entry) yield entry; // unknown types (sparse 'S', volume 'V', …) are skipped
  }
  throw invalidArgument("tar archive ends without its end-of-archive blocks; the layer is truncated", "layer");
}
