// Container statistics: one typed sample per read (the container's cgroup counters, its network
// namespace's interfaces, the host's CPU time), and the figures `docker stats` shows, computed
// from two samples as docker's CLI does (cli/command/container/stats_helpers.go):
//   CPU %  = Δ container CPU time / Δ host CPU time × online CPUs × 100
//   memory = usage − inactive page cache (v1 total_inactive_file, v2 inactive_file; docker 28)
//   MEM %  = memory / limit × 100, the limit capped at the host's memory (docker's daemon does)
//   NET    = Σ rx/tx bytes of the container's interfaces but lo
//   BLOCK  = Σ "read"/"write" entries of io_service_bytes_recursive (v1 blkio, v2 io.stat)
// A front turns samples into its own shape (src/docker/stats-json.ts: the Docker API's JSON).
import { readFileSync } from "node:fs";
import { availableParallelism, totalmem } from "node:os";
import type { BlkioEntry } from "../cgroups/stats.ts";
import { isBerthError } from "../sys/errdefs.ts";
import type { Engine } from "./engine.ts";
import { getContainer, listContainers, type Container } from "./containers.ts";

export interface NetworkCounters {
  rxBytes: number;
  rxPackets: number;
  rxErrors: number;
  rxDropped: number;
  txBytes: number;
  txPackets: number;
  txErrors: number;
  txDropped: number;
}

export interface StatsSample {
  id: string;
  name: string;
  /** When it was read; undefined for a container that is not running (docker's zero time). */
  read?: Date;
  cgroupVersion?: 1 | 2;
  cpu: {
    /** Container CPU time, ns (cpuacct.usage / cpu.stat usage_usec). */
    totalNs: number;
    /** Per CPU, ns (v1 only, as docker). */
    perCpuNs?: number[];
    kernelNs: number;
    userNs: number;
    /** The host's CPU time, ns: the first 7 fields of /proc/stat's "cpu" line (docker's daemon). */
    systemNs: number;
    onlineCpus: number;
    throttling: { periods: number; throttledPeriods: number; throttledTimeNs: number };
  };
  /** Undefined when the container's cgroup has no memory controller (e.g. cgroup2 without it). */
  memory?: {
    usage: number;
    maxUsage?: number;
    failcnt?: number;
    /** The cgroup's limit, capped at the host's memory. */
    limit: number;
    /** memory.stat as the kernel writes it. */
    stats: Record<string, number>;
  };
  pids?: { current: number; limit?: number };
  blkio: { ioServiceBytesRecursive: BlkioEntry[]; ioServicedRecursive: BlkioEntry[] };
  /** By interface name, lo excluded; undefined when the container shares the host's network. */
  networks?: Record<string, NetworkCounters>;
}

/** The columns of `docker stats`, as numbers. */
export interface StatsFigures {
  cpuPercent: number;
  memory: number;
  memoryLimit: number;
  memoryPercent: number;
  netRx: number;
  netTx: number;
  blockRead: number;
  blockWrite: number;
  pids: number;
}

const CLOCK_TICKS = 100; // sysconf(_SC_CLK_TCK) on Linux

/** /proc/stat's "cpu" line → host CPU time in ns, and the number of "cpuN" lines. */
export function parseProcStat(text: string): { systemNs: number; cpus: number } {
  let systemNs = 0;
  let cpus = 0;
  for (const line of text.split("\n")) {
    const f = line.trim().split(/\s+/);
    if (f[0] === "cpu") {
      // user nice system idle iowait irq softirq, as docker's getSystemCPUUsage sums them.
      const ticks = f.slice(1, 8).reduce((a, v) => a + Number(v), 0);
      systemNs = (ticks * 1e9) / CLOCK_TICKS;
    } else if (/^cpu\d+$/.test(f[0] ?? "")) cpus++;
  }
  return { systemNs, cpus };
}

/** /proc/PID/net/dev → counters by interface, lo excluded. */
export function parseNetDev(text: string): Record<string, NetworkCounters> {
  const out: Record<string, NetworkCounters> = {};
  for (const line of text.split("\n").slice(2)) {
    const colon = line.indexOf(":");
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim();
    if (name === "lo" || name === "") continue;
    const n = line.slice(colon + 1).trim().split(/\s+/).map(Number);
    // receive: bytes packets errs drop fifo frame compressed multicast; transmit: bytes packets errs drop …
    out[name] = { rxBytes: n[0] ?? 0, rxPackets: n[1] ?? 0, rxErrors: n[2] ?? 0, rxDropped: n[3] ?? 0, txBytes: n[8] ?? 0, txPackets: n[9] ?? 0, txErrors: n[10] ?? 0, txDropped: n[11] ?? 0 };
  }
  return out;
}

/** Memory usage as docker 28's CLI shows it: the inactive page cache is not counted. */
export function memoryWithoutCache(m: { usage: number; stats: Record<string, number> }): number {
  const v1 = m.stats.total_inactive_file;
  if (v1 !== undefined) return v1 < m.usage ? m.usage - v1 : m.usage;
  const v2 = m.stats.inactive_file ?? 0;
  return v2 < m.usage ? m.usage - v2 : m.usage;
}

