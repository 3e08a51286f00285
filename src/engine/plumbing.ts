// The stores under the engine, as ctr shows containerd's (its content, snapshots, leases and
// tasks services): for learners who want to see what an image and a container are made of, and
// for operators who need to look under the records. Read-only but for `content rm`.
import type { Info as ContentInfo } from "../content/types.ts";
import type { Info as SnapshotInfo, Usage } from "../snapshots/types.ts";
import { LeaseManager, type Lease, type LeaseResource } from "../metadata/leases.ts";
import { readStatus } from "../monitor/monitor.ts";
import { notFound } from "../sys/errdefs.ts";
import type { Engine } from "./engine.ts";
import { listContainers } from "./containers.ts";

/** Blobs of this namespace, by digest. */
export async function listContent(e: Engine): Promise<ContentInfo[]> {
  return (await e.content.list()).sort((a, b) => a.digest.localeCompare(b.digest));
}

/** A blob's bytes (verified when it was committed). */
export async function readContent(e: Engine, digest: string): Promise<Uint8Array> {
  return e.content.read(normalizeDigest(digest));
}

/** Remove blobs from this namespace (ctr content rm: an image that needs one is then broken). */
export async function removeContent(e: Engine, digest: string): Promise<void> {
  await e.content.delete(normalizeDigest(digest));
}

function normalizeDigest(d: string): string {
  return /^[0-9a-f]{64}$/.test(d) ? `sha256:${d}` : d;
}

export interface SnapshotView extends SnapshotInfo {
  /** The container whose root it is, when it is one. */
  container?: string;
}

export async function listSnapshots(e: Engine): Promise<SnapshotView[]> {
  const sn = await e.snapshotter();
  const out: SnapshotView[] = [];
  await sn.walk((i) => {
    out.push({ ...i, ...(i.labels["berth.container"] ? { container: i.labels["berth.container"] } : {}) });
  });
  return out;
}

export interface SnapshotNode {
  info: SnapshotView;
  children: SnapshotNode[];
}

/** Snapshots as the forest their parents make (roots: snapshots made from nothing). */
export function snapshotTree(list: SnapshotView[]): SnapshotNode[] {
  const nodes = new Map(list.map((i) => [i.name, { info: i, children: [] as SnapshotNode[] }]));
  const roots: SnapshotNode[] = [];
  for (const n of nodes.values()) {
    const p = n.info.parent !== undefined ? nodes.get(n.info.parent) : undefined;
    if (p) p.children.push(n);
    else roots.push(n);
  }
  return roots;
}

/** Usage of one snapshot, or of every one. */
export async function snapshotUsage(e: Engine, keys: string[] = []): Promise<{ name: string; usage: Usage }[]> {
  const sn = await e.snapshotter();
  const names = keys.length ? keys : (await listSnapshots(e)).map((s) => s.name);
  const out: { name: string; usage: Usage }[] = [];
  for (const n of names) out.push({ name: n, usage: await sn.usage(n) });
  return out;
}

export interface LeaseView extends Lease {
  resources: LeaseResource[];
}

export function listLeases(e: Engine): LeaseView[] {
  const m = new LeaseManager(e.meta, e.namespace);
  return m.list().map((l) => ({ ...l, resources: m.listResources(l.id) }));
}

export interface Task {
  id: string;
  name: string;
  /** The container's init. */
  pid: number;
  /** Its berth-monitor (containerd's shim). */
  monitorPid: number;
  /** containerd's words: RUNNING, PAUSED, … */
  status: "RUNNING" | "PAUSED" | "RESTARTING";
}

/** Containers with a live monitor and process (ctr tasks ls). */
export async function listTasks(e: Engine): Promise<Task[]> {
  const out: Task[] = [];
  for (const c of await listContainers(e)) {
    const st = readStatus(e.containerDir(c.id));
    out.push({
      id: c.id, name: c.name, pid: c.pid, monitorPid: st?.monitorPid ?? 0,
      status: c.state === "paused" ? "PAUSED" : c.state === "restarting" ? "RESTARTING" : "RUNNING",
    });
  }
  return out;
}

export function checkSnapshotKeys(list: SnapshotView[], keys: string[]): void {
  for (const k of keys) if (!list.some((s) => s.name === k)) throw notFound(`snapshot ${k} does not exist (berth snapshots ls lists them)`, "key");
}
