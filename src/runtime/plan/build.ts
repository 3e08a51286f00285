// RuntimeConfig → the ordered list of kernel steps berth-init runs. Pure: no I/O, so unit tests
// check plans as data (youki's recording-fake habit; here the plan *is* the recording).
//
// Order (runc's, see libcontainer/nsenter and rootfs_linux.go; runtime-spec runtime.md "Lifecycle"):
//   parent: [idmapped trees: joined/helper user namespace] → [v2 device program]
//           → join namespaces → [time ns] → [exec fifo] → clone(new namespaces)
//           → uid/gid maps → [idmapped trees: the child's user namespace, sent to it]
//           → cgroup.procs → oom_score_adj → wake child
//   child:  [idmapped trees received] → [user ns: bind sources, rootfs opened; its root]
//           → [cgroup ns] → / rslave → bind rootfs → mounts → devices → /dev links → exec fifo
//           → (parent: prestart, createRuntime hooks) → createContainer hooks → pivot_root
//           → sysctl → readonly/masked paths → read-only root → hostname → rlimits
//           → bounding set → user → cwd → capabilities → no_new_privs → find executable
//           → close fds → READY → [wait for start → startContainer hooks] → seccomp → exec
//   seccomp notify (linux.seccomp.listenerPath): the parent connects to the agent first, with the
//           runtime's credentials and mounts; the child inherits the socket and, right after
//           seccomp(2) returns the listener fd, sends it with the container process state.
import { CLONE, MS, MOUNT_ATTR, S_IF } from "../../sys/linux.ts";
import { capabilityNames } from "../../sys/capabilities.ts";
import { invalidArgument } from "../../sys/errdefs.ts";
import { MOUNT_FLAG } from "./ops.ts";
import { step, type PlanStep } from "./encode.ts";
import { NAMESPACE_FLAGS, type HookConfig, type MountConfig, type ProcessConfig, type RuntimeConfig } from "../config.ts";
import type { NamespaceType, State } from "../spec/types.ts";

export interface CgroupHierarchy {
  /** Host mount point, e.g. /sys/fs/cgroup/memory; its base name is the name inside. */
  readonly mountPoint: string;
  /** The container's cgroup directory on the host. */
  readonly dir: string;
  /** v1 controllers ("cpu", "name=systemd"); empty for cgroup2. */
  readonly controllers: readonly string[];
  readonly v2: boolean;
}

export interface PlanOptions {
  /** create: stop before exec until `start`; foreground: wait and exit with the status; detach. */
  readonly mode: "create" | "foreground" | "detach";
  readonly fifoPath?: string;
  /** cgroup.procs files to put the init process into. */
  readonly cgroupProcs: readonly string[];
  /** v1 `tasks` files the child can join by itself (faster); used when there is no new user namespace. */
  readonly cgroupTasks?: readonly string[];
  /** A cgroup2 directory the child is cloned into (clone3 CLONE_INTO_CGROUP): v2, or hybrid's unified. */
  readonly cgroupInto?: string;
  /** cgroup v2 device rules, compiled: berth-init loads and attaches them before the clone. */
  readonly deviceProgram?: { readonly dir: string; readonly insns: Uint8Array; readonly optional: boolean };
  readonly cgroupHierarchies: readonly CgroupHierarchy[];
  readonly noPivot?: boolean;
  readonly preserveFds?: number;
  /** State JSON for hooks, split where the pid goes ("pid": <pid>). */
  readonly hookState: readonly [string, string];
  /** The compiled linux.seccomp filter (listenerPath and listenerMetadata come from the config). */
  readonly seccomp?: CompiledFilter;
  /** Not root: gid_map may only be written after setgroups is denied (user_namespaces(7)). */
  readonly rootless?: boolean;
  /** --console-socket for process.terminal; without one a foreground run makes berth-init the console. */
  readonly consoleSocket?: string;
  /** Leave lo down in a new network namespace (the sandbox: no network at all, not even loopback). */
  readonly loopbackDown?: boolean;
  /** Whether /proc/kcore exists on the host (runc links /dev/core to it then). */
  readonly hostHasKcore?: boolean;
}

const NS_NAMES: [number, string][] = [
  [CLONE.NEWNS, "CLONE_NEWNS"], [CLONE.NEWUTS, "CLONE_NEWUTS"], [CLONE.NEWIPC, "CLONE_NEWIPC"],
  [CLONE.NEWUSER, "CLONE_NEWUSER"], [CLONE.NEWPID, "CLONE_NEWPID"], [CLONE.NEWNET, "CLONE_NEWNET"],
  [CLONE.NEWCGROUP, "CLONE_NEWCGROUP"], [CLONE.NEWTIME, "CLONE_NEWTIME"],
];
export const cloneFlagNames = (flags: number) => NS_NAMES.filter(([f]) => flags & f).map(([, n]) => n).join("|") || "0";

