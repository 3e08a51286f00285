// Links on the host, through iproute2's `ip` (the tool made for it) and sysfs for reading:
//  - the host end of a container's veth is renamed to a berth name (btv…): the bridge plugin names
//    it veth<random> with no option to choose, and berth's links must be findable as berth's;
//  - a network's bridge is deleted when the network is removed: the bridge plugin creates
//    bridges but never deletes them (its DEL only removes the container's interface).
import { existsSync, readdirSync } from "node:fs";
import { BerthError } from "../sys/errdefs.ts";

export const linkExists = (name: string): boolean => existsSync(`/sys/class/net/${name}`);

export function bridgePorts(bridge: string): string[] {
  try {
    return readdirSync(`/sys/class/net/${bridge}/brif`);
  } catch {
    return [];
  }
}

async function ip(args: string[], stdin?: string): Promise<{ status: number; err: string }> {
  // stdin through a pipe: given bytes would sit in a memfd until a GC (see cni/exec.ts).
  const p = Bun.spawn(["ip", ...args], { stdin: stdin === undefined ? "ignore" : "pipe", stdout: "ignore", stderr: "pipe" });
  if (stdin !== undefined && p.stdin) {
    p.stdin.write(stdin);
    void p.stdin.end();
  }
  const [err, status] = await Promise.all([new Response(p.stderr).text(), p.exited]);
  return { status, err: err.trim() };
}

/** Renames a link; a link must be down to be renamed (EBUSY otherwise), so it is set down and up again. */
export async function renameLink(from: string, to: string): Promise<void> {
  const r = await ip(["-batch", "-"], `link set dev ${from} down\nlink set dev ${from} name ${to}\nlink set dev ${to} up\n`);
  if (r.status !== 0) throw new BerthError("Internal", `renaming the veth ${from} to ${to} with ip(8) failed: ${r.err}`, "veth");
}

/** Deletes a link; a missing one is fine. */
export async function deleteLink(name: string): Promise<boolean> {
  if (!linkExists(name)) return false;
  const r = await ip(["link", "del", "dev", name]);
  if (r.status !== 0 && linkExists(name)) throw new BerthError("Internal", `deleting the link ${name} with ip(8) failed: ${r.err}`, "bridge");
  return true;
}

export const LINK_NAME = /^[A-Za-z0-9_.-]{1,15}$/;
