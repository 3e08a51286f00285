// The runtime as a library: create, start, run, kill, delete, state, list (runtime.md
// "Operations"). The CLI verbs in src/runtime-cli/commands are thin wrappers over these.
import { existsSync, openSync, closeSync, readFileSync, readlinkSync, unlinkSync, writeSync } from "node:fs";
import { constants as fsc } from "node:fs";
import { dirname, join } from "node:path";
import { BerthError, failedPrecondition, invalidArgument } from "../sys/errdefs.ts";
import { explain } from "../explain/channel.ts";
import type { DeviceProgramSetter } from "../cgroups/v2.ts";
import { cgroupPlacement, openCgroupManager, readHostCgroups, type CgroupManager, type HostCgroups } from "../cgroups/manager.ts";
import type { HookConfig, RuntimeConfig } from "./config.ts";
import type { CgroupHierarchy } from "./plan/build.ts";
import { checkPidFile, frozen, processAlive, processStartTime, publicState, StateStore, writeAtomic, type SavedState, type Status } from "./state.ts";
import { runHooks } from "./hooks.ts";
import type { State } from "./spec/types.ts";
import type { LaunchStdio } from "./launch.ts";

export const OCI_VERSION = "1.0.2-dev";

/** Time a runtime-side phase for --explain (the child's steps are timed by berth-init). */
function timed<T>(what: string, f: () => T): T {
  if (!explain.enabled) return f();
  const t0 = performance.now();
  const r = f();
  explain.emit({ step: "phase", detail: what, ms: performance.now() - t0, who: "runtime" });
  return r;
}

export interface CreateOptions {
  root: string;
  id: string;
  bundle: string;
  pidFile?: string;
  noPivot?: boolean;
  preserveFds?: number;
  /** Unix socket that receives the pty master when process.terminal is set. */
  consoleSocket?: string;
  /** create: wait for `start`; detach: run now and return; foreground: run and wait. */
  mode?: "create" | "detach" | "foreground";
  /** The container's fds 0, 1, 2 (launch()'s `stdio`); default: the caller's own. */
  stdio?: readonly [LaunchStdio, LaunchStdio, LaunchStdio];
  explain?: boolean;
  /** Told what runc would warn about (a cgroup that already has processes). */
  onWarning?: (msg: string) => void;
  /** berth-init is started by the caller's monitor with the peer of this socket (see launch()). */
  launchVia?: { sock: number };
}

export interface Created {
  readonly state: SavedState;
  readonly helper?: Bun.Subprocess;
  readonly config: RuntimeConfig;
  /** The container's cgroup (none when rootless without a delegated cgroup). */
  readonly cgroup?: CgroupManager;
}