const q = JSON.stringify;
const attrNames = (a: number) =>
  Object.entries({ RDONLY: MOUNT_ATTR.RDONLY, NOSUID: MOUNT_ATTR.NOSUID, NODEV: MOUNT_ATTR.NODEV, NOEXEC: MOUNT_ATTR.NOEXEC, NOATIME: MOUNT_ATTR.NOATIME, STRICTATIME: MOUNT_ATTR.STRICTATIME, NODIRATIME: MOUNT_ATTR.NODIRATIME, NOSYMFOLLOW: MOUNT_ATTR.NOSYMFOLLOW })
    .filter(([, v]) => a & v).map(([k]) => `MOUNT_ATTR_${k}`).join("|");
const propName = (p: number) =>
  (p & MS.REC ? "r" : "") + (p & MS.SHARED ? "shared" : p & MS.SLAVE ? "slave" : p & MS.PRIVATE ? "private" : p & MS.UNBINDABLE ? "unbindable" : "?");

/** What the planner needs of a compiled seccomp filter (src/seccomp's CompiledSeccomp). */
export interface CompiledFilter {
  readonly bpf: Uint8Array;
  readonly flags: number;
}

/** SECCOMP_FILTER_FLAG_NEW_LISTENER (linux/seccomp.h): seccomp(2) returns a notification fd. */
const NEW_LISTENER = 8;

/** Where a notify filter's listener fd goes (config-linux.md "Seccomp", listenerPath). */
export interface SeccompListener {
  readonly path: string;
  readonly metadata?: string;
  /** The container's state; a `pid` of undefined means the process's own pid (the init's). */
  readonly state: Omit<State, "pid"> & { pid?: number };
}

/**
 * runtime-spec's ContainerProcessState (specs-go/state.go) as berth-init sends it: the JSON split
 * where the process's host pid goes, which only berth-init knows. For the init the state's pid is
 * that pid too; for exec it is the init's, and the top-level pid the exec'd process's.
 */
export function processStatePayload(l: SeccompListener): string[] {
  const HOLE = -1; // no real pid; `"pid":-1` cannot occur inside a JSON string (quotes are escaped)
  const json = JSON.stringify({
    ociVersion: l.state.ociVersion,
    fds: ["seccompFd"],
    pid: HOLE,
    ...(l.metadata ? { metadata: l.metadata } : {}),
    state: { ...l.state, pid: l.state.pid ?? HOLE },
  });
  const parts = json.split(`"pid":${HOLE}`);
  return parts.map((p, i) => (i < parts.length - 1 ? `${p}"pid":` : p));
}

/** SECCOMP_CONNECT (first in the plan) and SECCOMP (placed by the caller) for a filter. */
function seccompSteps(f: CompiledFilter | undefined, listener: SeccompListener | undefined): { connect: PlanStep[]; load?: PlanStep } {
  if (!f) return { connect: [] };
  const notify = (f.flags & NEW_LISTENER) !== 0;
  // The spec ignores listenerPath without SCMP_ACT_NOTIFY rules; the compiler refuses the reverse.
  if (notify && !listener) throw invalidArgument("linux.seccomp.listenerPath is required when a rule uses SCMP_ACT_NOTIFY", "linux.seccomp.listenerPath");
  const payload = notify ? processStatePayload(listener!) : [];
  const describe = `seccomp(SECCOMP_SET_MODE_FILTER, ${f.flags}, ${f.bpf.length / 8} instructions)` + (notify ? `; sendmsg(listener fd, SCM_RIGHTS) to ${q(listener!.path)}` : "");
  return {
    connect: notify ? [step("SECCOMP_CONNECT", [listener!.path], `connect(${q(listener!.path)}) — the seccomp agent`, "linux.seccomp.listenerPath")] : [],
    load: step("SECCOMP", [f.bpf, f.flags, payload], describe, "linux.seccomp"),
  };
}

/** The init's listener: its state is the hook state (status "creating", as runc sends). */
function initListener(c: RuntimeConfig, o: PlanOptions): SeccompListener | undefined {
  const path = c.seccomp?.listenerPath;
  if (!path) return undefined;
  const state = JSON.parse(`${o.hookState[0]}0${o.hookState[1]}`) as State;
  delete state.pid;
  const metadata = c.seccomp?.listenerMetadata;
  return { path, state, ...(metadata ? { metadata } : {}) };
}

