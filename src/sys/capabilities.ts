import { readFileSync } from "node:fs";

// Linux capability numbers (include/uapi/linux/capability.h; capabilities(7)).
export const CAPABILITIES: readonly string[] = [
  "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
  "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
  "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
  "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT",
  "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME",
  "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL",
  "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
  "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
];

const byName = new Map(CAPABILITIES.map((n, i) => [n, i]));

/** The capability's number, or undefined for a name this kernel table does not know. */
export function capabilityNumber(name: string): number | undefined {
  return byName.get(name.toUpperCase().startsWith("CAP_") ? name.toUpperCase() : `CAP_${name.toUpperCase()}`);
}

/** Names → 64-bit mask. Unknown names are returned for the caller to report. */
export function capabilityMask(names: readonly string[] | undefined): { mask: bigint; unknown: string[] } {
  let mask = 0n;
  const unknown: string[] = [];
  for (const n of names ?? []) {
    const c = capabilityNumber(n);
    if (c === undefined) unknown.push(n);
    else mask |= 1n << BigInt(c);
  }
  return { mask, unknown };
}

export function capabilityNames(mask: bigint): string[] {
  return CAPABILITIES.filter((_, i) => (mask >> BigInt(i)) & 1n);
}

/**
 * The capabilities this process can still give (its bounding set, /proc/self/status CapBnd):
 * `--privileged` and `--cap-add ALL` mean these, as docker's daemon gives what it has — on a host
 * without CAP_SYS_RESOURCE a full set would make capset(2) fail.
 */
export function boundingCapabilities(): string[] {
  try {
    const m = /CapBnd:\s+([0-9a-f]+)/.exec(readFileSync("/proc/self/status", "utf8"));
    if (m) return capabilityNames(BigInt(`0x${m[1]}`));
  } catch {}
  return [...CAPABILITIES];
}
