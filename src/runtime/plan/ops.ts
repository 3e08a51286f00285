// The plan's op table: the single source of truth for the TypeScript planner and the C helper.
// `scripts/gen-plan-ops.ts` turns this table into build/plan-ops.h at set-up time, so the numbers
// can never drift apart. berth-init knows nothing about OCI: it runs these ops in order.
//
// Who runs an op: "parent" is berth-init before/after clone, in the runtime's namespaces (host side);
// "child" is the cloned process that becomes the container's init.
//
// Argument kinds: "str" is a NUL-terminated string, "u64" an 8-byte little-endian integer,
// "bytes" raw bytes (seccomp BPF), "strs" a list of strings (argv, env), sent as one arg per item
// after a u64 count.

export type ArgKind = "str" | "u64" | "bytes" | "strs";
export interface OpDef {
  readonly code: number;
  readonly name: string;
  readonly who: "parent" | "child";
  readonly args: readonly (readonly [string, ArgKind])[];
  readonly doc: string;
}

const table = [
  // ---- parent, before clone -------------------------------------------------------------
  ["SECCOMP_CONNECT", "parent", [["socket", "str"]], "connect to linux.seccomp.listenerPath with the runtime's credentials and mount namespace (first, before any setns); the child inherits the socket through clone, SECCOMP sends the listener fd over it"],
  ["IDMAP_USERNS", "parent", [["uid_map", "str"], ["gid_map", "str"], ["path", "str"]], "the user namespace the IDMAP_TREE steps after it idmap with: path (a /proc/PID/ns/user whose maps are these), or a helper made for it (a child cloned with CLONE_NEWUSER, these maps written, its ns/user opened, the child reaped)"],
  ["IDMAP_TREE", "parent", [["source", "str"], ["recursive", "u64"], ["attr_recursive", "u64"], ["attr_set", "u64"], ["target", "str"]], "open_tree(source, OPEN_TREE_CLONE) with the runtime's credentials and mounts, then mount_setattr(MOUNT_ATTR_IDMAP|attr_set) with the last IDMAP_USERNS (AT_RECURSIVE with attr_recursive); move_mount it onto the host path target (the engine's idmapped layers), or (no target) keep it for the child's MOUNT of that source (inherited through clone)"],
  ["SETNS", "parent", [["path", "str"], ["nstype", "u64"], ["early", "u64"]], "setns(open(path), nstype): join an existing namespace; early: before joining a user namespace, and EPERM (a namespace only that user namespace admits) leaves it to the SETNS of the same type after it; a type already joined is skipped"],
  ["UNSHARE", "parent", [["flags", "u64"]], "unshare(flags) in the parent (time namespace: children enter it)"],
  ["NETNS_NEW", "parent", [["path", "str"]], "unshare(CLONE_NEWNET), bring lo up, bind-mount /proc/self/ns/net on path (an empty file the caller made): a network namespace for CNI, held by that mount (ip netns add, in one process)"],
  ["WRITE_SELF", "parent", [["file", "str"], ["content", "str"]], "write content to /proc/self/<file> (timens_offsets)"],
  ["MKFIFO", "parent", [["path", "str"], ["mode", "u64"]], "mkfifo(path, mode): the exec fifo of create/start"],
  ["DEVICE_PROGRAM", "parent", [["cgroup", "str"], ["insns", "bytes"], ["optional", "u64"]], "cgroup v2 device rules: bpf(BPF_PROG_LOAD) the program the runtime compiled, then attach it to the cgroup replacing the one there (BPF_F_REPLACE), before the child is cloned into it; optional: EPERM is no error (the rules allow every device)"],
  ["CONSOLE_PAIR", "parent", [], "socketpair for the pty master: the parent is the console of a foreground run/exec"],
  ["CLONE", "parent", [["flags", "u64"], ["cgroup", "str"]], "clone(flags|SIGCHLD): the child runs the child ops that follow; with a cgroup2 directory, clone3(CLONE_INTO_CGROUP) starts it there (no migration, no global lock), falling back to writing its pid to cgroup.procs"],
  // ---- parent, after clone ---------------------------------------------------------------
  ["WRITE_CHILD_PROC", "parent", [["file", "str"], ["content", "str"]], "write content to /proc/<child>/<file> (uid_map, gid_map, setgroups)"],
  ["IDMAP_USERNS_CHILD", "parent", [], "after the child's maps are written: its user namespace (/proc/<child>/ns/user), the container's own, is the one the IDMAP_TREE steps after it idmap with"],
  ["SEND_TREES", "parent", [["count", "u64"]], "send the last count trees IDMAP_TREE kept to the child over the sync socket (SCM_RIGHTS, one a message, in order) and close them here"],
  ["WRITE_CHILD_PID", "parent", [["path", "str"]], "write the child's pid to path (cgroup.procs)"],
  ["WAKE_CHILD", "parent", [], "let the child go on past its WAIT_PARENT (sends it its host pid)"],
  ["WAIT_CHILD", "parent", [], "wait until the child reaches WAKE_PARENT"],
  ["HOOK", "parent", [["path", "str"], ["args", "strs"], ["env", "strs"], ["timeout_s", "u64"], ["state_head", "str"], ["state_tail", "str"]], "fork+exec a hook with the state JSON on stdin; non-zero exit or timeout fails"],
  ["FINISH", "parent", [["foreground", "u64"]], "foreground: forward signals, wait for the child, exit with its status; else exit 0"],
  // ---- child ----------------------------------------------------------------------------
  ["RECV_TREES", "child", [["sources", "strs"], ["recursive", "strs"]], "receive the trees SEND_TREES sends, in order, as the idmapped trees of these sources (recursive: \"1\" or \"0\" each) for their MOUNT steps"],
  ["WAIT_PARENT", "child", [], "block until the parent's WAKE_CHILD"],
  ["WAKE_PARENT", "child", [], "tell the parent to go on past WAIT_CHILD, then wait for its WAKE_CHILD"],
  ["CHILD_SETNS", "child", [["path", "str"], ["nstype", "u64"], ["early", "u64"]], "setns in the intermediate child (exec): the parent stays in the host's namespaces; early as SETNS's"],
  ["FORK_GRANDCHILD", "child", [], "clone(CLONE_PARENT): the grandchild (a sibling of this child) enters the joined pid namespace; this child reports its pid and exits"],
  ["JOIN_CGROUP", "child", [["tasks", "str"]], "write 0 to a v1 hierarchy's tasks file: the single-threaded child moves itself (no global lock, unlike cgroup.procs)"],
  ["PREOPEN_BIND", "child", [["source", "str"], ["recursive", "u64"]], "open_tree(source, OPEN_TREE_CLONE) while still the host's uid (before BECOME_NS_ROOT), so a source the container's root cannot reach can still be mounted; the MOUNT of that source uses this tree"],
  ["BECOME_NS_ROOT", "child", [], "setresgid(0,0,0), setresuid(0,0,0), setgroups([]): be root of the new (or joined) user namespace once the maps exist"],
  ["LOOPBACK_UP", "child", [], "bring lo up in the new network namespace (SIOCSIFFLAGS IFF_UP), as runc does"],
  ["CHILD_UNSHARE", "child", [["flags", "u64"]], "unshare(flags) in the child (cgroup namespace, after cgroup placement)"],
  ["CHILD_HOOK", "child", [["path", "str"], ["args", "strs"], ["env", "strs"], ["timeout_s", "u64"], ["state_head", "str"], ["state_tail", "str"]], "HOOK, run by the child (createContainer, startContainer hooks)"],
  ["CONSOLE_CONNECT", "child", [["socket", "str"]], "connect to --console-socket (a host path: before pivot_root or setns)"],
  ["CONSOLE_CREATE", "child", [["rows", "u64"], ["cols", "u64"], ["bind_console", "u64"], ["uid", "u64"]], "open the container's /dev/ptmx, give the slave to the process's uid, send the master over the console socket (SCM_RIGHTS), make the slave our controlling terminal and stdio"],
  ["SETSID", "child", [], "setsid(): a new session"],
  ["MOUNT_ROOT_PROPAGATION", "child", [["flags", "u64"]], "mount(NULL, \"/\", NULL, flags): stop mounts propagating to the host"],
  ["OPEN_ROOTFS", "child", [["path", "str"]], "open the rootfs directory; later paths resolve inside it"],
  ["BIND_ROOTFS", "child", [], "bind-mount the rootfs onto itself so pivot_root can use it"],
  ["MOUNT", "child", [["source", "str"], ["dest", "str"], ["fstype", "str"], ["data", "str"], ["flags", "u64"], ["attr_set", "u64"], ["attr_clr", "u64"], ["propagation", "u64"]], "mount source on dest, resolved inside the rootfs (openat2 RESOLVE_IN_ROOT) and created; new mount API (open_tree/fsopen, mount_setattr, move_mount)"],
  ["MKNOD", "child", [["path", "str"], ["mode", "u64"], ["dev", "u64"], ["uid", "u64"], ["gid", "u64"]], "mknod a device inside the rootfs"],
  ["BIND_DEVICE", "child", [["host_path", "str"], ["path", "str"]], "bind-mount a host device node (user namespaces cannot mknod)"],
  ["SYMLINK", "child", [["target", "str"], ["path", "str"]], "symlink(target, path inside the rootfs)"],
  ["OPEN_EXEC_FIFO", "child", [["path", "str"]], "open the exec fifo (O_RDWR) before the host paths disappear"],
  ["PIVOT_ROOT", "child", [["no_pivot", "u64"]], "pivot_root(rootfs, rootfs) and detach the old root (or MS_MOVE + chroot)"],
  ["MASK_PATH", "child", [["path", "str"]], "hide a path: /dev/null over a file, an empty read-only tmpfs over a directory"],
  ["READONLY_PATH", "child", [["path", "str"]], "bind a path onto itself and remount it read-only"],
  ["MOUNT_SETATTR", "child", [["path", "str"], ["attr_set", "u64"], ["recursive", "u64"]], "mount_setattr(path, attr_set): the read-only rootfs"],
  ["WRITE_FILE", "child", [["path", "str"], ["content", "str"]], "write content to a file (sysctl under /proc/sys, oom_score_adj)"],
  ["SETHOSTNAME", "child", [["name", "str"]], "sethostname(name)"],
  ["SETDOMAINNAME", "child", [["name", "str"]], "setdomainname(name)"],
  ["SETRLIMIT", "child", [["resource", "u64"], ["soft", "u64"], ["hard", "u64"]], "prlimit(0, resource, {soft, hard})"],
  ["CHDIR", "child", [["path", "str"]], "chdir(path) and check that it is inside the container"],
  ["SET_USER", "child", [["uid", "u64"], ["gid", "u64"], ["groups", "strs"], ["umask", "u64"]], "setgroups, setresgid, setresuid (keeping capabilities), umask"],
  ["CAPS_BOUNDING", "child", [["bounding", "u64"]], "prctl(PR_CAPBSET_DROP) for every capability not in the bounding set"],
  ["CAPS", "child", [["effective", "u64"], ["permitted", "u64"], ["inheritable", "u64"], ["ambient", "u64"]], "capset(effective, permitted, inheritable), then raise the ambient set"],
  ["NO_NEW_PRIVS", "child", [], "prctl(PR_SET_NO_NEW_PRIVS, 1)"],
  ["SECCOMP", "child", [["bpf", "bytes"], ["flags", "u64"], ["payload", "strs"]], "load a seccomp BPF filter compiled by the runtime; with SECCOMP_FILTER_FLAG_NEW_LISTENER send the listener fd (SCM_RIGHTS) and the payload parts joined by our host pid (the container process state JSON) over the SECCOMP_CONNECT socket, then close both"],
  ["CLOSE_FDS", "child", [["first", "u64"]], "mark every fd from first up close-on-exec (CVE-2024-21626)"],
  ["FIND_EXEC", "child", [["file", "str"], ["path_env", "str"]], "find the executable on the container's PATH before reporting ready (as runc's LookPath)"],
  ["READY", "child", [], "report that the container is created"],
  ["WAIT_START", "child", [], "block on the exec fifo until `start`"],
  ["WAIT_CALLER_EXIT", "child", [], "block until the runtime that launched a detached exec has exited (end of file on the report socket)"],
  ["EXEC", "child", [["args", "strs"], ["env", "strs"]], "execve(the path FIND_EXEC found, args, env)"],
] as const;

