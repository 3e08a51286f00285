// Seccomp architecture names of config-linux.md "Seccomp" and their numbers. libseccomp's
// SCMP_ARCH_* tokens are the kernel's AUDIT_ARCH_* values (include/uapi/linux/audit.h: EM_*
// machine number | 64-bit bit 0x80000000 | little-endian bit 0x40000000), except x32: libseccomp
// invents a token for it (EM_X86_64|LE) while the kernel reports x32 calls as AUDIT_ARCH_X86_64
// with bit 30 (__X32_SYSCALL_BIT) set in the syscall number. Kept as data so that a config is
// validated without opening libseccomp.

export interface ArchInfo {
  /** libseccomp token (SCMP_ARCH_*), what seccomp_arch_add(3) takes. */
  token: number;
  /** The value the kernel puts in seccomp_data.arch (seccomp(2)) for calls of this ABI. */
  audit: number;
}

const BIT64 = 0x80000000;
const LE = 0x40000000;
const MIPS_N32 = 0x20000000;
const a = (em: number, bits: number): ArchInfo => ({ token: (em | bits) >>> 0, audit: (em | bits) >>> 0 });

export const ARCHES: Readonly<Record<string, ArchInfo>> = {
  SCMP_ARCH_X86: a(3, LE),
  SCMP_ARCH_X86_64: a(62, BIT64 | LE),
  SCMP_ARCH_X32: { token: (62 | LE) >>> 0, audit: (62 | BIT64 | LE) >>> 0 },
  SCMP_ARCH_ARM: a(40, LE),
  SCMP_ARCH_AARCH64: a(183, BIT64 | LE),
  SCMP_ARCH_MIPS: a(8, 0),
  SCMP_ARCH_MIPS64: a(8, BIT64),
  SCMP_ARCH_MIPS64N32: a(8, BIT64 | MIPS_N32),
  SCMP_ARCH_MIPSEL: a(8, LE),
  SCMP_ARCH_MIPSEL64: a(8, BIT64 | LE),
  SCMP_ARCH_MIPSEL64N32: a(8, BIT64 | LE | MIPS_N32),
  SCMP_ARCH_PPC: a(20, 0),
  SCMP_ARCH_PPC64: a(21, BIT64),
  SCMP_ARCH_PPC64LE: a(21, BIT64 | LE),
  SCMP_ARCH_S390: a(22, 0),
  SCMP_ARCH_S390X: a(22, BIT64),
  SCMP_ARCH_PARISC: a(15, 0),
  SCMP_ARCH_PARISC64: a(15, BIT64),
  SCMP_ARCH_RISCV64: a(243, BIT64 | LE),
  SCMP_ARCH_LOONGARCH64: a(258, BIT64 | LE),
};

/** Name of a token, for messages ("SCMP_ARCH_X86_64"). */
export function archName(token: number): string {
  for (const [name, info] of Object.entries(ARCHES)) if (info.token === token >>> 0) return name;
  return `arch 0x${(token >>> 0).toString(16)}`;
}

export const X32_SYSCALL_BIT = 0x40000000;
