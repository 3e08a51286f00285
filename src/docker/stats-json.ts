// Docker's stats JSON (Engine API GET /containers/{id}/stats, StatsResponse) for the engine's
// samples: the current sample and the one before it (precpu_stats, preread). berthd's Docker API
// streams these; `berth stats --format json` is docker CLI's own StatsEntry, not this.
import type { BlkioEntry } from "../cgroups/stats.ts";
import type { StatsSample } from "../engine/stats.ts";

const ZERO_TIME = "0001-01-01T00:00:00Z";

/** Go's time.Time JSON (RFC 3339 with trailing zeros of the fraction dropped). */
export function goTime(d?: Date): string {
  if (!d) return ZERO_TIME;
  return d.toISOString().replace(/\.(\d+)Z$/, (_, f: string) => (/^0+$/.test(f) ? "Z" : `.${f.replace(/0+$/, "")}Z`));
}

function blkio(entries: BlkioEntry[], v2: boolean) {
  // docker writes v1's ops as the kernel does ("Read", "Total", …) and v2's in lower case.
  return entries.map((b) => ({ major: b.major ?? 0, minor: b.minor ?? 0, op: v2 ? (b.op ?? "").toLowerCase() : (b.op ?? ""), value: b.value ?? 0 }));
}

function cpuStats(s: StatsSample | undefined) {
  if (!s || !s.read) return { cpu_usage: { total_usage: 0, usage_in_kernelmode: 0, usage_in_usermode: 0 }, throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 } };
  return {
    cpu_usage: {
      total_usage: s.cpu.totalNs,
      ...(s.cpu.perCpuNs ? { percpu_usage: s.cpu.perCpuNs } : {}),
      usage_in_kernelmode: s.cpu.kernelNs,
      usage_in_usermode: s.cpu.userNs,
    },
    system_cpu_usage: s.cpu.systemNs,
    online_cpus: s.cpu.onlineCpus,
    throttling_data: { periods: s.cpu.throttling.periods, throttled_periods: s.cpu.throttling.throttledPeriods, throttled_time: s.cpu.throttling.throttledTimeNs },
  };
}

/** One StatsResponse: `cur` and, for precpu_stats/preread, the sample before it. */
export function statsJson(cur: StatsSample, pre?: StatsSample): Record<string, unknown> {
  const v2 = cur.cgroupVersion === 2;
  const m = cur.memory;
  const out: Record<string, unknown> = {
    name: `/${cur.name}`,
    id: cur.id,
    read: goTime(cur.read),
    preread: goTime(pre?.read),
    pids_stats: cur.pids ? { current: cur.pids.current, ...(cur.pids.limit ? { limit: cur.pids.limit } : {}) } : {},
    blkio_stats: {
      io_service_bytes_recursive: cur.read ? blkio(cur.blkio.ioServiceBytesRecursive, v2) : null,
      io_serviced_recursive: cur.read ? blkio(cur.blkio.ioServicedRecursive, v2) : null,
      io_queue_recursive: null,
      io_service_time_recursive: null,
      io_wait_time_recursive: null,
      io_merged_recursive: null,
      io_time_recursive: null,
      sectors_recursive: null,
    },
    num_procs: 0,
    storage_stats: {},
    cpu_stats: cpuStats(cur),
    precpu_stats: cpuStats(pre),
    memory_stats: m
      ? {
          usage: m.usage,
          ...(m.maxUsage !== undefined ? { max_usage: m.maxUsage } : {}),
          stats: m.stats,
          ...(m.failcnt ? { failcnt: m.failcnt } : {}),
          limit: m.limit,
        }
      : {},
  };
  if (cur.networks && Object.keys(cur.networks).length > 0) {
    out.networks = Object.fromEntries(Object.entries(cur.networks).map(([name, n]) => [name, {
      rx_bytes: n.rxBytes, rx_packets: n.rxPackets, rx_errors: n.rxErrors, rx_dropped: n.rxDropped,
      tx_bytes: n.txBytes, tx_packets: n.txPackets, tx_errors: n.txErrors, tx_dropped: n.txDropped,
    }]));
  }
  return out;
}
