// Links on the host, through iproute2's `ip` (the tool made for it) and sysfs for reading:
//  - the host end of a container's veth is renamed to a berth name (btv…): the bridge plugin names
//    it veth<random> with no option to choose, and berth's links must be findable as berth's.
//    That rename is on every container's setup, so it is three ioctls of netdevice(7)
//    (SIOCGIFFLAGS/SIOCSIFFLAGS to take it down and up, SIOCSIFNAME), not `ip -batch`: the exec
//    of ip(8) was 4.5 ms of a 30 ms setup here (bench/network-setup.ts), the ioctls a few µs;
//  - a network's bridge is deleted when the network is removed: the bridge plugin creates
//    bridges but never deletes them (its DEL only removes the container's interface).
import { dlopen, FFIType, toArrayBuffer } from "bun:ffi";
import { existsSync, readdirSync } from "node:fs";
import { BerthError } from "../sys/errdefs.ts";
import { errnoName } from "../sys/errno.ts";

const SIOCGIFFLAGS = 0x8913, SIOCSIFFLAGS = 0x8914, SIOCSIFNAME = 0x8923, IFF_UP = 0x1;
const AF_INET = 2, SOCK_DGRAM = 2, SOCK_CLOEXEC = 0o2000000, IFNAMSIZ = 16;

function openLibc() {
  return dlopen("libc.so.6", {
    socket: { args: [FFIType.i32, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
    // ioctl(2) is variadic; its third argument here is always a pointer (struct ifreq).
    ioctl: { args: [FFIType.i32, FFIType.u64, FFIType.ptr], returns: FFIType.i32 },
    close: { args: [FFIType.i32], returns: FFIType.i32 },
    __errno_location: { args: [], returns: FFIType.ptr },
  }).symbols;
}
let libc: ReturnType<typeof openLibc> | undefined;

/** struct ifreq (40 bytes on x86-64/arm64): ifr_name[16], then the union (ifr_flags, ifr_newname). */
function ifreq(name: string): Uint8Array {
  const b = new Uint8Array(40);
  b.set(new TextEncoder().encode(name).subarray(0, IFNAMSIZ - 1));
  return b;
}

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
  if (!LINK_NAME.test(from) || !LINK_NAME.test(to)) throw new BerthError("InvalidArgument", `cannot rename link ${JSON.stringify(from)} to ${JSON.stringify(to)}: not link names`, "veth");
  const l = (libc ??= openLibc());
  const fail = (what: string): never => {
    const loc = l.__errno_location();
    const e = loc === null ? 0 : new Int32Array(toArrayBuffer(loc, 0, 4))[0]!;
    throw new BerthError("Internal", `renaming the veth ${from} to ${to}: ioctl ${what} failed: ${errnoName(e)}`, "veth");
  };
  const fd = l.socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) fail("socket");
  try {
    const req = ifreq(from);
    const flags = new DataView(req.buffer, IFNAMSIZ, 2);
    if (l.ioctl(fd, SIOCGIFFLAGS, req) < 0) fail(`SIOCGIFFLAGS ${from}`);
    const wasUp = (flags.getInt16(0, true) & IFF_UP) !== 0;
    if (wasUp) {
      flags.setInt16(0, flags.getInt16(0, true) & ~IFF_UP, true);
      if (l.ioctl(fd, SIOCSIFFLAGS, req) < 0) fail(`SIOCSIFFLAGS ${from} down`);
    }
    const ren = ifreq(from);
    ren.set(new TextEncoder().encode(to), IFNAMSIZ);
    if (l.ioctl(fd, SIOCSIFNAME, ren) < 0) fail(`SIOCSIFNAME ${from} -> ${to}`);
    // Up again under its new name (as the plugin left it: the veth's host end is up).
    const up = ifreq(to);
    const upFlags = new DataView(up.buffer, IFNAMSIZ, 2);
    if (l.ioctl(fd, SIOCGIFFLAGS, up) < 0) fail(`SIOCGIFFLAGS ${to}`);
    upFlags.setInt16(0, upFlags.getInt16(0, true) | IFF_UP, true);
    if (l.ioctl(fd, SIOCSIFFLAGS, up) < 0) fail(`SIOCSIFFLAGS ${to} up`);
  } finally {
    l.close(fd);
  }
}

/** Deletes a link; a missing one is fine. */
export async function deleteLink(name: string): Promise<boolean> {
  if (!linkExists(name)) return false;
  const r = await ip(["link", "del", "dev", name]);
  if (r.status !== 0 && linkExists(name)) throw new BerthError("Internal", `deleting the link ${name} with ip(8) failed: ${r.err}`, "bridge");
  return true;
}

export const LINK_NAME = /^[A-Za-z0-9_.-]{1,15}$/;
