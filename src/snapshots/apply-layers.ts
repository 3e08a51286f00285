// Unpacking an image into snapshots (containerd's rootfs.ApplyLayers): for each layer, in order,
// prepare a snapshot on the previous one, mount it, apply the layer, unmount, and commit it under
// the layer's chain ID, so images sharing lower layers share their snapshots. A chain ID that
// is already committed is reused without unpacking.
//   ChainID(L0) = DiffID(L0); ChainID(Ln) = sha256(ChainID(Ln-1) + " " + DiffID(Ln))  (image-spec config.md)

import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { digestOf } from "../content/digest.ts";
import { isBerthError } from "../sys/errdefs.ts";
import type { UnpackResult } from "../image/unpack.ts";
import { mountAll, unmountAll } from "./mount.ts";
import type { Mount, Snapshotter } from "./types.ts";

export interface LayerToApply {
  /** From the image config's rootfs.diff_ids: the layer is verified against it. */
  diffID: string;
  /** The layer blob (compressed or not); only called when the layer must be unpacked. */
  data: () => Promise<Uint8Array>;
}

/** Chain IDs of a list of diff IDs (one per prefix). */
export function chainIDs(diffIDs: readonly string[]): string[] {
  const out: string[] = [];
  for (const d of diffIDs) out.push(out.length === 0 ? d : digestOf(`${out[out.length - 1]} ${d}`));
  return out;
}

export interface ApplyResult {
  /** The top layer's chain ID: the parent for a container's snapshot. */
  chainID: string;
  /** Layers unpacked by this call (others were already there). */
  unpacked: UnpackResult[];
}

/**
 * Make committed snapshot `chain` = `parent` + `layer`, unless it exists. Returns what was
 * unpacked, or undefined when the snapshot was there already. Every mount is undone before
 * returning, also on failure; `workDir` holds the temporary mount point.
 */
export async function applyLayer(
  sn: Snapshotter,
  chain: string,
  parent: string | undefined,
  layer: LayerToApply,
  workDir: string,
): Promise<UnpackResult | undefined> {
  if (await exists(sn, chain)) return undefined;
  return buildSnapshot(sn, chain, parent, workDir, async (root) => {
    // Loaded on the first unpack only: a container's start over layers already unpacked
    // (the common case) never reads a tar.
    const { unpackLayer } = await import("../image/unpack.ts");
    return unpackLayer(root, await layer.data(), { expectedDiffID: layer.diffID });
  }, { labels: { "containerd.io/snapshot.ref": chain } });
}

/** Whether snapshot `key` exists. */
export async function exists(sn: Snapshotter, key: string): Promise<boolean> {
  const have = await sn.stat(key).catch((e: unknown) => {
    if (isBerthError(e, "NotFound")) return undefined;
    throw e;
  });
  return have !== undefined;
}

/**
 * Make committed snapshot `name` on `parent`: a temporary active snapshot ("extract-<pid>-…",
 * which the snapshot GC leaves alone while this process lives) mounted on a temporary directory
 * under `workDir` ("apply-<pid>-…", which collectDeadOwners unmounts after a kill), filled by
 * `fill`, unmounted, committed. If another process commits `name` first, theirs is kept. Every
 * mount is undone and the temporary snapshot removed before returning, also on failure.
 */
export async function buildSnapshot<T>(
  sn: Snapshotter,
  name: string,
  parent: string | undefined,
  workDir: string,
  fill: (root: string) => Promise<T> | T,
  o: { labels?: Record<string, string>; mounts?: (m: Mount[]) => Mount[]; /** in the mount point's name */ what?: string } = {},
): Promise<T> {
  const key = `extract-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2, 8)} ${name}`;
  const prepared = await sn.prepare(key, parent, o.labels ? { labels: o.labels } : {});
  const mounts = o.mounts ? o.mounts(prepared) : prepared;
  // The owner's pid in the name: a berth killed mid-fill leaves a mount the next GC can undo.
  const target = mkdtempSync(join(workDir, `apply-${process.pid}-${o.what ? `${o.what}-` : ""}`));
  try {
    let result: T;
    mountAll(mounts, target);
    try {
      result = await fill(target);
    } finally {
      unmountAll(target, { detach: true });
    }
    try {
      await sn.commit(name, key);
    } catch (e) {
      // Another berth process committed it first: use theirs.
      if (!isBerthError(e, "AlreadyExists")) throw e;
      await sn.remove(key);
    }
    return result;
  } catch (e) {
    await sn.remove(key).catch(() => {});
    throw e;
  } finally {
    rmSync(target, { recursive: true, force: true }); // the empty mount point
  }
}

/**
 * Apply `layers` onto snapshots of `sn`. `workDir` holds the temporary mount points (a
 * directory on the host). Every mount is undone before returning, also on failure.
 */
export async function applyLayers(sn: Snapshotter, layers: readonly LayerToApply[], workDir: string): Promise<ApplyResult> {
  const chains = chainIDs(layers.map((l) => l.diffID));
  const unpacked: UnpackResult[] = [];
  let parent: string | undefined;
  for (const [i, layer] of layers.entries()) {
    const r = await applyLayer(sn, chains[i]!, parent, layer, workDir);
    if (r) unpacked.push(r);
    parent = chains[i]!;
  }
  return { chainID: parent ?? "", unpacked };
}

/** Names of the extract snapshots applyLayer makes: "extract-<pid>-…". */
export const EXTRACT_KEY = /^extract-(\d+)-/;
