// Value conversions and validation of linux.resources, as data.
import { describe, expect, test } from "bun:test";
import {
  blkioWeightToIoWeight,
  cpuMaxValue,
  cpuSharesToWeight,
  cpuSharesToWeightLinear,
  deviceRuleLine,
  memorySwapToV2,
  pidsMaxValue,
  validateResources,
  type LinuxResources,
} from "../../src/cgroups/resources.ts";
import {
  parseBlkioRecursive,
  parseCpuacctUsageAll,
  parseFlatKeyed,
  parseIoStat,
  parseSingle,
} from "../../src/cgroups/stats.ts";
import { BerthError } from "../../src/sys/errdefs.ts";

function fieldOf(fn: () => void): string | undefined {
  try {
    fn();
  } catch (e) {
    if (e instanceof BerthError) return `${e.code} ${e.field}`;
    throw e;
  }
  return undefined;
}

describe("conversions", () => {
  test("cpu shares → weight: min, default and max line up", () => {
    expect([0, 2, 1024, 262144, 1, 300000].map(cpuSharesToWeight)).toEqual([0, 1, 100, 10000, 1, 10000]);
    // Monotonic across the range.
    let prev = 0;
    for (let s = 2; s <= 262144; s *= 2) {
      const w = cpuSharesToWeight(s);
      expect(w).toBeGreaterThan(prev);
      prev = w;
    }
  });
  test("legacy linear shares → weight (runc 1.1)", () => {
    expect([0, 2, 1024, 262144].map(cpuSharesToWeightLinear)).toEqual([0, 1, 39, 10000]);
  });
  test("blkio weight → io.weight", () => {
    expect([0, 10, 500, 1000].map(blkioWeightToIoWeight)).toEqual([0, 1, 4950, 10000]);
  });
  test("memory+swap → swap only", () => {
    expect(memorySwapToV2(0, -1)).toBe(-1);
    expect(memorySwapToV2(-1, 100)).toBe(-1);
    expect(memorySwapToV2(0, 100)).toBe(0);
    expect(memorySwapToV2(300, 100)).toBe(200);
    expect(memorySwapToV2(100, 100)).toBe(0);
    expect(fieldOf(() => memorySwapToV2(300, 0))).toBe("InvalidArgument linux.resources.memory.swap");
    expect(fieldOf(() => memorySwapToV2(50, 100))).toBe("InvalidArgument linux.resources.memory.swap");
  });
  test("cpu.max", () => {
    expect(cpuMaxValue(undefined, undefined)).toBeUndefined();
    expect(cpuMaxValue(0, 0)).toBeUndefined();
    expect(cpuMaxValue(50000, 100000)).toBe("50000 100000");
    expect(cpuMaxValue(-1, 100000)).toBe("max 100000");
    expect(cpuMaxValue(50000, undefined)).toBe("50000");
    expect(cpuMaxValue(undefined, 20000)).toBe("max 20000");
  });
  test("pids.max: <= 0 is max", () => {
    expect([10, 0, -1].map(pidsMaxValue)).toEqual(["10", "max", "max"]);
  });
  test("device rules", () => {
    expect(deviceRuleLine({ allow: false, access: "rwm" })).toBe("a *:* rwm");
    expect(deviceRuleLine({ allow: true, type: "c", major: 1, minor: 3, access: "rw" })).toBe("c 1:3 rw");
    expect(deviceRuleLine({ allow: true, type: "b", major: 8, minor: null })).toBe("b 8:* rwm");
  });
});