export function buildPlan(c: RuntimeConfig, o: PlanOptions): PlanStep[] {
  const s: PlanStep[] = [];
  const newNs = c.newNamespaces;
  const seccomp = seccompSteps(o.seccomp, initListener(c, o));

  // ---- parent, before clone ----
  s.push(...seccomp.connect);
  s.push(...idmapSteps(c, o));
  // Before the joins: loading a BPF program needs the host's capabilities, which a parent that
  // joined a user namespace (a pod member) no longer has.
  if (o.deviceProgram) {
    const d = o.deviceProgram;
    s.push(step("DEVICE_PROGRAM", [d.dir, d.insns, d.optional ? 1 : 0], `bpf(BPF_PROG_LOAD, BPF_PROG_TYPE_CGROUP_DEVICE, ${d.insns.length / 8} insns); bpf(BPF_PROG_ATTACH, ${q(d.dir)}, BPF_CGROUP_DEVICE)`, "linux.resources.devices"));
  }
  s.push(...joinSteps(c));
  // clone(2) cannot take CLONE_NEWTIME (it overlaps CSIGNAL): unshare it in the parent, whose
  // children then start in the new time namespace (time_namespaces(7)).
  const cloneFlags = newNs & ~CLONE.NEWTIME & ~CLONE.NEWCGROUP;
  if (newNs & CLONE.NEWTIME) {
    s.push(step("UNSHARE", [CLONE.NEWTIME], "unshare(CLONE_NEWTIME)", "linux.namespaces"));
    if (c.timeOffsets) s.push(step("WRITE_SELF", ["timens_offsets", c.timeOffsets], `write /proc/self/timens_offsets ${q(c.timeOffsets.trim())}`, "linux.timeOffsets"));
  }
  if (o.mode === "create") s.push(step("MKFIFO", [o.fifoPath!, 0o600], `mkfifo(${q(o.fifoPath)}, 0600) — the exec fifo \`start\` opens`));
  const term = terminalSteps(c.process, o.consoleSocket, o.mode === "foreground", true);
  s.push(...term.beforeClone);
  s.push(o.cgroupInto
    ? step("CLONE", [cloneFlags, o.cgroupInto], `clone3(${cloneFlagNames(cloneFlags)}|CLONE_INTO_CGROUP, cgroup=${q(o.cgroupInto)})`, "linux.namespaces")
    : step("CLONE", [cloneFlags, ""], `clone(${cloneFlagNames(cloneFlags)}|SIGCHLD)`, "linux.namespaces"));

  // ---- parent, after clone ----
  if (newNs & CLONE.NEWUSER) {
    s.push(step("WRITE_CHILD_PROC", ["uid_map", idMap(c.uidMappings)], `write /proc/<pid>/uid_map ${q(idMap(c.uidMappings).trim())}`, "linux.uidMappings"));
    if (o.rootless) s.push(step("WRITE_CHILD_PROC", ["setgroups", "deny"], "write /proc/<pid>/setgroups deny — needed before an unprivileged gid_map", "linux.gidMappings"));
    s.push(step("WRITE_CHILD_PROC", ["gid_map", idMap(c.gidMappings)], `write /proc/<pid>/gid_map ${q(idMap(c.gidMappings).trim())}`, "linux.gidMappings"));
  }
  const ownIdmap = ownIdmapSteps(c);
  s.push(...ownIdmap.parent);
  // In a user namespace the child has no rights on the host's cgroup files: the parent moves it.
  const joinsUserns = c.joinNamespaces.some((j) => j.type === "user");
  const userns = (newNs & CLONE.NEWUSER) !== 0 || joinsUserns;
  const childJoins = o.cgroupTasks !== undefined && !userns;
  if (!childJoins) for (const f of o.cgroupProcs) s.push(step("WRITE_CHILD_PID", [f], `write <pid> > ${f}`, "linux.cgroupsPath"));
  if (c.process.oomScoreAdj !== undefined)
    s.push(step("WRITE_CHILD_PROC", ["oom_score_adj", String(c.process.oomScoreAdj)], `write /proc/<pid>/oom_score_adj ${c.process.oomScoreAdj}`, "process.oomScoreAdj"));
  s.push(step("WAKE_CHILD", [], "wake the child"));

  // ---- child ----
  s.push(...ownIdmap.child);
  s.push(step("WAIT_PARENT", [], "wait for the parent (id maps, cgroup)"));
  if (childJoins) for (const f of o.cgroupTasks!) s.push(step("JOIN_CGROUP", [f], `write 0 > ${f}`, "linux.cgroupsPath"));
  if (userns) {
    // As runc: bind sources are opened, and the console socket connected, with the runtime's
    // credentials — the user namespace's root may not reach them (a 0700 directory of host root).
    // So is the rootfs (an engine's lies under its 0700 run directory). Idmapped sources are
    // the parent's trees already.
    for (const m of c.mounts) if (m.bind && !m.idmap && m.type !== "cgroup" && m.type !== "cgroup2")
      s.push(step("PREOPEN_BIND", [m.source, m.recursive ? 1 : 0], `open_tree(${q(m.source)}, OPEN_TREE_CLONE) — with the host's credentials`, m.field));
    s.push(...term.connect);
    if (o.mode === "create") s.push(step("OPEN_EXEC_FIFO", [o.fifoPath!], `open(${q(o.fifoPath)}, O_RDWR) — kept for the wait before exec; with the host's credentials`));
    s.push(step("OPEN_ROOTFS", [c.rootfs], `open(${q(c.rootfs)}) — with the host's credentials`, "root.path"));
    // A joined user namespace too: mount points and devices are made by a uid it maps.
    s.push(step("BECOME_NS_ROOT", [], `setresuid(0, 0, 0) — root of the ${joinsUserns ? "joined" : "new"} user namespace`, joinsUserns ? "linux.namespaces" : "linux.uidMappings"));
  }
  // A new network namespace starts with lo down; runc brings it up (so does every engine).
  if (newNs & CLONE.NEWNET && !o.loopbackDown) s.push(step("LOOPBACK_UP", [], "ioctl(SIOCSIFFLAGS, lo, IFF_UP) — 127.0.0.1 and ::1 in the new network namespace", "linux.namespaces"));
  if (newNs & CLONE.NEWCGROUP) s.push(step("CHILD_UNSHARE", [CLONE.NEWCGROUP], "unshare(CLONE_NEWCGROUP) — after joining the cgroup, so it is the namespace's root", "linux.namespaces"));
  if (newNs & CLONE.NEWNS) s.push(step("MOUNT_ROOT_PROPAGATION", [MS.SLAVE | MS.REC], `mount(NULL, "/", NULL, MS_SLAVE|MS_REC) — container mounts stay out of the host`));
  if (!userns) s.push(...term.connect);
  if (!userns) s.push(step("OPEN_ROOTFS", [c.rootfs], `open(${q(c.rootfs)})`, "root.path"));
  s.push(step("BIND_ROOTFS", [], `mount(${q(c.rootfs)}, ${q(c.rootfs)}, MS_BIND|MS_REC) — pivot_root needs a mount point`, "root.path"));
  // A read-only /dev (runc's rule): mounted writable so the mounts, devices and links under it can
  // be made, and remounted read-only once the console is in place.
  const roDev = c.mounts.find((m) => m.destination.replace(/\/+$/, "") === "/dev" && !m.bind && (m.attrSet & MOUNT_ATTR.RDONLY) !== 0);
  for (const m of c.mounts) s.push(...mountSteps(m === roDev ? { ...m, attrSet: m.attrSet & ~MOUNT_ATTR.RDONLY } : m, c, o));
  if (c.devices) {
    for (const d of c.devices) {
      // A user namespace cannot mknod(2) devices: bind the host's node instead (as runc).
      if (userns && (d.mode & S_IF.FIFO) !== S_IF.FIFO)
        s.push(step("BIND_DEVICE", [d.path, d.path], `mount(${q(d.path)} (host), ${q(d.path)}, MS_BIND)`, d.field));
      else
        s.push(step("MKNOD", [d.path, d.mode, d.dev, d.uid, d.gid], `mknod(${q(d.path)}, 0${d.mode.toString(8)}, ${d.dev})`, d.field));
    }
    const links: [string, string][] = [["/proc/self/fd", "/dev/fd"], ["/proc/self/fd/0", "/dev/stdin"], ["/proc/self/fd/1", "/dev/stdout"], ["/proc/self/fd/2", "/dev/stderr"]];
    if (o.hostHasKcore) links.push(["/proc/kcore", "/dev/core"]);
    if (c.mounts.some((m) => m.destination === "/dev/pts")) links.push(["pts/ptmx", "/dev/ptmx"]);
    for (const [target, path] of links) s.push(step("SYMLINK", [target, path], `symlink(${q(target)}, ${q(path)})`));
  }
  if (o.mode === "create" && !userns) s.push(step("OPEN_EXEC_FIFO", [o.fifoPath!], `open(${q(o.fifoPath)}, O_RDWR) — kept for the wait before exec`));

  const parentHooks = [...c.hooks.prestart, ...c.hooks.createRuntime];
  if (parentHooks.length > 0) {
    s.push(step("WAKE_PARENT", [], "ask the parent to run prestart/createRuntime hooks"));
    s.push(step("WAIT_CHILD", [], "wait for the child to finish its mounts"));
    for (const h of parentHooks) s.push(hookStep("HOOK", h, o));
    s.push(step("WAKE_CHILD", [], "wake the child"));
  }
  for (const h of c.hooks.createContainer) s.push(hookStep("CHILD_HOOK", h, o));

  s.push(step("PIVOT_ROOT", [o.noPivot ? 1 : 0], o.noPivot ? `mount(${q(c.rootfs)}, "/", MS_MOVE); chroot(".")` : `pivot_root(${q(c.rootfs)}, ${q(c.rootfs)}); umount2(old root, MNT_DETACH)`, "root.path"));
  if (c.rootfsPropagation) s.push(step("MOUNT_ROOT_PROPAGATION", [c.rootfsPropagation], `mount(NULL, "/", NULL, ${propName(c.rootfsPropagation)})`, "linux.rootfsPropagation"));
  s.push(...term.create);
  if (roDev) s.push(step("MOUNT_SETATTR", ["/dev", MOUNT_ATTR.RDONLY, 0], `mount_setattr("/dev", MOUNT_ATTR_RDONLY) — after the mounts and devices under it`, roDev.field));
  for (const [k, v] of c.sysctl) {
    const path = `/proc/sys/${k.replace(/\./g, "/")}`;
    s.push(step("WRITE_FILE", [path, v], `write ${path} ${q(v)}`, `linux.sysctl.${k}`));
  }
  c.readonlyPaths.forEach((p, i) => s.push(step("READONLY_PATH", [p], `mount(${q(p)}, ${q(p)}, MS_BIND|MS_REC); mount_setattr(MOUNT_ATTR_RDONLY)`, `linux.readonlyPaths[${i}]`)));
  c.maskedPaths.forEach((p, i) => s.push(step("MASK_PATH", [p], `mask ${q(p)} (/dev/null or an empty read-only tmpfs over it)`, `linux.maskedPaths[${i}]`)));
  if (c.readonlyRoot) s.push(step("MOUNT_SETATTR", ["/", MOUNT_ATTR.RDONLY, 0], `mount_setattr("/", MOUNT_ATTR_RDONLY)`, "root.readonly"));
  if (c.hostname !== undefined) s.push(step("SETHOSTNAME", [c.hostname], `sethostname(${q(c.hostname)})`, "hostname"));
  if (c.domainname !== undefined) s.push(step("SETDOMAINNAME", [c.domainname], `setdomainname(${q(c.domainname)})`, "domainname"));

  const p = c.process;
  // Without no_new_privs, loading a filter needs CAP_SYS_ADMIN: load it while we still have it
  // (runc does the same); with no_new_privs, load it last so the fewest syscalls run under it.
  // The fds are made close-on-exec before either: a filter without close_range (older Docker
  // profiles, generated whitelists) must not be able to refuse it.
  s.push(closeFdsStep(o.preserveFds ?? 0));
  if (seccomp.load && !p.noNewPrivileges) s.push(seccomp.load);
  s.push(...processSteps(p));
  s.push(step("READY", [], "report created"));
  if (o.mode === "create") s.push(step("WAIT_START", [], "read(exec fifo) — blocks until `berth-runtime start`"));
  // startContainer hooks run as the container's process would: under its seccomp filter (runc).
  if (seccomp.load && p.noNewPrivileges) s.push(seccomp.load);
  for (const h of c.hooks.startContainer) s.push(hookStep("CHILD_HOOK", h, o));
  s.push(step("EXEC", [p.args, p.env], `execve(${q(p.args[0])}, ${q(p.args)})`, "process.args"));
  s.push(step("FINISH", [o.mode === "foreground" ? 1 : 0], o.mode === "foreground" ? "wait for the container and exit with its status" : "exit once the child is ready"));
  return s;
}