export async function create(o: CreateOptions): Promise<Created> {
  // Loaded here, not at import: state, kill, start and delete never parse a config or plan.
  const [{ buildConfig, configPath, parseSpec, validateId }, { buildPlan }, { launch }] = await Promise.all([
    import("./config.ts"), import("./plan/build.ts"), import("./launch.ts"),
  ]);
  const id = validateId(o.id);
  const mode = o.mode ?? "create";
  const file = configPath(o.bundle);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    throw invalidArgument(`cannot read ${file}: is --bundle (${o.bundle}) the bundle directory? \`berth-runtime spec\` writes a default config.json`, "bundle");
  }
  const config = timed("parse and check config.json", () => buildConfig(parseSpec(text, file), id, o.bundle));
  const store = new StateStore(o.root);
  store.reserve(id);
  let cgroup: CgroupManager | undefined;
  let pid = 0;
  try {
    const host = readHostCgroups({});
    let existed = false;
    let deviceProgram: { dir: string; insns: Uint8Array; optional: boolean } | undefined;
    // v2 device rules are compiled here and loaded by berth-init (bpf(2) from C: no bun:ffi on the
    // start path); all-allow rules the kernel refuses cost nothing (as the manager's own warning).
    const optional = (config.resources.devices ?? []).every((d) => d.allow);
    const setDevices = (dir: string, insns: Uint8Array) => void (deviceProgram = { dir, insns, optional });
    const created = new Date().toISOString();
    let cgroupPaths: Record<string, string> = {};
    let saved: Record<string, string> | undefined; // the cgroupPaths of the record(0) on disk
    const record = (pid: number, timeline?: [number, number][]): SavedState => ({
      ociVersion: OCI_VERSION, id, pid, pidStart: pid > 0 ? processStartTime(pid) : 0, bundle: o.bundle,
      rootfs: config.rootfs, created, owner: "", annotations: { ...config.annotations },
      cgroupPaths: { ...cgroupPaths }, poststart: config.hooks.poststart, poststop: config.hooks.poststop, spec: config.spec,
      ...(timeline?.length ? { timeline: timeline.map(([i, ms]) => [steps[i]!.describe, ms] as const) } : {}),
    });
    cgroup = timed("create the cgroup and apply limits", () => createCgroup(config, id, host, (planned) => {
      existed = Object.values(planned.paths).some((d) => existsSync(d));
      // Recorded before the first cgroup directory exists: a runtime killed from here on leaves
      // a state that `delete --force` finds, with the cgroup to remove (pid 0: nothing started).
      cgroupPaths = planned.paths;
      store.save(record(0));
      saved = { ...cgroupPaths };
    }, setDevices));
    const cg = cgroup;
    cgroupPaths = cg?.paths ?? {};
    if (cg && existed && o.onWarning) {
      // runc's warning: whatever is in there already shares the limits, and `delete` kills it.
      const n = cg.processes().length;
      if (n > 0) o.onWarning(`container's cgroup is not empty: ${n} process(es) found`);
    }
    const hookState: State = { ociVersion: OCI_VERSION, id, status: "creating", bundle: o.bundle, ...(Object.keys(config.annotations).length ? { annotations: config.annotations } : {}) };
    const json = JSON.stringify({ ...hookState, pid: 0 });
    const at = json.indexOf('"pid":0') + 6;
    // Compiled in the runtime, loaded by the child (the cache makes Docker's profile ~1 ms).
    // Imported only when asked for: libseccomp and its cache stay off the common start path.
    const seccomp = config.seccomp ? (await import("../seccomp/cache.ts")).compileSeccompCached(config.seccomp, join(o.root, ".seccomp-cache")) : undefined;
    const steps = buildPlan(config, {
      ...(seccomp ? { seccomp: { bpf: seccomp.bpf, flags: seccomp.flags } } : {}),
      mode,
      fifoPath: store.fifo(id),
      ...cgroupPlacement(cg),
      ...(deviceProgram ? { deviceProgram } : {}),
      cgroupHierarchies: cg ? hierarchies(cg, host) : [],
      rootless: ROOTLESS,
      noPivot: o.noPivot ?? false,
      preserveFds: o.preserveFds ?? 0,
      hookState: [json.slice(0, at), json.slice(at + 1)],
      hostHasKcore: existsSync("/proc/kcore"),
      ...(o.consoleSocket ? { consoleSocket: o.consoleSocket } : {}),
    });
    // Recorded again before the process exists when the cgroup as made differs from the one
    // recorded (none when rootless without delegation): if this runtime dies mid-create (killed,
    // OOM), a `delete --force` still finds the cgroup — and with it every process already in it.
    if (o.pidFile) checkPidFile(o.pidFile);
    if (!samePaths(saved, cgroupPaths)) store.save(record(0));
    const t0 = performance.now();
    const launched = await launch(steps, {
      preserveFds: o.preserveFds ?? 0, explain: o.explain ?? explain.enabled, foreground: mode === "foreground",
      ...(o.launchVia ? { via: o.launchVia } : {}),
      ...(o.stdio ? { stdio: [...o.stdio, ...Array.from({ length: o.preserveFds ?? 0 }, (_, i) => 3 + i)] } : {}),
    });
    if (explain.enabled) explain.emit({ step: "phase", detail: "berth-init: spawn to READY", ms: performance.now() - t0, who: "runtime" });
    pid = launched.pid;
    const state = record(pid, launched.timeline);
    store.save(state);
    if (o.pidFile) writeAtomic(o.pidFile, String(pid));
    return { state, ...(launched.helper ? { helper: launched.helper } : {}), config, ...(cgroup ? { cgroup } : {}) };
  } catch (e) {
    // Leave nothing behind: the process, its cgroup, the state directory.
    if (pid > 0) try { process.kill(pid, "SIGKILL"); } catch {}
    try { cgroup?.destroy(); } catch {}
    store.remove(id);
    throw e;
  }
}

