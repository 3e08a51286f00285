// Persistent network namespaces, podman's model: a new netns bind-mounted on a file,
// <runroot>/netns/<id>, made before the container starts and handed to the runtime as a `path`
// namespace, so that the network can be set up (and torn down) without the container's process.
//
// util-linux's `unshare --net=FILE true` creates the namespace and bind-mounts /proc/PID/ns/net on
// FILE (unshare(1) "persistent namespace"): the tool made for it, instead of unshare/setns FFI in
// this multi-threaded process (a failure half-way would leave its main thread in the new netns).
// Releasing is umount2(2) on FILE through the snapshots' libc binding, not `umount FILE`: one
// process start less on every teardown (~3-4 ms here, much more on a loaded machine), and no
// thread of ours changes namespace for it.
import { closeSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { alreadyExists, BerthError, invalidArgument } from "../sys/errdefs.ts";
import { unmount } from "../snapshots/mount.ts";

export const netnsDir = (runroot: string): string => join(runroot, "netns");
export const netnsPathFor = (runroot: string, id: string): string => join(netnsDir(runroot), id);

function checkId(id: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/.test(id)) throw invalidArgument(`invalid container id ${JSON.stringify(id)} for a network namespace`, "id");
}

async function run(argv: string[]): Promise<{ status: number; stderr: string }> {
  const p = Bun.spawn(argv, { stdin: "ignore", stdout: "ignore", stderr: "pipe" });
  const [stderr, status] = await Promise.all([new Response(p.stderr).text(), p.exited]);
  return { status, stderr: stderr.trim() };
}

/** Mount points in this process's mount namespace (mountinfo field 5, octal escapes undone). */
export function mountPoints(): Set<string> {
  const out = new Set<string>();
  for (const line of readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
    const mp = line.split(" ")[4];
    if (mp) out.add(mp.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))));
  }
  return out;
}

/**
 * Makes a new network namespace with lo up, bind-mounted on `path` (an empty file already there),
 * and says how (for --explain). The engine's is berth-init's NETNS_NEW (src/runtime/netns.ts).
 */
export type NetnsMaker = (path: string) => Promise<string>;

/**
 * The default maker: the process util-linux unshare(1) runs in the new namespace brings its
 * loopback up (iproute2's ip, what CNI's loopback plugin does): two process starts.
 */
const unshareNetns: NetnsMaker = async (path) => {
  const r = await run(["unshare", `--net=${path}`, "ip", "link", "set", "lo", "up"]);
  if (r.status !== 0) throw new BerthError("Internal", `creating the network namespace ${path} with unshare(1) failed: ${r.stderr || `status ${r.status}`}`, "netns");
  return `unshare --net=${path} ip link set lo up`;
};

/**
 * Creates the netns of container `id`, `lo` up, with `make` (default unshare(1) and ip);
 * AlreadyExists when its file is there. Returns its path and how it was made.
 */
export async function createNetns(runroot: string, id: string, make: NetnsMaker = unshareNetns): Promise<{ path: string; how: string }> {
  checkId(id);
  const path = netnsPathFor(runroot, id);
  mkdirSync(netnsDir(runroot), { recursive: true, mode: 0o755 });
  try {
    // O_EXCL: two creators of one id cannot both win.
    closeSync(openSync(path, "wx", 0o444));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") throw alreadyExists(`network namespace ${path} exists already`, "netns");
    throw e;
  }
  try {
    return { path, how: await make(path) };
  } catch (e) {
    rmSync(path, { force: true });
    throw e;
  }
}

/** Unmounts (every stacked mount) and unlinks a netns file; missing is fine. True if it existed. */
export async function removeNetns(path: string): Promise<boolean> {
  let existed = false;
  for (let i = 0; i < 8 && mountPoints().has(path); i++) {
    existed = true;
    // Busy (a process is still entering it): detached, the kernel frees it when the last user goes.
    try {
      unmount(path, { detach: true, ifMounted: true });
    } catch (e) {
      if (mountPoints().has(path)) throw new BerthError("Internal", `unmounting the network namespace ${path}: ${(e as Error).message}`, "netns");
    }
  }
  try {
    rmSync(path);
    existed = true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
  }
  return existed;
}

/**
 * True when a process is in the network namespace bind-mounted on `path` (its /proc/PID/ns/net
 * is that namespace: same nsfs inode). One stat per process (~1 ms for a hundred here). False
 * when `path` is no namespace.
 */
export function netnsInUse(path: string): boolean {
  let ino: number;
  try {
    ino = statSync(path).ino;
  } catch {
    return false;
  }
  for (const d of readdirSync("/proc")) {
    const c = d.charCodeAt(0);
    if (c < 48 || c > 57) continue;
    try {
      if (statSync(`/proc/${d}/ns/net`).ino === ino) return true;
    } catch {
      // exited meanwhile, or a kernel thread
    }
  }
  return false;
}

/** Container ids that have a netns file under the runroot. */
export function listNetns(runroot: string): string[] {
  try {
    return readdirSync(netnsDir(runroot)).filter((n) => !n.startsWith("."));
  } catch {
    return [];
  }
}
