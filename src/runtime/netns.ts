// A network namespace for CNI, made by berth-init with one parent step (NETNS_NEW): unshare, lo
// up, bind mount on the file — `ip netns add` in one static process instead of util-linux's
// unshare(1) running iproute2's ip (two dynamic ones: about 3 ms of a pod's start here).
import { launch } from "./launch.ts";
import { step } from "./plan/encode.ts";

/** Makes the namespace on `path` (an empty file); returns what was done, for --explain. `helper` is the berth-init to run. */
export async function newNetns(path: string, o: { helper?: string } = {}): Promise<string> {
  const what = `berth-init: unshare(CLONE_NEWNET); lo up; mount --bind /proc/self/ns/net ${path}`;
  await launch([step("NETNS_NEW", [path], what)], { parentOnly: true, stdio: ["ignore", "ignore", "inherit"], ...(o.helper ? { helper: o.helper } : {}) });
  return what;
}
