// cgroup v1 driver (also used on hybrid hosts, where the controllers live on v1 hierarchies).
// One directory per mounted hierarchy; co-mounted controllers (e.g. "cpu,cpuacct") share one.
// Kernel docs: Documentation/admin-guide/cgroup-v1/{memory,cpusets,pids,freezer-subsystem,
// blkio-controller,devices,hugetlb}.rst and scheduler/sched-bwc.rst, sched-rt-group.rst.

import { posix } from "node:path";
import { explain } from "../explain/channel.ts";
import { failedPrecondition, internal, invalidArgument } from "../sys/errdefs.ts";
import { CgroupFiles, errnoOf, parsePids, removeCgroupTree, sleepMs, type CgroupFs } from "./files.ts";
import type { CgroupManager, FreezerState } from "./manager.ts";
import { dirChain, resolveDir, type CgroupLayout, type CgroupMount, type ProcCgroup } from "./paths.ts";
import {
  RESOURCES_FIELD,
  THROTTLE_KEYS,
  deviceRuleLine,
  pidsMaxValue,
  validateResources,
  type LinuxResources,
} from "./resources.ts";
import {
  emptyStats,
  parseBlkioRecursive,
  parseCpuacctUsageAll,
  parseFlatKeyed,
  parseSingle,
  parseSpaceList,
  type CgroupStats,
  type MemoryEntry,
} from "./stats.ts";

const f = (p: string) => `${RESOURCES_FIELD}.${p}`;
const PATH_FIELD = "linux.cgroupsPath";
/** cpuacct.stat counts USER_HZ ticks, which is 100 on every Linux ABI (times(2)). */
const NS_PER_TICK = 1e9 / 100;

interface Hierarchy {
  controllers: string[];
  mountPoint: string;
  dir: string;
}

export class V1Manager implements CgroupManager {
  readonly driver = "v1" as const;
  readonly warnings: string[] = [];
  readonly paths: Readonly<Record<string, string>>;
  private readonly files: CgroupFiles;

  private constructor(
    readonly layout: CgroupLayout,
    private readonly hierarchies: Hierarchy[],
    cfs: CgroupFs,
  ) {
    this.files = new CgroupFiles(cfs);
    const paths: Record<string, string> = {};
    for (const h of hierarchies) for (const c of h.controllers) paths[c] = h.dir;
    this.paths = paths;
  }

  static resolve(
    layout: CgroupLayout,
    mounts: CgroupMount[],
    self: ProcCgroup,
    target: { path: string; absolute: boolean },
    cfs: CgroupFs,
  ): V1Manager {
    const hs: Hierarchy[] = [];
    const seen = new Set<string>();
    for (const m of mounts) {
      if (m.fsType !== "cgroup" || m.controllers.length === 0) continue;
      // The same hierarchy can be mounted twice (bind mounts); keep the first.
      const key = m.controllers.slice().sort().join(",");
      if (seen.has(key)) continue;
      seen.add(key);
      const first = m.controllers[0] as string;
      hs.push({ controllers: m.controllers, mountPoint: m.mountPoint, dir: resolveDir(m, target, self.v1.get(first)) });
    }
    if (hs.length === 0) throw failedPrecondition("no cgroup v1 hierarchy is mounted");
    // Hybrid: the container also gets its directory in the cgroup2 hierarchy (key "", as runc's
    // cgroup_paths), which holds no controllers but is what systemd and BPF programs look at.
    const unified = layout === "hybrid" ? mounts.find((m) => m.fsType === "cgroup2") : undefined;
    if (unified) hs.push({ controllers: [""], mountPoint: unified.mountPoint, dir: resolveDir(unified, target, self.unified) });
    return new V1Manager(layout, hs, cfs);
  }

  static fromPaths(layout: CgroupLayout, paths: Record<string, string>, mounts: CgroupMount[], cfs: CgroupFs): V1Manager {
    const byDir = new Map<string, Hierarchy>();
    for (const [c, dir] of Object.entries(paths)) {
      const h = byDir.get(dir);
      if (h) {
        h.controllers.push(c);
        continue;
      }
      const m = mounts.find((x) => (c === "" ? x.fsType === "cgroup2" : x.controllers.includes(c)));
      byDir.set(dir, { controllers: [c], mountPoint: m?.mountPoint ?? posix.dirname(dir), dir });
    }
    return new V1Manager(layout, [...byDir.values()], cfs);
  }

