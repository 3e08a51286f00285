// Containers in the engine: create (record + snapshot + volumes), start (mount, bundle, monitor,
// runtime create/start), stop/kill/restart/wait, cleanup after an exit, remove, rename, pause,
// list and inspect — each reconciling the record with what the container's monitor wrote, so a
// killed berth process, a killed monitor or a reboot are seen for what they are.
// Lifecycle changes of one container are serialized by its lock (lock.ts); records go through
// short SQLite statements.
import { existsSync, lstatSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, posix } from "node:path";
import { randomString } from "../sys/digest.ts";
import { hostname as hostHostname } from "node:os";
import { BerthError, conflict, failedPrecondition, invalidArgument, isBerthError, notFound } from "../sys/errdefs.ts";
import { parseSignal, signalName } from "../sys/signals.ts";
import { timed } from "../explain/channel.ts";
import { resolveInRoot } from "../image/resolve-in-root.ts";
import type { ImageConfigFile } from "../image/config-to-spec.ts";
import { checkContainerName, type ContainerRecord, type ContainerUpdate } from "../metadata/containers.ts";
import { applyLayers } from "../snapshots/apply-layers.ts";
import { mountAll, unmountAll } from "../snapshots/mount.ts";
import { mountIdmapped } from "./idmapped-rootfs.ts";
import { clearVolatileMarkers, volatileOverlays } from "../snapshots/overlay.ts";
import { ATTACH, AttachClient, type AttachHandlers } from "../monitor/attach.ts";
import { initLayer } from "./init-layer.ts";
import { consoleSocketPath, findBinary, monitorAlive, monitorEventsSize, readMonitorEvents, readStatus, spawnMonitor, type MonitorStatus } from "../monitor/monitor.ts";
import type { Engine } from "./engine.ts";
import { findImage } from "./images.ts";
import { generateName } from "./names.ts";
import { releaseFor } from "./lock.ts";
import { stopSignalOf, toOciSpec, validateSpec, type ContainerSpec, type HealthcheckSpec } from "./spec.ts";
import { copyUp, createVolume, removeVolume } from "./volumes.ts";
import { collectDeadOwners } from "./gc.ts";
import { setupNetwork, teardownNetwork, usesCni } from "./network.ts";
import { netnsPathFor } from "../network/netns.ts";
import { collectContainerExecs } from "./exec-collect.ts";

/** What the engine works out once, at create, from the image and the spec. */
export interface Resolved {
  /** The command (docker's Path and Args). */
  path: string;
  args: string[];
  stopSignal: string;
  stopTimeout: number;
  exposedPorts: string[];
  /** Every volume mount: the image's VOLUMEs and the spec's, by name. */
  volumes: { target: string; name: string; anonymous: boolean }[];
  healthcheck?: HealthcheckSpec;
  logPath: string;
  /** The image config's labels and its env, user, workdir (docker's Config merges them). */
  imageLabels: Record<string, string>;
  /** As the last start ran it (filled in at start, from the runtime spec). */
  env?: string[];
  workdir?: string;
  user?: string;
  hostname?: string;
}

export type Container = ContainerRecord<ContainerSpec, Resolved>;

/** A start that failed the way docker reports it: the exit code a shell would give, the reason. */
export class StartError extends BerthError {
  constructor(message: string, readonly exitCode: number, field?: string) {
    super("InvalidArgument", message, field);
  }
}

const RUNNING = new Set(["running", "restarting", "paused"]);
const DEFAULT_LOG = { driver: "json-file" as const, maxSize: 10 * 1024 * 1024, maxFiles: 3 };

const asContainer = (r: ContainerRecord): Container => r as Container;

function exists(e: Engine, id: string): boolean {
  try {
    e.containers.get(id);
    return true;
  } catch {
    return false;
  }
}

// ---- create ----------------------------------------------------------------------------------

export interface CreateOptions {
  /** The environment NAME-only `env` entries were resolved from (the CLI's own). */
  hostEnv?: Record<string, string | undefined>;
}

function imageCommand(spec: ContainerSpec, cfg: ImageConfigFile): string[] {
  const c = cfg.config ?? {};
  if (spec.entrypoint !== undefined) return [...spec.entrypoint, ...(spec.command ?? [])];
  return [...(c.Entrypoint ?? []), ...(spec.command?.length ? spec.command : (c.Cmd ?? []))];
}

