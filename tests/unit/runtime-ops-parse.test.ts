// Flag, size, duration and output parsing of pause/ps/update/events, as data (no root needed).
import { describe, expect, test } from "bun:test";
import { emptyStats } from "../../src/cgroups/stats.ts";
import { parseGoDuration } from "../../src/runtime/operations/events.ts";
import { filterPsTable, parsePsFormat, pidsJson } from "../../src/runtime/operations/ps.ts";
import { emptyCpuset, encodeJson, parseCpuList, runcStats } from "../../src/runtime/operations/stats-json.ts";
import { KERNEL_MEMORY_WARNING, memoryFlag, ramInBytes, resourcesFromFlags, resourcesFromJson } from "../../src/runtime/operations/update.ts";

describe("memory sizes as runc reads them (go-units RAMInBytes)", () => {
  test.each([
    ["100", 100],
    ["64m", 64 * 1024 ** 2],
    ["64M", 64 * 1024 ** 2],
    ["64mb", 64 * 1024 ** 2],
    ["64MiB", 64 * 1024 ** 2],
    ["1 g", 1024 ** 3],
    ["1.5g", 1.5 * 1024 ** 3],
    ["512k", 512 * 1024],
    ["2t", 2 * 1024 ** 4],
    ["10b", 10],
    ["1.7", 1],
  ] as const)("%s → %d", (text, bytes) => {
    expect(ramInBytes(text)).toBe(bytes);
  });

  test.each(["", "lots", "-5", "64x", "1.2.3m", "64 mb ", "m"])("%j is refused", (text) => {
    expect(() => ramInBytes(text)).toThrow("invalid size");
  });

  test("-1 means unlimited only as a whole flag value; errors name the flag", () => {
    expect(memoryFlag("memory", "-1")).toBe(-1);
    expect(() => memoryFlag("memory-swap", "-2")).toThrow("invalid value for memory-swap: invalid size: '-2'");
  });
});

describe("update flags → resources (runc update.go)", () => {
  test("every flag lands in its LinuxResources field", () => {
    const r = resourcesFromFlags({
      memory: "64m", "memory-swap": "128m", "memory-reservation": "32m", "cpu-share": "512", "cpu-quota": "-1",
      "cpu-period": "100000", "cpu-rt-period": "1000000", "cpu-rt-runtime": "950000", "cpuset-cpus": "0-1",
      "cpuset-mems": "0", "pids-limit": 20, "blkio-weight": 500,
    });
    expect(r).toEqual({
      resources: {
        memory: { limit: 64 * 1024 ** 2, swap: 128 * 1024 ** 2, reservation: 32 * 1024 ** 2 },
        cpu: { shares: 512, quota: -1, period: 100000, realtimePeriod: 1000000, realtimeRuntime: 950000, cpus: "0-1", mems: "0" },
        blockIO: { weight: 500 },
        pids: { limit: 20 },
      },
      warnings: [],
    });
  });

  test("no flags change nothing; 0 means leave as it is; -1 pids is unlimited", () => {
    expect(resourcesFromFlags({}).resources).toEqual({});
    expect(resourcesFromFlags({ memory: "0", "pids-limit": 0 }).resources).toEqual({});
    expect(resourcesFromFlags({ "pids-limit": -1 }).resources).toEqual({ pids: { limit: -1 } });
  });

  test("kernel memory is ignored with runc's warning", () => {
    expect(resourcesFromFlags({ "kernel-memory": "10m" })).toEqual({ resources: {}, warnings: [KERNEL_MEMORY_WARNING] });
  });

  test("bad numbers name the flag; Intel RDT is refused", () => {
    expect(() => resourcesFromFlags({ "cpu-period": "-5" })).toThrow("invalid value for cpu-period");
    expect(() => resourcesFromFlags({ "cpu-quota": "1.5" })).toThrow("invalid value for cpu-quota");
    expect(() => resourcesFromFlags({ "cpu-share": "many" })).toThrow("invalid value for cpu-share");
    expect(() => resourcesFromFlags({ memory: "lots" })).toThrow("invalid value for memory: invalid size: 'lots'");
    expect(() => resourcesFromFlags({ "l3-cache-schema": "L3:0=f" })).toThrow("Intel RDT/CAT");
  });
});

describe("update --resources JSON", () => {
  test("keeps what runc's update applies and drops the rest (devices, hugepages, network)", () => {
    const doc = {
      devices: [{ allow: false, access: "rwm" }],
      memory: { limit: 1048576, swap: 0, kernel: 0 },
      cpu: { shares: 1024, quota: 0, cpus: "" },
      pids: { limit: 0 },
      hugepageLimits: [{ pageSize: "2MB", limit: 0 }],
      network: { classID: 7 },
      blockIO: { weight: 0, throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1 }] },
    };
    expect(resourcesFromJson(JSON.stringify(doc), "stdin")).toEqual({
      resources: { memory: { limit: 1048576 }, cpu: { shares: 1024 } },
      warnings: [],
    });
  });

  test("containerd's shape: pids, unified, kernel memory warning", () => {
    const r = resourcesFromJson('{"pids":{"limit":7},"unified":{"memory.high":"1G"},"memory":{"kernelTCP":5}}', "stdin");
    expect(r).toEqual({ resources: { pids: { limit: 7 }, unified: { "memory.high": "1G" } }, warnings: [KERNEL_MEMORY_WARNING] });
  });

  test("not JSON, or not an object: a message naming the source", () => {
    expect(() => resourcesFromJson("garbage", "stdin")).toThrow("cannot read resources from stdin");
    expect(() => resourcesFromJson("[1]", "r.json")).toThrow("cannot read resources from r.json: expected a JSON object");
    expect(() => resourcesFromJson('{"memory":5}', "stdin")).toThrow('"memory" must be an object');
  });
});