/**
 * process.terminal: the pty is made inside the container (its /dev/ptmx) and its master sent over
 * the console socket — the caller's --console-socket, or a socketpair to berth-init's parent,
 * which then is the console of a foreground run/exec. runc refuses a detached terminal without a
 * socket ("cannot allocate tty if runc will detach without setting console socket"); so do we.
 */
function terminalSteps(p: ProcessConfig, socket: string | undefined, foreground: boolean, init: boolean) {
  const none = { beforeClone: [] as PlanStep[], connect: [] as PlanStep[], create: [] as PlanStep[] };
  if (!p.terminal) {
    if (socket) throw invalidArgument("--console-socket was given but process.terminal is false: set \"terminal\": true or drop the flag", "--console-socket");
    return none;
  }
  if (!socket && !foreground) throw invalidArgument("process.terminal: a terminal needs --console-socket when the runtime does not stay in the foreground", "--console-socket");
  const [rows, cols] = p.consoleSize;
  return {
    beforeClone: socket ? [] : [step("CONSOLE_PAIR", [], "socketpair() — berth-init is the console", "process.terminal")],
    connect: socket ? [step("CONSOLE_CONNECT", [socket], `connect(${q(socket)}) — the console socket`, "--console-socket")] : [],
    create: [step("CONSOLE_CREATE", [rows, cols, init ? 1 : 0, p.uid], `open("/dev/ptmx"); send the master (SCM_RIGHTS); setsid(); ioctl(TIOCSCTTY)${init ? "; bind the slave on /dev/console" : ""}`, "process.terminal")],
  };
}

