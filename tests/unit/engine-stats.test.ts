// The stats math as docker's CLI does it, the columns' text, and the Docker API's stats JSON.
import { describe, expect, test } from "bun:test";
import { memoryWithoutCache, parseNetDev, parseProcStat, statsFigures, type StatsSample } from "../../src/engine/stats.ts";
import { statsRow } from "../../src/cli/stats-view.ts";
import { bytesSize, goG, humanSize3, humanSize4 } from "../../src/cli/units.ts";
import { goTime, statsJson } from "../../src/docker/stats-json.ts";

const sample = (o: Partial<StatsSample> & { totalNs: number; systemNs: number; read?: Date }): StatsSample => ({
  id: "a".repeat(64),
  name: "web",
  read: o.read ?? new Date(1_800_000_000_000),
  cgroupVersion: o.cgroupVersion ?? 1,
  cpu: { totalNs: o.totalNs, perCpuNs: [o.totalNs], kernelNs: 1, userNs: 2, systemNs: o.systemNs, onlineCpus: 2, throttling: { periods: 0, throttledPeriods: 0, throttledTimeNs: 0 } },
  blkio: o.blkio ?? { ioServiceBytesRecursive: [], ioServicedRecursive: [] },
  ...(o.memory ? { memory: o.memory } : {}),
  ...(o.pids ? { pids: o.pids } : {}),
  ...(o.networks ? { networks: o.networks } : {}),
});

describe("stats math", () => {
  test("/proc/stat: the first 7 fields of the cpu line in ns (USER_HZ 100), and the cpu count", () => {
    const text = "cpu  100 1 50 1000 3 0 2 7 0 0\ncpu0 50 0 25 500 1 0 1 0 0 0\ncpu1 50 1 25 500 2 0 1 7 0 0\nintr 1\n";
    expect(parseProcStat(text)).toEqual({ systemNs: (100 + 1 + 50 + 1000 + 3 + 0 + 2) * 1e7, cpus: 2 });
  });

  test("CPU %: Δ container / Δ host × online CPUs × 100; 0 without a previous sample or no progress", () => {
    const pre = sample({ totalNs: 1e9, systemNs: 100e9 });
    const cur = sample({ totalNs: 1.5e9, systemNs: 102e9 });
    expect(statsFigures(cur, pre).cpuPercent).toBeCloseTo(50, 6); // 0.5 s of 2 s host time × 2 CPUs
    expect(statsFigures(cur).cpuPercent).toBe(0);
    expect(statsFigures(sample({ totalNs: 1e9, systemNs: 102e9 }), pre).cpuPercent).toBe(0);
  });

  test("memory: usage less total_inactive_file (v1) or inactive_file (v2), never below it; MEM % of the limit", () => {
    expect(memoryWithoutCache({ usage: 100, stats: { total_inactive_file: 30, inactive_file: 10 } })).toBe(70);
    expect(memoryWithoutCache({ usage: 100, stats: { inactive_file: 40 } })).toBe(60);
    expect(memoryWithoutCache({ usage: 100, stats: { total_inactive_file: 200 } })).toBe(100);
    expect(memoryWithoutCache({ usage: 100, stats: {} })).toBe(100);
    const f = statsFigures(sample({ totalNs: 0, systemNs: 0, memory: { usage: 300 << 20, limit: 1024 << 20, stats: { inactive_file: 44 << 20 } } }));
    expect(f.memory).toBe(256 << 20);
    expect(f.memoryPercent).toBe(25);
  });

  test("block I/O sums read and write in any case; net I/O sums the interfaces", () => {
    const f = statsFigures(sample({
      totalNs: 0, systemNs: 0,
      blkio: { ioServiceBytesRecursive: [{ major: 8, minor: 0, op: "Read", value: 10 }, { major: 8, minor: 16, op: "read", value: 5 }, { major: 8, minor: 0, op: "Write", value: 7 }, { major: 8, minor: 0, op: "Total", value: 22 }], ioServicedRecursive: [] },
      networks: { eth0: { rxBytes: 100, rxPackets: 1, rxErrors: 0, rxDropped: 0, txBytes: 50, txPackets: 1, txErrors: 0, txDropped: 0 }, eth1: { rxBytes: 1, rxPackets: 1, rxErrors: 0, rxDropped: 0, txBytes: 2, txPackets: 1, txErrors: 0, txDropped: 0 } },
      pids: { current: 3 },
    }));
    expect([f.blockRead, f.blockWrite, f.netRx, f.netTx, f.pids]).toEqual([15, 7, 101, 52, 3]);
  });

  test("/proc/PID/net/dev: counters by interface, lo left out", () => {
    const text = [
      "Inter-|   Receive                                                |  Transmit",
      " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed",
      "    lo:     140       2    0    0    0     0          0         0      140       2    0    0    0     0       0          0",
      "  eth0:    1296      16    1    2    0     0          0         0      726       9    3    4    0     0       0          0",
    ].join("\n");
    expect(parseNetDev(text)).toEqual({ eth0: { rxBytes: 1296, rxPackets: 16, rxErrors: 1, rxDropped: 2, txBytes: 726, txPackets: 9, txErrors: 3, txDropped: 4 } });
  });
});

