// The engine's garbage collection, for `rmi` and `system prune`: content by references from
// image records and leases (metadata/gc.ts), then snapshots by what images (their layers' chain
// IDs), containers (their snapshot keys) and leases (pulls still unpacking) reach.
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

export async function collectEngineGarbage(e: Engine): Promise<EngineGCResult> {
  const { collectGarbage } = await import("../metadata/gc.ts");
  const { collectSnapshots } = await import("../snapshots/gc.ts");
  const { chainIDs } = await import("../snapshots/apply-layers.ts");
  const sizes = new Map((await e.shared.list()).map((i) => [i.digest, i.size]));
  const content = await collectGarbage(e.meta, e.shared);
  const roots = new Set<string>();
  for (const rec of e.images.list()) {
    const r = await readImage(e, rec).catch(() => undefined);
    for (const c of chainIDs(r?.configDoc.rootfs?.diff_ids ?? [])) roots.add(c);
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