  private dirOf(controller: string): string | undefined {
    return this.hierarchies.find((h) => h.controllers.includes(controller))?.dir;
  }

  create(resources: LinuxResources = {}): void {
    validateResources(resources);
    if (resources.unified && Object.keys(resources.unified).length > 0) {
      throw invalidArgument(`invalid configuration: ${f("unified")} needs cgroup v2; this host's controllers are on cgroup v1 (${this.layout})`, f("unified"));
    }
    try {
      for (const h of this.hierarchies) {
        const chain = dirChain(h.mountPoint, h.dir);
        if (chain.length === 0) throw invalidArgument(`${PATH_FIELD} resolves to the hierarchy root ${h.dir}`, PATH_FIELD);
        const before = this.files.created.length;
        this.files.mkdirChain(chain, PATH_FIELD);
        if (h.controllers.includes("cpuset")) this.initCpuset(this.files.created.slice(before), h.dir);
      }
      // A process put into a frozen cgroup stops at once: berth-init would never report back.
      if (this.freezerState() !== "THAWED")
        throw failedPrecondition(`cannot create a container in ${this.dirOf("freezer")}: the cgroup is frozen (freezer.state ${this.freezerState()}); thaw it or use another ${PATH_FIELD}`, PATH_FIELD);
      this.apply(resources, false);
    } catch (e) {
      this.files.undoCreated();
      throw e;
    }
  }

  /**
   * A new v1 cpuset starts with empty cpus and mems, and attaching a task to it fails with ENOSPC
   * (cpusets.rst §2.2), so copy them down from the parent in every directory we created.
   */
  private initCpuset(created: string[], leaf: string): void {
    const dirs = created.includes(leaf) ? created : [...created, leaf];
    for (const dir of dirs) {
      for (const name of ["cpuset.cpus", "cpuset.mems"]) {
        if ((this.files.tryRead(dir, name) ?? "").trim() !== "") continue;
        const parent = (this.files.tryRead(posix.dirname(dir), name) ?? "").trim();
        if (parent === "") continue;
        this.files.write(dir, name, parent, f(name === "cpuset.cpus" ? "cpu.cpus" : "cpu.mems"));
      }
    }
  }

  update(resources: LinuxResources): void {
    validateResources(resources);
    if (resources.unified && Object.keys(resources.unified).length > 0) {
      throw invalidArgument(`invalid configuration: ${f("unified")} needs cgroup v2; this host's controllers are on cgroup v1 (${this.layout})`, f("unified"));
    }
    this.apply(resources, true);
  }

  private skip(field: string, controller: string): void {
    const w = `${f(field)} ignored: the ${controller} controller is not mounted on this host`;
    if (!this.warnings.includes(w)) this.warnings.push(w);
  }