describe("the columns' text", () => {
  test("Go's %g", () => {
    expect([goG(0, 3), goG(1.5, 4), goG(100, 3), goG(999.6, 3), goG(1023.9, 4), goG(1.2345, 3), goG(12.3456, 4)]).toEqual(["0", "1.5", "100", "1e+03", "1024", "1.23", "12.35"]);
  });
  test("go-units sizes", () => {
    expect([bytesSize(0), bytesSize(1536), bytesSize(1.5 * 1024 ** 3), bytesSize(23.54 * 1024 ** 3)]).toEqual(["0B", "1.5KiB", "1.5GiB", "23.54GiB"]);
    expect([humanSize3(0), humanSize3(656), humanSize3(1234), humanSize3(4_261_234)]).toEqual(["0B", "656B", "1.23kB", "4.26MB"]);
    expect([humanSize4(1639), humanSize4(1_027_000), humanSize4(999_960)]).toEqual(["1.639kB", "1.027MB", "1000kB"]);
  });
  test("a row as docker's StatsEntry", () => {
    const pre = sample({ totalNs: 0, systemNs: 0 });
    const cur = sample({ totalNs: 1e9, systemNs: 4e9, memory: { usage: 2 * 1024 * 1024, limit: 1024 ** 3, stats: { total_inactive_file: 0 } }, pids: { current: 2 } });
    expect(statsRow(cur, pre, { noTrunc: false })).toEqual({
      BlockIO: "0B / 0B", CPUPerc: "50.00%", Container: "a".repeat(64), ID: "a".repeat(12), MemPerc: "0.20%",
      MemUsage: "2MiB / 1GiB", Name: "web", NetIO: "0B / 0B", PIDs: "2",
    });
  });
});

describe("Docker API stats JSON", () => {
  test("Go's time format", () => {
    expect(goTime(undefined)).toBe("0001-01-01T00:00:00Z");
    expect(goTime(new Date("2026-12-02T10:00:00.120Z"))).toBe("2026-12-02T10:00:00.12Z");
    expect(goTime(new Date("2026-12-02T10:00:00.000Z"))).toBe("2026-12-02T10:00:00Z");
  });
  test("v1: cpu_stats and precpu_stats, memory_stats with max_usage, kernel's blkio ops, networks", () => {
    const pre = sample({ totalNs: 5, systemNs: 10, read: new Date("2026-12-02T10:00:00Z") });
    const cur = sample({
      totalNs: 9, systemNs: 20, read: new Date("2026-12-02T10:00:01Z"),
      memory: { usage: 4096, maxUsage: 8192, failcnt: 0, limit: 1 << 30, stats: { total_inactive_file: 1024, cache: 2048 } },
      pids: { current: 1, limit: 100 },
      blkio: { ioServiceBytesRecursive: [{ major: 8, minor: 0, op: "Read", value: 1 }], ioServicedRecursive: [] },
      networks: { eth0: { rxBytes: 1, rxPackets: 2, rxErrors: 3, rxDropped: 4, txBytes: 5, txPackets: 6, txErrors: 7, txDropped: 8 } },
    });
    const j = statsJson(cur, pre) as any;
    expect(j.name).toBe("/web");
    expect(j.read).toBe("2026-12-02T10:00:01Z");
    expect(j.preread).toBe("2026-12-02T10:00:00Z");
    expect(j.cpu_stats).toEqual({ cpu_usage: { total_usage: 9, percpu_usage: [9], usage_in_kernelmode: 1, usage_in_usermode: 2 }, system_cpu_usage: 20, online_cpus: 2, throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 } });
    expect(j.precpu_stats.cpu_usage.total_usage).toBe(5);
    expect(j.memory_stats).toEqual({ usage: 4096, max_usage: 8192, stats: { total_inactive_file: 1024, cache: 2048 }, limit: 1 << 30 });
    expect(j.pids_stats).toEqual({ current: 1, limit: 100 });
    expect(j.blkio_stats.io_service_bytes_recursive).toEqual([{ major: 8, minor: 0, op: "Read", value: 1 }]);
    expect(j.blkio_stats.io_queue_recursive).toBeNull();
    expect(j.networks.eth0).toEqual({ rx_bytes: 1, rx_packets: 2, rx_errors: 3, rx_dropped: 4, tx_bytes: 5, tx_packets: 6, tx_errors: 7, tx_dropped: 8 });
  });
  test("v2: ops in lower case, no max_usage; a stopped container: zero times and empty stats", () => {
    const cur = sample({ totalNs: 1, systemNs: 1, cgroupVersion: 2, blkio: { ioServiceBytesRecursive: [{ major: 8, minor: 0, op: "Write", value: 3 }], ioServicedRecursive: [] }, memory: { usage: 1, limit: 2, stats: { inactive_file: 0 } } });
    const j = statsJson(cur) as any;
    expect(j.blkio_stats.io_service_bytes_recursive[0].op).toBe("write");
    expect(j.memory_stats).toEqual({ usage: 1, stats: { inactive_file: 0 }, limit: 2 });
    expect(j.preread).toBe("0001-01-01T00:00:00Z");
    const stopped = statsJson({ ...cur, read: undefined, memory: undefined } as StatsSample) as any;
    expect(stopped.read).toBe("0001-01-01T00:00:00Z");
    expect(stopped.memory_stats).toEqual({});
    expect(stopped.blkio_stats.io_service_bytes_recursive).toBeNull();
    expect(stopped.networks).toBeUndefined();
  });
});
