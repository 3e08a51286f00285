// openat2(2) (Linux 5.6+) through bun:ffi: opening a path *inside* a directory as if it were the
// root (RESOLVE_IN_ROOT: "..", absolute paths and symlinks all stay within it) or without
// following any symlink (RESOLVE_NO_SYMLINKS). The kernel does the containment in one call, so a
// process in a container cannot swap a directory for a symlink between a check and the use
// (docker's CVE-2018-15664). glibc 2.36 has no wrapper: the call goes through syscall(2), on
// the process's one libc binding (libc.ts).
import { closeSync } from "node:fs";
import { errnoMessage, errnoName } from "./errno.ts";
import { errno as lastErrno, libcSymbols } from "./libc.ts";

const SYS_openat2 = 437; // x86_64 and aarch64 alike (asm-generic numbering since 5.6)

export const O = {
  RDONLY: 0o0,
  WRONLY: 0o1,
  CREAT: 0o100,
  EXCL: 0o200,
  TRUNC: 0o1000,
  DIRECTORY: 0o200000,
  NOFOLLOW: 0o400000,
  CLOEXEC: 0o2000000,
  PATH: 0o10000000,
} as const;

export const RESOLVE = {
  NO_XDEV: 0x01,
  NO_MAGICLINKS: 0x02,
  NO_SYMLINKS: 0x04,
  BENEATH: 0x08,
  IN_ROOT: 0x10,
} as const;

/** A failed openat2; `code` is the errno name (ENOENT, ENOTDIR, ELOOP, EXDEV…), as node's errors. */
export class Openat2Error extends Error {
  constructor(readonly code: string, readonly errno: number, readonly path: string) {
    super(`${code}: ${errnoMessage(errno)}, open '${path}'`);
  }
}

/** AT_FDCWD: a path relative to the working directory. */
export const AT_FDCWD = -100;

/** openat2(dirfd, path, {flags, mode, resolve}) → fd; throws Openat2Error. */
export function openat2(dirfd: number, path: string, flags: number, resolve: number, mode = 0): number {
  const l = libcSymbols();
  const how = new BigUint64Array([BigInt(flags | O.CLOEXEC), BigInt(mode), BigInt(resolve)]);
  const p = new TextEncoder().encode(`${path === "" ? "." : path}\0`);
  for (;;) {
    const fd = Number(l.syscall(SYS_openat2, dirfd, p, how, 24));
    if (fd >= 0) return fd;
    const errno = lastErrno();
    if (errno === 4 || errno === 11) continue; // EINTR; EAGAIN (a rename raced the lookup)
    throw new Openat2Error(errnoName(errno), errno, path);
  }
}

/** The path through which node:fs calls reach what an fd names (the fd pins it: no lookup). */
export const fdPath = (fd: number, name?: string) => (name === undefined ? `/proc/self/fd/${fd}` : `/proc/self/fd/${fd}/${name}`);

export function closeFd(fd: number): void {
  try {
    closeSync(fd);
  } catch {}
}
