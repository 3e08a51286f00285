// The status the operations verbs decide on: StateStore.status's, in runc's order (libcontainer
// refreshState), with the cgroup these verbs open anyway.
import { openCgroupManager, type CgroupManager } from "../../cgroups/manager.ts";
import { failedPrecondition } from "../../sys/errdefs.ts";
import { frozen, StateStore, type SavedState, type Status } from "../state.ts";

export interface Loaded {
  readonly saved: SavedState;
  readonly cgroup: CgroupManager;
  readonly status: Status;
}

/** Load a container's saved state, re-open its cgroup and derive its status. Throws NotFound. */
export function loadContainer(root: string, id: string): Loaded {
  const store = new StateStore(root);
  const saved = store.load(id);
  const cgroup = openCgroupManager({ id: saved.id, paths: saved.cgroupPaths });
  return { saved, cgroup, status: statusOf(store, saved, cgroup) };
}

export function statusOf(store: StateStore, s: SavedState, cg: CgroupManager): Status {
  return store.status(s, () => frozen(() => cg));
}

/**
 * runc's ErrNotRunning text ("container not running") leads, so scripts and shims that match
 * runc's messages keep working; the rest names the container and its state.
 */
export function notRunning(id: string, status: Status, what: string): Error {
  return failedPrecondition(`container not running: cannot ${what} "${id}", it is ${status}`, "container-id");
}