/** The figures of `docker stats` from a sample and the one before it (none: CPU % is 0). */
export function statsFigures(cur: StatsSample, pre?: StatsSample): StatsFigures {
  let cpuPercent = 0;
  if (pre && cur.read && pre.read) {
    const cpuDelta = cur.cpu.totalNs - pre.cpu.totalNs;
    const sysDelta = cur.cpu.systemNs - pre.cpu.systemNs;
    const online = cur.cpu.onlineCpus || (cur.cpu.perCpuNs?.length ?? 0);
    if (sysDelta > 0 && cpuDelta > 0) cpuPercent = (cpuDelta / sysDelta) * online * 100;
  }
  const memory = cur.memory ? memoryWithoutCache(cur.memory) : 0;
  const memoryLimit = cur.memory?.limit ?? 0;
  let blockRead = 0;
  let blockWrite = 0;
  for (const b of cur.blkio.ioServiceBytesRecursive) {
    const op = (b.op ?? "").toLowerCase();
    if (op === "read") blockRead += b.value ?? 0;
    else if (op === "write") blockWrite += b.value ?? 0;
  }
  let netRx = 0;
  let netTx = 0;
  for (const n of Object.values(cur.networks ?? {})) {
    netRx += n.rxBytes;
    netTx += n.txBytes;
  }
  return {
    cpuPercent,
    memory,
    memoryLimit,
    memoryPercent: memoryLimit !== 0 ? (memory / memoryLimit) * 100 : 0,
    netRx,
    netTx,
    blockRead,
    blockWrite,
    pids: cur.pids?.current ?? 0,
  };
}

function emptySample(c: Container): StatsSample {
  return {
    id: c.id,
    name: c.name,
    cpu: { totalNs: 0, kernelNs: 0, userNs: 0, systemNs: 0, onlineCpus: 0, throttling: { periods: 0, throttledPeriods: 0, throttledTimeNs: 0 } },
    blkio: { ioServiceBytesRecursive: [], ioServicedRecursive: [] },
  };
}

const tryRead = (p: string): string | undefined => {
  try {
    return readFileSync(p, "utf8");
  } catch {
    return undefined;
  }
};

/** One sample of a container; a container that is not running gives a sample of zeros. */
export async function sampleContainer(e: Engine, c: Container): Promise<StatsSample> {
  if (c.state !== "running" && c.state !== "paused") return emptySample(c);
  const { loadContainer } = await import("../runtime/operations/container-status.ts");
  let cg;
  try {
    cg = loadContainer(e.runtimeRoot, c.id).cgroup;
  } catch (err) {
    if (isBerthError(err, "NotFound")) return emptySample(c); // it ended meanwhile
    throw err;
  }
  const s = cg.stats();
  const host = parseProcStat(readFileSync("/proc/stat", "utf8"));
  const version = "" in cg.paths ? 2 : 1;
  const raw = s.memory.raw;
  const hasMemory = version === 1 ? cg.paths.memory !== undefined : raw !== undefined;
  const machine = totalmem();
  const sample: StatsSample = {
    id: c.id,
    name: c.name,
    read: new Date(),
    cgroupVersion: version,
    cpu: {
      totalNs: s.cpu.usage.total ?? 0,
      ...(version === 1 && s.cpu.usage.percpu ? { perCpuNs: s.cpu.usage.percpu } : {}),
      kernelNs: s.cpu.usage.kernel,
      userNs: s.cpu.usage.user,
      systemNs: host.systemNs,
      onlineCpus: host.cpus || availableParallelism(),
      throttling: { periods: s.cpu.throttling.periods ?? 0, throttledPeriods: s.cpu.throttling.throttledPeriods ?? 0, throttledTimeNs: s.cpu.throttling.throttledTime ?? 0 },
    },
    blkio: { ioServiceBytesRecursive: s.blkio.ioServiceBytesRecursive ?? [], ioServicedRecursive: s.blkio.ioServicedRecursive ?? [] },
  };
  if (hasMemory) {
    const limit = s.memory.usage.limit;
    sample.memory = {
      usage: s.memory.usage.usage ?? 0,
      ...(version === 1 ? { maxUsage: s.memory.usage.max ?? 0, failcnt: s.memory.usage.failcnt } : {}),
      limit: limit > machine && machine > 0 ? machine : limit,
      stats: raw ?? {},
    };
  }
  if (s.pids.current !== undefined) sample.pids = { current: s.pids.current, ...(s.pids.limit ? { limit: s.pids.limit } : {}) };
  if (c.spec.network?.mode !== "host" && c.pid > 0) {
    const dev = tryRead(`/proc/${c.pid}/net/dev`);
    if (dev !== undefined) sample.networks = parseNetDev(dev);
  }
  return sample;
}

/** A sample of the container `ref` names. */
export async function containerStats(e: Engine, ref: string): Promise<StatsSample> {
  return sampleContainer(e, await getContainer(e, ref));
}

/** Samples of the named containers, or of all (running ones unless `all`). */
export async function statsOf(e: Engine, refs: string[], o: { all?: boolean } = {}): Promise<StatsSample[]> {
  const list = refs.length ? await Promise.all(refs.map((r) => getContainer(e, r))) : await listContainers(e, { all: o.all ?? false });
  return Promise.all(list.map((c) => sampleContainer(e, c)));
}
