// Idmapped mounts made on the host, for an engine (berth-init runs a plan of parent steps only):
// the layers of a container's overlay rootfs, so that a container in a user namespace sees the
// files host root owns as its own root's. mount_setattr(2) MOUNT_ATTR_IDMAP needs a single
// user namespace fd with the mapping — made by a process in it, which Bun's threads cannot be —
// and CAP_SYS_ADMIN over the source's file system.
import { launch } from "./launch.ts";
import { step, type PlanStep } from "./plan/encode.ts";
import { MOUNT_ATTR } from "../sys/linux.ts";
import type { IdMapping } from "./spec/types.ts";

export interface IdmapRequest {
  readonly uidMappings: readonly IdMapping[];
  readonly gidMappings: readonly IdMapping[];
  /** A user namespace with these mappings to use (/proc/<pid>/ns/user); else a helper is made. */
  readonly usernsPath?: string;
  /** Each source is cloned (open_tree), idmapped and mounted on its target, a host path. */
  readonly binds: readonly { readonly source: string; readonly target: string; readonly recursive?: boolean; readonly readOnly?: boolean }[];
}

const mapText = (m: readonly IdMapping[]) => m.map((x) => `${x.containerID} ${x.hostID} ${x.size}\n`).join("");

export function idmapPlan(r: IdmapRequest): PlanStep[] {
  const u = mapText(r.uidMappings), g = mapText(r.gidMappings);
  return [
    step("IDMAP_USERNS", [u, g, r.usernsPath ?? ""], r.usernsPath ? `open(${JSON.stringify(r.usernsPath)})` : `a helper user namespace: uid_map ${JSON.stringify(u.trim())}, gid_map ${JSON.stringify(g.trim())}`),
    ...r.binds.map((b) => step("IDMAP_TREE", [b.source, b.recursive ? 1 : 0, b.recursive ? 1 : 0, b.readOnly ? MOUNT_ATTR.RDONLY : 0, b.target],
      `open_tree(${JSON.stringify(b.source)}); mount_setattr(MOUNT_ATTR_IDMAP${b.readOnly ? "|MOUNT_ATTR_RDONLY" : ""}); move_mount(→ ${JSON.stringify(b.target)})`)),
  ];
}

/** Make the idmapped mounts; `helper` is the berth-init to run. */
export async function idmapMounts(r: IdmapRequest, o: { helper?: string; explain?: boolean } = {}): Promise<void> {
  await launch(idmapPlan(r), { parentOnly: true, stdio: ["ignore", "ignore", "inherit"], ...(o.helper ? { helper: o.helper } : {}), explain: o.explain ?? false });
}