describe("validateResources names the bad field", () => {
  const cases: [string, LinuxResources][] = [
    ["linux.resources.memory.limit", { memory: { limit: -5 } }],
    ["linux.resources.memory.limit", { memory: { limit: 1.5 } }],
    ["linux.resources.memory.limit", { memory: { limit: "1G" as unknown as number } }],
    ["linux.resources.memory.swap", { memory: { limit: 200, swap: 100 } }],
    ["linux.resources.memory.swappiness", { memory: { swappiness: 101 } }],
    ["linux.resources.cpu.shares", { cpu: { shares: 1 } }],
    ["linux.resources.cpu.shares", { cpu: { shares: 300000 } }],
    ["linux.resources.cpu.quota", { cpu: { quota: -2 } }],
    ["linux.resources.cpu.burst", { cpu: { quota: 1000, burst: 2000 } }],
    ["linux.resources.cpu.cpus", { cpu: { cpus: "0-a" } }],
    ["linux.resources.cpu.mems", { cpu: { mems: "0;1" } }],
    ["linux.resources.pids.limit", { pids: { limit: 2.5 } }],
    ["linux.resources.blockIO.weight", { blockIO: { weight: 5 } }],
    ["linux.resources.blockIO.weightDevice[0]", { blockIO: { weightDevice: [{ major: 8, minor: 0 }] } }],
    ["linux.resources.blockIO.throttleReadBpsDevice[0].rate", { blockIO: { throttleReadBpsDevice: [{ major: 8, minor: 0, rate: -1 }] } }],
    ["linux.resources.hugepageLimits[0].pageSize", { hugepageLimits: [{ pageSize: "2M", limit: 1 }] }],
    ["linux.resources.devices[0].access", { devices: [{ allow: true, access: "rwx" }] }],
    ["linux.resources.devices[0].type", { devices: [{ allow: true, type: "x" }] }],
    ["linux.resources.unified.../memory.max", { unified: { "../memory.max": "1" } }],
    ["linux.resources.unified.memory", { unified: { memory: "1" } }],
    ["linux.resources.rdma.mlx0", { rdma: { mlx0: {} } }],
  ];
  for (const [field, r] of cases) {
    test(`${field} ← ${JSON.stringify(r)}`, () => {
      expect(fieldOf(() => validateResources(r))).toBe(`InvalidArgument ${field}`);
    });
  }
  test("valid resources pass", () => {
    validateResources({
      memory: { limit: 1 << 30, swap: -1, reservation: 1 << 29, swappiness: 60, kernel: -1 },
      cpu: { shares: 1024, quota: -1, period: 100000, cpus: "0-1", mems: "0", idle: 0 },
      pids: { limit: -1 },
      blockIO: { weight: 500, weightDevice: [{ major: 8, minor: 0, weight: 100 }] },
      hugepageLimits: [{ pageSize: "2MB", limit: 0 }],
      devices: [{ allow: false, access: "rwm" }, { allow: true, type: "c", major: 1, minor: 3, access: "rwm" }],
      unified: { "memory.high": "100M", "cgroup.max.depth": "2" },
    });
  });
});

describe("stat file parsers", () => {
  test("flat keyed and single values", () => {
    expect(parseFlatKeyed("oom_kill_disable 0\nunder_oom 0\noom_kill 3\n")).toEqual({ oom_kill_disable: 0, under_oom: 0, oom_kill: 3 });
    expect(parseSingle("max\n", 7)).toBe(7);
    expect(parseSingle("123\n")).toBe(123);
    expect(parseSingle(undefined)).toBeUndefined();
  });
  test("cpuacct.usage_all", () => {
    expect(parseCpuacctUsageAll("cpu user system\n0 100 20\n1 300 40\n")).toEqual({ user: [100, 300], kernel: [20, 40] });
  });
  test("v1 blkio recursive", () => {
    expect(parseBlkioRecursive("8:0 Read 4096\n8:0 Write 0\n8:0 Total 4096\nTotal 4096\n")).toEqual([
      { major: 8, minor: 0, op: "Read", value: 4096 },
      { major: 8, minor: 0, op: "Write", value: 0 },
      { major: 8, minor: 0, op: "Total", value: 4096 },
    ]);
  });
  test("v2 io.stat", () => {
    expect(parseIoStat("254:0 rbytes=10 wbytes=20 rios=1 wios=2 dbytes=0 dios=0\n")).toEqual({
      ioServiceBytesRecursive: [{ major: 254, minor: 0, op: "Read", value: 10 }, { major: 254, minor: 0, op: "Write", value: 20 }],
      ioServicedRecursive: [{ major: 254, minor: 0, op: "Read", value: 1 }, { major: 254, minor: 0, op: "Write", value: 2 }],
    });
  });
});