export const OPS: readonly OpDef[] = table.map(([name, who, args, doc], code) => ({ code, name, who, args, doc }));

export type OpName = (typeof table)[number][0];
export const OP: Record<OpName, OpDef> = Object.fromEntries(OPS.map((o) => [o.name, o])) as Record<OpName, OpDef>;

/** Report records berth-init writes to the runtime (fd 3). */
export const REPORT = { PID: 1, STEP: 2, ERROR: 3, READY: 4 } as const;

/** MOUNT flags (berth's own bits, not MS_*): how to make the mount and its mount point. */
export const MOUNT_FLAG = { BIND: 1, RECURSIVE: 2, ATTR_RECURSIVE: 4, CREATE_FILE: 8, CREATE_AUTO: 16, TMPCOPYUP: 32, IDMAP: 64 } as const;
export const PLAN_MAGIC = "BRTHPLN1";

let version: number | undefined;
/**
 * The plan format's version: a hash (CRC-32) of the op table, so a berth-init built from another
 * table refuses the plan by name instead of misreading it. Bun's native CRC-32: a hash loop in JS
 * ran in the cold interpreter on every container start (~0.8 ms).
 */
export function planVersion(): number {
  if (version === undefined) {
    const text = JSON.stringify([OPS.map((o) => [o.name, o.who, o.args]), REPORT, MOUNT_FLAG]);
    version = Bun.hash.crc32(text) >>> 0;
  }
  return version;
}
