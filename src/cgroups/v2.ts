// cgroup v2 driver: one directory in the unified hierarchy (Documentation/admin-guide/cgroup-v2.rst).
// Controllers must be enabled in every ancestor's cgroup.subtree_control ("Enabling and
// Disabling"), v1 values are converted (resources.ts), and device rules become an eBPF program
// attached to the cgroup ("Device controller": device-filter.ts compiles, bpf.ts attaches).

import { posix } from "node:path";
import { BerthError, failedPrecondition, internal, invalidArgument } from "../sys/errdefs.ts";
import { setDeviceProgram } from "./bpf.ts";
import { compileDeviceFilter } from "./device-filter.ts";
import { CgroupFiles, errnoOf, removeCgroupTree, sleepMs, type CgroupFs } from "./files.ts";
import type { CgroupManager, FreezerState } from "./manager.ts";
import { dirChain, resolveDir, type CgroupLayout, type CgroupMount, type ProcCgroup } from "./paths.ts";
import {
  RESOURCES_FIELD,
  THROTTLE_KEYS,
  blkioWeightToIoWeight,
  cpuMaxValue,
  cpuSharesToWeight,
  maxOrNumber,
  memorySwapToV2,
  pidsMaxValue,
  validateResources,
  type LinuxDeviceCgroup,
  type LinuxResources,
} from "./resources.ts";
import { emptyStats, parseFlatKeyed, parseIoStat, parseSingle, type CgroupStats } from "./stats.ts";
import { collectPids, killProcs, writeProcs } from "./v1.ts";

const f = (p: string) => `${RESOURCES_FIELD}.${p}`;
const PATH_FIELD = "linux.cgroupsPath";
/** What runc reports for "max" in stats (math.MaxUint64); imprecise as a JS number, by design. */
const UNLIMITED = 2 ** 64 - 1;

const CONTROLLER_FIELD: Record<string, string> = {
  memory: "memory",
  pids: "pids",
  cpu: "cpu",
  cpuset: "cpu.cpus",
  io: "blockIO",
  hugetlb: "hugepageLimits",
  rdma: "rdma",
};

/** Which controllers a resources object needs enabled (for cgroup.subtree_control). */
export function controllersNeeded(r: LinuxResources): string[] {
  const need = new Set<string>();
  const m = r.memory;
  if (m && [m.limit, m.reservation, m.swap].some((v) => v !== undefined && v !== 0)) need.add("memory");
  if (r.pids) need.add("pids");
  const c = r.cpu;
  if (c) {
    if ([c.shares, c.quota, c.period, c.burst, c.idle].some((v) => v !== undefined && v !== 0)) need.add("cpu");
    if (c.cpus || c.mems) need.add("cpuset");
  }
  const b = r.blockIO;
  if (b && (b.weight || b.weightDevice?.length || THROTTLE_KEYS.some((k) => b[k]?.length))) need.add("io");
  if (r.hugepageLimits?.length) need.add("hugetlb");
  if (r.rdma && Object.keys(r.rdma).length > 0) need.add("rdma");
  for (const k of Object.keys(r.unified ?? {})) {
    const ctrl = k.slice(0, k.indexOf("."));
    // cgroup.* files belong to the core, not to a controller.
    if (ctrl !== "cgroup") need.add(ctrl);
  }
  return [...need];
}

/**
 * Puts a compiled device program on a cgroup directory, replacing the previous one (bpf.ts;
 * unit tests pass a recorder, since a temp dir is not a cgroup).
 */
export type DeviceProgramSetter = (cgroupDir: string, insns: Uint8Array) => void;

export class V2Manager implements CgroupManager {
  readonly driver = "v2" as const;
  readonly warnings: string[] = [];
  readonly paths: Readonly<Record<string, string>>;
  private readonly files: CgroupFiles;

  private constructor(
    readonly layout: CgroupLayout,
    private readonly mountPoint: string,
    private readonly dir: string,
    cfs: CgroupFs,
    private readonly setDevices: DeviceProgramSetter,
  ) {
    this.files = new CgroupFiles(cfs);
    this.paths = { "": dir };
  }