export async function createContainer(e: Engine, spec: ContainerSpec): Promise<Container> {
  validateSpec(spec);
  if (spec.name !== undefined) {
    checkContainerName(spec.name);
    if (e.containers.nameTaken(spec.name)) {
      const other = e.containers.find(spec.name);
      throw conflict(`the container name "/${spec.name}" is already in use by container "${other.id}". You have to remove (or rename) that container to be able to reuse that name.`, "name");
    }
  }
  const img = await findImage(e, spec.image);
  if (!img) throw notFound(`No such image: ${spec.image}`, "image");
  const cfg = img.configDoc;
  const diffIDs = cfg.rootfs?.diff_ids ?? [];
  if (diffIDs.length !== img.layers.length) {
    throw invalidArgument(`image ${spec.image}: its config lists ${diffIDs.length} layers, its manifest ${img.layers.length}; the image is broken, pull it again`, "image");
  }
  const command = imageCommand(spec, cfg);
  if (command.length === 0) throw invalidArgument("no command specified: the image has no Entrypoint or Cmd; give one after the image name", "command");
  const stopSignal = signalName(stopSignalOf(spec, cfg));

  const sn = await e.snapshotter();
  mkdirSync(e.tmp, { recursive: true });
  collectDeadOwners(e);
  const layers = img.layers.map((l, i) => ({ diffID: diffIDs[i]!, data: () => e.content.read(l.digest) }));
  const { chainID } = await timed("engine", "snapshot", "unpack the image's layers into snapshots", () => applyLayers(sn, layers, e.tmp));

  // Volumes: the spec's volume mounts, then the image's VOLUMEs no mount covers (anonymous).
  const volumes: Resolved["volumes"] = [];
  const covered = new Set((spec.mounts ?? []).map((m) => posix.normalize(m.target)));
  for (const m of spec.mounts ?? []) if (m.type === "volume") volumes.push({ target: posix.normalize(m.target), name: m.source ?? "", anonymous: !m.source });
  for (const v of Object.keys(cfg.config?.Volumes ?? {}).map((p) => posix.normalize(p)).sort()) {
    if (!covered.has(v)) volumes.push({ target: v, name: "", anonymous: true });
  }
  const made: string[] = [];
  try {
    for (const v of volumes) {
      const rec = createVolume(e, v.anonymous ? { anonymous: true } : { name: v.name });
      if (v.anonymous) made.push(rec.name);
      v.name = rec.name;
    }
  } catch (err) {
    for (const n of made) removeVolume(e, n, { force: true });
    throw err;
  }

  const id = randomString(32);
  const key = `container-${id}`;
  const c = cfg.config ?? {};
  const resolved: Resolved = {
    path: command[0]!, args: command.slice(1), stopSignal, stopTimeout: spec.stopTimeout ?? 10,
    exposedPorts: Object.keys(c.ExposedPorts ?? {}).sort(), volumes,
    ...(spec.healthcheck ?? imageHealthcheck(cfg) ? { healthcheck: spec.healthcheck ?? imageHealthcheck(cfg)! } : {}),
    logPath: spec.log?.path ?? join(e.containerDataDir(id), `${id}-json.log`),
    imageLabels: { ...(c.Labels ?? {}) },
  };
  let rec: Container | undefined;
  for (let attempt = 0; !rec; attempt++) {
    const name = spec.name ?? generateName((n) => e.containers.nameTaken(n));
    try {
      rec = asContainer(e.containers.create({ id, name, image: spec.image, imageId: img.id, snapshotKey: key, spec, resolved, labels: { ...(c.Labels ?? {}), ...(spec.labels ?? {}) } }));
    } catch (err) {
      // A generated name taken by a concurrent create: draw another. A given one is the user's.
      if (spec.name !== undefined || attempt > 20 || !isBerthError(err, "AlreadyExists")) {
        for (const n of made) removeVolume(e, n, { force: true });
        throw err;
      }
    }
  }
  try {
    const parent = await timed("engine", "snapshot", "the image's init layer (its mount points)", () => initLayer(sn, chainID, e.tmp));
    await timed("engine", "snapshot", `prepare the container's snapshot ${key}`, () => sn.prepare(key, parent === "" ? undefined : parent, { labels: { "berth.container": id } }));
  } catch (err) {
    e.containers.delete(id);
    for (const n of made) removeVolume(e, n, { force: true });
    throw err;
  }
  e.emit({ type: "container", action: "create", actor: id, attributes: { name: rec.name, image: spec.image } });
  return rec;
}

/** The image's HEALTHCHECK (docker's config field; OCI configs do not have it). */
function imageHealthcheck(cfg: ImageConfigFile): HealthcheckSpec | undefined {
  const h = (cfg.config as { Healthcheck?: { Test?: string[]; Interval?: number; Timeout?: number; StartPeriod?: number; StartInterval?: number; Retries?: number } } | undefined)?.Healthcheck;
  if (!h?.Test?.length) return undefined;
  const ms = (ns?: number) => (ns ? Math.round(ns / 1e6) : undefined);
  return {
    test: h.Test,
    ...(ms(h.Interval) ? { intervalMs: ms(h.Interval)! } : {}),
    ...(ms(h.Timeout) ? { timeoutMs: ms(h.Timeout)! } : {}),
    ...(ms(h.StartPeriod) ? { startPeriodMs: ms(h.StartPeriod)! } : {}),
    ...(ms(h.StartInterval) ? { startIntervalMs: ms(h.StartInterval)! } : {}),
    ...(h.Retries ? { retries: h.Retries } : {}),
  };
}

// ---- finding and reconciling -------------------------------------------------------------

/** The container `ref` names (name, id, unique id prefix), reconciled with its monitor. */
export async function getContainer(e: Engine, ref: string): Promise<Container> {
  const c = asContainer(e.containers.find(ref));
  return reconcile(e, c);
}

export interface ListOptions {
  all?: boolean;
  /** Only the records this keeps, judged on the stored record before its reconcile (what its spec
   * says: a pod's infra container, a pod's member), so the others are not reconciled at all. */
  where?: (c: Container) => boolean;
}

export async function listContainers(e: Engine, o: ListOptions = {}): Promise<Container[]> {
  const out: Container[] = [];
  for (const r of e.containers.list()) {
    if (o.where && !o.where(asContainer(r))) continue;
    const c = await reconcile(e, asContainer(r));
    if (o.all || RUNNING.has(c.state)) out.push(c);
  }
  return out;
}

/**
 * Bring a running record up to date with its monitor: a restart (new pid, count), an exit (the
 * monitor's durable record), a monitor that died without one. An ended container's resources
 * are collected here when nobody else is doing it (its lock is free), so the next berth command
 * after a crash finds a clean state.
 */