  private apply(r: LinuxResources, updating: boolean): void {
    const w = this.files;
    // cpuset first: processes cannot join an empty cpuset.
    if (r.cpu?.cpus || r.cpu?.mems) {
      const dir = this.dirOf("cpuset");
      if (!dir) this.skip("cpu.cpus", "cpuset");
      else {
        if (r.cpu.cpus) w.write(dir, "cpuset.cpus", r.cpu.cpus, f("cpu.cpus"));
        if (r.cpu.mems) w.write(dir, "cpuset.mems", r.cpu.mems, f("cpu.mems"));
      }
    }

    if (r.devices && r.devices.length > 0) {
      const dir = this.dirOf("devices");
      if (!dir) this.skip("devices", "devices");
      else {
        // Rules apply in order (config-linux.md); a leading deny-all clears the inherited list.
        w.writeSeq(dir, r.devices.map((d, i) => ({ name: d.allow ? "devices.allow" : "devices.deny", value: deviceRuleLine(d), field: f(`devices[${i}]`) })));
      }
    }

    if (r.memory) this.applyMemory(r, updating);

    if (r.cpu) {
      const c = r.cpu;
      const needsCpu = [c.shares, c.quota, c.period, c.burst, c.realtimePeriod, c.realtimeRuntime, c.idle].some(
        (v) => v !== undefined && v !== 0,
      ) || c.quota === -1;
      const dir = this.dirOf("cpu");
      if (needsCpu && !dir) this.skip("cpu", "cpu");
      else if (dir) {
        // Realtime budget: period before runtime so runtime <= period holds at every step
        // (sched-rt-group.rst). The parent must have budget to give, else EINVAL/EBUSY.
        if (c.realtimePeriod) w.write(dir, "cpu.rt_period_us", String(c.realtimePeriod), f("cpu.realtimePeriod"));
        if (c.realtimeRuntime) w.write(dir, "cpu.rt_runtime_us", String(c.realtimeRuntime), f("cpu.realtimeRuntime"));
        if (c.shares) {
          w.write(dir, "cpu.shares", String(c.shares), f("cpu.shares"));
          // The kernel clamps silently; say so instead of running with another value.
          const got = parseSingle(w.tryRead(dir, "cpu.shares"));
          if (got !== undefined && got !== c.shares) {
            throw invalidArgument(`${f("cpu.shares")} ${c.shares} was clamped by the kernel to ${got}`, f("cpu.shares"));
          }
        }
        this.applyCfs(dir, c.quota, c.period);
        if (c.burst !== undefined && w.has(dir, "cpu.cfs_burst_us")) {
          w.write(dir, "cpu.cfs_burst_us", String(c.burst), f("cpu.burst"));
        }
        if (c.idle !== undefined) {
          if (w.has(dir, "cpu.idle")) w.write(dir, "cpu.idle", String(c.idle), f("cpu.idle"));
          else if (c.idle !== 0) this.warnings.push(`${f("cpu.idle")} ignored: kernel has no cpu.idle`);
        }
      }
    }

    if (r.pids) {
      const dir = this.dirOf("pids");
      if (!dir) this.skip("pids", "pids");
      else w.write(dir, "pids.max", pidsMaxValue(r.pids.limit), f("pids.limit"));
    }

    if (r.blockIO) this.applyBlkio(r);

    if (r.hugepageLimits && r.hugepageLimits.length > 0) {
      const dir = this.dirOf("hugetlb");
      if (!dir) this.skip("hugepageLimits", "hugetlb");
      else {
        r.hugepageLimits.forEach((h, i) => {
          const field = f(`hugepageLimits[${i}].limit`);
          w.write(dir, `hugetlb.${h.pageSize}.limit_in_bytes`, String(h.limit), field);
          // Reservation accounting (kernel 5.7+) is what the spec prefers when present.
          if (w.has(dir, `hugetlb.${h.pageSize}.rsvd.limit_in_bytes`)) {
            w.write(dir, `hugetlb.${h.pageSize}.rsvd.limit_in_bytes`, String(h.limit), field);
          }
        });
      }
    }

    if (r.network) {
      if (r.network.classID !== undefined) {
        const dir = this.dirOf("net_cls");
        if (!dir) this.skip("network.classID", "net_cls");
        else w.write(dir, "net_cls.classid", String(r.network.classID), f("network.classID"));
      }
      if (r.network.priorities && r.network.priorities.length > 0) {
        const dir = this.dirOf("net_prio");
        if (!dir) this.skip("network.priorities", "net_prio");
        else {
          r.network.priorities.forEach((p, i) =>
            w.write(dir, "net_prio.ifpriomap", `${p.name} ${p.priority}`, f(`network.priorities[${i}]`)));
        }
      }
    }

    if (r.rdma && Object.keys(r.rdma).length > 0) {
      const dir = this.dirOf("rdma");
      if (!dir) this.skip("rdma", "rdma");
      else {
        for (const [dev, l] of Object.entries(r.rdma)) {
          const parts = [dev];
          if (l.hcaHandles !== undefined) parts.push(`hca_handle=${l.hcaHandles}`);
          if (l.hcaObjects !== undefined) parts.push(`hca_object=${l.hcaObjects}`);
          w.write(dir, "rdma.max", parts.join(" "), f(`rdma.${dev}`));
        }
      }
    }
  }

