// The overlayfs snapshotter (containerd's overlay, Documentation/filesystems/overlayfs.rst):
// each snapshot's directory holds `fs` — its own changes, the upperdir while active, one
// lowerdir of its children once committed — and `work`, overlayfs's workdir while active.
//
//   active, no parent   → bind rw of fs
//   view,   no parent   → bind ro of (empty) fs
//   view,   one parent  → bind ro of the parent's fs (no overlay needed)
//   view,   ≥2 parents  → overlay ro, lowerdir = parents' fs, nearest first
//   active, ≥1 parent   → overlay, upperdir = fs, workdir = work, lowerdir = parents' fs
//
// Deleting a lower file in a mounted active snapshot leaves a whiteout (a 0/0 character device)
// in fs; once committed, overlayfs honours it as a lower layer too, so layers stack.

// Synchronous calls throughout: each is one short metadata syscall on the start of every
// container, where an async one is a hop through Bun's thread pool (and, in a one-shot berth
// command, the pool's own start and node:fs/promises' load, ~1 ms, for nothing else).
import { chmodSync, existsSync, lchownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { LocalSnapshotter, type LocalSnapshotterOptions, type SnapshotRecord } from "./local.ts";
import { mountOne, unmount } from "./mount.ts";
import type { Kind, Mount } from "./types.ts";

const fsDir = (dir: string) => join(dir, "fs");

let indexOn: boolean | undefined;
/** With the module's `index` feature on, an upper or lower used by two mounts fails: turn it off. */
function overlayIndexOn(): boolean {
  if (indexOn === undefined) {
    const p = "/sys/module/overlay/parameters/index";
    indexOn = existsSync(p) && readFileSync(p, "utf8").trim() === "Y";
  }
  return indexOn;
}

export class OverlaySnapshotter extends LocalSnapshotter {
  constructor(opts: LocalSnapshotterOptions) {
    super("overlay", opts);
  }

  protected override async populate(dir: string, kind: Kind, parentDirs: string[]): Promise<void> {
    mkdirSync(fsDir(dir), { mode: 0o755 });
    if (kind === "active") mkdirSync(join(dir, "work"), { mode: 0o700 });
    const parent = parentDirs[0];
    if (parent !== undefined && kind === "active") {
      // The merged root takes the upper root's owner and mode: make them the parent's.
      const st = statSync(fsDir(parent));
      lchownSync(fsDir(dir), st.uid, st.gid);
      chmodSync(fsDir(dir), st.mode & 0o7777);
    }
  }

  protected override mountsOf(rec: SnapshotRecord): Mount[] {
    const lowers = rec.parentDirs.map(fsDir);
    const ro = rec.kind !== "active";
    if (lowers.length === 0) return [{ type: "bind", source: fsDir(rec.dir), options: [ro ? "ro" : "rw", "rbind"] }];
    if (ro && lowers.length === 1) return [{ type: "bind", source: lowers[0]!, options: ["ro", "rbind"] }];
    const options: string[] = [];
    if (overlayIndexOn()) options.push("index=off");
    if (ro) options.push("ro", `lowerdir=${lowers.join(":")}`);
    else options.push(`workdir=${join(rec.dir, "work")}`, `upperdir=${fsDir(rec.dir)}`, `lowerdir=${lowers.join(":")}`);
    return [{ type: "overlay", source: "overlay", options }];
  }

  protected override changesDir(dir: string): string {
    return fsDir(dir);
  }

  protected override async afterCommit(dir: string): Promise<void> {
    // A committed snapshot is only ever a lowerdir: its workdir is no longer needed.
    rmSync(join(dir, "work"), { recursive: true, force: true }); // empty, or overlayfs's own few entries
  }
}

/**
 * `mounts` with overlayfs's `volatile` option on each writable overlay (Linux ≥ 5.10,
 * Documentation/filesystems/overlayfs.rst "Volatile mount"): the overlay then never syncs its
 * upper filesystem, so its unmount does not wait for a sync of the whole disk under the root
 * (35–120 ms on a loaded host, the largest single cost of `run --rm true`), and fsync inside
 * the container is not durable. For a container whose writable layer is thrown away at its exit
 * (`--rm`, as podman does for --rm): after a host crash that layer is removed anyway.
 * The kernel refuses to mount a workdir again that holds the `work/incompat/volatile` marker of
 * an earlier volatile mount; the caller knows that mount is gone (it unmounted it, or the host
 * rebooted and the layer's contents do not matter), so the marker is removed first.
 */
export function volatileOverlays(mounts: Mount[]): Mount[] {
  clearVolatileMarkers(mounts);
  return mounts.map((m) => (workdirOf(m) === undefined || m.options.includes("volatile") ? m : { ...m, options: ["volatile", ...m.options] }));
}

/**
 * Remove the marker a volatile mount of `mounts` left once it is unmounted: any later mount of
 * the layer (volatile or not, e.g. cp into a created container) fails EINVAL while it is there.
 */
export function clearVolatileMarkers(mounts: Mount[]): void {
  for (const m of mounts) {
    const work = workdirOf(m);
    if (work !== undefined) rmSync(join(work, "work", "incompat", "volatile"), { recursive: true, force: true });
  }
}

function workdirOf(m: Mount): string | undefined {
  const o = m.type === "overlay" ? m.options.find((x) => x.startsWith("workdir=")) : undefined;
  return o?.slice("workdir=".length);
}

/**
 * Whether overlayfs works under `dir` (the kernel has it, the filesystem can be an upperdir):
 * mounts a two-layer overlay in a temporary directory and removes it again.
 */
export async function overlaySupported(dir: string): Promise<{ ok: true } | { ok: false; reason: string }> {
  mkdirSync(dir, { recursive: true });
  const tmp = mkdtempSync(join(dir, ".overlay-check-"));
  try {
    for (const d of ["l1", "l2", "upper", "work", "merged"]) mkdirSync(join(tmp, d));
    mountOne({ type: "overlay", source: "overlay", options: [`lowerdir=${tmp}/l1:${tmp}/l2`, `upperdir=${tmp}/upper`, `workdir=${tmp}/work`] }, join(tmp, "merged"));
    unmount(join(tmp, "merged"), { detach: true });
    return { ok: true };
  } catch (e) {
    return { ok: false, reason: (e as Error).message };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