export async function reconcile(e: Engine, c: Container): Promise<Container> {
  if (!RUNNING.has(c.state)) return c;
  const dir = e.containerDir(c.id);
  const st = readStatus(dir);
  if (st && monitorAlive(st) && st.state !== "exited") {
    importMonitorEvents(e, c, dir);
    const running = st;
    // What the monitor's record changes in `r`: a restart (pid, count, the health check starting
    // over), restarting or running again, the start time.
    const changes = (r: Container): ContainerUpdate => {
      const u: ContainerUpdate = {};
      if (running.pid !== r.pid && running.pid > 0) u.pid = running.pid;
      if (running.restartCount !== r.restartCount) {
        u.restartCount = running.restartCount;
        // docker: a restarted container's health check starts over (its log is kept).
        const h = r.health as { status: string; failingStreak: number } | undefined;
        if (h) u.health = { ...h, status: "starting", failingStreak: 0 };
      }
      const state = running.state === "restarting" ? "restarting" : r.state === "paused" ? "paused" : "running";
      if (state !== r.state) u.state = state;
      if (running.state === "running" && running.startedAt && (!r.startedAt || Date.parse(running.startedAt) > r.startedAt.getTime() + 1)) u.startedAt = new Date(Date.parse(running.startedAt));
      return u;
    };
    if (Object.keys(changes(c)).length === 0) return c;
    // Written from the record as it is now, in one transaction: `c` may be older than another
    // process's pause, health result or reconcile (listContainers reads every record first).
    return e.meta.write(() => {
      const fresh = asContainer(e.containers.get(c.id));
      if (!RUNNING.has(fresh.state)) return fresh; // ended and collected meanwhile
      const u = changes(fresh);
      if (Object.keys(u).length === 0) return fresh;
      e.containers.update(c.id, u);
      return asContainer(e.containers.get(c.id));
    });
  }
  // Ended (or its monitor is gone): collect it, unless another berth process holds its lock
  // (that one is starting, stopping or cleaning it right now).
  const lock = e.locks.tryAcquire(c.id);
  if (!lock) return { ...c, ...endedView(st) };
  let removed = false;
  try {
    const fresh = asContainer(e.containers.get(c.id));
    if (!RUNNING.has(fresh.state)) return fresh;
    removed = await cleanupLocked(e, fresh);
  } catch (err) {
    if (isBerthError(err, "NotFound")) return { ...c, state: "exited" };
    throw err;
  } finally {
    if (removed) lock.releaseAndRemove();
    else releaseFor(lock, () => exists(e, c.id));
  }
  try {
    return asContainer(e.containers.get(c.id));
  } catch {
    return { ...c, ...endedView(st), state: "removing" };
  }
}

/** What an ended container looks like before its record is updated. */
function endedView(st: MonitorStatus | undefined): Partial<Container> {
  if (st?.state === "exited") {
    return { state: "exited", exitCode: st.exitCode, oomKilled: st.oomKilled, pid: 0, ...(st.finishedAt ? { finishedAt: new Date(Date.parse(st.finishedAt)) } : {}) };
  }
  return { state: "dead", pid: 0 };
}

/**
 * The monitor's events past the offset recorded, as engine events, and the offset moved past
 * them, in one write transaction: the offset is read inside it, never from `c`, which a caller
 * may have read before another reconcile (in this process or another) imported the same lines.
 * Most reconciles find nothing new: a stat against `c`'s offset says so without the transaction
 * (the recorded offset is never behind a record read earlier; a restarted monitor's new file
 * smaller than a stale offset waits for the next reconcile, and an exit is always collected
 * from a record read under the container's lock).
 */
function importMonitorEvents(e: Engine, c: Container, dir: string): void {
  if (monitorEventsSize(dir) <= c.monitorEventsOffset) return;
  e.meta.write(() => {
    let from: number;
    try {
      from = e.containers.get(c.id).monitorEventsOffset;
    } catch (err) {
      if (isBerthError(err, "NotFound")) return; // removed meanwhile: its events went with it
      throw err;
    }
    const { events, offset } = readMonitorEvents(dir, from);
    if (offset === from) return;
    // The first "start" of a monitor is the engine's own start event; later ones follow restarts.
    let skipFirstStart = from === 0;
    for (const ev of events) {
      if (ev.action === "start" && skipFirstStart) {
        skipFirstStart = false;
        continue;
      }
      const attributes: Record<string, string> = { name: c.name, image: c.image };
      if (ev.action === "die") attributes.exitCode = String(ev.exitCode ?? 0);
      e.emit({ type: "container", action: ev.action, actor: c.id, attributes, time: Math.round(ev.time / 1000) });
    }
    e.containers.update(c.id, { monitorEventsOffset: offset });
  });
}

// ---- start -------------------------------------------------------------------------------

export interface StartOptions {
  /** Connect to the monitor before the container starts (nothing it writes is missed). */
  attach?: { stdin?: boolean; stdout?: boolean; stderr?: boolean; handlers?: AttachHandlers; takeCleanup?: boolean };
  hostEnv?: Record<string, string | undefined>;
}

export interface StartResult {
  container: Container;
  /** The container was running already (docker answers 304). */
  alreadyRunning?: boolean;
  attach?: AttachClient;
}

export async function startContainer(e: Engine, ref: string, o: StartOptions = {}): Promise<StartResult> {
  const first = asContainer(e.containers.find(ref));
  const lock = await e.locks.acquire(first.id, "start it");
  try {
    const c = await reconcileLocked(e, first.id);
    if (c.state === "running" || c.state === "restarting") return { container: c, alreadyRunning: true };
    if (c.state === "paused") throw conflict(`cannot start a paused container ${c.name}: unpause it instead`, "container");
    if (c.state === "removing") throw conflict(`container ${c.name} is being removed`, "container");
    return await launch(e, c, o);
  } finally {
    releaseFor(lock, () => exists(e, first.id));
  }
}

/** The record, reconciled while we hold the lock (collecting an exit we find). */
async function reconcileLocked(e: Engine, id: string): Promise<Container> {
  const c = asContainer(e.containers.get(id));
  if (!RUNNING.has(c.state)) return c;
  const st = readStatus(e.containerDir(id));
  if (st && monitorAlive(st) && st.state !== "exited") return reconcile(e, c);
  await cleanupLocked(e, c, { keep: true });
  return asContainer(e.containers.get(id));
}

const HOSTS_HEAD = [
  "127.0.0.1\tlocalhost",
  "::1\tlocalhost ip6-localhost ip6-loopback",
  "fe00::0\tip6-localnet",
  "ff00::0\tip6-mcastprefix",
  "ff02::1\tip6-allnodes",
  "ff02::2\tip6-allrouters",
];

