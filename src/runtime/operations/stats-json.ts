// The "data" of `runc events` stats, field for field as runc 1.1 prints it (types/events.go):
// Go's encoder leaves out `omitempty` fields holding 0, "" or an empty list, sorts map keys, and
// always prints the structs (cpuset, intel_rdt) and the nil `network_interfaces` list as null.
// Pure data: unit tests cover it without a container.
import type { BlkioEntry, CgroupStats, MemoryEntry } from "../../cgroups/stats.ts";

export interface CpusetStats {
  cpus: number[];
  cpu_exclusive: number;
  mems: number[];
  mem_hardwall: number;
  mem_exclusive: number;
  memory_migrate: number;
  memory_spread_page: number;
  memory_spread_slab: number;
  memory_pressure: number;
  sched_load_balance: number;
  sched_relax_domain_level: number;
}

export function emptyCpuset(): CpusetStats {
  return {
    cpus: [], cpu_exclusive: 0, mems: [], mem_hardwall: 0, mem_exclusive: 0, memory_migrate: 0,
    memory_spread_page: 0, memory_spread_slab: 0, memory_pressure: 0, sched_load_balance: 0, sched_relax_domain_level: 0,
  };
}

/** Kernel list syntax "0-2,5" → [0,1,2,5] (cpusets.rst §1.4); what runc puts in cpuset.cpus. */
export function parseCpuList(text: string): number[] {
  const out: number[] = [];
  for (const part of text.trim().split(",")) {
    if (part === "") continue;
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) return [];
    const lo = Number(m[1]);
    const hi = m[2] !== undefined ? Number(m[2]) : lo;
    for (let i = lo; i <= hi; i++) out.push(i);
  }
  return out;
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Go's `omitempty` for numbers, strings and lists. */
function put(o: { [k: string]: Json }, k: string, v: number | string | Json[] | undefined): void {
  if (v === undefined || v === 0 || v === "" || (Array.isArray(v) && v.length === 0)) return;
  o[k] = v;
}

function memoryEntry(e: MemoryEntry): { [k: string]: Json } {
  const o: { [k: string]: Json } = { limit: e.limit };
  put(o, "usage", e.usage);
  put(o, "max", e.max);
  o.failcnt = e.failcnt;
  return o;
}

function blkioList(list: BlkioEntry[] | undefined): Json[] | undefined {
  return list?.map((e) => {
    const o: { [k: string]: Json } = {};
    put(o, "major", e.major);
    put(o, "minor", e.minor);
    put(o, "op", e.op);
    put(o, "value", e.value);
    return o;
  });
}

function sorted<T>(m: Record<string, T>, f: (v: T) => Json): { [k: string]: Json } {
  const o: { [k: string]: Json } = {};
  for (const k of Object.keys(m).sort()) o[k] = f(m[k] as T);
  return o;
}

/** CgroupStats (+ cpuset figures) → runc's types.Stats JSON value. */
export function runcStats(s: CgroupStats, cpuset: CpusetStats = emptyCpuset()): Json {
  const usage: { [k: string]: Json } = {};
  put(usage, "total", s.cpu.usage.total);
  put(usage, "percpu", s.cpu.usage.percpu);
  put(usage, "percpu_kernel", s.cpu.usage.percpu_kernel);
  put(usage, "percpu_user", s.cpu.usage.percpu_user);
  usage.kernel = s.cpu.usage.kernel;
  usage.user = s.cpu.usage.user;
  const throttling: { [k: string]: Json } = {};
  put(throttling, "periods", s.cpu.throttling.periods);
  put(throttling, "throttledPeriods", s.cpu.throttling.throttledPeriods);
  put(throttling, "throttledTime", s.cpu.throttling.throttledTime);

  const cs: { [k: string]: Json } = {};
  put(cs, "cpus", cpuset.cpus);
  cs.cpu_exclusive = cpuset.cpu_exclusive;
  put(cs, "mems", cpuset.mems);
  for (const k of ["mem_hardwall", "mem_exclusive", "memory_migrate", "memory_spread_page", "memory_spread_slab", "memory_pressure", "sched_load_balance", "sched_relax_domain_level"] as const) {
    cs[k] = cpuset[k];
  }

  const memory: { [k: string]: Json } = {};
  put(memory, "cache", s.memory.cache);
  memory.usage = memoryEntry(s.memory.usage);
  memory.swap = memoryEntry(s.memory.swap);
  memory.kernel = memoryEntry(s.memory.kernel);
  memory.kernelTCP = memoryEntry(s.memory.kernelTCP);
  if (s.memory.raw && Object.keys(s.memory.raw).length > 0) memory.raw = sorted(s.memory.raw, (v) => v);

  const pids: { [k: string]: Json } = {};
  put(pids, "current", s.pids.current);
  put(pids, "limit", s.pids.limit);

  const blkio: { [k: string]: Json } = {};
  put(blkio, "ioServiceBytesRecursive", blkioList(s.blkio.ioServiceBytesRecursive));
  put(blkio, "ioServicedRecursive", blkioList(s.blkio.ioServicedRecursive));

  const hugetlb = sorted(s.hugetlb, (h) => {
    const o: { [k: string]: Json } = {};
    put(o, "usage", h.usage);
    put(o, "max", h.max);
    o.failcnt = h.failcnt;
    return o;
  });

  return {
    cpu: { usage, throttling },
    cpuset: cs,
    memory,
    pids,
    blkio,
    hugetlb,
    intel_rdt: {},
    network_interfaces: null,
  };
}

/**
 * JSON text like Go's encoder for these values: integers beyond 2^53 (an unlimited v1 memory
 * limit is 9223372036854771712) print as their exact value, not JSON.stringify's rounded
 * "9223372036854772000"; the double holds them exactly since they are page multiples.
 */
export function encodeJson(v: unknown): string {
  if (typeof v === "number") {
    if (Number.isInteger(v) && !Number.isSafeInteger(v)) return BigInt(v).toString();
    return JSON.stringify(v);
  }
  if (Array.isArray(v)) return `[${v.map(encodeJson).join(",")}]`;
  if (v !== null && typeof v === "object") {
    const parts: string[] = [];
    for (const [k, x] of Object.entries(v)) if (x !== undefined) parts.push(`${JSON.stringify(k)}:${encodeJson(x)}`);
    return `{${parts.join(",")}}`;
  }
  return JSON.stringify(v) ?? "null";
}