/** `start`: release a created container from its wait before execve, then poststart hooks. */
export async function start(root: string, id: string): Promise<void> {
  const store = new StateStore(root);
  const s = store.load(id);
  const status = store.status(s);
  if (status !== "created") throw failedPrecondition(`cannot start container "${id}": it is ${status}, not created`, "container-id");
  const fifo = store.fifo(id);
  let fd: number;
  try {
    fd = openSync(fifo, fsc.O_WRONLY | fsc.O_NONBLOCK);
  } catch (e) {
    throw failedPrecondition(`cannot start container "${id}": its init is not waiting (${(e as Error).message})`, "container-id");
  }
  try {
    writeSync(fd, "0");
  } finally {
    closeSync(fd);
  }
  try { unlinkSync(fifo); } catch {}
  if (s.poststart.length > 0) await untilExecuted(s.pid);
  await runHooks(s.poststart, publicState(s, "running"), { warnOnly: true });
}

/**
 * poststart hooks run "after the user-specified process is executed" (runtime-spec config.md):
 * wait until the init is no longer berth-init (its startContainer hooks done, execve made), or
 * gone. Usually well under a millisecond after READY or the fifo write.
 */
async function untilExecuted(pid: number, timeoutMs = 2000): Promise<void> {
  for (const t0 = performance.now(); performance.now() - t0 < timeoutMs; await Bun.sleep(1)) {
    try {
      if (!readlinkSync(`/proc/${pid}/exe`).startsWith("/memfd:berth-init")) return;
    } catch {
      return; // exited, or no longer ours to inspect: either way past execve
    }
  }
}

export interface RunResult {
  readonly status: number;
}

/** `run`: create + start in one go; foreground waits and returns the exit status. */
export async function run(o: CreateOptions & { keep?: boolean; detach?: boolean }): Promise<RunResult> {
  const mode = o.detach ? "detach" : "foreground";
  const c = await create({ ...o, mode });
  if (c.state.poststart.length > 0) await untilExecuted(c.state.pid);
  await runHooks(c.state.poststart, publicState(c.state, "running"), { warnOnly: true });
  if (o.detach) return { status: 0 };
  const stop = (await import("./launch.ts")).forwardSignals(c.state.pid);
  const status = await c.helper!.exited;
  stop();
  if (!o.keep) await destroy(new StateStore(o.root), c.state, c.cgroup);
  return { status };
}

export function kill(root: string, id: string, signal: number, all = false): void {
  const store = new StateStore(root);
  const s = store.load(id);
  const status = store.status(s);
  if (all) {
    const pids = openCgroupManager({ id, paths: s.cgroupPaths }).processes();
    if (pids.length === 0 && status === "stopped") throw failedPrecondition(`container "${id}" is not running`, "container-id");
    for (const p of pids) try { process.kill(p, signal); } catch {}
    return;
  }
  if (status === "stopped") throw failedPrecondition(`container "${id}" is not running`, "container-id");
  if (status === "creating") throw failedPrecondition(`container "${id}" is still being created: wait, or delete --force it`, "container-id");
  process.kill(s.pid, signal);
}

export async function remove(root: string, id: string, force = false): Promise<void> {
  const store = new StateStore(root);
  let s: SavedState;
  try {
    s = store.load(id);
  } catch (e) {
    // `delete --force` of a container that is already gone succeeds (runc does the same); a
    // directory without a state is a create killed before it made anything else: it goes.
    if (force && e instanceof BerthError && e.code === "NotFound") {
      if (!id.includes("/") && id !== "." && id !== "..") store.remove(id);
      return;
    }
    throw e;
  }
  const status = store.status(s);
  if (status === "running" || status === "paused" || status === "creating") {
    if (!force) throw failedPrecondition(`cannot delete container "${id}" that is ${status}: stop it first or use --force`, "container-id");
  }
  await destroy(store, s);
}

