// Kernel constants the planner needs (include/uapi/linux/sched.h, mount.h; mount(2), clone(2)).
export const CLONE = {
  NEWTIME: 0x00000080, NEWNS: 0x00020000, NEWCGROUP: 0x02000000, NEWUTS: 0x04000000,
  NEWIPC: 0x08000000, NEWUSER: 0x10000000, NEWPID: 0x20000000, NEWNET: 0x40000000,
} as const;

export const MS = {
  RDONLY: 1, NOSUID: 2, NODEV: 4, NOEXEC: 8, SYNCHRONOUS: 16, REMOUNT: 32, MANDLOCK: 64,
  DIRSYNC: 128, NOSYMFOLLOW: 256, NOATIME: 1024, NODIRATIME: 2048, BIND: 4096, MOVE: 8192,
  REC: 16384, SILENT: 32768, POSIXACL: 1 << 16, UNBINDABLE: 1 << 17, PRIVATE: 1 << 18,
  SLAVE: 1 << 19, SHARED: 1 << 20, RELATIME: 1 << 21, I_VERSION: 1 << 23, STRICTATIME: 1 << 24,
  LAZYTIME: 1 << 25,
} as const;

/** mount_setattr(2)/fsmount(2) attributes. */
export const MOUNT_ATTR = {
  RDONLY: 0x1, NOSUID: 0x2, NODEV: 0x4, NOEXEC: 0x8, ATIME_MASK: 0x70, RELATIME: 0x0,
  NOATIME: 0x10, STRICTATIME: 0x20, NODIRATIME: 0x80, IDMAP: 0x100000, NOSYMFOLLOW: 0x200000,
} as const;

export const S_IF = { CHR: 0o020000, BLK: 0o060000, FIFO: 0o010000 } as const;

/** makedev(3) for the kernel's dev_t encoding. */
export function makedev(major: number, minor: number): bigint {
  const ma = BigInt(major);
  const mi = BigInt(minor);
  return ((ma & 0xfffn) << 8n) | ((ma & ~0xfffn) << 32n) | (mi & 0xffn) | ((mi & ~0xffn) << 12n);
}
