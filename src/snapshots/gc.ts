// Garbage collection of snapshots (the last step of containerd's gc chain: image → manifest →
// config → layers' chain IDs → snapshots). The caller names the roots — the chain IDs of the
// images' layers, containers' snapshot keys, snapshots held by leases — and everything they do
// not reach is removed, children before parents. Unpacks in progress are kept: applyLayer's
// "extract-<pid>-…" snapshots while that process lives.

import { isBerthError } from "../sys/errdefs.ts";
import { EXTRACT_KEY } from "./apply-layers.ts";
import type { Info, Snapshotter } from "./types.ts";

export interface SnapshotGCResult {
  /** Names (keys) of the snapshots removed, children first. */
  removed: string[];
  /** Bytes their own changes took (usage), freed. */
  reclaimed: number;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as { code?: string }).code === "EPERM";
  }
}

export async function collectSnapshots(sn: Snapshotter, roots: Iterable<string>): Promise<SnapshotGCResult> {
  const all = new Map<string, Info>();
  await sn.walk((info) => {
    all.set(info.name, info);
  });
  const marked = new Set<string>();
  const mark = (name: string | undefined) => {
    for (let n = name; n !== undefined && !marked.has(n); n = all.get(n)?.parent) {
      if (!all.has(n)) return;
      marked.add(n);
    }
  };
  for (const r of roots) mark(r);
  for (const [name, info] of all) {
    const m = EXTRACT_KEY.exec(name);
    if (info.kind === "active" && m && alive(Number(m[1]))) mark(name);
  }
  const depth = (info: Info): number => {
    let d = 0;
    for (let p = info.parent; p !== undefined; p = all.get(p)?.parent) d++;
    return d;
  };
  const victims = [...all.values()].filter((i) => !marked.has(i.name)).sort((a, b) => depth(b) - depth(a));
  const result: SnapshotGCResult = { removed: [], reclaimed: 0 };
  for (const v of victims) {
    const usage = await sn.usage(v.name).catch(() => ({ size: 0 }));
    try {
      await sn.remove(v.name);
    } catch (e) {
      // Removed meanwhile, or a new child appeared (another process prepared on it): leave it.
      if (isBerthError(e, "NotFound") || isBerthError(e, "FailedPrecondition")) continue;
      throw e;
    }
    result.removed.push(v.name);
    result.reclaimed += usage.size;
  }
  return result;
}
