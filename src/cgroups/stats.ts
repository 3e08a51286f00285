// Cgroup statistics shaped like the "data" object of `runc events --stats` (runc's
// types/events.go), plus parsers for the kernel's stat file formats. Numbers are JS numbers:
// values above 2^53 (an "unlimited" v1 limit is 0x7FFFFFFFFFFFF000) lose precision, which no
// consumer of these stats depends on.

export interface CpuUsage {
  /** Nanoseconds. */
  total?: number;
  percpu?: number[];
  percpu_kernel?: number[];
  percpu_user?: number[];
  kernel: number;
  user: number;
}

export interface Throttling {
  periods?: number;
  throttledPeriods?: number;
  /** Nanoseconds. */
  throttledTime?: number;
}

export interface MemoryEntry {
  limit: number;
  usage?: number;
  max?: number;
  failcnt: number;
}

export interface BlkioEntry {
  major?: number;
  minor?: number;
  op?: string;
  value?: number;
}

export interface Blkio {
  ioServiceBytesRecursive?: BlkioEntry[];
  ioServicedRecursive?: BlkioEntry[];
}

export interface HugetlbStats {
  usage?: number;
  max?: number;
  failcnt: number;
}

export interface CgroupStats {
  cpu: { usage: CpuUsage; throttling: Throttling };
  memory: {
    cache?: number;
    usage: MemoryEntry;
    swap: MemoryEntry;
    kernel: MemoryEntry;
    kernelTCP: MemoryEntry;
    raw?: Record<string, number>;
  };
  pids: { current?: number; limit?: number };
  blkio: Blkio;
  hugetlb: Record<string, HugetlbStats>;
}

export function emptyStats(): CgroupStats {
  const entry = (): MemoryEntry => ({ limit: 0, failcnt: 0 });
  return {
    cpu: { usage: { kernel: 0, user: 0 }, throttling: {} },
    memory: { usage: entry(), swap: entry(), kernel: entry(), kernelTCP: entry() },
    pids: {},
    blkio: {},
    hugetlb: {},
  };
}

/** "key value" lines (memory.stat, cpu.stat, memory.events, cpuacct.stat) → map. */
export function parseFlatKeyed(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split("\n")) {
    const [k, v] = line.trim().split(/\s+/);
    if (k === undefined || k === "" || v === undefined) continue;
    const n = Number(v);
    if (!Number.isNaN(n)) out[k] = n;
  }
  return out;
}

/** A single-number file; "max" (v2) maps to `maxAs`. */
export function parseSingle(text: string | undefined, maxAs = 0): number | undefined {
  if (text === undefined) return undefined;
  const t = text.trim();
  if (t === "max") return maxAs;
  const n = Number(t);
  return Number.isNaN(n) ? undefined : n;
}

/** "n n n" (cpuacct.usage_percpu). */
export function parseSpaceList(text: string | undefined): number[] | undefined {
  if (text === undefined) return undefined;
  const out = text.trim().split(/\s+/).filter((s) => s !== "").map(Number);
  return out.every((n) => !Number.isNaN(n)) ? out : undefined;
}

/**
 * cpuacct.usage_all (v1): "cpu user system" header then one line per cpu, in ns.
 * Returns per-cpu user and kernel vectors.
 */
export function parseCpuacctUsageAll(text: string | undefined): { user: number[]; kernel: number[] } | undefined {
  if (text === undefined) return undefined;
  const user: number[] = [];
  const kernel: number[] = [];
  for (const line of text.split("\n").slice(1)) {
    const [cpu, u, s] = line.trim().split(/\s+/);
    if (cpu === undefined || u === undefined || s === undefined) continue;
    user.push(Number(u));
    kernel.push(Number(s));
  }
  return { user, kernel };
}

/**
 * v1 blkio "*_recursive" files: "8:0 Read 4096" lines and a "Total N" line
 * (Documentation/admin-guide/cgroup-v1/blkio-controller.rst).
 */
export function parseBlkioRecursive(text: string | undefined): BlkioEntry[] | undefined {
  if (text === undefined) return undefined;
  const out: BlkioEntry[] = [];
  for (const line of text.split("\n")) {
    const parts = line.trim().split(/\s+/);
    if (parts.length !== 3) continue;
    const [dev, op, v] = parts as [string, string, string];
    const m = /^(\d+):(\d+)$/.exec(dev);
    if (!m) continue;
    out.push({ major: Number(m[1]), minor: Number(m[2]), op, value: Number(v) });
  }
  return out;
}

/** v2 io.stat: "8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0" (cgroup-v2.rst "io.stat"). */
export function parseIoStat(text: string | undefined): Blkio {
  const bytes: BlkioEntry[] = [];
  const ios: BlkioEntry[] = [];
  if (text === undefined) return {};
  for (const line of text.split("\n")) {
    const parts = line.trim().split(/\s+/);
    const m = /^(\d+):(\d+)$/.exec(parts[0] ?? "");
    if (!m) continue;
    const major = Number(m[1]);
    const minor = Number(m[2]);
    for (const kv of parts.slice(1)) {
      const [k, v] = kv.split("=");
      const value = Number(v);
      if (k === "rbytes") bytes.push({ major, minor, op: "Read", value });
      else if (k === "wbytes") bytes.push({ major, minor, op: "Write", value });
      else if (k === "rios") ios.push({ major, minor, op: "Read", value });
      else if (k === "wios") ios.push({ major, minor, op: "Write", value });
    }
  }
  return { ioServiceBytesRecursive: bytes, ioServicedRecursive: ios };
}
