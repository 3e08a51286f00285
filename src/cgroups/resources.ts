// The OCI runtime-spec's `linux.resources` (config-linux.md, "Control groups"), its validation,
// and the cgroup v1 → v2 value conversions. Everything here is pure data: no file system access,
// so unit tests cover it without root.

import { invalidArgument } from "../sys/errdefs.ts";

/** Prefix of every config field named in errors. */
export const RESOURCES_FIELD = "linux.resources";

export interface LinuxDeviceCgroup {
  allow: boolean;
  /** "a" (all, the default), "c" or "b". */
  type?: string;
  /** Unset or null means any ("*"). */
  major?: number | null;
  minor?: number | null;
  /** Any combination of "r", "w", "m". */
  access?: string;
}

export interface LinuxMemory {
  /** Bytes, -1 = unlimited. */
  limit?: number;
  /** Soft limit in bytes (v1 memory.soft_limit_in_bytes, v2 memory.low). */
  reservation?: number;
  /** memory+swap limit in bytes (v1 semantics), -1 = unlimited. */
  swap?: number;
  /** NOT RECOMMENDED by the spec: kernel memory limit. */
  kernel?: number;
  /** NOT RECOMMENDED by the spec: kernel TCP buffer limit. */
  kernelTCP?: number;
  /** 0..100 */
  swappiness?: number;
  disableOOMKiller?: boolean;
  useHierarchy?: boolean;
  /** On update: refuse a limit below current usage (what v1 does by itself). */
  checkBeforeUpdate?: boolean;
}

export interface LinuxCPU {
  shares?: number;
  /** Microseconds per period, -1 = unlimited. */
  quota?: number;
  burst?: number;
  period?: number;
  realtimeRuntime?: number;
  realtimePeriod?: number;
  /** cpuset list, e.g. "0-1,3". */
  cpus?: string;
  mems?: string;
  /** 1 = SCHED_IDLE for the group. */
  idle?: number;
}

export interface LinuxPids {
  /** <= 0 means unlimited (runc's normalisation). */
  limit: number;
}

export interface LinuxWeightDevice {
  major: number;
  minor: number;
  weight?: number;
  leafWeight?: number;
}

export interface LinuxThrottleDevice {
  major: number;
  minor: number;
  rate: number;
}

export interface LinuxBlockIO {
  weight?: number;
  leafWeight?: number;
  weightDevice?: LinuxWeightDevice[];
  throttleReadBpsDevice?: LinuxThrottleDevice[];
  throttleWriteBpsDevice?: LinuxThrottleDevice[];
  throttleReadIOPSDevice?: LinuxThrottleDevice[];
  throttleWriteIOPSDevice?: LinuxThrottleDevice[];
}

export interface LinuxHugepageLimit {
  /** "2MB", "1GB", "64KB" — the <hugepagesize> in hugetlb.<hugepagesize>.* file names. */
  pageSize: string;
  limit: number;
}

export interface LinuxInterfacePriority {
  name: string;
  priority: number;
}

export interface LinuxNetwork {
  classID?: number;
  priorities?: LinuxInterfacePriority[];
}

export interface LinuxRdma {
  hcaHandles?: number;
  hcaObjects?: number;
}

export interface LinuxResources {
  devices?: LinuxDeviceCgroup[];
  memory?: LinuxMemory;
  cpu?: LinuxCPU;
  pids?: LinuxPids;
  blockIO?: LinuxBlockIO;
  hugepageLimits?: LinuxHugepageLimit[];
  network?: LinuxNetwork;
  rdma?: Record<string, LinuxRdma>;
  /** cgroup v2 file name → content, written as is. */
  unified?: Record<string, string>;
}

// ---------------------------------------------------------------------------------------------
// Validation: every rule in one place (runc's validator habit). The drivers can then assume
// integers in range and only the kernel can still say no.

const f = (path: string) => `${RESOURCES_FIELD}.${path}`;