/** `cgroup`: the manager create() made, when the same process removes it (foreground run). */
async function destroy(store: StateStore, s: SavedState, cgroup?: CgroupManager): Promise<void> {
  if (processAlive(s.pid, s.pidStart)) {
    try { process.kill(s.pid, "SIGKILL"); } catch {}
    for (let i = 0; i < 200 && processAlive(s.pid, s.pidStart); i++) await Bun.sleep(5);
  }
  if (Object.keys(s.cgroupPaths).length > 0) timed("remove the cgroup", () => (cgroup ?? openCgroupManager({ id: s.id, paths: s.cgroupPaths })).destroy());
  store.remove(s.id);
  await runHooks(s.poststop, publicState(s, "stopped"), { warnOnly: true });
}

export function state(root: string, id: string): ReturnType<typeof publicState> {
  const store = new StateStore(root);
  const s = store.load(id);
  return publicState(s, statusOf(store, s));
}

export function list(root: string): ReturnType<typeof publicState>[] {
  const store = new StateStore(root);
  const out: ReturnType<typeof publicState>[] = [];
  for (const id of store.ids()) {
    try {
      const s = store.load(id);
      out.push(publicState(s, statusOf(store, s)));
    } catch {
      // A container deleted while listing: skip it.
    }
  }
  return out;
}

function statusOf(store: StateStore, s: SavedState): Status {
  return store.status(s, () => frozen(() => openCgroupManager({ id: s.id, paths: s.cgroupPaths })));
}

const ROOTLESS = process.geteuid?.() !== 0;

function samePaths(a: Record<string, string> | undefined, b: Record<string, string>): boolean {
  if (!a) return false;
  const keys = Object.keys(b);
  return keys.length === Object.keys(a).length && keys.every((k) => a[k] === b[k]);
}

/** Resources that are limits (device rules are added by berth itself for every container). */
function hasLimits(r: RuntimeConfig["resources"]): boolean {
  return Object.entries(r).some(([k, v]) => k !== "devices" && v !== undefined && v !== null);
}

/**
 * The container's cgroup. Rootless, without a cgroup delegated to us, a container without limits
 * runs in our own cgroup (as runc does); one with limits fails with the reason.
 */
/** `before` sees the cgroup's directories before they are made (to warn only about reused ones). */
function createCgroup(config: RuntimeConfig, id: string, host: HostCgroups, before?: (planned: CgroupManager) => void, setDevices?: DeviceProgramSetter): CgroupManager | undefined {
  const cg = openCgroupManager({ ...(config.cgroupsPath !== undefined ? { cgroupsPath: config.cgroupsPath } : {}), id, host, ...(setDevices ? { setDevices } : {}) });
  before?.(cg);
  try {
    cg.create(ROOTLESS ? { ...config.resources, devices: [] } : config.resources);
    return cg;
  } catch (e) {
    if (!(ROOTLESS && e instanceof BerthError && e.code === "PermissionDenied")) throw e;
    if (hasLimits(config.resources))
      throw new BerthError("PermissionDenied", `linux.resources: running rootless (uid ${process.geteuid!()}), and this host does not delegate a cgroup to you, so limits cannot be applied: ${e.message}. Remove linux.resources or run as root`, "linux.resources");
    return undefined;
  }
}

function hierarchies(cg: CgroupManager, host: HostCgroups): CgroupHierarchy[] {
  const out: CgroupHierarchy[] = [];
  const dirs = new Set(Object.values(cg.paths));
  for (const m of host.mounts) {
    const dir = [...dirs].find((d) => d === m.mountPoint || d.startsWith(m.mountPoint + "/"));
    if (!dir) continue;
    if (cg.driver === "v1" && m.fsType === "cgroup2") continue;
    out.push({ mountPoint: m.mountPoint, dir, controllers: m.controllers, v2: m.fsType === "cgroup2" });
  }
  return out;
}

export type { HookConfig };
