// GET /containers/{id}/changes: what the container changed in its root filesystem, from the
// overlay snapshot's upper directory (docker's Kind: 0 modified, 1 added, 2 deleted). A
// character device 0:0 is overlayfs's whiteout (a deletion); a directory also in a lower layer
// counts as modified; /etc/hostname, hosts and resolv.conf, empty files the engine binds its own
// over, are not the container's changes. The native snapshotter (full copies) has no upper directory to read.
import { lstatSync, readdirSync } from "node:fs";
import { join } from "node:path";
import type { Snapshotter } from "../../snapshots/types.ts";
import { notImplemented } from "../../sys/errdefs.ts";

export async function diffChanges(sn: Snapshotter, key: string): Promise<{ Path: string; Kind: number }[] | null> {
  const mounts = await sn.mounts(key);
  const ov = mounts.find((m) => m.type === "overlay");
  const opt = (k: string) => ov?.options?.find((o) => o.startsWith(`${k}=`))?.slice(k.length + 1);
  const upper = opt("upperdir");
  if (!ov || !upper) {
    if (mounts.length === 1 && mounts[0]!.type === "bind" && sn.name === "overlay") return null; // no layer written yet
    throw notImplemented(`container changes need the overlay storage driver (this engine uses ${sn.name})`, "storage-driver");
  }
  const lowers = (opt("lowerdir") ?? "").split(":").filter(Boolean);
  const inLower = (rel: string) => lowers.some((l) => {
    try {
      lstatSync(join(l, rel));
      return true;
    } catch {
      return false;
    }
  });
  const out: { Path: string; Kind: number }[] = [];
  // The engine's own mount points for the files it binds, as docker leaves them out.
  const ours = new Set(["/etc/hostname", "/etc/hosts", "/etc/resolv.conf"]);
  // A directory the image has counts as changed when something under it did (its copy-up alone,
  // for a mount point of the engine's, is not a change).
  const walk = (rel: string): { Path: string; Kind: number }[] => {
    const found: { Path: string; Kind: number }[] = [];
    for (const n of readdirSync(join(upper, rel)).sort()) {
      const r = `${rel}/${n}`;
      const st = lstatSync(join(upper, r));
      if (ours.has(r) && st.size === 0) continue;
      if (st.isCharacterDevice() && st.rdev === 0) {
        found.push({ Path: r, Kind: 2 });
        continue;
      }
      const below = st.isDirectory() ? walk(r) : [];
      const had = inLower(r);
      if (!had || !st.isDirectory() || below.length) found.push({ Path: r, Kind: had ? 0 : 1 }, ...below);
    }
    return found;
  };
  out.push(...walk(""));
  return out.length ? out : null;
}
