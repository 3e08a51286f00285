// Mounting what a snapshotter returns (containerd's mount.All): `bind` mounts and filesystem
// mounts (overlay, tmpfs…) through mount(2), via libc opened on first use.
//
// mount(2) takes its filesystem options as one page of data, which a long overlay lowerdir chain
// outgrows (~100 layers). Then the new mount API is used instead: fsopen("overlay"), one
// fsconfig(FSCONFIG_SET_STRING, "lowerdir+", dir) per layer (Linux ≥ 6.8), fsmount, move_mount.

import { dlopen, FFIType, toArrayBuffer } from "bun:ffi";
import { BerthError, invalidArgument } from "../sys/errdefs.ts";
import { errnoMessage, errnoName } from "../sys/errno.ts";
import { MOUNT_ATTR, MS } from "../sys/linux.ts";
import type { Mount } from "./types.ts";

type Libc = ReturnType<typeof open>;
let libc: Libc | undefined;

function open() {
  const lib = dlopen("libc.so.6", {
    mount: { args: [FFIType.ptr, FFIType.ptr, FFIType.ptr, FFIType.u64, FFIType.ptr], returns: FFIType.i32 },
    umount2: { args: [FFIType.ptr, FFIType.i32], returns: FFIType.i32 },
    fsopen: { args: [FFIType.ptr, FFIType.u32], returns: FFIType.i32 },
    fsconfig: { args: [FFIType.i32, FFIType.u32, FFIType.ptr, FFIType.ptr, FFIType.i32], returns: FFIType.i32 },
    fsmount: { args: [FFIType.i32, FFIType.u32, FFIType.u32], returns: FFIType.i32 },
    move_mount: { args: [FFIType.i32, FFIType.ptr, FFIType.i32, FFIType.ptr, FFIType.u32], returns: FFIType.i32 },
    close: { args: [FFIType.i32], returns: FFIType.i32 },
    __errno_location: { args: [], returns: FFIType.ptr },
  });
  return lib.symbols;
}

function load(): Libc {
  libc ??= open();
  return libc;
}

function errno(): number {
  const loc = load().__errno_location();
  return loc === null ? 0 : new Int32Array(toArrayBuffer(loc, 0, 4))[0]!;
}

const cstr = (s: string) => new TextEncoder().encode(`${s}\0`);
// TypedArrays passed straight to FFI stay alive for the call (a ptr() taken early might not).
const cptr = (s: string | null) => (s === null ? null : cstr(s));

/** A failed mount call; `errno` is the kernel's answer. */
export class MountError extends BerthError {
  constructor(readonly syscall: string, readonly errno: number, what: string, field: string) {
    super(errno === 1 || errno === 13 ? "PermissionDenied" : "Internal",
      `${syscall} ${what}: ${errnoName(errno)} (${errnoMessage(errno)})`, field);
  }
}

const FLAGS: Record<string, [set: boolean, flag: number]> = {
  ro: [true, MS.RDONLY], rw: [false, MS.RDONLY],
  nosuid: [true, MS.NOSUID], suid: [false, MS.NOSUID],
  nodev: [true, MS.NODEV], dev: [false, MS.NODEV],
  noexec: [true, MS.NOEXEC], exec: [false, MS.NOEXEC],
  sync: [true, MS.SYNCHRONOUS], async: [false, MS.SYNCHRONOUS],
  dirsync: [true, MS.DIRSYNC],
  noatime: [true, MS.NOATIME], atime: [false, MS.NOATIME],
  nodiratime: [true, MS.NODIRATIME], diratime: [false, MS.NODIRATIME],
  relatime: [true, MS.RELATIME], norelatime: [false, MS.RELATIME],
  strictatime: [true, MS.STRICTATIME], nostrictatime: [false, MS.STRICTATIME],
  bind: [true, MS.BIND], rbind: [true, MS.BIND | MS.REC],
};

const PROPAGATION: Record<string, number> = {
  private: MS.PRIVATE, rprivate: MS.PRIVATE | MS.REC, shared: MS.SHARED, rshared: MS.SHARED | MS.REC,
  slave: MS.SLAVE, rslave: MS.SLAVE | MS.REC, unbindable: MS.UNBINDABLE, runbindable: MS.UNBINDABLE | MS.REC,
};

export interface ParsedOptions {
  flags: number;
  propagation: number;
  /** Filesystem-specific options, in order. */
  data: string[];
}

/** Split mount(8)-style options into mount(2) flags and filesystem data. */
export function parseMountOptions(options: string[]): ParsedOptions {
  let flags = 0;
  let propagation = 0;
  const data: string[] = [];
  for (const o of options) {
    const f = FLAGS[o];
    if (f) flags = f[0] ? flags | f[1] : flags & ~f[1];
    else if (PROPAGATION[o] !== undefined) propagation = PROPAGATION[o]!;
    else data.push(o);
  }
  return { flags, propagation, data };
}

/** Page size less the terminating NUL: the most mount(2) passes to a filesystem. */
const MAX_MOUNT_DATA = 4095;

