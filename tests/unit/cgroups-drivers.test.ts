// The drivers' file logic against a fake cgroup tree in a temp dir: mkdir populates the files a
// kernel would show, writes are recorded in order. No root, no real cgroups.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as os from "node:os";
import { posix } from "node:path";
import { realCgroupFs, type CgroupFs } from "../../src/cgroups/files.ts";
import { openCgroupManager } from "../../src/cgroups/manager.ts";
import { controllersNeeded } from "../../src/cgroups/v2.ts";
import { explain, type ExplainEvent } from "../../src/explain/channel.ts";
import { BerthError } from "../../src/sys/errdefs.ts";

const V2_FILES: Record<string, string> = {
  "cgroup.procs": "",
  "cgroup.controllers": "cpuset cpu io memory hugetlb pids",
  "cgroup.subtree_control": "",
  "cgroup.freeze": "0",
  "cgroup.events": "populated 0\nfrozen 0\n",
  "cgroup.kill": "",
  "cpu.stat": "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 4\nnr_throttled 1\nthrottled_usec 7\n",
  "cpu.weight": "100",
  "cpu.max": "max 100000",
  "cpu.max.burst": "0",
  "cpu.idle": "0",
  "cpuset.cpus": "",
  "cpuset.mems": "",
  "memory.current": "4096",
  "memory.peak": "8192",
  "memory.max": "max",
  "memory.low": "0",
  "memory.high": "max",
  "memory.swap.max": "max",
  "memory.swap.current": "0",
  "memory.events": "low 0\nhigh 0\nmax 2\noom 1\noom_kill 1\n",
  "memory.stat": "anon 100\nfile 200\n",
  "pids.max": "max",
  "pids.current": "1",
  "io.weight": "default 100",
  "io.max": "",
  "io.stat": "",
  "hugetlb.2MB.max": "max",
  "hugetlb.2MB.current": "0",
  "hugetlb.2MB.events": "max 0\n",
};

const V1_FILES: Record<string, Record<string, string>> = {
  memory: {
    "memory.limit_in_bytes": "9223372036854771712",
    "memory.memsw.limit_in_bytes": "9223372036854771712",
    "memory.soft_limit_in_bytes": "9223372036854771712",
    "memory.swappiness": "60",
    "memory.oom_control": "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n",
    "memory.kmem.limit_in_bytes": "9223372036854771712",
  },
  cpu: { "cpu.shares": "1024", "cpu.cfs_period_us": "100000", "cpu.cfs_quota_us": "-1", "cpu.rt_period_us": "1000000", "cpu.rt_runtime_us": "0", "cpu.stat": "" },
  cpuset: { "cpuset.cpus": "", "cpuset.mems": "" },
  pids: { "pids.max": "max", "pids.current": "0" },
  freezer: { "freezer.state": "THAWED" },
  devices: { "devices.allow": "", "devices.deny": "" },
};

interface Fake {
  root: string;
  writes: string[];
  fs: CgroupFs;
}

/**
 * A temp-dir cgroupfs: mkdir creates the control files, a write replaces the content (or appends
 * for the multi-line "keyed" files), cgroup.freeze flips cgroup.events, v1 freezer.state settles
 * at once, and `refuse` makes chosen writes fail with an errno like the kernel.
 */