  static resolve(
    layout: CgroupLayout,
    mount: CgroupMount,
    self: ProcCgroup,
    target: { path: string; absolute: boolean },
    cfs: CgroupFs,
    setDevices: DeviceProgramSetter = setDeviceProgram,
  ): V2Manager {
    return new V2Manager(layout, mount.mountPoint, resolveDir(mount, target, self.unified), cfs, setDevices);
  }

  static fromPaths(
    layout: CgroupLayout,
    paths: Record<string, string>,
    cfs: CgroupFs,
    setDevices: DeviceProgramSetter = setDeviceProgram,
  ): V2Manager {
    const dir = paths[""] ?? Object.values(paths)[0];
    if (!dir) throw invalidArgument("saved cgroup paths are empty", "cgroup_paths");
    // The mount point only matters for create(); a re-opened cgroup already exists.
    return new V2Manager(layout, posix.dirname(dir), dir, cfs, setDevices);
  }

  create(resources: LinuxResources = {}): void {
    validateResources(resources);
    const chain = dirChain(this.mountPoint, this.dir);
    if (chain.length === 0) throw invalidArgument(`${PATH_FIELD} resolves to the hierarchy root ${this.dir}`, PATH_FIELD);
    try {
      let need = controllersNeeded(resources);
      // Check availability before creating anything (config-linux.md "Unified": a missing
      // controller is an error).
      const topParent = posix.dirname(chain[0] as string);
      if (need.length > 0) {
        const avail = (this.files.tryRead(topParent, "cgroup.controllers") ?? "").trim().split(/\s+/);
        // hugetlb is the exception: runc writes hugetlb.<size>.max only when the controller is
        // there, so limits on a host without it are skipped (with a warning in apply), not refused.
        const missing = need.filter((c) => !avail.includes(c) && c !== "hugetlb");
        if (missing.length > 0) {
          const ctrl = missing[0] as string;
          const field = f(CONTROLLER_FIELD[ctrl] ?? "unified");
          throw failedPrecondition(
            `${field} needs the cgroup v2 "${ctrl}" controller, which ${topParent} does not offer (cgroup.controllers: "${avail.join(" ")}")`,
            field,
          );
        }
        need = need.filter((c) => avail.includes(c));
      }
      for (const dir of chain) {
        this.enableControllers(posix.dirname(dir), need);
        this.files.mkdirChain([dir], PATH_FIELD);
      }
      // A process put into a frozen cgroup stops at once: berth-init would never report back.
      if (this.freezerState() !== "THAWED")
        throw failedPrecondition(`cannot create a container in ${this.dir}: the cgroup is frozen (cgroup.freeze 1); thaw it or use another ${PATH_FIELD}`, PATH_FIELD);
      this.apply(resources, false);
    } catch (e) {
      this.files.undoCreated();
      throw e;
    }
  }

  /**
   * "+memory +pids" into parent/cgroup.subtree_control for the controllers not yet enabled there.
   * Only what the resources need is enabled, so a parent we did not create is written only when
   * the container's limits require it.
   */
  private enableControllers(parent: string, need: string[]): void {
    if (need.length === 0) return;
    const enabled = (this.files.tryRead(parent, "cgroup.subtree_control") ?? "").trim().split(/\s+/);
    const add = need.filter((c) => !enabled.includes(c));
    if (add.length === 0) return;
    this.files.write(parent, "cgroup.subtree_control", add.map((c) => `+${c}`).join(" "), RESOURCES_FIELD);
  }

  update(resources: LinuxResources): void {
    validateResources(resources);
    this.apply(resources, true);
  }

  private warn(msg: string): void {
    if (!this.warnings.includes(msg)) this.warnings.push(msg);
  }

