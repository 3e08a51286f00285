// A container's rootfs for a user namespace (a pod's, CRI userns_options mode POD): the
// snapshot's mounts made from idmapped layers, so that the files host root owns in the image are
// the namespace's root's, with no copy and no chown of the image's layers (containerd 2.0's way
// for its overlay snapshotter).
//
// Why the lower layers and not the overlay: overlayfs itself cannot be idmapped (no
// FS_ALLOW_IDMAP: mount_setattr(MOUNT_ATTR_IDMAP) on an overlay mount fails with EINVAL on this
// 6.18 kernel), but since Linux 5.19 its layers may be idmapped mounts
// (Documentation/filesystems/overlayfs.rst, "Idmapped layers"). So each lower directory is cloned
// and idmapped onto a temporary mount point, the overlay is mounted from those, and the temporary
// mounts are detached at once: overlayfs keeps private clones of its layers' mounts.
// The upper layer is not idmapped: overlayfs makes its work/work directory with the mounter's
// credentials (host root), which no idmapped mount of this mapping admits — the kernel then
// mounts the overlay read-only ("failed to create directory …/work/work (errno: 75)", seen
// here). The upper directory stays plain, its root owned by the mapping's root (the merged root
// takes its owner), and holds what the container writes with the ids it has on the host (the
// mapping's range), as containerd's remapped snapshots do; a pod's container snapshot is never
// committed.
import { lchownSync, lstatSync, mkdirSync, rmdirSync } from "node:fs";
import { join } from "node:path";
import { idmapMounts, type IdmapRequest } from "../runtime/idmap.ts";
import { mountOne, unmount } from "../snapshots/mount.ts";
import type { Mount } from "../snapshots/types.ts";
import type { IdMapping } from "../runtime/spec/types.ts";
import { invalidArgument } from "../sys/errdefs.ts";

/** Mount `mounts` (a snapshot's) on `rootfs`, idmapped; `scratch` holds the temporary mount points. */
export async function mountIdmapped(mounts: readonly Mount[], rootfs: string, scratch: string, maps: Omit<IdmapRequest, "binds">, o: { helper?: string } = {}): Promise<void> {
  if (mounts.length !== 1) throw invalidArgument(`an idmapped rootfs is made from one snapshot mount, got ${mounts.length}`, "userns");
  const m = mounts[0]!;
  if (m.type === "bind") {
    await idmapMounts({ ...maps, binds: [{ source: m.source, target: rootfs, recursive: m.options.includes("rbind"), readOnly: m.options.includes("ro") }] }, o);
    return;
  }
  if (m.type !== "overlay") throw invalidArgument(`an idmapped rootfs needs an overlay or bind snapshot, not ${m.type}`, "userns");
  const opt = (k: string) => m.options.find((x) => x.startsWith(`${k}=`))?.slice(k.length + 1);
  const lowers = opt("lowerdir")?.split(":") ?? [];
  const upper = opt("upperdir"), work = opt("workdir");
  if ((upper === undefined) !== (work === undefined)) throw invalidArgument(`an overlay with an upperdir needs a workdir (${upper}, ${work})`, "userns");
  if (upper !== undefined) {
    // Its root as the mapping's root: stored ids inside the container's range become host ids
    // once (a later start finds them mapped already).
    const st = lstatSync(upper);
    const up = (id: number, maps: readonly IdMapping[]) => maps.find((x) => id >= x.containerID && id < x.containerID + x.size);
    const u = up(st.uid, maps.uidMappings), g = up(st.gid, maps.gidMappings);
    if (u || g) lchownSync(upper, u ? u.hostID + st.uid - u.containerID : st.uid, g ? g.hostID + st.gid - g.containerID : st.gid);
  }
  mkdirSync(scratch, { recursive: true, mode: 0o700 });
  const binds = lowers.map((l, i) => ({ source: l, target: join(scratch, `l${i}`), readOnly: true }));
  for (const b of binds) mkdirSync(b.target);
  try {
    await idmapMounts({ ...maps, binds }, o);
    const rest = m.options.filter((x) => !/^(lowerdir|upperdir|workdir)=/.test(x));
    const options = [...rest, `lowerdir=${binds.map((b) => b.target).join(":")}`];
    if (upper !== undefined) options.push(`upperdir=${upper}`, `workdir=${work}`);
    mountOne({ type: "overlay", source: "overlay", options }, rootfs);
  } finally {
    // The overlay holds its own clones of the layers: the temporary mounts go at once. Never a
    // recursive remove here: a mount left by a failure would take the layer's files with it.
    for (const b of binds) {
      unmount(b.target, { detach: true, ifMounted: true });
      rmdirSync(b.target);
    }
    rmdirSync(scratch);
  }
}