function makeFake(kind: "v1" | "v2", refuse: Record<string, string> = {}): Fake {
  const root = fs.mkdtempSync(posix.join(os.tmpdir(), "berth-cgfake-"));
  const writes: string[] = [];
  const populate = (dir: string) => {
    if (kind === "v2") {
      for (const [n, v] of Object.entries(V2_FILES)) fs.writeFileSync(posix.join(dir, n), v);
      return;
    }
    const ctrl = posix.relative(root, dir).split("/")[0] ?? "";
    fs.writeFileSync(posix.join(dir, "cgroup.procs"), "");
    for (const [n, v] of Object.entries(V1_FILES[ctrl] ?? {})) fs.writeFileSync(posix.join(dir, n), v);
  };
  const fake: CgroupFs = {
    ...realCgroupFs,
    mkdir(dir) {
      realCgroupFs.mkdir(dir);
      populate(dir);
    },
    rmdir(dir) {
      // cgroupfs rmdir succeeds with control files inside; a plain dir would not.
      for (const n of fs.readdirSync(dir)) {
        const p = posix.join(dir, n);
        if (fs.statSync(p).isFile()) fs.unlinkSync(p);
      }
      fs.rmdirSync(dir);
    },
    write(file, value) {
      const name = posix.basename(file);
      if (refuse[name] !== undefined) {
        throw Object.assign(new Error(`${refuse[name]}: refused`), { code: refuse[name] });
      }
      writes.push(`${posix.relative(root, file)}=${value}`);
      realCgroupFs.write(file, value); // O_WRONLY: fails with ENOENT like a missing kernel file
      fs.truncateSync(file, Buffer.byteLength(value));
      const dir = posix.dirname(file);
      if (name === "cgroup.freeze") {
        fs.writeFileSync(posix.join(dir, "cgroup.events"), `populated 0\nfrozen ${value.trim()}\n`);
      }
    },
  };
  if (kind === "v2") {
    fs.writeFileSync(posix.join(root, "cgroup.controllers"), V2_FILES["cgroup.controllers"] as string);
    fs.writeFileSync(posix.join(root, "cgroup.subtree_control"), "");
  } else {
    for (const c of Object.keys(V1_FILES)) fs.mkdirSync(posix.join(root, c));
    fs.writeFileSync(posix.join(root, "cpuset", "cpuset.cpus"), "0-1");
    fs.writeFileSync(posix.join(root, "cpuset", "cpuset.mems"), "0");
  }
  return { root, writes, fs: fake };
}

function v2Manager(fake: Fake, id = "c1") {
  return openCgroupManager({
    id,
    driver: "v2",
    fs: fake.fs,
    mountinfo: `41 31 0:38 / ${fake.root} rw - cgroup2 cgroup2 rw\n`,
    procSelfCgroup: "0::/\n",
  });
}

function v1Manager(fake: Fake, id = "c1") {
  const mi = Object.keys(V1_FILES)
    .map((c, i) => `${30 + i} 1 0:${30 + i} / ${fake.root}/${c} rw - cgroup cgroup rw,${c}`)
    .join("\n");
  const self = Object.keys(V1_FILES).map((c, i) => `${i + 1}:${c}:/`).join("\n");
  return openCgroupManager({ id, driver: "v1", fs: fake.fs, mountinfo: mi, procSelfCgroup: self });
}

const read = (p: string) => fs.readFileSync(p, "utf8");
let fake: Fake | undefined;
afterEach(() => {
  if (fake) fs.rmSync(fake.root, { recursive: true, force: true });
  fake = undefined;
});