  private apply(r: LinuxResources, updating: boolean): void {
    const w = this.files;
    const dir = this.dir;
    const c = r.cpu;
    if (c?.cpus) w.write(dir, "cpuset.cpus", c.cpus, f("cpu.cpus"));
    if (c?.mems) w.write(dir, "cpuset.mems", c.mems, f("cpu.mems"));

    if (r.devices && r.devices.length > 0) this.applyDevices(r.devices);

    const m = r.memory;
    if (m) {
      const limit = m.limit ?? 0;
      const swap = memorySwapToV2(m.swap ?? 0, limit);
      if (updating && m.checkBeforeUpdate && limit > 0) {
        const cur = parseSingle(w.tryRead(dir, "memory.current"));
        if (cur !== undefined && limit < cur) {
          throw invalidArgument(`${f("memory.limit")} ${limit} is below current usage ${cur}`, f("memory.limit"));
        }
      }
      if (swap !== 0) {
        if (w.has(dir, "memory.swap.max")) w.write(dir, "memory.swap.max", maxOrNumber(swap), f("memory.swap"));
        else if (swap !== -1) {
          throw failedPrecondition(`${f("memory.swap")} cannot be enforced: ${dir}/memory.swap.max is missing (swap accounting off)`, f("memory.swap"));
        }
      }
      if (limit !== 0) w.write(dir, "memory.max", maxOrNumber(limit), f("memory.limit"));
      if (m.reservation !== undefined && m.reservation !== 0) {
        w.write(dir, "memory.low", maxOrNumber(m.reservation), f("memory.reservation"));
      }
      if (m.kernel) this.warn(`${f("memory.kernel")} ignored: cgroup v2 accounts kernel memory in memory.max`);
      if (m.kernelTCP) this.warn(`${f("memory.kernelTCP")} ignored: cgroup v2 accounts socket memory in memory.max`);
      if (m.swappiness !== undefined) this.warn(`${f("memory.swappiness")} ignored: cgroup v2 has no per-cgroup swappiness`);
      if (m.disableOOMKiller) this.warn(`${f("memory.disableOOMKiller")} ignored: cgroup v2 cannot disable the OOM killer`);
    }

    if (r.pids) w.write(dir, "pids.max", pidsMaxValue(r.pids.limit), f("pids.limit"));

    if (c) {
      if (c.realtimeRuntime || c.realtimePeriod) {
        const field = f(c.realtimeRuntime ? "cpu.realtimeRuntime" : "cpu.realtimePeriod");
        throw invalidArgument(`${field}: realtime CPU budgets do not exist in cgroup v2`, field);
      }
      if (c.shares) w.write(dir, "cpu.weight", String(cpuSharesToWeight(c.shares)), f("cpu.shares"));
      const max = cpuMaxValue(c.quota, c.period);
      if (max !== undefined) w.write(dir, "cpu.max", max, f(c.quota ? "cpu.quota" : "cpu.period"));
      if (c.burst !== undefined) w.write(dir, "cpu.max.burst", String(c.burst), f("cpu.burst"));
      if (c.idle !== undefined) w.write(dir, "cpu.idle", String(c.idle), f("cpu.idle"));
    }

    const b = r.blockIO;
    if (b) {
      // io.bfq.weight takes the v1 scale (1..1000) as is; io.weight needs converting
      // (cgroup-v2.rst "io.weight"; block/bfq-iosched.rst).
      const bfq = w.has(dir, "io.bfq.weight");
      if (b.weight) {
        if (bfq) w.write(dir, "io.bfq.weight", String(b.weight), f("blockIO.weight"));
        else w.write(dir, "io.weight", `default ${blkioWeightToIoWeight(b.weight)}`, f("blockIO.weight"));
      }
      if (b.leafWeight) this.warn(`${f("blockIO.leafWeight")} ignored: no leaf weights in cgroup v2`);
      b.weightDevice?.forEach((d, i) => {
        if (d.weight === undefined) return;
        const field = f(`blockIO.weightDevice[${i}].weight`);
        if (bfq) w.write(dir, "io.bfq.weight", `${d.major}:${d.minor} ${d.weight}`, field);
        else w.write(dir, "io.weight", `${d.major}:${d.minor} ${blkioWeightToIoWeight(d.weight)}`, field);
      });
      const keys: Record<(typeof THROTTLE_KEYS)[number], string> = {
        throttleReadBpsDevice: "rbps",
        throttleWriteBpsDevice: "wbps",
        throttleReadIOPSDevice: "riops",
        throttleWriteIOPSDevice: "wiops",
      };
      for (const k of THROTTLE_KEYS) {
        // v1 removes a rule with rate 0; the v2 spelling of "no limit" is "max".
        b[k]?.forEach((d, i) =>
          w.write(dir, "io.max", `${d.major}:${d.minor} ${keys[k]}=${d.rate === 0 ? "max" : d.rate}`, f(`blockIO.${k}[${i}]`)));
      }
    }

    r.hugepageLimits?.forEach((h, i) => {
      const field = f(`hugepageLimits[${i}].limit`);
      // The hugetlb.<size>.* files exist only where the controller is enabled (runc: write only then).
      if (!w.has(dir, `hugetlb.${h.pageSize}.max`)) {
        this.warn(`${field} ignored: the hugetlb controller is not enabled for ${dir} (no hugetlb.${h.pageSize}.max)`);
        return;
      }
      w.write(dir, `hugetlb.${h.pageSize}.max`, String(h.limit), field);
      if (w.has(dir, `hugetlb.${h.pageSize}.rsvd.max`)) w.write(dir, `hugetlb.${h.pageSize}.rsvd.max`, String(h.limit), field);
    });

    if (r.network && (r.network.classID !== undefined || r.network.priorities?.length)) {
      this.warn(`${f("network")} ignored: net_cls/net_prio do not exist in cgroup v2`);
    }

    for (const [dev, l] of Object.entries(r.rdma ?? {})) {
      const parts = [dev];
      if (l.hcaHandles !== undefined) parts.push(`hca_handle=${l.hcaHandles}`);
      if (l.hcaObjects !== undefined) parts.push(`hca_object=${l.hcaObjects}`);
      w.write(dir, "rdma.max", parts.join(" "), f(`rdma.${dev}`));
    }

    // Last, so an explicit unified value wins over a converted one (runc's order too).
    for (const [k, v] of Object.entries(r.unified ?? {})) w.write(dir, k, v, f(`unified.${k}`));
  }

