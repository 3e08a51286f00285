// The few filesystem calls Node's fs lacks, through libc: lsetxattr(2) and mknod(2).
// libc is opened on first use, never at import.

import { dlopen, FFIType, ptr, toArrayBuffer } from "bun:ffi";

type Libc = {
  lsetxattr: (path: Uint8Array, name: Uint8Array, value: Uint8Array | null, size: number, flags: number) => number;
  lgetxattr: (path: Uint8Array, name: Uint8Array, value: Uint8Array, size: number) => number;
  mknod: (path: Uint8Array, mode: number, dev: bigint) => number;
  errno: () => number;
};

let libc: Libc | undefined;

function load(): Libc {
  if (libc) return libc;
  const lib = dlopen("libc.so.6", {
    lsetxattr: { args: [FFIType.ptr, FFIType.ptr, FFIType.ptr, FFIType.u64, FFIType.i32], returns: FFIType.i32 },
    lgetxattr: { args: [FFIType.ptr, FFIType.ptr, FFIType.ptr, FFIType.u64], returns: FFIType.i64 },
    mknod: { args: [FFIType.ptr, FFIType.u32, FFIType.u64], returns: FFIType.i32 },
    __errno_location: { args: [], returns: FFIType.ptr },
  });
  const s = lib.symbols;
  libc = {
    lsetxattr: (p, n, v, size, flags) => s.lsetxattr(ptr(p), ptr(n), v && v.length > 0 ? ptr(v) : null, size, flags) as number,
    lgetxattr: (p, n, v, size) => Number(s.lgetxattr(ptr(p), ptr(n), ptr(v), size)),
    mknod: (p, mode, dev) => s.mknod(ptr(p), mode, dev) as number,
    errno: () => {
      const loc = s.__errno_location();
      return loc === null ? 0 : new Int32Array(toArrayBuffer(loc, 0, 4))[0]!;
    },
  };
  return libc;
}

const cstr = (s: string) => new TextEncoder().encode(`${s}\0`);

export class SyscallError extends Error {
  constructor(
    readonly syscall: string,
    readonly errno: number,
    readonly path: string,
  ) {
    super(`${syscall}(${path}) failed: errno ${errno}`);
  }
}

export function lsetxattr(path: string, name: string, value: Uint8Array): void {
  const l = load();
  if (l.lsetxattr(cstr(path), cstr(name), value, value.length, 0) !== 0) throw new SyscallError("lsetxattr", l.errno(), path);
}

/** Value of an xattr (up to 64 KiB, the VFS limit). */
export function lgetxattr(path: string, name: string): Uint8Array {
  const l = load();
  const buf = new Uint8Array(65536);
  const n = l.lgetxattr(cstr(path), cstr(name), buf, buf.length);
  if (n < 0) throw new SyscallError("lgetxattr", l.errno(), path);
  return buf.slice(0, n);
}

/** Linux dev_t encoding (glibc gnu_dev_makedev). */
export function makedev(major: number, minor: number): bigint {
  const M = BigInt(major);
  const m = BigInt(minor);
  return ((M & 0xfffn) << 8n) | ((M & ~0xfffn) << 32n) | (m & 0xffn) | ((m & ~0xffn) << 12n);
}

export const S_IFCHR = 0o020000;
export const S_IFBLK = 0o060000;
export const S_IFIFO = 0o010000;

export function mknod(path: string, mode: number, dev: bigint): void {
  const l = load();
  if (l.mknod(cstr(path), mode, dev) !== 0) throw new SyscallError("mknod", l.errno(), path);
}