function int(v: unknown, field: string, min: number, max = Number.MAX_SAFE_INTEGER): void {
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `an integer in ${min}..${max}`;
    throw invalidArgument(`${field}: ${JSON.stringify(v)} is not valid; expected ${range}`, field);
  }
}

/** Kernel cpuset list syntax: "0-3,5,7-8" (Documentation/admin-guide/cgroup-v1/cpusets.rst). */
const CPU_LIST = /^\d+(-\d+)?(,\d+(-\d+)?)*$/;
/** hugetlb file names use sizes like 2MB, 1GB, 64KB (Documentation/admin-guide/cgroup-v1/hugetlb.rst). */
const PAGE_SIZE = /^\d+[KMG]B$/;

export const CPU_SHARES_MIN = 2;
export const CPU_SHARES_MAX = 262144; // kernel MAX_SHARES = 1 << 18
export const BLKIO_WEIGHT_MIN = 10;
export const BLKIO_WEIGHT_MAX = 1000;

/** Throws InvalidArgument naming the first bad field. Unset fields are fine. */
export function validateResources(r: LinuxResources): void {
  const m = r.memory;
  if (m) {
    for (const k of ["limit", "reservation", "swap", "kernel", "kernelTCP"] as const) {
      if (m[k] !== undefined) int(m[k], f(`memory.${k}`), -1);
    }
    if (m.swappiness !== undefined) int(m.swappiness, f("memory.swappiness"), 0, 100);
    // v1 keeps memory.limit_in_bytes <= memory.memsw.limit_in_bytes (cgroup-v1/memory.rst §2.4).
    if (m.swap !== undefined && m.swap > 0 && m.limit !== undefined && m.limit > 0 && m.swap < m.limit) {
      throw invalidArgument(
        `${f("memory.swap")} (${m.swap}) is memory+swap and must be >= ${f("memory.limit")} (${m.limit})`,
        f("memory.swap"),
      );
    }
  }
  const c = r.cpu;
  if (c) {
    if (c.shares !== undefined && c.shares !== 0) int(c.shares, f("cpu.shares"), CPU_SHARES_MIN, CPU_SHARES_MAX);
    if (c.quota !== undefined) int(c.quota, f("cpu.quota"), -1);
    if (c.period !== undefined) int(c.period, f("cpu.period"), 0);
    if (c.burst !== undefined) int(c.burst, f("cpu.burst"), 0);
    if (c.burst !== undefined && c.burst > 0 && c.quota !== undefined && c.quota > 0 && c.burst > c.quota) {
      throw invalidArgument(`${f("cpu.burst")} (${c.burst}) must not exceed ${f("cpu.quota")} (${c.quota})`, f("cpu.burst"));
    }
    if (c.realtimeRuntime !== undefined) int(c.realtimeRuntime, f("cpu.realtimeRuntime"), -1);
    if (c.realtimePeriod !== undefined) int(c.realtimePeriod, f("cpu.realtimePeriod"), 0);
    if (c.idle !== undefined) int(c.idle, f("cpu.idle"), 0, 1);
    for (const k of ["cpus", "mems"] as const) {
      const v = c[k];
      if (v !== undefined && v !== "" && (typeof v !== "string" || !CPU_LIST.test(v.trim()))) {
        throw invalidArgument(`${f(`cpu.${k}`)}: ${JSON.stringify(v)} is not a list like "0-2,4"`, f(`cpu.${k}`));
      }
    }
  }
  if (r.pids) int(r.pids.limit, f("pids.limit"), Number.MIN_SAFE_INTEGER);
  const b = r.blockIO;
  if (b) {
    for (const k of ["weight", "leafWeight"] as const) {
      if (b[k] !== undefined && b[k] !== 0) int(b[k], f(`blockIO.${k}`), BLKIO_WEIGHT_MIN, BLKIO_WEIGHT_MAX);
    }
    b.weightDevice?.forEach((d, i) => {
      const at = `blockIO.weightDevice[${i}]`;
      int(d.major, f(`${at}.major`), 0);
      int(d.minor, f(`${at}.minor`), 0);
      if (d.weight === undefined && d.leafWeight === undefined) {
        throw invalidArgument(`${f(at)}: set weight or leafWeight`, f(at));
      }
      if (d.weight !== undefined) int(d.weight, f(`${at}.weight`), BLKIO_WEIGHT_MIN, BLKIO_WEIGHT_MAX);
      if (d.leafWeight !== undefined) int(d.leafWeight, f(`${at}.leafWeight`), BLKIO_WEIGHT_MIN, BLKIO_WEIGHT_MAX);
    });
    for (const k of THROTTLE_KEYS) {
      b[k]?.forEach((d, i) => {
        const at = `blockIO.${k}[${i}]`;
        int(d.major, f(`${at}.major`), 0);
        int(d.minor, f(`${at}.minor`), 0);
        int(d.rate, f(`${at}.rate`), 0);
      });
    }
  }
  r.hugepageLimits?.forEach((h, i) => {
    const at = `hugepageLimits[${i}]`;
    if (typeof h.pageSize !== "string" || !PAGE_SIZE.test(h.pageSize)) {
      throw invalidArgument(`${f(`${at}.pageSize`)}: ${JSON.stringify(h.pageSize)} is not like "2MB"`, f(`${at}.pageSize`));
    }
    int(h.limit, f(`${at}.limit`), 0);
  });
  r.devices?.forEach((d, i) => {
    const at = `devices[${i}]`;
    if (typeof d.allow !== "boolean") throw invalidArgument(`${f(`${at}.allow`)} must be true or false`, f(`${at}.allow`));
    if (d.type !== undefined && !["a", "b", "c"].includes(d.type)) {
      throw invalidArgument(`${f(`${at}.type`)}: ${JSON.stringify(d.type)} is not "a", "b" or "c"`, f(`${at}.type`));
    }
    if (d.major != null) int(d.major, f(`${at}.major`), 0);
    if (d.minor != null) int(d.minor, f(`${at}.minor`), 0);
    if (d.access !== undefined && !/^[rwm]*$/.test(d.access)) {
      throw invalidArgument(`${f(`${at}.access`)}: ${JSON.stringify(d.access)} may only contain r, w, m`, f(`${at}.access`));
    }
  });
  if (r.network) {
    if (r.network.classID !== undefined) int(r.network.classID, f("network.classID"), 0, 0xffffffff);
    r.network.priorities?.forEach((p, i) => {
      if (typeof p.name !== "string" || !/^[^\s/]{1,15}$/.test(p.name)) {
        throw invalidArgument(`${f(`network.priorities[${i}].name`)}: not an interface name`, f(`network.priorities[${i}].name`));
      }
      int(p.priority, f(`network.priorities[${i}].priority`), 0, 0xffffffff);
    });
  }
  if (r.rdma) {
    for (const [dev, l] of Object.entries(r.rdma)) {
      if (l.hcaHandles === undefined && l.hcaObjects === undefined) {
        throw invalidArgument(`${f(`rdma.${dev}`)}: set hcaHandles or hcaObjects`, f(`rdma.${dev}`));
      }
      if (l.hcaHandles !== undefined) int(l.hcaHandles, f(`rdma.${dev}.hcaHandles`), 0, 0xffffffff);
      if (l.hcaObjects !== undefined) int(l.hcaObjects, f(`rdma.${dev}.hcaObjects`), 0, 0xffffffff);
    }
  }
  if (r.unified) {
    for (const [k, v] of Object.entries(r.unified)) {
      // A key names a file in the container's own cgroup directory, never a path elsewhere.
      if (!/^[a-z_]+\.[A-Za-z0-9_.]+$/.test(k) || k.includes("..")) {
        throw invalidArgument(`${f(`unified.${k}`)}: not a cgroup v2 file name like "memory.high"`, f(`unified.${k}`));
      }
      if (typeof v !== "string") throw invalidArgument(`${f(`unified.${k}`)} must be a string`, f(`unified.${k}`));
    }
  }
}

