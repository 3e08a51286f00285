// The copying snapshotter (containerd's native), for filesystems where overlayfs does not work
// (overlay on overlay, some network filesystems, rootless without kernel support): every new
// snapshot starts as a full copy of its parent. Costly in space and time, works anywhere.
// The copy is GNU `cp -a` (preserve=all: modes, owners, timestamps, xattrs, hard links within
// the tree, symlinks as links, device nodes and fifos), with reflinks where the filesystem can.

import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { internal } from "../sys/errdefs.ts";
import { LocalSnapshotter, type LocalSnapshotterOptions, type SnapshotRecord } from "./local.ts";
import type { Kind, Mount } from "./types.ts";

const fsDir = (dir: string) => join(dir, "fs");

export class NativeSnapshotter extends LocalSnapshotter {
  constructor(opts: LocalSnapshotterOptions) {
    super("native", opts);
  }

  protected override async populate(dir: string, _kind: Kind, parentDirs: string[]): Promise<void> {
    const parent = parentDirs[0];
    if (parent === undefined) {
      await mkdir(fsDir(dir), { mode: 0o755 });
      return;
    }
    await copyTree(fsDir(parent), fsDir(dir));
  }

  protected override mountsOf(rec: SnapshotRecord): Mount[] {
    return [{ type: "bind", source: fsDir(rec.dir), options: [rec.kind === "active" ? "rw" : "ro", "rbind"] }];
  }

  protected override changesDir(dir: string): string {
    return fsDir(dir);
  }
}

/** Copy the tree `src` to `dst` (which must not exist), keeping everything `cp -a` keeps. */
export async function copyTree(src: string, dst: string): Promise<void> {
  const p = Bun.spawn(["cp", "-a", "--reflink=auto", "--no-target-directory", src, dst], { stdio: ["ignore", "ignore", "pipe"] });
  const [code, err] = await Promise.all([p.exited, new Response(p.stderr).text()]);
  if (code !== 0) throw internal(`copying snapshot ${src} to ${dst} failed: ${err.trim() || `cp exited with ${code}`}`, "parent");
}