function readHostFile(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

/** /etc/hosts, /etc/hostname, /etc/resolv.conf for a container: files in its runtime dir. */
function writeEtcFiles(dir: string, hostname: string, mode: "own" | "host"): { hosts: string; hostname: string; resolvConf: string } {
  const hosts = mode === "host" ? readHostFile("/etc/hosts") : [...HOSTS_HEAD, ""].join("\n");
  // The host's loopback name servers cannot be reached from a container's own network namespace.
  const resolv = mode === "host" ? readHostFile("/etc/resolv.conf")
    : readHostFile("/etc/resolv.conf").split("\n").filter((l) => !/^\s*nameserver\s+(127\.|::1)/.test(l)).join("\n");
  const files = { hosts: join(dir, "hosts"), hostname: join(dir, "hostname"), resolvConf: join(dir, "resolv.conf") };
  writeFileSync(files.hosts, hosts, { mode: 0o644 });
  writeFileSync(files.hostname, `${hostname}\n`, { mode: 0o644 });
  writeFileSync(files.resolvConf, resolv, { mode: 0o644 });
  return files;
}

/** Create the working directory in the rootfs as docker does, following links inside it only. */
export function makeWorkdir(rootfs: string, cwd: string): void {
  let at = "/";
  for (const part of cwd.split("/").filter(Boolean)) {
    const next = posix.join(at, part);
    const host = resolveInRoot(rootfs, next);
    if (host === undefined) {
      const parent = resolveInRoot(rootfs, at);
      if (parent === undefined) throw invalidArgument(`working directory ${cwd}: cannot resolve ${at} in the image`, "workdir");
      mkdirSync(join(parent, part), { mode: 0o755 });
    } else if (!lstatSync(host).isDirectory()) {
      throw invalidArgument(`working directory ${cwd}: ${next} is not a directory in the image`, "workdir");
    }
    at = next;
  }
}

/**
 * containerd's restrict_oom_score_adj: without CAP_SYS_RESOURCE the kernel refuses an
 * oom_score_adj below the writer's own (proc(5)), so a lower request (kubelet asks -998 for pod
 * sandboxes) is raised to this process's value instead of failing the start. `berth doctor`
 * reports the clamp; with the capability the value is kept.
 */
export function restrictOomScoreAdj(v: number): number {
  try {
    const status = readFileSync("/proc/self/status", "utf8");
    const eff = BigInt(`0x${/^CapEff:\s*([0-9a-f]+)/m.exec(status)?.[1] ?? "0"}`);
    if ((eff >> 24n) & 1n) return v; // CAP_SYS_RESOURCE (capabilities(7))
    const own = Number(readFileSync("/proc/self/oom_score_adj", "utf8").trim());
    return Number.isFinite(own) && v < own ? own : v;
  } catch {
    return v;
  }
}

function binaries(e: Engine) {
  return {
    berthInit: e.opts.berthInit ?? findBinary("berth-init", "BERTH_INIT"),
    monitor: e.opts.monitor ?? findBinary("berth-monitor", "BERTH_MONITOR"),
    runtime: e.opts.runtime ?? findBinary("berth-runtime", "BERTH_RUNTIME"),
  };
}

/** The OOM counter the monitor reads before and after: v1 memory.oom_control, v2 memory.events. */
function oomFile(paths: Record<string, string>): string | undefined {
  if (paths.memory) return join(paths.memory, "memory.oom_control");
  if (paths[""] !== undefined) return join(paths[""], "memory.events");
  return undefined;
}

async function launch(e: Engine, c: Container, o: StartOptions): Promise<StartResult> {
  const id = c.id;
  const spec = c.spec;
  const dir = e.containerDir(id);
  const rootfs = join(dir, "rootfs");
  rmSync(dir, { recursive: true, force: true }); // what an earlier start left (its monitor is gone)
  mkdirSync(rootfs, { recursive: true, mode: 0o711 });
  mkdirSync(e.containerDataDir(id), { recursive: true, mode: 0o710 });
  const sn = await e.snapshotter();
  let mounted = false;
  let monitor: Awaited<ReturnType<typeof spawnMonitor>> | undefined;
  let attach: AttachClient | undefined;
  let created = false;
  let mounts: Awaited<ReturnType<typeof sn.mounts>> = [];
  let net: ReturnType<typeof setupNetwork> | undefined;
  let monitorStarting: ReturnType<typeof spawnMonitor> | undefined;
  const mode = spec.network?.mode ?? "bridge";
  let hostname = spec.hostname ?? (mode === "host" ? hostHostname() : id.slice(0, 12));
  try {
    // The monitor and the network need neither the rootfs nor the bundle: both start now and go
    // on while the snapshot is mounted and config.json written (berth-monitor's fork, exec and
    // "ready", ~2 ms; the netns and CNI ADD, 10-20 ms, which the runtime's create then overlaps).
    const bin = binaries(e);
    const log = spec.log ?? DEFAULT_LOG;
    monitorStarting = timed("engine", "monitor", "start berth-monitor (holds stdio, reaps, records the exit)", () => spawnMonitor({
      id, dir, stdin: spec.stdin ?? false, tty: spec.tty ?? false,
      ...(log.driver === "none" ? {} : { log: { path: c.resolved.logPath, driver: log.driver, maxSize: log.maxSize ?? DEFAULT_LOG.maxSize, maxFiles: log.maxFiles ?? DEFAULT_LOG.maxFiles } }),
      restart: spec.restart ?? { name: "no" }, restartCount: c.restartCount,
      runtime: bin.runtime, runtimeRoot: e.runtimeRoot, bundle: dir, berthInit: bin.berthInit, monitor: bin.monitor,
      exitCommand: e.opts.exitCommand ? [...e.opts.exitCommand, id] : [],
      ...(healthInterval(c) && e.opts.healthCommand ? {
        health: {
          intervalMs: healthInterval(c)!, command: [...e.opts.healthCommand, id],
          // docker's defaults: a 5 s start interval, used only within a start period.
          ...(c.resolved.healthcheck?.startPeriodMs ? { startPeriodMs: c.resolved.healthcheck.startPeriodMs, startIntervalMs: c.resolved.healthcheck.startIntervalMs ?? 5000 } : {}),
        },
      } : {}),
    }));
    monitorStarting.catch(() => {});
    if (usesCni(mode)) {
      // CNI ADD runs on while the monitor and the runtime create the container in the netns;
      // start waits for it (below).
      net = setupNetwork(e, c, hostname);
    }
    const cfg = JSON.parse(new TextDecoder().decode(await e.content.read(c.imageId))) as ImageConfigFile;
    // A --rm container's writable layer is removed at its exit: no sync of it, ever.
    mounts = spec.autoRemove ? volatileOverlays(await sn.mounts(c.snapshotKey)) : await sn.mounts(c.snapshotKey);
    // A user namespace (a pod's): joined from the container that has it, or a new one.
    let userns: Parameters<typeof toOciSpec>[2]["userns"];
    if (spec.userns?.join?.startsWith("container:")) {
      const other = await getContainer(e, spec.userns.join.slice("container:".length));
      if (other.state !== "running") throw failedPrecondition(`cannot join the user namespace of container ${other.name}: it is not running`, "userns");
      userns = { kind: "path", path: `/proc/${other.pid}/ns/user` };
    } else if (spec.userns) userns = { kind: "new" };
    if (spec.userns) {
      const u = spec.userns;
      await timed("engine", "mount", `mount idmapped ${mounts.map((m) => m.type).join("+")} on ${rootfs}`, () =>
        mountIdmapped(mounts, rootfs, join(dir, "idmap"), { uidMappings: u.uidMappings, gidMappings: u.gidMappings, ...(userns?.kind === "path" ? { usernsPath: userns.path } : {}) }, { helper: binaries(e).berthInit }));
    } else {
      timed("engine", "mount", `mount ${mounts.map((m) => m.type).join("+")} on ${rootfs}`, () => mountAll(mounts, rootfs));
    }
    mounted = true;

    const volumePaths = new Map<string, string>();
    for (const v of c.resolved.volumes) {
      const rec = createVolume(e, { name: v.name, anonymous: v.anonymous });
      const m = (spec.mounts ?? []).find((x) => x.type === "volume" && posix.normalize(x.target) === v.target);
      if (!c.startedAt && !m?.noCopy) await copyUp(rootfs, v.target, rec.mountpoint);
      volumePaths.set(v.target, rec.mountpoint);
    }

    // Network: bridge or a user network (CNI), none (own namespace, loopback), host, or
    // another container's.
    let netns: Parameters<typeof toOciSpec>[2]["netns"] = { kind: "new" };
    let etc: ReturnType<typeof writeEtcFiles>;
    if (mode.startsWith("container:")) {
      const other = await getContainer(e, mode.slice("container:".length));
      if (other.state !== "running") throw failedPrecondition(`cannot join the network of container ${other.name}: it is not running`, "network");
      netns = { kind: "path", path: `/proc/${other.pid}/ns/net` };
      const od = e.containerDir(other.id);
      hostname = spec.hostname ?? other.resolved.hostname ?? other.id.slice(0, 12);
      etc = { hosts: join(od, "hosts"), hostname: join(od, "hostname"), resolvConf: join(od, "resolv.conf") };
    } else if (net) {
      // The /etc files the plugins' result fills are made empty now (the spec bind-mounts them
      // at create) and written in place before the process runs.
      netns = { kind: "path", path: netnsPathFor(e.opts.runroot, id) }; // made by net.netns, awaited before create
      etc = { hosts: join(dir, "hosts"), hostname: join(dir, "hostname"), resolvConf: join(dir, "resolv.conf") };
      for (const f of Object.values(etc)) writeFileSync(f, "", { mode: 0o644 });
    } else {
      if (mode === "host") netns = { kind: "host" };
      etc = writeEtcFiles(dir, hostname, mode === "host" ? "host" : "own");
    }
    // IPC, UTS, PID: private, the host's, or another running container's (a pod's infra).
    const namespaces: NonNullable<Parameters<typeof toOciSpec>[2]["namespaces"]> = {};
    for (const [type, how] of [["ipc", spec.ipc], ["uts", spec.uts], ["pid", spec.pidMode]] as const) {
      if (how === "host") namespaces[type] = { kind: "host" };
      else if (how?.startsWith("container:")) {
        const other = await getContainer(e, how.slice("container:".length));
        if (other.state !== "running") throw failedPrecondition(`cannot join the ${type} namespace of container ${other.name}: it is not running`, type);
        namespaces[type] = { kind: "path", path: `/proc/${other.pid}/ns/${type}` };
      }
    }
    const cgroupsPath = `${spec.cgroupParent ? `${spec.cgroupParent.replace(/\/+$/, "")}/` : ""}berth-${id}`;
    // The image's VOLUMEs no mount of the spec covers are mounted as their anonymous volumes.
    const own = new Set((spec.mounts ?? []).map((m) => posix.normalize(m.target)));
    const imageVolumes = c.resolved.volumes.filter((v) => !own.has(v.target)).map((v) => ({ type: "volume" as const, source: v.name, target: v.target }));
    const oci = toOciSpec(cfg, { ...spec, hostname, mounts: [...(spec.mounts ?? []), ...imageVolumes] }, { id, rootfs, volumePaths, etc, netns, namespaces, ...(userns ? { userns } : {}), cgroupsPath, hostEnv: o.hostEnv ?? {} });
    if (oci.process!.oomScoreAdj !== undefined) oci.process!.oomScoreAdj = restrictOomScoreAdj(oci.process!.oomScoreAdj);
    makeWorkdir(rootfs, oci.process!.cwd);
    writeFileSync(join(dir, "config.json"), JSON.stringify(oci));

    monitor = await monitorStarting;
    if (o.attach) {
      const a = o.attach;
      const flags = (a.stdout ? ATTACH.stdout : 0) | (a.stderr ? ATTACH.stderr : 0) | (a.stdin ? ATTACH.stdin : 0) | (a.takeCleanup ? ATTACH.cleanup : 0);
      attach = await AttachClient.connect(dir, flags, a.handlers ?? {});
    }
    const { create, start } = await import("../runtime/container.ts");
    const consoleSocket = spec.tty ? consoleSocketPath(dir, monitor.pid) : undefined;
    if (net) await net.netns;
    const made = await create({
      root: e.runtimeRoot, id, bundle: dir, mode: "create", launchVia: { sock: monitor.initSock },
      ...(consoleSocket ? { consoleSocket } : {}), explain: e.opts.explain ?? false,
    });
    created = true;
    monitor.started(made.state.pid, oomFile(made.state.cgroupPaths));
    if (net) {
      // Written in place (the same inodes the container's mounts hold), before its process runs.
      const { result } = await timed("engine", "network", "wait for CNI ADD (run beside the runtime's create)", () => net!.done);
      writeFileSync(etc.hosts, result.etc.hosts);
      writeFileSync(etc.hostname, result.etc.hostname);
      writeFileSync(etc.resolvConf, result.etc.resolvConf);
    }
    await start(e.runtimeRoot, id);
    // docker forgets a container's exec sessions when it starts again; a health check starts over.
    e.execs.deleteFor(id);
    const prevHealth = c.health as { log?: unknown[] } | undefined;
    const u: ContainerUpdate = {
      state: "running", pid: made.state.pid, startedAt: new Date(), exitCode: 0, oomKilled: false, error: "", monitorEventsOffset: 0,
      ...(healthInterval(c) ? { health: { status: "starting", failingStreak: 0, log: prevHealth?.log ?? [] } } : {}),
      resolved: { ...c.resolved, env: oci.process!.env ?? [], workdir: oci.process!.cwd, user: spec.user ?? cfg.config?.User ?? "", hostname },
    };
    e.containers.update(id, u);
    e.emit({ type: "container", action: "start", actor: id, attributes: { name: c.name, image: c.image } });
    // Recorded as running first (a caller killed now leaves it so); then returns once the process
    // runs its program, so a top or exec right after sees it, not berth-init.
    await monitor.execed(2000);
    return { container: asContainer(e.containers.get(id)), ...(attach ? { attach } : {}) };
  } catch (err) {
    monitor ??= await monitorStarting?.catch(() => undefined);
    await monitor?.abort();
    attach?.close();
    if (created) {
      const { remove } = await import("../runtime/container.ts");
      await remove(e.runtimeRoot, id, true).catch(() => {});
    }
    // Settled before the teardown (no plugin still adding). A network that could not be set up
    // is the cause when the runtime failed too (its netns went with the failed setup).
    const netErr = net ? await net.done.then(() => undefined, (x: unknown) => x) : undefined;
    if (net) await teardownNetwork(e, id).catch(() => {});
    if (mounted) try { unmountAll(rootfs, { detach: true }); } catch {}
    // The container stays (created or exited): its layer may be mounted again (cp, a start).
    if (mounted && spec.autoRemove) try { clearVolatileMarkers(mounts); } catch {}
    rmSync(dir, { recursive: true, force: true });
    const failure = startFailure(netErr ?? err);
    e.containers.update(id, { state: c.startedAt || failure.exitCode !== 125 ? "exited" : "created", exitCode: failure.exitCode, error: failure.message, pid: 0, finishedAt: new Date() });
    throw failure;
  }
}

/** docker's default health interval is 30 s; a test of NONE disables the image's check. */
function healthInterval(c: Container): number | undefined {
  const h = c.resolved.healthcheck;
  if (!h || h.test.length === 0 || h.test[0] === "NONE") return undefined;
  return h.intervalMs || 30_000;
}


/** docker run's codes: 127 the command was not found, 126 it cannot be invoked, 125 anything else. */
function startFailure(err: unknown): StartError {
  if (err instanceof StartError) return err;
  const errno = (err as { errno?: unknown }).errno;
  if (isBerthError(err) && err.field === "process.args" && typeof errno === "number") {
    return new StartError(err.message, errno === 2 ? 127 : errno === 13 || errno === 8 ? 126 : 125, "command");
  }
  if (isBerthError(err)) {
    const s = new StartError(err.message, 125, err.field);
    Object.defineProperty(s, "code", { value: err.code });
    return s;
  }
  return new StartError(`internal error: ${(err as Error).message ?? String(err)}`, 125);
}

// ---- after the exit ----------------------------------------------------------------------

/**
 * The exit command's work (the monitor runs `berth container cleanup ID` when no attached berth
 * process took it over), and what reconcile does for a container whose monitor is gone: record
 * how it ended, release the runtime's state and cgroup, unmount, and remove it if --rm.
 */
export async function cleanupContainer(e: Engine, ref: string): Promise<Container | undefined> {
  let c: Container;
  try {
    c = asContainer(e.containers.find(ref));
  } catch (err) {
    if (isBerthError(err, "NotFound")) return undefined;
    throw err;
  }
  const lock = await e.locks.acquire(c.id, "clean it up");
  let removed = false;
  try {
    const fresh = asContainer(e.containers.get(c.id));
    removed = await cleanupLocked(e, fresh);
    return removed ? undefined : asContainer(e.containers.get(c.id));
  } catch (err) {
    if (isBerthError(err, "NotFound")) return undefined;
    throw err;
  } finally {
    if (removed) lock.releaseAndRemove();
    else releaseFor(lock, () => exists(e, c.id));
  }
}

/** Returns true when the container was removed (auto-remove). Caller holds the lock. */
async function cleanupLocked(e: Engine, c: Container, o: { keep?: boolean } = {}): Promise<boolean> {
  const dir = e.containerDir(c.id);
  const st = readStatus(dir);
  if (st && monitorAlive(st) && st.state !== "exited") return false; // still running
  importMonitorEvents(e, c, dir);
  if (RUNNING.has(c.state)) {
    let u: ContainerUpdate;
    if (st?.state === "exited") {
      u = { state: "exited", exitCode: st.exitCode, oomKilled: st.oomKilled, restartCount: st.restartCount, error: st.error,
        finishedAt: st.finishedAt ? new Date(Date.parse(st.finishedAt)) : new Date() };
    } else {
      const why = st
        ? `berth-monitor (pid ${st.monitorPid}) died without recording an exit; the container was stopped`
        : "the container's runtime state is gone (the host rebooted, or its run directory was removed); it was stopped";
      u = { state: "exited", exitCode: 255, error: why, finishedAt: new Date() };
      e.emit({ type: "container", action: "die", actor: c.id, attributes: { name: c.name, image: c.image, exitCode: "255" } });
    }
    u.pid = 0;
    e.containers.update(c.id, u);
  }
  await releaseResources(e, c.id);
  if (c.spec.autoRemove && !o.keep) {
    await removeRecord(e, asContainer(e.containers.get(c.id)), { volumes: true });
    return true;
  }
  return false;
}

/** The runtime's state and cgroup (killing what is left in it), the rootfs mount, the run dir. */
async function releaseResources(e: Engine, id: string): Promise<void> {
  const dir = e.containerDir(id);
  // The network goes beside the rest (its DEL is most of a stop's time). Its teardown gives the
  // plugins no netns, and lets the kernel take the interfaces, only when no process is left in
  // the namespace (the container's init has been reaped, and with a pid namespace of its own,
  // everything in it); a process the runtime's delete is still to kill makes it a DEL in the
  // namespace, slower but as correct.
  const network = usesCni((asContainer(e.containers.get(id)).spec.network?.mode) ?? "bridge")
    ? timed("engine", "network", "tear the container's network down (CNI DEL, netns)", () => teardownNetwork(e, id))
    : undefined;
  network?.catch(() => {});
  if (existsSync(join(e.runtimeRoot, id))) {
    const { remove } = await import("../runtime/container.ts");
    await timed("engine", "runtime", "delete the runtime state and cgroup (runtime delete --force)", () => remove(e.runtimeRoot, id, true));
  }
  // Every exec'd process ended with the container: record how, and let their monitors go.
  await collectContainerExecs(e, id);
  const rootfs = join(dir, "rootfs");
  if (existsSync(rootfs)) unmountAll(rootfs, { detach: true });
  await network;
  rmSync(dir, { recursive: true, force: true });
}

// ---- stop, kill, restart, wait -----------------------------------------------------------

export interface StopResult {
  container: Container;
  /** It was not running (docker answers 304). */
  alreadyStopped?: boolean;
}

export async function stopContainer(e: Engine, ref: string, o: { timeoutSec?: number; signal?: string } = {}): Promise<StopResult> {
  const first = await getContainer(e, ref);
  if (!RUNNING.has(first.state)) return { container: first, alreadyStopped: true };
  const lock = await e.locks.acquire(first.id, "stop it");
  try {
    const c = await reconcileLocked(e, first.id);
    if (!RUNNING.has(c.state)) return { container: c, alreadyStopped: true };
    await stopLocked(e, c, o.timeoutSec ?? c.spec.stopTimeout ?? 10, o.signal ?? c.resolved.stopSignal);
    e.emit({ type: "container", action: "stop", actor: c.id, attributes: { name: c.name, image: c.image } });
    const removed = await cleanupLocked(e, asContainer(e.containers.get(c.id)));
    return { container: removed ? { ...c, state: "removing" } : asContainer(e.containers.get(c.id)) };
  } finally {
    releaseFor(lock, () => exists(e, first.id));
  }
}

/** Ask the monitor not to restart, send the stop signal, SIGKILL after the timeout; wait for the exit record. */
async function stopLocked(e: Engine, c: Container, timeoutSec: number, signal: string): Promise<void> {
  const dir = e.containerDir(c.id);
  let client: AttachClient | undefined;
  try {
    client = await AttachClient.connect(dir, ATTACH.cleanup);
  } catch {
    return; // the monitor is gone: cleanup records why
  }
  try {
    if (client.status.state === "exited") return;
    client.stopping();
    const { kill } = await import("../runtime/container.ts");
    const sig = parseSignal(signal);
    try {
      kill(e.runtimeRoot, c.id, sig);
    } catch {
      // not running in the runtime (restarting, in its back-off): the monitor gives up the restart
    }
    if (c.state === "paused") await thaw(e, c.id);
    const exited = await Promise.race([client.exit.then(() => true), Bun.sleep(Math.max(0, timeoutSec) * 1000).then(() => false)]);
    if (!exited) {
      try {
        kill(e.runtimeRoot, c.id, 9, true);
      } catch {}
      await Promise.race([client.exit, Bun.sleep(30_000)]);
    }
  } finally {
    // Our cleanup (the caller's) follows; the monitor exits once we say done.
    client.done();
    client.close();
  }
}

async function thaw(e: Engine, id: string): Promise<void> {
  try {
    const { resume } = await import("../runtime/operations/pause.ts");
    resume(e.runtimeRoot, id);
  } catch {}
}

export async function killContainer(e: Engine, ref: string, signal = "SIGKILL"): Promise<Container> {
  const c = await getContainer(e, ref);
  if (!RUNNING.has(c.state)) throw conflict(`cannot kill container ${ref}: container ${c.id} is not running`, "container");
  const sig = parseSignal(signal);
  // docker: a killed container counts as stopped by the user: its restart policy does not apply.
  try {
    const client = await AttachClient.connect(e.containerDir(c.id), 0);
    client.stopping();
    client.close();
  } catch {}
  const { kill } = await import("../runtime/container.ts");
  try {
    kill(e.runtimeRoot, c.id, sig);
  } catch (err) {
    if (!isBerthError(err)) throw err;
    throw conflict(`cannot kill container ${ref}: ${err.message}`, "container");
  }
  if (c.state === "paused" && (sig === 9 || sig === 15)) await thaw(e, c.id);
  e.emit({ type: "container", action: "kill", actor: c.id, attributes: { name: c.name, image: c.image, signal: String(sig) } });
  return c;
}

export async function restartContainer(e: Engine, ref: string, o: { timeoutSec?: number } = {}): Promise<Container> {
  await stopContainer(e, ref, o);
  const r = await startContainer(e, ref);
  e.emit({ type: "container", action: "restart", actor: r.container.id, attributes: { name: r.container.name, image: r.container.image } });
  return r.container;
}

export type WaitCondition = "not-running" | "next-exit" | "removed";

export interface WaitResult {
  exitCode: number;
  error?: string;
  oomKilled?: boolean;
}

/** docker wait: until the container is not running (default), has exited once more, or is removed. */
export async function waitContainer(e: Engine, ref: string, condition: WaitCondition = "not-running", signal?: AbortSignal): Promise<WaitResult> {
  let c = await getContainer(e, ref);
  const id = c.id;
  const startedBefore = c.startedAt?.getTime() ?? 0;
  const finishedBefore = c.finishedAt?.getTime() ?? 0;
  for (;;) {
    if (signal?.aborted) throw new BerthError("Canceled", "wait canceled", "wait");
    if (condition === "removed") {
      try {
        c = await getContainer(e, id);
      } catch (err) {
        if (isBerthError(err, "NotFound")) return { exitCode: c.exitCode, ...(c.error ? { error: c.error } : {}) };
        throw err;
      }
    }
    const ended = !RUNNING.has(c.state) && c.state !== "removing";
    const fresh = condition !== "next-exit" || ((c.finishedAt?.getTime() ?? 0) > finishedBefore && (c.startedAt?.getTime() ?? 0) >= startedBefore);
    if (ended && fresh && condition !== "removed") return { exitCode: c.exitCode, oomKilled: c.oomKilled, ...(c.error ? { error: c.error } : {}) };
    if (RUNNING.has(c.state)) {
      try {
        const client = await AttachClient.connect(e.containerDir(id), 0);
        const onAbort = () => client.close();
        signal?.addEventListener("abort", onAbort);
        await client.exit;
        signal?.removeEventListener("abort", onAbort);
        client.close();
      } catch {
        await Bun.sleep(50);
      }
      // The exit record is written before EXIT; the record follows once cleanup ran.
      for (let i = 0; i < 600; i++) {
        try {
          c = await getContainer(e, id);
        } catch (err) {
          if (isBerthError(err, "NotFound") && condition !== "removed") return { exitCode: c.exitCode };
          if (isBerthError(err, "NotFound")) break;
          throw err;
        }
        if (!RUNNING.has(c.state) || c.state === "restarting" || c.restartCount > 0) break;
        await Bun.sleep(20);
      }
      if (condition === "not-running" && c.state === "restarting") return { exitCode: readStatus(e.containerDir(id))?.exitCode ?? c.exitCode };
      continue;
    }
    await Bun.sleep(100);
    try {
      c = await getContainer(e, id);
    } catch (err) {
      // Started, ended and removed (--rm) between two looks: gone is what "removed" waits for.
      if (isBerthError(err, "NotFound")) return { exitCode: c.exitCode, ...(c.error ? { error: c.error } : {}) };
      throw err;
    }
  }
}

// ---- remove, rename, pause ---------------------------------------------------------------

export async function removeContainer(e: Engine, ref: string, o: { force?: boolean; volumes?: boolean } = {}): Promise<Container> {
  const first = await getContainer(e, ref);
  const lock = await e.locks.acquire(first.id, "remove it");
  let removed = false;
  try {
    let c = await reconcileLocked(e, first.id);
    if (RUNNING.has(c.state)) {
      if (!o.force) {
        throw conflict(`cannot remove container "/${c.name}": container is ${c.state}: stop the container before removing or force remove (berth rm -f)`, "container");
      }
      await stopLocked(e, c, 0, "SIGKILL");
      await cleanupLocked(e, asContainer(e.containers.get(c.id)), { keep: true });
      c = asContainer(e.containers.get(c.id));
    }
    await releaseResources(e, c.id);
    await removeRecord(e, c, { volumes: o.volumes ?? false });
    removed = true;
    return c;
  } finally {
    if (removed) lock.releaseAndRemove();
    else releaseFor(lock, () => exists(e, first.id));
  }
}

/** The snapshot, the record, the logs, and (-v) the anonymous volumes. Caller holds the lock. */
async function removeRecord(e: Engine, c: Container, o: { volumes: boolean }): Promise<void> {
  const sn = await e.snapshotter();
  await sn.remove(c.snapshotKey).catch((err: unknown) => {
    if (!isBerthError(err, "NotFound")) throw err;
  });
  e.containers.delete(c.id);
  rmSync(e.containerDataDir(c.id), { recursive: true, force: true });
  if (o.volumes) {
    for (const v of c.resolved.volumes ?? []) if (v.anonymous) try { removeVolume(e, v.name, { force: true }); } catch {}
  }
  e.emit({ type: "container", action: "destroy", actor: c.id, attributes: { name: c.name, image: c.image } });
}

export async function renameContainer(e: Engine, ref: string, name: string): Promise<Container> {
  const n = name.replace(/^\//, "");
  checkContainerName(n);
  const c = await getContainer(e, ref);
  if (c.name === n) throw conflict(`renaming a container with the same name as its current name: ${n}`, "name");
  if (e.containers.nameTaken(n)) throw conflict(`the container name "/${n}" is already in use; remove that container or pick another name`, "name");
  e.containers.update(c.id, { name: n });
  e.emit({ type: "container", action: "rename", actor: c.id, attributes: { name: n, oldName: `/${c.name}`, image: c.image } });
  return asContainer(e.containers.get(c.id));
}

export async function pauseContainer(e: Engine, ref: string): Promise<Container> {
  const c = await getContainer(e, ref);
  if (c.state === "paused") throw conflict(`container ${c.id} is already paused`, "container");
  if (c.state !== "running") throw conflict(`container ${c.id} is not running`, "container");
  const { pause } = await import("../runtime/operations/pause.ts");
  pause(e.runtimeRoot, c.id);
  e.containers.update(c.id, { state: "paused" });
  e.emit({ type: "container", action: "pause", actor: c.id, attributes: { name: c.name, image: c.image } });
  return asContainer(e.containers.get(c.id));
}

export async function unpauseContainer(e: Engine, ref: string): Promise<Container> {
  const c = await getContainer(e, ref);
  if (c.state !== "paused") throw conflict(`container ${c.id} is not paused`, "container");
  const { resume } = await import("../runtime/operations/pause.ts");
  resume(e.runtimeRoot, c.id);
  e.containers.update(c.id, { state: "running" });
  e.emit({ type: "container", action: "unpause", actor: c.id, attributes: { name: c.name, image: c.image } });
  return asContainer(e.containers.get(c.id));
}

/** docker top: the host's ps over the container's processes. */
export async function topContainer(e: Engine, ref: string, psArgs: string[] = []): Promise<{ titles: string[]; processes: string[][] }> {
  const c = await getContainer(e, ref);
  if (!RUNNING.has(c.state)) throw conflict(`container ${c.id} is not running`, "container");
  const { processes, psTable } = await import("../runtime/operations/ps.ts");
  const lines = psTable(processes(e.runtimeRoot, c.id), psArgs);
  const [head, ...rest] = lines;
  const titles = (head ?? "").trim().split(/\s+/);
  return {
    titles,
    processes: rest.map((l) => {
      const f = l.trim().split(/\s+/);
      return [...f.slice(0, titles.length - 1), f.slice(titles.length - 1).join(" ")];
    }),
  };
}

/** docker's name for a signal in inspect's Config.StopSignal. */
export { signalName };