  /**
   * cfs period and quota (sched-bwc.rst). Lowering the period can be refused (EINVAL) while the
   * old quota/new period ratio exceeds the parent's; then set the quota first and retry.
   */
  private applyCfs(dir: string, quota: number | undefined, period: number | undefined): void {
    const w = this.files;
    let periodPending = false;
    if (period) {
      try {
        w.write(dir, "cpu.cfs_period_us", String(period), f("cpu.period"));
      } catch (e) {
        if (!quota || !(e instanceof Error && errnoOf(e.cause) === "EINVAL")) throw e;
        periodPending = true;
      }
    }
    if (quota) {
      w.write(dir, "cpu.cfs_quota_us", String(quota > 0 ? quota : -1), f("cpu.quota"));
      if (periodPending) w.write(dir, "cpu.cfs_period_us", String(period), f("cpu.period"));
    }
  }

  /**
   * memory.limit_in_bytes must stay <= memory.memsw.limit_in_bytes at every step
   * (memory.rst §2.4), so the order of the two writes depends on the direction of the change.
   */
  private applyMemory(r: LinuxResources, updating: boolean): void {
    const m = r.memory;
    if (!m) return;
    const dir = this.dirOf("memory");
    const w = this.files;
    if (!dir) {
      this.skip("memory", "memory");
      return;
    }
    const limit = m.limit ?? 0;
    let swap = m.swap ?? 0;
    // Memory unlimited with swap unset means both unlimited (what v1 users expect).
    if (limit === -1 && swap === 0) swap = -1;
    const swapFile = "memory.memsw.limit_in_bytes";
    const hasSwap = w.has(dir, swapFile);
    if (swap !== 0 && !hasSwap) {
      if (swap !== -1) {
        throw failedPrecondition(
          `${f("memory.swap")} cannot be enforced: ${dir}/${swapFile} is missing (swap accounting is off; boot with swapaccount=1)`,
          f("memory.swap"),
        );
      }
      swap = 0;
    }
    if (updating && m.checkBeforeUpdate && limit > 0) {
      const usage = parseSingle(w.tryRead(dir, "memory.usage_in_bytes"));
      if (usage !== undefined && limit < usage) {
        throw invalidArgument(`${f("memory.limit")} ${limit} is below current usage ${usage}`, f("memory.limit"));
      }
    }
    const writeLimit = () => {
      if (limit !== 0) w.write(dir, "memory.limit_in_bytes", String(limit), f("memory.limit"));
    };
    const writeSwap = () => {
      if (swap !== 0) w.write(dir, swapFile, String(swap), f("memory.swap"));
    };
    if (limit !== 0 && swap !== 0) {
      const cur = parseSingle(w.tryRead(dir, "memory.limit_in_bytes")) ?? 0;
      // Growing (or unlimiting) memsw must come first; shrinking must come after memory.
      if (swap === -1 || cur < swap) {
        writeSwap();
        writeLimit();
      } else {
        writeLimit();
        writeSwap();
      }
    } else {
      writeLimit();
      writeSwap();
    }
    if (m.reservation !== undefined && m.reservation !== 0) {
      w.write(dir, "memory.soft_limit_in_bytes", String(m.reservation), f("memory.reservation"));
    }
    // Kernel memory limits are deprecated (memory.rst §2.7; writes fail on kernels >= 5.16 with
    // some configs): apply where the file exists, and only warn when the kernel refuses.
    for (const [k, file] of [["kernel", "memory.kmem.limit_in_bytes"], ["kernelTCP", "memory.kmem.tcp.limit_in_bytes"]] as const) {
      const v = m[k];
      if (v === undefined || v === 0) continue;
      if (!w.has(dir, file)) {
        this.warnings.push(`${f(`memory.${k}`)} ignored: ${file} does not exist on this kernel`);
        continue;
      }
      try {
        w.write(dir, file, String(v), f(`memory.${k}`));
      } catch (e) {
        const errno = e instanceof Error ? errnoOf(e.cause) : undefined;
        if (errno !== "EOPNOTSUPP" && errno !== "ENOTSUP" && errno !== "EINVAL") throw e;
        this.warnings.push(`${f(`memory.${k}`)} ignored: the kernel refused ${file} (${errno})`);
      }
    }
    if (m.swappiness !== undefined) w.write(dir, "memory.swappiness", String(m.swappiness), f("memory.swappiness"));
    if (m.disableOOMKiller) w.write(dir, "memory.oom_control", "1", f("memory.disableOOMKiller"));
    if (m.useHierarchy !== undefined && w.has(dir, "memory.use_hierarchy")) {
      w.write(dir, "memory.use_hierarchy", m.useHierarchy ? "1" : "0", f("memory.useHierarchy"));
    }
  }