/** Every fd from 3 + preserveFds on close-on-exec (CVE-2024-21626): before any seccomp filter. */
function closeFdsStep(preserveFds: number): PlanStep {
  return step("CLOSE_FDS", [3 + preserveFds], `close_range(${3 + preserveFds}, ~0, CLOSE_RANGE_CLOEXEC) — no host fd reaches the container`);
}

/** rlimits, user, capabilities, no_new_privs, the executable: the same for init and exec. */
function processSteps(p: ProcessConfig): PlanStep[] {
  const s: PlanStep[] = [];
  for (const r of p.rlimits) s.push(step("SETRLIMIT", [r.resource, r.soft, r.hard], `setrlimit(${r.type}, {soft: ${r.soft}, hard: ${r.hard}})`, r.field));
  s.push(step("CAPS_BOUNDING", [p.caps.bounding], `prctl(PR_CAPBSET_DROP) all but ${capabilityNames(p.caps.bounding).join(",") || "none"}`, "process.capabilities.bounding"));
  s.push(step("SET_USER", [p.uid, p.gid, p.additionalGids.map(String), p.umask], `setgroups([${p.additionalGids.join(",")}]); setresgid(${p.gid}); setresuid(${p.uid}); umask(0${p.umask.toString(8)})`, "process.user"));
  s.push(step("CHDIR", [p.cwd], `chdir(${q(p.cwd)})`, "process.cwd"));
  s.push(step("CAPS", [p.caps.effective, p.caps.permitted, p.caps.inheritable, p.caps.ambient],
    `capset(effective=${capabilityNames(p.caps.effective).join(",") || "none"}, permitted=…, inheritable=…); ambient=${capabilityNames(p.caps.ambient).join(",") || "none"}`, "process.capabilities"));
  if (p.noNewPrivileges) s.push(step("NO_NEW_PRIVS", [], "prctl(PR_SET_NO_NEW_PRIVS, 1)", "process.noNewPrivileges"));
  const pathEnv = p.env.findLast((e) => e.startsWith("PATH="))?.slice(5) ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  s.push(step("FIND_EXEC", [p.args[0]!, pathEnv], `find ${q(p.args[0])} on PATH=${pathEnv}`, "process.args"));
  return s;
}