  /**
   * Compile the rules and attach the program, replacing the cgroup's previous one (an update
   * gives the whole list again, as runc's). Only when the kernel refuses BPF itself and the rules
   * allow every device anyway is this a warning; a restriction that cannot be enforced fails.
   */
  private applyDevices(rules: LinuxDeviceCgroup[]): void {
    const insns = compileDeviceFilter(rules);
    try {
      this.setDevices(this.dir, insns);
    } catch (e) {
      if (e instanceof BerthError && e.code === "PermissionDenied" && rules.every((d) => d.allow)) {
        this.warn(`${f("devices")} not enforced: ${e.message}; the rules allow every device, so nothing is lost`);
        return;
      }
      throw e;
    }
  }

  procsFiles(): string[] {
    return [posix.join(this.dir, "cgroup.procs")];
  }

  addProcess(pid: number): void {
    if (!Number.isInteger(pid) || pid <= 0) throw invalidArgument(`pid ${pid} is not a process id`, "pid");
    writeProcs(this.files, this.dir, pid);
  }

  processes(): number[] {
    return [...new Set(collectPids(this.files, this.dir))].sort((a, b) => a - b);
  }

  freezerState(): FreezerState {
    const want = (this.files.tryRead(this.dir, "cgroup.freeze") ?? "0").trim() === "1";
    const frozen = parseFlatKeyed(this.files.tryRead(this.dir, "cgroup.events") ?? "").frozen === 1;
    if (frozen) return "FROZEN";
    return want ? "FREEZING" : "THAWED";
  }

  /** cgroup.freeze = 1, then wait for "frozen 1" in cgroup.events (cgroup-v2.rst "cgroup.freeze"). */
  freeze(): void {
    this.files.write(this.dir, "cgroup.freeze", "1", "cgroup.freeze");
    if (this.waitFrozen(true, 2000)) return;
    this.files.write(this.dir, "cgroup.freeze", "0", "cgroup.freeze");
    throw failedPrecondition(`cannot freeze ${this.dir}: cgroup.events did not report frozen within 2s`, "cgroup.freeze");
  }

  thaw(): void {
    this.files.write(this.dir, "cgroup.freeze", "0", "cgroup.freeze");
    if (!this.waitFrozen(false, 1000)) throw internal(`cannot thaw ${this.dir}: cgroup.events still reports frozen`);
  }