describe("v2 driver on a fake tree", () => {
  beforeEach(() => {
    fake = makeFake("v2");
  });

  test("controllers needed by resources", () => {
    expect(controllersNeeded({ memory: { limit: 1 }, pids: { limit: 5 }, cpu: { shares: 2, cpus: "0" } }).sort()).toEqual(
      ["cpu", "cpuset", "memory", "pids"],
    );
    expect(controllersNeeded({ unified: { "cgroup.max.depth": "1", "io.max": "x" } })).toEqual(["io"]);
  });

  test("create writes converted v1 values, enables only needed controllers", () => {
    const f = fake as Fake;
    const m = v2Manager(f);
    m.create({
      memory: { limit: 100 << 20, swap: 300 << 20, reservation: 50 << 20 },
      pids: { limit: 0 },
      cpu: { shares: 1024, quota: 50000, period: 100000, cpus: "0", mems: "0" },
      blockIO: { weight: 500, throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1000 }] },
      hugepageLimits: [{ pageSize: "2MB", limit: 4194304 }],
      unified: { "memory.high": "90000000" },
    });
    const d = `${f.root}/c1`;
    expect(read(`${f.root}/cgroup.subtree_control`)).toBe("+memory +pids +cpu +cpuset +io +hugetlb");
    expect(read(`${d}/memory.max`)).toBe(String(100 << 20));
    expect(read(`${d}/memory.swap.max`)).toBe(String(200 << 20));
    expect(read(`${d}/memory.low`)).toBe(String(50 << 20));
    expect(read(`${d}/pids.max`)).toBe("max");
    expect(read(`${d}/cpu.weight`)).toBe("100");
    expect(read(`${d}/cpu.max`)).toBe("50000 100000");
    expect(read(`${d}/cpuset.cpus`)).toBe("0");
    expect(read(`${d}/io.weight`)).toBe("default 4950");
    expect(read(`${d}/io.max`)).toBe("8:0 rbps=1000");
    expect(read(`${d}/hugetlb.2MB.max`)).toBe("4194304");
    // The explicit unified value comes last so it wins.
    expect(f.writes.at(-1)).toBe("c1/memory.high=90000000");
    expect(m.paths).toEqual({ "": d });
  });

  test("hugepage limits without the hugetlb controller: created, skipped with a warning (as runc)", () => {
    const f = fake as Fake;
    fs.writeFileSync(`${f.root}/cgroup.controllers`, "cpuset cpu io memory pids");
    const m = v2Manager(f);
    m.create({ memory: { limit: 100 << 20 }, hugepageLimits: [{ pageSize: "1GB", limit: 1 << 30 }] });
    expect(read(`${f.root}/cgroup.subtree_control`)).toBe("+memory");
    expect(fs.existsSync(`${f.root}/c1/hugetlb.1GB.max`)).toBe(false);
    expect(f.writes.some((w) => w.includes("hugetlb"))).toBe(false);
    expect(m.warnings).toEqual([`linux.resources.hugepageLimits[0].limit ignored: the hugetlb controller is not enabled for ${f.root}/c1 (no hugetlb.1GB.max)`]);
  });

  test("a cgroup with no resources writes nothing into the parent", () => {
    const f = fake as Fake;
    v2Manager(f).create({});
    expect(f.writes).toEqual([]);
    expect(fs.existsSync(`${f.root}/c1`)).toBe(true);
  });

  test("missing controller: FailedPrecondition naming the field, nothing created", () => {
    const f = fake as Fake;
    fs.writeFileSync(`${f.root}/cgroup.controllers`, "cpu io");
    try {
      v2Manager(f).create({ memory: { limit: 1 << 20 } });
      throw new Error("no throw");
    } catch (e) {
      expect(e).toBeInstanceOf(BerthError);
      expect((e as BerthError).code).toBe("FailedPrecondition");
      expect((e as BerthError).field).toBe("linux.resources.memory");
    }
    expect(fs.existsSync(`${f.root}/c1`)).toBe(false);
  });

  test("realtime is refused on v2; nested path removed on failure", () => {
    const f = fake as Fake;
    const m = openCgroupManager({
      id: "x", cgroupsPath: "/a/b/c", driver: "v2", fs: f.fs,
      mountinfo: `41 31 0:38 / ${f.root} rw - cgroup2 cgroup2 rw\n`, procSelfCgroup: "0::/\n",
    });
    expect(() => m.create({ cpu: { realtimeRuntime: 1000 } })).toThrow(/linux.resources.cpu.realtimeRuntime/);
    expect(fs.existsSync(`${f.root}/a`)).toBe(false);
  });

  test("kernel refusal names field, file and errno; leaves nothing", () => {
    const bad = makeFake("v2", { "memory.max": "EINVAL" });
    try {
      expect(() => v2Manager(bad).create({ memory: { limit: 4096 } })).toThrow(
        /linux.resources.memory.limit: writing "4096" to .*\/c1\/memory.max failed: EINVAL/,
      );
      expect(fs.existsSync(`${bad.root}/c1`)).toBe(false);
    } finally {
      fs.rmSync(bad.root, { recursive: true, force: true });
    }
  });

  test("freeze/thaw via cgroup.freeze and cgroup.events; stats; oom count; destroy", () => {
    const f = fake as Fake;
    const m = v2Manager(f);
    m.create({});
    m.freeze();
    expect(m.freezerState()).toBe("FROZEN");
    m.thaw();
    expect(m.freezerState()).toBe("THAWED");
    const s = m.stats();
    expect(s.cpu.usage).toMatchObject({ total: 1_500_000, user: 1_000_000, kernel: 500_000 });
    expect(s.cpu.throttling).toEqual({ periods: 4, throttledPeriods: 1, throttledTime: 7000 });
    expect(s.memory.usage).toMatchObject({ usage: 4096, max: 8192, failcnt: 2 });
    expect(s.memory.cache).toBe(200);
    expect(s.pids).toEqual({ current: 1, limit: 0 });
    expect(s.hugetlb["2MB"]).toEqual({ usage: 0, max: 2 ** 64 - 1, failcnt: 0 });
    expect(m.oomEvents()).toBe(1);
    m.destroy();
    m.destroy(); // idempotent
    expect(fs.existsSync(`${f.root}/c1`)).toBe(false);
  });

  test("every write and mkdir goes through the explain channel", () => {
    const f = fake as Fake;
    const seen: ExplainEvent[] = [];
    const off = explain.subscribe((e) => seen.push(e));
    try {
      v2Manager(f).create({ pids: { limit: 7 } });
    } finally {
      off();
    }
    expect(seen.map((e) => e.step)).toEqual(["cgroup-write", "cgroup-mkdir", "cgroup-write"]);
    expect(seen[2]).toEqual({ step: "cgroup-write", detail: `${f.root}/c1/pids.max <- 7`, who: "runtime" });
  });
});

