// Removing a directory tree that may be big (a container's writable layer, a snapshot).
// A one-shot process (a berth command, berth-runtime) has nothing else to run meanwhile: it
// removes the tree with synchronous calls. An async rm is a hop through Bun's thread pool per
// call, and in a short-lived process the pool's start and node:fs/promises' load cost ~1 ms
// (measured on `berth run --rm`, where the layer holds a handful of files). berthd serves many
// clients at once and calls longLived() at its start: there a removal runs in the pool and its
// event loop stays free.
import { rmSync } from "node:fs";

let blocking = true;

/** This process serves others for a long time (berthd): removals stay off its event loop. */
export function longLived(): void {
  blocking = false;
}

export async function removeTree(path: string): Promise<void> {
  if (blocking) {
    rmSync(path, { recursive: true, force: true });
    return;
  }
  const { rm } = await import("node:fs/promises");
  await rm(path, { recursive: true, force: true });
}