describe("events --interval (Go durations)", () => {
  test.each([
    ["5s", 5000], ["250ms", 250], ["1m30s", 90_000], ["1.5h", 5_400_000], ["100us", 0.1], ["2µs", 0.002],
    ["1000ns", 0.001], ["0", 0], ["-1s", -1000], [".5s", 500],
  ] as const)("%s → %d ms", (text, ms) => {
    expect(parseGoDuration(text)).toBeCloseTo(ms, 9);
  });

  test.each(["", "5", "soon", "5 s", "1d", "s", ".s", "5s3"])("%j is refused with runc's words", (text) => {
    expect(() => parseGoDuration(text)).toThrow(`invalid value "${text}" for flag -interval: parse error`);
  });
});

describe("ps", () => {
  const PS = [
    "UID        PID  PPID  C STIME TTY          TIME CMD",
    "root         1     0  0 07:00 ?        00:00:01 /sbin/init",
    "root       967     1 77 07:51 ?        00:00:00 sh -c while true; do :; done",
    "root       968   967  0 07:51 ?        00:00:00 sleep 9670",
    "",
  ].join("\n");

  test("keeps the header and the rows of the container's PIDs, by the PID column", () => {
    expect(filterPsTable(PS, [967, 968])).toEqual([
      "UID        PID  PPID  C STIME TTY          TIME CMD",
      "root       967     1 77 07:51 ?        00:00:00 sh -c while true; do :; done",
      "root       968   967  0 07:51 ?        00:00:00 sleep 9670",
    ]);
    // A PID that only appears in another column (sleep 9670 / PPID 967) does not match.
    expect(filterPsTable(PS, [9670])).toEqual(PS.split("\n").slice(0, 1));
    expect(filterPsTable("  PID COMMAND\n  967 sh\n    1 init\n", [967])).toEqual(["  PID COMMAND", "  967 sh"]);
  });

  test("no PID column or an unparsable PID is an error, as in runc", () => {
    expect(() => filterPsTable("COMMAND\nsh\n", [1])).toThrow("couldn't find PID field in ps output");
    expect(() => filterPsTable("PID CMD\nx sh\n", [1])).toThrow("unable to parse pid");
  });

  test("json is Go's encoding of the PID list (nil → null); formats are table and json", () => {
    expect(pidsJson([3, 4])).toBe("[3,4]");
    expect(pidsJson([])).toBe("null");
    expect(parsePsFormat("json")).toBe("json");
    expect(() => parsePsFormat("yaml")).toThrow("invalid format option");
  });
});

describe("stats JSON like runc's types.Stats", () => {
  test("omitempty: zero figures vanish, structs and failcnt stay; raw keys sorted", () => {
    const s = emptyStats();
    s.cpu.usage = { total: 5, percpu: [5, 0], percpu_kernel: [], kernel: 0, user: 0 };
    s.cpu.throttling = { periods: 0, throttledPeriods: 0, throttledTime: 0 };
    s.memory.usage = { limit: 9223372036854771712, usage: 100, max: 0, failcnt: 0 };
    s.memory.raw = { zeta: 1, alpha: 2 };
    s.memory.cache = 0;
    s.pids = { current: 1, limit: 0 };
    s.blkio = { ioServiceBytesRecursive: [], ioServicedRecursive: [{ major: 8, minor: 0, op: "Read", value: 0 }] };
    const data = runcStats(s, { ...emptyCpuset(), cpus: [0, 1], sched_load_balance: 1, sched_relax_domain_level: -1 });
    expect(encodeJson(data)).toBe(
      '{"cpu":{"usage":{"total":5,"percpu":[5,0],"kernel":0,"user":0},"throttling":{}},' +
      '"cpuset":{"cpus":[0,1],"cpu_exclusive":0,"mem_hardwall":0,"mem_exclusive":0,"memory_migrate":0,"memory_spread_page":0,"memory_spread_slab":0,"memory_pressure":0,"sched_load_balance":1,"sched_relax_domain_level":-1},' +
      '"memory":{"usage":{"limit":9223372036854771712,"usage":100,"failcnt":0},"swap":{"limit":0,"failcnt":0},"kernel":{"limit":0,"failcnt":0},"kernelTCP":{"limit":0,"failcnt":0},"raw":{"alpha":2,"zeta":1}},' +
      '"pids":{"current":1},"blkio":{"ioServicedRecursive":[{"major":8,"op":"Read"}]},"hugetlb":{},"intel_rdt":{},"network_interfaces":null}',
    );
  });

  test("cpu lists expand ranges", () => {
    expect(parseCpuList("0-2,5\n")).toEqual([0, 1, 2, 5]);
    expect(parseCpuList("")).toEqual([]);
    expect(parseCpuList("junk")).toEqual([]);
  });

  test("encodeJson prints large integers exactly and small values as JSON does", () => {
    expect(encodeJson({ a: 2 ** 63 - 4096, b: [1.5, "x\"y", null, true], c: undefined })).toBe('{"a":9223372036854771712,"b":[1.5,"x\\"y",null,true]}');
  });
});