describe("v1 driver on a fake tree", () => {
  beforeEach(() => {
    fake = makeFake("v1");
  });

  test("create: cpuset copied from parent, memory before memsw when growing from unlimited", () => {
    const f = fake as Fake;
    const m = v1Manager(f);
    m.create({ memory: { limit: 100, swap: 200, kernel: 50 }, pids: { limit: 5 }, cpu: { shares: 512, quota: 20000, period: 50000 } });
    expect(f.writes).toEqual([
      "cpuset/c1/cpuset.cpus=0-1",
      "cpuset/c1/cpuset.mems=0",
      "memory/c1/memory.limit_in_bytes=100",
      "memory/c1/memory.memsw.limit_in_bytes=200",
      "memory/c1/memory.kmem.limit_in_bytes=50",
      "cpu/c1/cpu.shares=512",
      "cpu/c1/cpu.cfs_period_us=50000",
      "cpu/c1/cpu.cfs_quota_us=20000",
      "pids/c1/pids.max=5",
    ]);
  });

  test("update that raises memory+swap above the current limit writes memsw first", () => {
    const f = fake as Fake;
    const m = v1Manager(f);
    m.create({ memory: { limit: 100, swap: 200 } });
    f.writes.length = 0;
    m.update({ memory: { limit: 300, swap: 400 } });
    expect(f.writes).toEqual(["memory/c1/memory.memsw.limit_in_bytes=400", "memory/c1/memory.limit_in_bytes=300"]);
    f.writes.length = 0;
    m.update({ memory: { limit: -1 } });
    expect(f.writes).toEqual(["memory/c1/memory.memsw.limit_in_bytes=-1", "memory/c1/memory.limit_in_bytes=-1"]);
  });

  test("devices rules in order; unified refused on v1; missing controllers are warnings", () => {
    const f = fake as Fake;
    const m = v1Manager(f);
    expect(() => m.create({ unified: { "memory.high": "1" } })).toThrow(/linux.resources.unified needs cgroup v2/);
    m.create({
      devices: [{ allow: false, access: "rwm" }, { allow: true, type: "c", major: 1, minor: 3, access: "rwm" }],
      hugepageLimits: [{ pageSize: "2MB", limit: 0 }],
    });
    expect(f.writes.filter((w) => w.startsWith("devices"))).toEqual([
      "devices/c1/devices.deny=a *:* rwm",
      "devices/c1/devices.allow=c 1:3 rwm",
    ]);
    expect(m.warnings).toEqual(["linux.resources.hugepageLimits ignored: the hugetlb controller is not mounted on this host"]);
  });

  test("a kernel refusal midway removes every directory created", () => {
    const bad = makeFake("v1", { "pids.max": "EINVAL" });
    try {
      expect(() => v1Manager(bad).create({ pids: { limit: 5 } })).toThrow(/linux.resources.pids.limit.*EINVAL/);
      for (const c of Object.keys(V1_FILES)) expect(fs.existsSync(`${bad.root}/${c}/c1`)).toBe(false);
    } finally {
      fs.rmSync(bad.root, { recursive: true, force: true });
    }
  });

  test("freeze, oom count and destroy", () => {
    const f = fake as Fake;
    const m = v1Manager(f);
    m.create({});
    m.freeze();
    expect(m.freezerState()).toBe("FROZEN");
    m.thaw();
    fs.writeFileSync(`${f.root}/memory/c1/memory.oom_control`, "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n");
    expect(m.oomEvents()).toBe(2);
    m.destroy();
    for (const c of Object.keys(V1_FILES)) expect(fs.existsSync(`${f.root}/${c}/c1`)).toBe(false);
  });
});
