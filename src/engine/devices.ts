// Host device nodes → the spec's linux.devices and their device-cgroup allow rules, as containerd's
// oci.WithDevices / HostDevices do (facts from containerd pkg/oci/utils_unix.go): a device path is
// Lstat'ed after its symlink is resolved; a directory adds every char/block device under it
// (skipping /dev's pts, shm, fd, mqueue, .lxc, .lxd-mounts, .udev and console); anything else
// under a directory is skipped. Hand-written: a stat and a directory walk, no library needed.
import { lstatSync, readdirSync, realpathSync, type Stats } from "node:fs";
import { join, posix } from "node:path";
import { invalidArgument } from "../sys/errdefs.ts";

/** One device node as the container gets it. */
export interface DeviceSpec {
  /** Path inside the container. */
  path: string;
  type: "c" | "b";
  major: number;
  minor: number;
  /** Permission bits of the host node (e.g. 0o666). */
  fileMode: number;
  uid: number;
  gid: number;
  /** Device cgroup access: some of r, w, m. */
  permissions: string;
}

const SKIP_DIRS = new Set(["pts", "shm", "fd", "mqueue", ".lxc", ".lxd-mounts", ".udev"]);
const S_IFMT = 0o170000;
const S_IFCHR = 0o020000;
const S_IFBLK = 0o060000;

// Linux dev_t encoding (glibc's gnu_dev_major/minor), for the st_rdev bun/node return.
export const devMajor = (rdev: number): number => Number(((BigInt(rdev) >> 8n) & 0xfffn) | ((BigInt(rdev) >> 32n) & ~0xfffn));
export const devMinor = (rdev: number): number => Number((BigInt(rdev) & 0xffn) | ((BigInt(rdev) >> 12n) & ~0xffn));

function nodeOf(st: Stats): { type: "c" | "b"; major: number; minor: number } | undefined {
  const fmt = st.mode & S_IFMT;
  if (fmt !== S_IFCHR && fmt !== S_IFBLK) return undefined;
  return { type: fmt === S_IFCHR ? "c" : "b", major: devMajor(st.rdev), minor: devMinor(st.rdev) };
}

/** Access string check: the device cgroup's r, w, m letters, each at most once (empty: rwm). */
export function devicePermissions(p: string, field: string): string {
  if (p === "") return "rwm";
  if (!/^[rwm]{1,3}$/.test(p) || new Set(p).size !== p.length) throw invalidArgument(`${field} ${JSON.stringify(p)}: use some of r, w, m (e.g. "rwm")`, field);
  return p;
}

/**
 * The devices for one host path: the node itself, or every device under a directory (at
 * containerPath/<relative path>). A missing path or a non-device file is InvalidArgument naming field.
 */
export function devicesFromHost(hostPath: string, containerPath: string, permissions: string, field: string): DeviceSpec[] {
  if (!hostPath.startsWith("/")) throw invalidArgument(`${field} host_path ${JSON.stringify(hostPath)} must be an absolute path`, field);
  let path = hostPath;
  let st: Stats;
  try {
    st = lstatSync(path);
    if (st.isSymbolicLink()) {
      path = realpathSync(path);
      st = lstatSync(path);
    }
  } catch (e) {
    throw invalidArgument(`${field} host_path ${hostPath} does not exist on this node (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, field);
  }
  const target = containerPath || hostPath;
  if (!posix.isAbsolute(target)) throw invalidArgument(`${field} container_path ${JSON.stringify(containerPath)} must be an absolute path`, field);
  if (st.isDirectory()) return walk(path, target, permissions);
  const n = nodeOf(st);
  if (!n) throw invalidArgument(`${field} host_path ${hostPath} is not a device node (nor a directory of them)`, field);
  return [{ path: target, ...n, fileMode: st.mode & 0o7777, uid: st.uid, gid: st.gid, permissions }];
}

function walk(dir: string, target: string, permissions: string): DeviceSpec[] {
  const out: DeviceSpec[] = [];
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch {
    return out;
  }
  for (const name of names) {
    const p = join(dir, name);
    let st: Stats;
    try {
      st = lstatSync(p);
    } catch {
      continue; // gone meanwhile
    }
    if (st.isDirectory()) {
      if (SKIP_DIRS.has(name)) continue;
      out.push(...walk(p, posix.join(target, name), permissions));
      continue;
    }
    if (name === "console") continue;
    const n = nodeOf(st);
    if (!n) continue;
    out.push({ path: posix.join(target, name), ...n, fileMode: st.mode & 0o7777, uid: st.uid, gid: st.gid, permissions });
  }
  return out;
}

/** Every host device under /dev (a privileged container's, as containerd's HostDevices). */
export const hostDevices = (): DeviceSpec[] => walk("/dev", "/dev", "rwm");