  private applyBlkio(r: LinuxResources): void {
    const b = r.blockIO;
    if (!b) return;
    const dir = this.dirOf("blkio");
    if (!dir) {
      this.skip("blockIO", "blkio");
      return;
    }
    const w = this.files;
    // CFQ exposed blkio.weight; with BFQ (the only proportional scheduler since 5.0) it is
    // blkio.bfq.weight (block/bfq-iosched.rst). Neither exists when no disk uses BFQ.
    const weightFile = w.has(dir, "blkio.weight") ? "blkio.weight" : w.has(dir, "blkio.bfq.weight") ? "blkio.bfq.weight" : undefined;
    if (b.weight) {
      if (weightFile) w.write(dir, weightFile, String(b.weight), f("blockIO.weight"));
      else this.warnings.push(`${f("blockIO.weight")} ignored: no proportional I/O scheduler (CFQ/BFQ) on this host`);
    }
    if (b.leafWeight) {
      if (w.has(dir, "blkio.leaf_weight")) w.write(dir, "blkio.leaf_weight", String(b.leafWeight), f("blockIO.leafWeight"));
      else this.warnings.push(`${f("blockIO.leafWeight")} ignored: blkio.leaf_weight is CFQ-only`);
    }
    b.weightDevice?.forEach((d, i) => {
      if (d.weight !== undefined) {
        if (weightFile) w.write(dir, `${weightFile}_device`, `${d.major}:${d.minor} ${d.weight}`, f(`blockIO.weightDevice[${i}].weight`));
        else this.warnings.push(`${f(`blockIO.weightDevice[${i}]`)} ignored: no proportional I/O scheduler`);
      }
      if (d.leafWeight !== undefined && w.has(dir, "blkio.leaf_weight_device")) {
        w.write(dir, "blkio.leaf_weight_device", `${d.major}:${d.minor} ${d.leafWeight}`, f(`blockIO.weightDevice[${i}].leafWeight`));
      }
    });
    const files: Record<(typeof THROTTLE_KEYS)[number], string> = {
      throttleReadBpsDevice: "blkio.throttle.read_bps_device",
      throttleWriteBpsDevice: "blkio.throttle.write_bps_device",
      throttleReadIOPSDevice: "blkio.throttle.read_iops_device",
      throttleWriteIOPSDevice: "blkio.throttle.write_iops_device",
    };
    for (const k of THROTTLE_KEYS) {
      b[k]?.forEach((d, i) => w.write(dir, files[k], `${d.major}:${d.minor} ${d.rate}`, f(`blockIO.${k}[${i}]`)));
    }
  }

  procsFiles(): string[] {
    return this.hierarchies.map((h) => posix.join(h.dir, "cgroup.procs"));
  }

  /** The v1 hierarchies' `tasks` files (a single thread writing "0" moves itself, no global lock). */
  tasksFiles(): string[] {
    return this.hierarchies.filter((h) => h.controllers[0] !== "").map((h) => posix.join(h.dir, "tasks"));
  }

  /** The hybrid host's cgroup2 directory, which clone3(CLONE_INTO_CGROUP) can place a child in. */
  unifiedDir(): string | undefined {
    return this.dirOf("");
  }

  addProcess(pid: number): void {
    if (!Number.isInteger(pid) || pid <= 0) throw invalidArgument(`pid ${pid} is not a process id`, "pid");
    for (const h of this.hierarchies) writeProcs(this.files, h.dir, pid);
  }

  processes(): number[] {
    const out = new Set<number>();
    for (const h of this.hierarchies) for (const p of collectPids(this.files, h.dir)) out.add(p);
    return [...out].sort((a, b) => a - b);
  }

  private freezerDir(): string {
    const dir = this.dirOf("freezer");
    if (!dir) throw failedPrecondition("the freezer controller is not mounted; cannot pause", "freezer");
    return dir;
  }