function idMap(m: RuntimeConfig["uidMappings"]): string {
  return m.map((x) => `${x.containerID} ${x.hostID} ${x.size}\n`).join("");
}

function hookStep(name: "HOOK" | "CHILD_HOOK", h: HookConfig, o: PlanOptions): PlanStep {
  const args = h.args && h.args.length > 0 ? h.args : [h.path];
  return step(name, [h.path, args, h.env ?? [], h.timeout ?? 0, o.hookState[0], o.hookState[1]], `run hook ${q(h.path)} ${q(args.slice(1))}`, h.field);
}

/**
 * Joined namespaces. With a user namespace among them, each other one (but the mount namespace,
 * whose root would change how the later paths resolve) is tried first with the runtime's own
 * credentials, which admit a namespace the user namespace does not own (a pod's CNI netns, made
 * by the host), and again after it when only the user namespace admits it (runc's two passes).
 */
function joinSteps(c: RuntimeConfig): PlanStep[] {
  const j = c.joinNamespaces;
  const setns = (x: (typeof j)[number], early: boolean) =>
    step("SETNS", [x.path, x.flag, early ? 1 : 0], `setns(open(${q(x.path)}), ${cloneFlagNames(x.flag)})${early ? " — before the user namespace; EPERM: after it" : ""}`, x.field);
  if (!j.some((x) => x.type === "user")) return j.map((x) => setns(x, false));
  return [...j.filter((x) => x.type !== "user" && x.type !== "mount").map((x) => setns(x, true)), ...j.map((x) => setns(x, false))];
}

/**
 * Idmapped bind mounts. The kernel wants CAP_SYS_ADMIN over the source's file system, so the
 * parent makes their trees while it has the host's credentials, with a user namespace that has
 * the mount's mappings (runc 1.2's choice of namespace):
 *   - "own": the container's new user namespace when the mappings are its: after the clone, once
 *     its maps are written; the trees go to the child over the sync socket (SEND_TREES);
 *   - "joined": the joined user namespace (/proc/PID/ns/user) when they are its: opened before
 *     any setns (after joining it the parent is no longer the host's root);
 *   - "helper": else a helper user namespace per distinct mapping, before any setns; the child
 *     inherits the trees through clone.
 */
function idmapKind(m: MountConfig, c: RuntimeConfig): "own" | "joined" | "helper" {
  const u = idMap(m.idmap!.uidMappings), g = idMap(m.idmap!.gidMappings);
  if (c.newNamespaces & CLONE.NEWUSER && u === idMap(c.uidMappings) && g === idMap(c.gidMappings)) return "own";
  if (c.joinedUsernsMaps && u === c.joinedUsernsMaps.uid && g === c.joinedUsernsMaps.gid) return "joined";
  return "helper";
}

function idmapTree(m: MountConfig): PlanStep {
  return step("IDMAP_TREE", [m.source, m.recursive ? 1 : 0, m.idmap!.recursive ? 1 : 0, 0, ""], `open_tree(${q(m.source)}, OPEN_TREE_CLONE${m.recursive ? "|AT_RECURSIVE" : ""}); mount_setattr(MOUNT_ATTR_IDMAP${m.idmap!.recursive ? ", AT_RECURSIVE" : ""})`, m.field);
}

/** The trees made before any setns: with the joined user namespace, or helpers. */
function idmapSteps(c: RuntimeConfig, o: PlanOptions): PlanStep[] {
  const idmapped = c.mounts.filter((m) => m.idmap);
  if (idmapped.length === 0) return [];
  if (o.rootless) throw invalidArgument(`${idmapped[0]!.field}: idmapped mounts need root (CAP_SYS_ADMIN over the source's file system); a rootless runtime cannot make them`, idmapped[0]!.field);
  const s: PlanStep[] = [];
  const joined = idmapped.filter((m) => idmapKind(m, c) === "joined");
  if (joined.length > 0) {
    const path = c.joinNamespaces.find((j) => j.type === "user")!.path;
    s.push(step("IDMAP_USERNS", [c.joinedUsernsMaps!.uid, c.joinedUsernsMaps!.gid, path], `open(${q(path)}) — the joined user namespace, whose mappings these are`, `${joined[0]!.field}.uidMappings`));
    s.push(...joined.map(idmapTree));
  }
  const groups = new Map<string, MountConfig[]>();
  for (const m of idmapped.filter((x) => idmapKind(x, c) === "helper")) {
    const key = `${idMap(m.idmap!.uidMappings)}|${idMap(m.idmap!.gidMappings)}`;
    groups.set(key, [...(groups.get(key) ?? []), m]);
  }
  for (const [, ms] of groups) {
    const { uidMappings, gidMappings } = ms[0]!.idmap!;
    const u = idMap(uidMappings), g = idMap(gidMappings);
    s.push(step("IDMAP_USERNS", [u, g, ""], `a helper user namespace: uid_map ${q(u.trim())}, gid_map ${q(g.trim())}`, `${ms[0]!.field}.uidMappings`));
    s.push(...ms.map(idmapTree));
  }
  return s;
}

