// `pause` / `resume`: freeze and thaw every process of a container through its freezer cgroup
// (v1 freezer.state, v2 cgroup.freeze). As runc 1.1: a running or created container can be
// paused; only a paused one can be resumed.
import { failedPrecondition } from "../../sys/errdefs.ts";
import { loadContainer, notRunning } from "./container-status.ts";

export function pause(root: string, id: string): void {
  const c = loadContainer(root, id);
  if (c.status !== "running" && c.status !== "created") throw notRunning(id, c.status, "pause");
  c.cgroup.freeze();
}

export function resume(root: string, id: string): void {
  const c = loadContainer(root, id);
  if (c.status !== "paused") {
    throw failedPrecondition(`container not paused: cannot resume "${id}", it is ${c.status}`, "container-id");
  }
  c.cgroup.thaw();
}