  freezerState(): FreezerState {
    const dir = this.dirOf("freezer");
    if (!dir) return "THAWED";
    const s = (this.files.tryRead(dir, "freezer.state") ?? "THAWED").trim();
    return s === "FROZEN" || s === "FREEZING" ? s : "THAWED";
  }

  /**
   * freezer-subsystem.rst: writing FROZEN starts freezing; the state reads FREEZING until every
   * task stopped. A task stuck in vfork or an uninterruptible sleep can keep it there, so kick it
   * (thaw and freeze again) now and then, and give up with the group thawed.
   */
  freeze(): void {
    const dir = this.freezerDir();
    const w = this.files;
    w.write(dir, "freezer.state", "FROZEN", "freezer.state");
    const deadline = Date.now() + 2000;
    for (let i = 1; ; i++) {
      if (this.freezerState() === "FROZEN") return;
      if (Date.now() > deadline) break;
      if (i % 50 === 0) {
        w.write(dir, "freezer.state", "THAWED", "freezer.state");
        w.write(dir, "freezer.state", "FROZEN", "freezer.state");
      }
      sleepMs(i < 10 ? 1 : 10);
    }
    w.write(dir, "freezer.state", "THAWED", "freezer.state");
    throw failedPrecondition(`cannot freeze ${dir}: tasks stayed FREEZING for 2s`, "freezer.state");
  }

  thaw(): void {
    const dir = this.freezerDir();
    this.files.write(dir, "freezer.state", "THAWED", "freezer.state");
    const deadline = Date.now() + 1000;
    while (this.freezerState() !== "THAWED") {
      if (Date.now() > deadline) throw internal(`cannot thaw ${dir}: freezer.state stays ${this.freezerState()}`);
      sleepMs(1);
    }
  }

  stats(): CgroupStats {
    const s = emptyStats();
    const r = this.files;
    const cpuacct = this.dirOf("cpuacct");
    if (cpuacct) {
      const u = s.cpu.usage;
      const total = parseSingle(r.tryRead(cpuacct, "cpuacct.usage"));
      if (total !== undefined) u.total = total;
      const percpu = parseSpaceList(r.tryRead(cpuacct, "cpuacct.usage_percpu"));
      if (percpu) u.percpu = percpu;
      const all = parseCpuacctUsageAll(r.tryRead(cpuacct, "cpuacct.usage_all"));
      if (all) {
        u.percpu_user = all.user;
        u.percpu_kernel = all.kernel;
      }
      const st = parseFlatKeyed(r.tryRead(cpuacct, "cpuacct.stat") ?? "");
      u.user = (st.user ?? 0) * NS_PER_TICK;
      u.kernel = (st.system ?? 0) * NS_PER_TICK;
    }
    const cpu = this.dirOf("cpu");
    if (cpu) {
      const st = parseFlatKeyed(r.tryRead(cpu, "cpu.stat") ?? "");
      s.cpu.throttling = {
        periods: st.nr_periods ?? 0,
        throttledPeriods: st.nr_throttled ?? 0,
        throttledTime: st.throttled_time ?? 0,
      };
    }
    const mem = this.dirOf("memory");
    if (mem) {
      const entry = (prefix: string): MemoryEntry => ({
        usage: parseSingle(r.tryRead(mem, `${prefix}.usage_in_bytes`)) ?? 0,
        max: parseSingle(r.tryRead(mem, `${prefix}.max_usage_in_bytes`)) ?? 0,
        failcnt: parseSingle(r.tryRead(mem, `${prefix}.failcnt`)) ?? 0,
        limit: parseSingle(r.tryRead(mem, `${prefix}.limit_in_bytes`)) ?? 0,
      });
      s.memory.usage = entry("memory");
      s.memory.swap = entry("memory.memsw");
      s.memory.kernel = entry("memory.kmem");
      s.memory.kernelTCP = entry("memory.kmem.tcp");
      const raw = parseFlatKeyed(r.tryRead(mem, "memory.stat") ?? "");
      s.memory.raw = raw;
      s.memory.cache = raw.cache ?? 0;
    }
    const pids = this.dirOf("pids");
    if (pids) {
      const current = parseSingle(r.tryRead(pids, "pids.current"));
      const limit = parseSingle(r.tryRead(pids, "pids.max"), 0);
      if (current !== undefined) s.pids.current = current;
      if (limit !== undefined) s.pids.limit = limit;
    }
    const blkio = this.dirOf("blkio");
    if (blkio) {
      // CFQ's files, then BFQ's, then the throttle layer's (which counts all I/O on modern
      // kernels): the first that has data wins, as runc does.
      for (const prefix of ["blkio", "blkio.bfq", "blkio.throttle"]) {
        const bytes = parseBlkioRecursive(r.tryRead(blkio, `${prefix}.io_service_bytes_recursive`));
        const ios = parseBlkioRecursive(r.tryRead(blkio, `${prefix}.io_serviced_recursive`));
        if ((bytes && bytes.length > 0) || prefix === "blkio.throttle") {
          s.blkio = { ioServiceBytesRecursive: bytes ?? [], ioServicedRecursive: ios ?? [] };
          break;
        }
      }
    }
    const huge = this.dirOf("hugetlb");
    if (huge) {
      for (const name of this.hugetlbSizes(huge)) {
        s.hugetlb[name] = {
          usage: parseSingle(r.tryRead(huge, `hugetlb.${name}.usage_in_bytes`)) ?? 0,
          max: parseSingle(r.tryRead(huge, `hugetlb.${name}.max_usage_in_bytes`)) ?? 0,
          failcnt: parseSingle(r.tryRead(huge, `hugetlb.${name}.failcnt`)) ?? 0,
        };
      }
    }
    return s;
  }