export const THROTTLE_KEYS = [
  "throttleReadBpsDevice",
  "throttleWriteBpsDevice",
  "throttleReadIOPSDevice",
  "throttleWriteIOPSDevice",
] as const;

// ---------------------------------------------------------------------------------------------
// Value conversions (the numbers runc writes; facts, not code, taken from it).

/** pids.max content: OCI limit <= 0 means unlimited (runc normalises 0 and -1 to "max"). */
export function pidsMaxValue(limit: number): string {
  return limit > 0 ? String(limit) : "max";
}

/**
 * cpu.shares (v1, 2..262144, default 1024) → cpu.weight (v2, 1..10000, default 100).
 * The mapping runc and crun use since 2025 (runc PR 4785, Kubernetes issue 131216): a quadratic in
 * log2(shares) through (2 → 1), (1024 → 100), (262144 → 10000), so the defaults line up — the old
 * linear formula put 1024 shares at weight 39, below a sibling with no setting.
 * 0 means unset and stays 0.
 */
export function cpuSharesToWeight(shares: number): number {
  if (shares === 0) return 0;
  if (shares <= CPU_SHARES_MIN) return 1;
  if (shares >= CPU_SHARES_MAX) return 10000;
  const l = Math.log2(shares);
  const exponent = (l * l + 125 * l) / 612 - 7 / 34;
  return Math.ceil(10 ** exponent);
}

