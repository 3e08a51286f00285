// A run's root: the shared read-only lower directories under an overlay whose upper lives on a
// tmpfs of its own — made inside the run's mount namespace, so nothing is copied or unpacked per
// run, and nothing is mounted on the host: the mounts end with the namespace, even if the caller
// is killed (mount_namespaces(7)).
//
// On the host, a template directory (one per owner and mode of the lower's top, since the
// overlay's root takes the upper root's) holds five empty directories. In the run, berth-init
//   1. opens the host's "/" (OPEN_ROOTFS): the next mount targets are host paths, resolved in
//      the run's mount namespace, which is already a private (rslave) copy;
//   2. mounts a tmpfs over the template with tmpcopyup, so it starts with those five directories:
//        upper/ work/   overlayfs's upperdir and workdir (Documentation/filesystems/overlayfs.rst)
//        root/          the overlay's mount point, the run's root
//        tmp/ shm/      bound on /tmp and /dev/shm
//      one tmpfs, so its size (tmpfsBytes) bounds every write of the run together;
//   3. mounts the overlay (lowerdir = the lowers, top first) on root/;
// and the usual plan goes on with root/ as the rootfs: bind it, mount /proc, /dev, …, pivot_root.
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { MOUNT_ATTR } from "../sys/linux.ts";
import { MOUNT_FLAG } from "../runtime/plan/ops.ts";
import { step, type PlanStep } from "../runtime/plan/encode.ts";

const SUBDIRS: readonly [string, number][] = [["work", 0o700], ["root", 0o755], ["tmp", 0o1777], ["shm", 0o1777]];

/** The template for lowers whose top is `top`, made on first use under the state directory. */
export function ensureTemplate(stateDir: string, top: string): string {
  const st = statSync(top);
  const dir = join(stateDir, `rw-${(st.mode & 0o7777).toString(8)}-${st.uid}-${st.gid}`);
  if (existsSync(join(dir, "shm"))) return dir;
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // The merged root shows the upper root's owner and mode: make them the lower's.
  const upper = join(dir, "upper");
  mkdirSync(upper, { recursive: true });
  chownSync(upper, st.uid, st.gid);
  for (const [name, mode] of SUBDIRS) mkdirSync(join(dir, name), { recursive: true, mode });
  // mkdir(2) applies the umask: set the modes exactly (tmpcopyup copies them).
  for (const [name, mode] of [["upper", st.mode & 0o7777] as [string, number], ...SUBDIRS]) chmodSync(join(dir, name), mode);
  return dir;
}

let indexOn: boolean | undefined;
/** overlayfs's `index` feature refuses a lower shared by two mounts with different uppers. */
function overlayIndexOn(): boolean {
  if (indexOn === undefined) {
    const p = "/sys/module/overlay/parameters/index";
    indexOn = existsSync(p) && readFileSync(p, "utf8").trim() === "Y";
  }
  return indexOn;
}

/** The steps that make the run's root; they go before the plan's OPEN_ROOTFS. */
export function rootfsSteps(template: string, lowers: readonly string[], tmpfsBytes: number): PlanStep[] {
  const q = JSON.stringify;
  const attrs = MOUNT_ATTR.NOSUID | MOUNT_ATTR.NODEV;
  // Inodes cost kernel memory outside the size limit: bound them too (one per 4 KiB of size).
  const tmpfs = `size=${tmpfsBytes},nr_inodes=${Math.max(1024, Math.floor(tmpfsBytes / 4096))}`;
  const overlay = [`lowerdir=${lowers.join(":")}`, `upperdir=${join(template, "upper")}`, `workdir=${join(template, "work")}`, ...(overlayIndexOn() ? ["index=off"] : [])].join(",");
  const root = join(template, "root");
  return [
    step("OPEN_ROOTFS", ["/"], `open("/") — the run's tmpfs and overlay are mounted in its own mount namespace`, "rootfs"),
    step("MOUNT", ["tmpfs", template, "tmpfs", tmpfs, MOUNT_FLAG.TMPCOPYUP, attrs, 0, 0], `mount("tmpfs", ${q(template)}, "tmpfs", ${q(tmpfs)}); copy up upper/ work/ root/ tmp/ shm/`, "tmpfsBytes"),
    step("MOUNT", ["overlay", root, "overlay", overlay, 0, attrs, 0, 0], `mount("overlay", ${q(root)}, "overlay", ${q(overlay)})`, "rootfs"),
  ];
}

/** Insert the root steps before the plan opens the rootfs. */
export function withRootfsSteps(plan: readonly PlanStep[], steps: readonly PlanStep[]): PlanStep[] {
  const at = plan.findIndex((s) => s.op.name === "OPEN_ROOTFS");
  if (at < 0) throw new Error("plan without OPEN_ROOTFS");
  return [...plan.slice(0, at), ...steps, ...plan.slice(at)];
}
