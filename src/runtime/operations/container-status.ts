// The status the operations verbs decide on, in runc's order (libcontainer refreshState): a frozen
// cgroup is "paused" before the exec fifo makes it "created", so a created container that was
// paused reads "paused" and resumes to "created", as with runc 1.1.
import { existsSync } from "node:fs";
import { openCgroupManager, type CgroupManager } from "../../cgroups/manager.ts";
import { failedPrecondition } from "../../sys/errdefs.ts";
import { processAlive, StateStore, type SavedState, type Status } from "../state.ts";

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
  if (!processAlive(s.pid, s.pidStart)) return "stopped";
  if (frozen(cg)) return "paused";
  if (existsSync(store.fifo(s.id))) return "created";
  return "running";
}

function frozen(cg: CgroupManager): boolean {
  try {
    return cg.freezerState() === "FROZEN";
  } catch {
    return false;
  }
}

/**
 * runc's ErrNotRunning text ("container not running") leads, so scripts and shims that match
 * runc's messages keep working; the rest names the container and its state.
 */
export function notRunning(id: string, status: Status, what: string): Error {
  return failedPrecondition(`container not running: cannot ${what} "${id}", it is ${status}`, "container-id");
}