  private waitFrozen(frozen: boolean, timeoutMs: number): boolean {
    const deadline = Date.now() + timeoutMs;
    for (let i = 0; ; i++) {
      const ev = parseFlatKeyed(this.files.tryRead(this.dir, "cgroup.events") ?? "");
      if ((ev.frozen === 1) === frozen) return true;
      if (Date.now() > deadline) return false;
      sleepMs(i < 10 ? 1 : 10);
    }
  }

  stats(): CgroupStats {
    const s = emptyStats();
    const r = this.files;
    const dir = this.dir;
    const cpu = parseFlatKeyed(r.tryRead(dir, "cpu.stat") ?? "");
    s.cpu.usage.total = (cpu.usage_usec ?? 0) * 1000;
    s.cpu.usage.user = (cpu.user_usec ?? 0) * 1000;
    s.cpu.usage.kernel = (cpu.system_usec ?? 0) * 1000;
    s.cpu.throttling = {
      periods: cpu.nr_periods ?? 0,
      throttledPeriods: cpu.nr_throttled ?? 0,
      throttledTime: (cpu.throttled_usec ?? 0) * 1000,
    };
    if (r.has(dir, "memory.current")) {
      const events = parseFlatKeyed(r.tryRead(dir, "memory.events") ?? "");
      s.memory.usage = {
        usage: parseSingle(r.tryRead(dir, "memory.current")) ?? 0,
        max: parseSingle(r.tryRead(dir, "memory.peak")) ?? 0,
        limit: parseSingle(r.tryRead(dir, "memory.max"), UNLIMITED) ?? 0,
        failcnt: events.max ?? 0,
      };
      // runc reports swap as memory+swap on v2 too, so the numbers compare with v1.
      const swapCur = parseSingle(r.tryRead(dir, "memory.swap.current"));
      if (swapCur !== undefined) {
        const swapMax = parseSingle(r.tryRead(dir, "memory.swap.max"), UNLIMITED) ?? 0;
        const memMax = s.memory.usage.limit;
        s.memory.swap = {
          usage: swapCur + (s.memory.usage.usage ?? 0),
          max: parseSingle(r.tryRead(dir, "memory.swap.peak")) ?? 0,
          limit: swapMax === UNLIMITED || memMax === UNLIMITED ? UNLIMITED : swapMax + memMax,
          failcnt: 0,
        };
      }
      const raw = parseFlatKeyed(r.tryRead(dir, "memory.stat") ?? "");
      s.memory.raw = raw;
      s.memory.cache = raw.file ?? 0;
    }
    const current = parseSingle(r.tryRead(dir, "pids.current"));
    if (current !== undefined) s.pids.current = current;
    const limit = parseSingle(r.tryRead(dir, "pids.max"), 0);
    if (limit !== undefined) s.pids.limit = limit;
    s.blkio = parseIoStat(r.tryRead(dir, "io.stat"));
    for (const name of ["64KB", "2MB", "32MB", "512MB", "1GB", "16GB"]) {
      const usage = parseSingle(r.tryRead(dir, `hugetlb.${name}.current`));
      if (usage === undefined) continue;
      s.hugetlb[name] = {
        usage,
        max: parseSingle(r.tryRead(dir, `hugetlb.${name}.max`), UNLIMITED) ?? 0,
        failcnt: parseFlatKeyed(r.tryRead(dir, `hugetlb.${name}.events`) ?? "").max ?? 0,
      };
    }
    return s;
  }

  /** memory.events oom_kill (hierarchical: includes sub-cgroups the container made). */
  oomEvents(): number {
    return parseFlatKeyed(this.files.tryRead(this.dir, "memory.events") ?? "").oom_kill ?? 0;
  }

  destroy(): void {
    removeCgroupTree(this.files.fs, this.dir, (d) => {
      // cgroup.kill (5.14+) kills the whole subtree atomically, even frozen tasks and forks in
      // flight; fall back to signalling listed pids.
      if (this.files.has(d, "cgroup.kill")) {
        try {
          this.files.write(d, "cgroup.kill", "1", "cgroup.kill");
          return;
        } catch (e) {
          if (!(e instanceof Error && errnoOf(e.cause) !== undefined)) throw e;
        }
      }
      killProcs(this.files, d);
    });
  }
}
