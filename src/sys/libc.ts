// The one libc binding the engine's hot paths share (bun:ffi), opened on first use: loading
// bun:ffi costs ~1–2 ms, once per process, whatever the number of symbols.
// flock(2) is here because node:fs has none, and a kernel lock is released by the kernel when
// its holder dies (kill -9 included), which no lock file with a pid in it can promise.
import { dlopen, FFIType, toArrayBuffer } from "bun:ffi";

function open() {
  return dlopen("libc.so.6", {
    flock: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 },
    // syscall(2) for calls glibc 2.36 has no wrapper for (openat2: src/sys/openat2.ts).
    syscall: { args: [FFIType.i64, FFIType.i64, FFIType.ptr, FFIType.ptr, FFIType.u64], returns: FFIType.i64 },
    __errno_location: { args: [], returns: FFIType.ptr },
  }).symbols;
}

let libc: ReturnType<typeof open> | undefined;
export function libcSymbols(): ReturnType<typeof open> {
  return (libc ??= open());
}

export function errno(): number {
  const loc = libcSymbols().__errno_location();
  return loc === null ? 0 : new Int32Array(toArrayBuffer(loc, 0, 4))[0]!;
}

export const LOCK_SH = 1;
export const LOCK_EX = 2;
export const LOCK_NB = 4;
export const LOCK_UN = 8;
export const EWOULDBLOCK = 11;
export const EINTR = 4;