  private hugetlbSizes(dir: string): string[] {
    const sizes: string[] = [];
    for (const size of ["64KB", "2MB", "32MB", "512MB", "1GB", "16GB"]) {
      if (this.files.has(dir, `hugetlb.${size}.usage_in_bytes`)) sizes.push(size);
    }
    return sizes;
  }

  /** memory.oom_control's oom_kill counter (kernel 4.13+, memory.rst §10). */
  oomEvents(): number {
    const dir = this.dirOf("memory");
    if (!dir) return 0;
    return parseFlatKeyed(this.files.tryRead(dir, "memory.oom_control") ?? "").oom_kill ?? 0;
  }

  destroy(): void {
    // Frozen tasks cannot act on SIGKILL until thawed (freezer-subsystem.rst).
    const fz = this.dirOf("freezer");
    if (fz && this.files.fs.exists(fz) && this.freezerState() !== "THAWED") {
      this.files.write(fz, "freezer.state", "THAWED", "freezer.state");
    }
    const errors: unknown[] = [];
    for (const h of this.hierarchies) {
      try {
        removeCgroupTree(this.files.fs, h.dir, (dir) => killProcs(this.files, dir));
      } catch (e) {
        errors.push(e);
      }
    }
    if (errors.length > 0) throw errors[0];
  }
}

/** Write a pid to dir/cgroup.procs; EINVAL can mean the task is still TASK_NEW, so retry. */
export function writeProcs(files: CgroupFiles, dir: string, pid: number): void {
  for (let i = 0; ; i++) {
    try {
      files.write(dir, "cgroup.procs", String(pid), PATH_FIELD);
      return;
    } catch (e) {
      if (i < 5 && e instanceof Error && errnoOf(e.cause) === "EINVAL") {
        sleepMs(10);
        continue;
      }
      throw e;
    }
  }
}

export function collectPids(files: CgroupFiles, dir: string): number[] {
  const text = files.tryRead(dir, "cgroup.procs");
  if (text === undefined) return [];
  const out = parsePids(text);
  for (const child of files.fs.subdirs(dir)) out.push(...collectPids(files, posix.join(dir, child)));
  return out;
}

/** SIGKILL every pid listed in dir/cgroup.procs (only ever our own container's cgroup). */
export function killProcs(files: CgroupFiles, dir: string): void {
  for (const pid of parsePids(files.tryRead(dir, "cgroup.procs") ?? "")) {
    try {
      if (explain.enabled) explain.emit({ step: "kill", detail: `kill(${pid}, SIGKILL) (left in ${dir})`, who: "runtime" });
      process.kill(pid, "SIGKILL");
    } catch {
      // ESRCH: already gone.
    }
  }
}