/** Mount one description on `target` (a directory that exists). */
export function mountOne(m: Mount, target: string): void {
  const l = load();
  const { flags, propagation, data } = parseMountOptions(m.options);
  const what = `${m.type} ${m.source} on ${target} (${m.options.join(",")})`;
  const call = (src: string | null, fstype: string | null, fl: number, d: string | null, step: string) => {
    if (l.mount(cptr(src), cptr(target), cptr(fstype), fl, cptr(d)) !== 0) throw new MountError("mount", errno(), `${what}${step}`, "mount");
  };
  if (m.type === "bind" || (flags & MS.BIND) !== 0) {
    call(m.source, null, MS.BIND | (flags & MS.REC), null, "");
    // Per-mount flags (ro, nosuid…) on a bind need a second, remounting call (mount(2)).
    const extra = flags & ~(MS.BIND | MS.REC);
    if (extra !== 0) {
      try {
        call(null, null, MS.REMOUNT | MS.BIND | extra, null, " [remount]");
      } catch (e) {
        unmount(target, { detach: true });
        throw e;
      }
    }
  } else {
    const joined = data.join(",");
    if (joined.length > MAX_MOUNT_DATA && m.type === "overlay") mountWithFsconfig(m, target, flags, data);
    else call(m.source, m.type, flags, joined === "" ? null : joined, "");
  }
  if (propagation !== 0) call(null, null, propagation, null, " [propagation]");
}

function mountWithFsconfig(m: Mount, target: string, flags: number, data: string[]): void {
  const l = load();
  const FSCONFIG_SET_FLAG = 0, FSCONFIG_SET_STRING = 1, FSCONFIG_CMD_CREATE = 6;
  const what = `${m.type} ${m.source} on ${target}`;
  const fs = l.fsopen(cptr(m.type), 1 /* FSOPEN_CLOEXEC */);
  if (fs < 0) throw new MountError("fsopen", errno(), what, "mount");
  let mnt = -1;
  try {
    const set = (key: string, value: string | null) => {
      const r = value === null
        ? l.fsconfig(fs, FSCONFIG_SET_FLAG, cptr(key), null, 0)
        : l.fsconfig(fs, FSCONFIG_SET_STRING, cptr(key), cptr(value), 0);
      if (r !== 0) throw new MountError("fsconfig", errno(), `${what} (${key}${value === null ? "" : `=${value}`})`, "mount");
    };
    for (const o of data) {
      const eq = o.indexOf("=");
      if (eq < 0) set(o, null);
      else if (o.slice(0, eq) === "lowerdir") for (const dir of o.slice(eq + 1).split(":")) set("lowerdir+", dir);
      else set(o.slice(0, eq), o.slice(eq + 1));
    }
    if (l.fsconfig(fs, FSCONFIG_CMD_CREATE, null, null, 0) !== 0) throw new MountError("fsconfig(create)", errno(), what, "mount");
    let attrs = 0;
    if (flags & MS.RDONLY) attrs |= MOUNT_ATTR.RDONLY;
    if (flags & MS.NOSUID) attrs |= MOUNT_ATTR.NOSUID;
    if (flags & MS.NODEV) attrs |= MOUNT_ATTR.NODEV;
    if (flags & MS.NOEXEC) attrs |= MOUNT_ATTR.NOEXEC;
    mnt = l.fsmount(fs, 1 /* FSMOUNT_CLOEXEC */, attrs);
    if (mnt < 0) throw new MountError("fsmount", errno(), what, "mount");
    const AT_FDCWD = -100, MOVE_MOUNT_F_EMPTY_PATH = 4;
    if (l.move_mount(mnt, cptr(""), AT_FDCWD, cptr(target), MOVE_MOUNT_F_EMPTY_PATH) !== 0) throw new MountError("move_mount", errno(), what, "mount");
  } finally {
    if (mnt >= 0) l.close(mnt);
    l.close(fs);
  }
}

/**
 * Mount all of `mounts` on `target`, in order (later ones stack on earlier ones). If one fails,
 * those already mounted are unmounted before the error is thrown.
 */
export function mountAll(mounts: Mount[], target: string): void {
  if (mounts.length === 0) throw invalidArgument(`nothing to mount on ${target}: the mount list is empty`, "mounts");
  let done = 0;
  try {
    for (const m of mounts) {
      mountOne(m, target);
      done++;
    }
  } catch (e) {
    for (; done > 0; done--) unmount(target, { detach: true });
    throw e;
  }
}

/**
 * Unmount `target` once. EINVAL (not a mount point) and ENOENT are not errors when `ifMounted`
 * is set. EBUSY is retried briefly, then becomes a lazy (MNT_DETACH) unmount when `detach` is set.
 */
export function unmount(target: string, opts: { detach?: boolean; ifMounted?: boolean } = {}): boolean {
  const l = load();
  const MNT_DETACH = 2, EINVAL = 22, ENOENT = 2, EBUSY = 16;
  for (let attempt = 0; ; attempt++) {
    if (l.umount2(cptr(target), 0) === 0) return true;
    const e = errno();
    if ((e === EINVAL || e === ENOENT) && opts.ifMounted) return false;
    if (e === EBUSY && attempt < 10) {
      Bun.sleepSync(10);
      continue;
    }
    if (e === EBUSY && opts.detach && l.umount2(cptr(target), MNT_DETACH) === 0) return true;
    throw new MountError("umount", e, target, "target");
  }
}

/** Unmount everything stacked on `target` (what mountAll put there), tolerating none. */
export function unmountAll(target: string, opts: { detach?: boolean } = {}): number {
  let n = 0;
  while (n < 64 && unmount(target, { ...opts, ifMounted: true })) n++;
  return n;
}
