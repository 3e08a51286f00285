// docker system df: what images, containers and volumes take, and what a prune would free.
import type { Engine } from "./engine.ts";
import { listContainers } from "./containers.ts";
import { readImage } from "./images.ts";
import { dirSize, volumeUsers } from "./volumes.ts";

export interface UsageLine {
  total: number;
  active: number;
  size: number;
  reclaimable: number;
}

export async function diskUsage(e: Engine): Promise<{ images: UsageLine; containers: UsageLine; volumes: UsageLine }> {
  const containers = await listContainers(e, { all: true });
  const used = new Set(containers.map((c) => c.imageId));
  const images: UsageLine = { total: 0, active: 0, size: 0, reclaimable: 0 };
  const seen = new Set<string>();
  for (const rec of e.images.list()) {
    const img = await readImage(e, rec).catch(() => undefined);
    if (!img || seen.has(img.id)) continue;
    seen.add(img.id);
    const size = img.layers.reduce((a, l) => a + l.size, 0) + img.config.size;
    images.total++;
    images.size += size;
    if (used.has(img.id)) images.active++;
    else images.reclaimable += size;
  }
  const sn = await e.snapshotter();
  const cl: UsageLine = { total: containers.length, active: 0, size: 0, reclaimable: 0 };
  for (const c of containers) {
    const size = await sn.usage(c.snapshotKey).then((u) => u.size).catch(() => 0);
    cl.size += size;
    if (c.state === "running" || c.state === "paused" || c.state === "restarting") cl.active++;
    else cl.reclaimable += size;
  }
  const vols: UsageLine = { total: 0, active: 0, size: 0, reclaimable: 0 };
  for (const v of e.volumes.list()) {
    const size = dirSize(v.mountpoint);
    vols.total++;
    vols.size += size;
    if (volumeUsers(e, v.name).length) vols.active++;
    else vols.reclaimable += size;
  }
  return { images, containers: cl, volumes: vols };
}