/** The linear mapping of runc <= 1.3.1 / crun < 1.23 (Debian's runc 1.1.5 here writes this). */
export function cpuSharesToWeightLinear(shares: number): number {
  if (shares === 0) return 0;
  return 1 + Math.floor(((shares - 2) * 9999) / 262142);
}

/** blkio.weight (10..1000) → io.weight (1..10000), linear as runc. 0 means unset. */
export function blkioWeightToIoWeight(weight: number): number {
  if (weight === 0) return 0;
  return 1 + Math.floor(((weight - 10) * 9999) / 990);
}

/**
 * OCI memory.swap is memory+swap (v1); v2's memory.swap.max is swap alone.
 * Returns -1 (write "max"), 0 (leave unset) or the swap-only byte count.
 */
export function memorySwapToV2(swap: number, limit: number): number {
  // Memory unlimited and swap unset: v1 would leave memsw unlimited too, so say "max".
  if (limit === -1 && swap === 0) return -1;
  if (swap === -1 || swap === 0) return swap;
  if (limit === 0 || limit === -1) {
    throw invalidArgument(
      `${f("memory.swap")} needs ${f("memory.limit")}: cgroup v2 limits swap separately, so memory+swap cannot be split without a memory limit`,
      f("memory.swap"),
    );
  }
  if (swap < limit) {
    throw invalidArgument(`${f("memory.swap")} (${swap}) must be >= ${f("memory.limit")} (${limit})`, f("memory.swap"));
  }
  return swap - limit;
}

/** v2 "max"-style value for a byte limit where -1 means unlimited. */
export function maxOrNumber(v: number): string {
  return v === -1 ? "max" : String(v);
}

/**
 * cpu.max content "$QUOTA $PERIOD" (cgroup-v2.rst, "cpu.max"), or undefined when neither is set.
 * A quota <= 0 is "max"; a period of 0 is left out so the kernel keeps the current one.
 */
export function cpuMaxValue(quota: number | undefined, period: number | undefined): string | undefined {
  const q = quota ?? 0;
  const p = period ?? 0;
  if (q === 0 && p === 0) return undefined;
  const qs = q > 0 ? String(q) : "max";
  return p !== 0 ? `${qs} ${p}` : qs;
}

/** One v1 devices.allow/deny line: "c 1:3 rwm" (cgroup-v1/devices.rst). */
export function deviceRuleLine(d: LinuxDeviceCgroup): string {
  const t = d.type ?? "a";
  const major = d.major == null ? "*" : String(d.major);
  const minor = d.minor == null ? "*" : String(d.minor);
  const access = d.access && d.access !== "" ? d.access : "rwm";
  return `${t} ${major}:${minor} ${access}`;
}