/** The trees made with the container's own new user namespace, after the clone: parent and child steps. */
function ownIdmapSteps(c: RuntimeConfig): { parent: PlanStep[]; child: PlanStep[] } {
  const own = c.mounts.filter((m) => m.idmap && idmapKind(m, c) === "own");
  if (own.length === 0) return { parent: [], child: [] };
  return {
    parent: [
      step("IDMAP_USERNS_CHILD", [], "open(/proc/<pid>/ns/user) — the container's own user namespace, its maps written", `${own[0]!.field}.uidMappings`),
      ...own.map(idmapTree),
      step("SEND_TREES", [own.length], `send the ${own.length} idmapped tree${own.length > 1 ? "s" : ""} to the child (SCM_RIGHTS)`),
    ],
    child: [step("RECV_TREES", [own.map((m) => m.source), own.map((m) => (m.recursive ? "1" : "0"))], `receive the ${own.length} idmapped tree${own.length > 1 ? "s" : ""}`)],
  };
}

function mountSteps(m: MountConfig, c: RuntimeConfig, o: PlanOptions): PlanStep[] {
  if (m.type === "cgroup" || m.type === "cgroup2") return cgroupMountSteps(m, c, o);
  let flags = 0;
  if (m.bind) flags |= MOUNT_FLAG.BIND | MOUNT_FLAG.CREATE_AUTO;
  if (m.idmap) flags |= MOUNT_FLAG.IDMAP;
  if (m.recursive) flags |= MOUNT_FLAG.RECURSIVE;
  if (m.attrRecursive) flags |= MOUNT_FLAG.ATTR_RECURSIVE;
  if (m.tmpcopyup) flags |= MOUNT_FLAG.TMPCOPYUP;
  const attrs = attrNames(m.attrSet);
  const describe = m.bind
    ? `${m.idmap ? "the idmapped tree of " : ""}open_tree(${q(m.source)}, OPEN_TREE_CLONE${m.recursive ? "|AT_RECURSIVE" : ""})${attrs ? `; mount_setattr(${attrs})` : ""}; move_mount(→ ${q(m.destination)})`
    : `mount(${q(m.source)}, ${q(m.destination)}, ${q(m.type)}${attrs ? `, ${attrs}` : ""}${m.data ? `, ${q(m.data)}` : ""})`;
  return [step("MOUNT", [m.source, m.destination, m.type, m.data, flags, m.attrSet, m.attrClr, m.propagation],
    describe + (m.tmpcopyup ? "; copy up the mount point's contents" : "") + (m.propagation ? `; propagation ${propName(m.propagation)}` : ""), m.field)];
}

/** A "cgroup" mount: the container's own cgroups, as runc lays them out (config-linux.md). */
function cgroupMountSteps(m: MountConfig, c: RuntimeConfig, o: PlanOptions): PlanStep[] {
  const cgroupns = (c.newNamespaces & CLONE.NEWCGROUP) !== 0;
  const attr = m.attrSet & ~MOUNT_ATTR.RDONLY;
  const v2 = o.cgroupHierarchies.find((h) => h.v2 && h.mountPoint === "/sys/fs/cgroup");
  if (m.type === "cgroup2" || v2) {
    const h = v2 ?? o.cgroupHierarchies.find((x) => x.v2);
    if (cgroupns || !h)
      return [step("MOUNT", ["cgroup2", m.destination, "cgroup2", "", 0, m.attrSet, 0, 0], `mount("cgroup2", ${q(m.destination)}, "cgroup2")`, m.field)];
    return [step("MOUNT", [h.dir, m.destination, "bind", "", MOUNT_FLAG.BIND, m.attrSet, 0, 0], `bind ${q(h.dir)} → ${q(m.destination)}`, m.field)];
  }
  // Like runc, "ro" applies to the hierarchies; the tmpfs holding them stays writable.
  const out: PlanStep[] = [step("MOUNT", ["tmpfs", m.destination, "tmpfs", "mode=755", 0, attr, 0, 0], `mount("tmpfs", ${q(m.destination)}, "tmpfs", "mode=755") — holds one directory per hierarchy`, m.field)];
  for (const h of o.cgroupHierarchies) {
    if (h.v2) continue;
    const name = h.mountPoint.slice(h.mountPoint.lastIndexOf("/") + 1);
    const dest = `${m.destination.replace(/\/$/, "")}/${name}`;
    if (cgroupns) {
      out.push(step("MOUNT", ["cgroup", dest, "cgroup", h.controllers.join(","), 0, m.attrSet, 0, 0], `mount("cgroup", ${q(dest)}, "cgroup", ${q(h.controllers.join(","))})`, m.field));
    } else {
      out.push(step("MOUNT", [h.dir, dest, "bind", "", MOUNT_FLAG.BIND, m.attrSet, 0, 0], `bind ${q(h.dir)} → ${q(dest)}`, m.field));
    }
    // Co-mounted controllers get links, as on the host: cpu → cpu,cpuacct.
    if (h.controllers.length > 1 && name.includes(","))
      for (const ctl of h.controllers) if (!ctl.startsWith("name=") && ctl !== name)
        out.push(step("SYMLINK", [name, `${m.destination.replace(/\/$/, "")}/${ctl}`], `symlink(${q(name)}, ${q(`${m.destination}/${ctl}`)})`, m.field));
  }
  return out;
}

