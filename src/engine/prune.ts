// docker's prunes over the engine: stopped containers, unused images, unused volumes, and then
// the content and snapshots nothing references any more (gc.ts).
import { parseTimestamp } from "../sys/duration.ts";
import { internal, invalidArgument } from "../sys/errdefs.ts";
import type { Engine } from "./engine.ts";
import { listContainers, removeContainer, type Container } from "./containers.ts";
import { readImage } from "./images.ts";
import { pruneVolumes } from "./volumes.ts";
import { collectEngineGarbage } from "./gc.ts";

/** docker prune filters: label=k, label=k=v, label!=…, until=<time>. */
function pruneFilter(filters: string[]): (x: { labels: Record<string, string>; createdAt: Date }) => boolean {
  const checks: ((x: { labels: Record<string, string>; createdAt: Date }) => boolean)[] = [];
  for (const f of filters) {
    const m = /^(label!?|until)=(.*)$/.exec(f);
    if (!m) throw invalidArgument(`invalid filter ${JSON.stringify(f)}: use label=key[=value], label!=key[=value] or until=<timestamp>`, "filter");
    const [, k, v] = m as unknown as [string, string, string];
    if (k === "until") {
      const t = parseTimestamp(v, "until");
      checks.push((x) => x.createdAt.getTime() < t);
    } else {
      const eq = v.indexOf("=");
      const has = (l: Record<string, string>) => (eq < 0 ? v in l : l[v.slice(0, eq)] === v.slice(eq + 1));
      checks.push(k === "label" ? (x) => has(x.labels) : (x) => !has(x.labels));
    }
  }
  return (x) => checks.every((c) => c(x));
}

export async function pruneContainers(e: Engine, filters: string[] = []): Promise<{ removed: string[]; reclaimed: number }> {
  const keep = pruneFilter(filters);
  const removed: string[] = [];
  let reclaimed = 0;
  const sn = await e.snapshotter();
  for (const c of await listContainers(e, { all: true })) {
    if (c.state !== "exited" && c.state !== "created" && c.state !== "dead") continue;
    if (!keep(c)) continue;
    reclaimed += await sn.usage(c.snapshotKey).then((u) => u.size).catch(() => 0);
    await removeContainer(e, c.id, {});
    removed.push(c.id);
  }
  return { removed, reclaimed };
}

/** Images no container uses (all with -a; without it only untagged ones, which berth does not keep). */
export async function pruneImages(e: Engine, o: { all?: boolean; filters?: string[] } = {}): Promise<{ untagged: string[]; deleted: string[] }> {
  const keep = pruneFilter(o.filters ?? []);
  const used = new Set((await listContainers(e, { all: true })).map((c: Container) => c.imageId));
  const untagged: string[] = [];
  const deleted = new Set<string>();
  if (!o.all) return { untagged, deleted: [] };
  for (const rec of e.images.list()) {
    const img = await readImage(e, rec).catch(() => undefined);
    if (!img || used.has(img.id)) continue;
    if (!keep({ labels: rec.labels, createdAt: rec.createdAt })) continue;
    e.images.delete(rec.name);
    untagged.push(rec.name);
    deleted.add(img.id);
    e.emit({ type: "image", action: "untag", actor: img.id, attributes: { name: rec.name } });
  }
  for (const id of deleted) e.emit({ type: "image", action: "delete", actor: id, attributes: {} });
  return { untagged, deleted: [...deleted] };
}

export interface SystemPruneReport {
  containers: string[];
  images: string[];
  volumes: string[];
  blobs: string[];
  snapshots: string[];
  reclaimed: number;
}

/** docker system prune [-a] [--volumes]: stopped containers, unused images (-a), unused anonymous volumes, then GC. */
export async function systemPrune(e: Engine, o: { all?: boolean; volumes?: boolean; filters?: string[] } = {}): Promise<SystemPruneReport> {
  const c = await pruneContainers(e, o.filters ?? []);
  const i = await pruneImages(e, { all: o.all ?? false, filters: o.filters ?? [] });
  const v = o.volumes ? pruneVolumes(e) : { removed: [], reclaimed: 0 };
  const g = await collectEngineGarbage(e);
  return { containers: c.removed, images: i.untagged, volumes: v.removed, blobs: g.blobs, snapshots: g.snapshots, reclaimed: c.reclaimed + v.reclaimed + g.reclaimed };
}

export interface ResetReport {
  containers: string[];
  volumes: string[];
  networks: string[];
  images: string[];
}

/**
 * podman's `system reset`: every container (killed), volume, network (the default bridge's device
 * too, and the host settings berth made: ip_forward, its firewall chain) and image under this
 * root, then what the stores held. What a test or an operator runs to leave no trace.
 */
export async function systemReset(e: Engine): Promise<ResetReport> {
  const report: ResetReport = { containers: [], volumes: [], networks: [], images: [] };
  // Everything is tried; what could not be removed is said at the end (a reset that leaves a
  // bridge or a firewall chain behind must not look like a clean one).
  const failed: string[] = [];
  for (const c of e.containers.list()) {
    try {
      await removeContainer(e, c.id, { force: true, volumes: true });
      report.containers.push(c.id);
    } catch (err) {
      failed.push(`container ${c.name} (${c.id.slice(0, 12)}): ${(err as Error).message}`);
    }
  }
  const { networkManager, collectNetworkLeftovers } = await import("./network.ts");
  // Endpoints, netns and CNI cache entries of containers without a record (a killed berth, a
  // remove that failed half-way) go first, so they do not keep their networks.
  await collectNetworkLeftovers(e);
  const m = await networkManager(e);
  for (const n of m.list()) {
    if (n.name === "host" || n.name === "none") continue;
    if (!n.bridge && n.name === "bridge") continue;
    try {
      await m.remove(n.id, { allowPredefined: true });
      report.networks.push(n.name);
    } catch (err) {
      failed.push(`network ${n.name}: ${(err as Error).message}`);
    }
  }
  for (const v of e.volumes.list()) {
    pruneVolumes(e, { all: true });
    report.volumes.push(v.name);
  }
  for (const rec of e.images.list()) {
    e.images.delete(rec.name);
    report.images.push(rec.name);
  }
  const { LeaseManager } = await import("../metadata/leases.ts");
  const leases = new LeaseManager(e.meta, e.namespace);
  for (const l of leases.list()) leases.delete(l.id);
  await collectEngineGarbage(e);
  if (failed.length) {
    throw internal(`system reset could not remove everything under ${e.opts.root}:\n  ${failed.join("\n  ")}\nfix what is named and run it again`);
  }
  return report;
}
