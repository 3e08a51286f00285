// The engine's garbage collection, for `rmi` and `system prune`: content by references from
// image records and leases (metadata/gc.ts), then snapshots by what images (their layers' chain
// IDs), containers (their snapshot keys) and leases (pulls still unpacking) reach.
import { readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { processAlive, processStartTime } from "../sys/proc.ts";
import { LeaseManager } from "../metadata/leases.ts";
import { unmountAll } from "../snapshots/mount.ts";
import { initLayerKey } from "./init-layer.ts";
import type { Engine } from "./engine.ts";
import { readImage } from "./images.ts";

export interface EngineGCResult {
  blobs: string[];
  snapshots: string[];
  /** Bytes freed: removed blobs' sizes plus removed snapshots' usage. */
  reclaimed: number;
}

/** Lease resource type of a snapshot of this engine's snapshotter (containerd: "snapshots/<name>"). */
export const snapshotLeaseType = (e: Engine) => `snapshots/${e.opts.storageDriver}`;

/** Labels that tie a lease to the berth process holding it: dead holder, dead lease. */
export function ownerLabels(): Record<string, string> {
  return { "berth.owner.pid": String(process.pid), "berth.owner.start": String(processStartTime(process.pid)) };
}

/**
 * What a killed berth left of a pull or an unpack: leases whose owner process is gone, and
 * `<root>/tmp/apply-<pid>-*` mount points of layers being unpacked by a dead process (unmounted
 * first, so no GC removes the upper directory of a live mount).
 */
export function collectDeadOwners(e: Engine): { leases: string[]; mounts: string[] } {
  const out = { leases: [] as string[], mounts: [] as string[] };
  const leases = new LeaseManager(e.meta, e.namespace);
  for (const l of leases.list()) {
    const pid = Number(l.labels["berth.owner.pid"] ?? 0);
    if (pid > 0 && !processAlive(pid, Number(l.labels["berth.owner.start"] ?? 0))) {
      leases.delete(l.id);
      out.leases.push(l.id);
    }
  }
  let names: string[] = [];
  try {
    names = readdirSync(e.tmp);
  } catch {}
  for (const n of names) {
    const m = /^apply-(\d+)-/.exec(n);
    if (!m || processAlive(Number(m[1]), 0)) continue;
    const dir = join(e.tmp, n);
    try {
      unmountAll(dir, { detach: true });
      rmSync(dir, { recursive: true, force: true });
      out.mounts.push(dir);
    } catch {}
  }
  return out;
}

export async function collectEngineGarbage(e: Engine): Promise<EngineGCResult> {
  collectDeadOwners(e);
  const { collectGarbage } = await import("../metadata/gc.ts");
  const { collectSnapshots } = await import("../snapshots/gc.ts");
  const { chainIDs } = await import("../snapshots/apply-layers.ts");
  const sizes = new Map((await e.shared.list()).map((i) => [i.digest, i.size]));
  const content = await collectGarbage(e.meta, e.shared);
  const roots = new Set<string>();
  for (const rec of e.images.list()) {
    const r = await readImage(e, rec).catch(() => undefined);
    const chains = chainIDs(r?.configDoc.rootfs?.diff_ids ?? []);
    for (const c of chains) roots.add(c);
    if (chains.length) roots.add(initLayerKey(chains[chains.length - 1]!)); // kept with its image
  }
  for (const c of e.containers.list()) roots.add(c.snapshotKey);
  // Leases that lapsed were dropped by collectGarbage above; the rest protect their snapshots.
  const leased = e.meta.db.query("SELECT id FROM lease_resources WHERE type = ?").all(snapshotLeaseType(e)) as { id: string }[];
  for (const l of leased) roots.add(l.id);
  const snaps = await collectSnapshots(await e.snapshotter(), roots);
  return {
    blobs: content.removedBlobs,
    snapshots: snaps.removed,
    reclaimed: content.removedBlobs.reduce((a, d) => a + (sizes.get(d) ?? 0), 0) + snaps.reclaimed,
  };
}