export interface ExecPlanOptions {
  /** Host pid of the container's init: its /proc/<pid>/ns/* are joined. */
  readonly initPid: number;
  /** The container's namespaces (types), from its config. */
  readonly namespaces: readonly NamespaceType[];
  /** Files that move the process into the container's cgroup: v1 `tasks` or v2 `cgroup.procs`. */
  readonly cgroupJoin: readonly string[];
  /** A cgroup2 directory the intermediate child is cloned into (clone3 CLONE_INTO_CGROUP). */
  readonly cgroupInto?: string;
  readonly foreground: boolean;
  readonly preserveFds?: number;
  readonly seccomp?: CompiledFilter;
  /** linux.seccomp.listenerPath with the container's state (pid: the init's), for notify filters. */
  readonly seccompListener?: SeccompListener;
  readonly consoleSocket?: string;
  /**
   * Detached exec for a caller that reaps (containerd's shim is a subreaper): the process waits
   * until the runtime has written the pid file and exited, so it cannot exit, and be reaped,
   * before its caller knows its pid (the shim then waited for an exit it had dropped).
   */
  readonly waitCallerExit?: boolean;
}

const NS_FILES: Record<NamespaceType, string> = { user: "user", cgroup: "cgroup", ipc: "ipc", uts: "uts", network: "net", pid: "pid", time: "time", mount: "mnt" };
/** setns order: the user namespace first (its privileges admit the others), mount last (it changes our root). */
const JOIN_ORDER: NamespaceType[] = ["user", "cgroup", "ipc", "uts", "network", "pid", "time", "mount"];

/**
 * `exec`: a new process in a running container (runc's nsexec shape). The parent stays in the host;
 * an intermediate child joins the cgroup while it still can (host credentials), then the
 * namespaces, and forks the grandchild (CLONE_PARENT) that enters the pid namespace and runs the
 * process with the same security setup as the init.
 */
export function buildExecPlan(p: ProcessConfig, o: ExecPlanOptions): PlanStep[] {
  const s: PlanStep[] = [];
  const term = terminalSteps(p, o.consoleSocket, o.foreground, false);
  const seccomp = seccompSteps(o.seccomp, o.seccompListener);
  s.push(...seccomp.connect);
  s.push(...term.beforeClone);
  s.push(o.cgroupInto
    ? step("CLONE", [0, o.cgroupInto], `clone3(CLONE_INTO_CGROUP, cgroup=${q(o.cgroupInto)}) — the intermediate child`)
    : step("CLONE", [0, ""], "fork() — the intermediate child"));
  s.push(step("WAIT_CHILD", [], "wait for the grandchild's pid"));
  s.push(step("FINISH", [o.foreground ? 1 : 0], o.foreground ? "wait for the process and exit with its status" : "exit once the process is ready"));
  for (const f of o.cgroupJoin) s.push(step("JOIN_CGROUP", [f], `write 0 > ${f}`));
  s.push(...term.connect);
  // In a user namespace, the namespaces it does not own (a pod's CNI netns) are joined first,
  // while the host's credentials admit them (joinSteps' two passes).
  const userns = o.namespaces.includes("user");
  const joins = [...(userns ? JOIN_ORDER.filter((t) => t !== "user" && t !== "mount").map((t) => [t, true] as const) : []), ...JOIN_ORDER.map((t) => [t, false] as const)];
  for (const [t, early] of joins) {
    if (!o.namespaces.includes(t)) continue;
    const path = `/proc/${o.initPid}/ns/${NS_FILES[t]}`;
    s.push(step("CHILD_SETNS", [path, NAMESPACE_FLAGS[t], early ? 1 : 0], `setns(open(${q(path)}), ${cloneFlagNames(NAMESPACE_FLAGS[t])})${early ? " — before the user namespace; EPERM: after it" : ""}`));
  }
  s.push(step("FORK_GRANDCHILD", [], "clone(CLONE_PARENT) — the process, inside the pid namespace"));
  s.push(...term.create);
  s.push(closeFdsStep(o.preserveFds ?? 0));
  if (seccomp.load && !p.noNewPrivileges) s.push(seccomp.load);
  s.push(...processSteps(p));
  s.push(step("READY", [], "report ready"));
  if (o.waitCallerExit) s.push(step("WAIT_CALLER_EXIT", [], "read(report socket) until end of file — the runtime has written the pid file and exited"));
  if (seccomp.load && p.noNewPrivileges) s.push(seccomp.load);
  s.push(step("EXEC", [p.args, p.env], `execve(${q(p.args[0])}, ${q(p.args)})`, "process.args"));
  return s;
}
