// Persistent network namespaces, podman's model: a new netns bind-mounted on a file,
// <runroot>/netns/<id>, made before the container starts and handed to the runtime as a `path`
// namespace, so that the network can be set up (and torn down) without the container's process.
//
// util-linux does both steps: `unshare --net=FILE true` creates the namespace and bind-mounts
// /proc/PID/ns/net on FILE (unshare(1) "persistent namespace"); `umount FILE` releases it. They are
// used instead of our own setns/mount FFI because they are the tools made for exactly this, cost
// about 2 ms each, and keep this library free of a second libc binding.
import { closeSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { alreadyExists, BerthError, invalidArgument } from "../sys/errdefs.ts";

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

/** Creates the netns of container `id`; AlreadyExists when its file is there. */
export async function createNetns(runroot: string, id: string): Promise<string> {
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
  const r = await run(["unshare", `--net=${path}`, "true"]);
  if (r.status !== 0) {
    rmSync(path, { force: true });
    throw new BerthError("Internal", `creating the network namespace ${path} with unshare(1) failed: ${r.stderr || `status ${r.status}`}`, "netns");
  }
  return path;
}

/** Unmounts (every stacked mount) and unlinks a netns file; missing is fine. True if it existed. */
export async function removeNetns(path: string): Promise<boolean> {
  let existed = false;
  for (let i = 0; i < 8 && mountPoints().has(path); i++) {
    existed = true;
    const r = await run(["umount", path]);
    if (r.status !== 0 && mountPoints().has(path)) {
      // Busy (a process is still entering it): detach, the kernel frees it when the last user goes.
      const l = await run(["umount", "-l", path]);
      if (l.status !== 0 && mountPoints().has(path)) throw new BerthError("Internal", `unmounting the network namespace ${path}: ${r.stderr}; ${l.stderr}`, "netns");
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

/** Container ids that have a netns file under the runroot. */
export function listNetns(runroot: string): string[] {
  try {
    return readdirSync(netnsDir(runroot)).filter((n) => !n.startsWith("."));
  } catch {
    return [];
  }
}
