// The planner and the config checks, as data: no root, no kernel.
import { describe, expect, test } from "bun:test";
import { mkdtempSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll } from "bun:test";
import { buildConfig, parseMount } from "../../src/runtime/config.ts";
import { buildExecPlan, buildPlan, processStatePayload, type PlanOptions } from "../../src/runtime/plan/build.ts";
import { encodePlan, step } from "../../src/runtime/plan/encode.ts";
import { OPS, PLAN_MAGIC, planVersion } from "../../src/runtime/plan/ops.ts";
import { defaultSpec } from "../../src/runtime/spec/default-spec.ts";
import { CLONE, MOUNT_ATTR, MS } from "../../src/sys/linux.ts";
import { parseSignal, signalName } from "../../src/sys/signals.ts";
import { parseFlags } from "../../src/runtime-cli/args.ts";
import type { Spec } from "../../src/runtime/spec/types.ts";

const bundle = mkdtempSync("/tmp/bt-unit-");
mkdirSync(join(bundle, "rootfs"));
afterAll(() => rmSync(bundle, { recursive: true, force: true }));

const opts: PlanOptions = { mode: "create", fifoPath: "/run/x/exec.fifo", cgroupProcs: ["/sys/fs/cgroup/pids/c/cgroup.procs"], cgroupHierarchies: [], hookState: ['{"pid":', "}"] };
const spec = (edit: (s: Spec) => void = () => {}) => {
  const s = defaultSpec();
  s.process!.terminal = false;
  edit(s);
  return s;
};
const plan = (edit?: (s: Spec) => void, o: Partial<PlanOptions> = {}) => buildPlan(buildConfig(spec(edit), "c1", bundle), { ...opts, ...o });
const names = (edit?: (s: Spec) => void, o: Partial<PlanOptions> = {}) => plan(edit, o).map((s) => s.op.name);

describe("plan order", () => {
  test("the default spec gives runc's sequence of kernel steps", () => {
    const n = names();
    const order = ["MKFIFO", "CLONE", "WRITE_CHILD_PID", "WAKE_CHILD", "WAIT_PARENT", "MOUNT_ROOT_PROPAGATION", "OPEN_ROOTFS", "BIND_ROOTFS", "MOUNT", "MKNOD", "SYMLINK", "OPEN_EXEC_FIFO", "PIVOT_ROOT", "READONLY_PATH", "MASK_PATH", "MOUNT_SETATTR", "SETHOSTNAME", "CLOSE_FDS", "SETRLIMIT", "CAPS_BOUNDING", "SET_USER", "CHDIR", "CAPS", "NO_NEW_PRIVS", "FIND_EXEC", "READY", "WAIT_START", "EXEC", "FINISH"];
    const firsts = order.map((o) => n.indexOf(o as never));
    expect(firsts.every((i) => i >= 0)).toBe(true);
    expect([...firsts].sort((a, b) => a - b)).toEqual(firsts);
  });

  test("clone flags are the new namespaces, minus time and cgroup (set up separately)", () => {
    const p = plan((s) => s.linux!.namespaces!.push({ type: "cgroup" }, { type: "time" }));
    const clone = p.find((s) => s.op.name === "CLONE")!;
    expect(clone.args[0]).toBe(CLONE.NEWPID | CLONE.NEWNET | CLONE.NEWIPC | CLONE.NEWUTS | CLONE.NEWNS);
    expect(clone.describe).toBe("clone(CLONE_NEWNS|CLONE_NEWUTS|CLONE_NEWIPC|CLONE_NEWPID|CLONE_NEWNET|SIGCHLD)");
    const n = p.map((s) => s.op.name);
    expect(n.indexOf("UNSHARE")).toBeLessThan(n.indexOf("CLONE"));
    // the cgroup namespace is made after the parent has written the pid into cgroup.procs
    expect(n.indexOf("CHILD_UNSHARE")).toBeGreaterThan(n.indexOf("WAIT_PARENT"));
    expect(n.indexOf("WRITE_CHILD_PID")).toBeLessThan(n.indexOf("WAKE_CHILD"));
  });

  test("a user namespace: maps written by the parent, then the child becomes its root; devices are bound", () => {
    const p = plan((s) => {
      s.linux!.namespaces!.push({ type: "user" });
      s.linux!.uidMappings = [{ containerID: 0, hostID: 1000, size: 10 }];
      s.linux!.gidMappings = [{ containerID: 0, hostID: 2000, size: 10 }];
    });
    const maps = p.filter((s) => s.op.name === "WRITE_CHILD_PROC").map((s) => s.args);
    expect(maps).toEqual([["uid_map", "0 1000 10\n"], ["gid_map", "0 2000 10\n"]]);
    const n = p.map((s) => s.op.name);
    // Only what needs the host's credentials comes between: the exec fifo (in the 0700 state dir)
    // and the rootfs (an engine's is under its 0700 run directory).
    expect(n.slice(n.indexOf("WAIT_PARENT") + 1, n.indexOf("BECOME_NS_ROOT"))).toEqual(["OPEN_EXEC_FIFO", "OPEN_ROOTFS"]);
    expect(n).not.toContain("MKNOD");
    expect(n.filter((x) => x === "BIND_DEVICE").length).toBe(6);
  });

  test("joined namespaces: setns before clone, not in the clone flags; with a user namespace, the others are tried before it and again after it", () => {
    const p = plan((s) => {
      s.linux!.namespaces = [{ type: "mount" }, { type: "network", path: "/proc/self/ns/net" }, { type: "user", path: "/proc/self/ns/user" }, { type: "uts" }];
      s.linux!.uidMappings = undefined;
    });
    const setns = p.filter((s) => s.op.name === "SETNS").map((s) => s.args);
    expect(setns).toEqual([["/proc/self/ns/net", CLONE.NEWNET, 1], ["/proc/self/ns/user", CLONE.NEWUSER, 0], ["/proc/self/ns/net", CLONE.NEWNET, 0]]);
    expect(p.find((s) => s.op.name === "CLONE")!.args[0]).toBe(CLONE.NEWNS | CLONE.NEWUTS);
    // A joined user namespace: the child takes its root too, after opening what needs the host's uid.
    const n = p.map((s) => s.op.name);
    expect(n.slice(n.indexOf("WAIT_PARENT") + 1, n.indexOf("BECOME_NS_ROOT"))).toEqual(["OPEN_EXEC_FIFO", "OPEN_ROOTFS"]);
    expect(n).not.toContain("JOIN_CGROUP");
    const plain = plan((s) => (s.linux!.namespaces = [{ type: "mount" }, { type: "uts" }, { type: "network", path: "/proc/self/ns/net" }]));
    expect(plain.filter((s) => s.op.name === "SETNS").map((s) => s.args)).toEqual([["/proc/self/ns/net", CLONE.NEWNET, 0]]);
  });

  test("idmapped mounts: the container's own user namespace after the clone (trees sent to the child), a helper per other mapping before any setns; no preopen", () => {
    const src = join(bundle, "rootfs");
    const p = plan((s) => {
      s.linux!.namespaces!.push({ type: "user" });
      s.linux!.namespaces = s.linux!.namespaces!.map((n) => (n.type === "ipc" ? { type: "ipc", path: "/proc/self/ns/ipc" } : n));
      s.linux!.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
      s.linux!.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
      s.mounts!.push(
        { destination: "/a", type: "bind", source: src, options: ["rbind", "idmap"] },
        { destination: "/b", type: "bind", source: src, options: ["bind", "ridmap"], uidMappings: [{ containerID: 0, hostID: 5000, size: 10 }], gidMappings: [{ containerID: 0, hostID: 6000, size: 10 }] },
        { destination: "/c", type: "bind", source: src, options: ["bind", "idmap", "ro"] },
        { destination: "/d", type: "bind", source: src, options: ["bind"] },
      );
    });
    const n = p.map((s) => s.op.name);
    const idm = p.filter((s) => /^(IDMAP_|SEND_TREES|RECV_TREES)/.test(s.op.name)).map((s) => [s.op.name, ...s.args]);
    expect(idm).toEqual([
      ["IDMAP_USERNS", "0 5000 10\n", "0 6000 10\n", ""], ["IDMAP_TREE", src, 0, 1, 0, ""],
      ["IDMAP_USERNS_CHILD"], ["IDMAP_TREE", src, 1, 0, 0, ""], ["IDMAP_TREE", src, 0, 0, 0, ""], ["SEND_TREES", 2],
      ["RECV_TREES", [src, src], ["1", "0"]],
    ]);
    expect(n.indexOf("IDMAP_TREE")).toBeLessThan(n.indexOf("SETNS"));
    expect(n.indexOf("IDMAP_USERNS_CHILD")).toBeGreaterThan(n.lastIndexOf("WRITE_CHILD_PROC"));
    expect(n.indexOf("SEND_TREES")).toBeLessThan(n.indexOf("WAKE_CHILD"));
    expect(n.indexOf("RECV_TREES")).toBe(n.indexOf("WAIT_PARENT") - 1);
    // Only the plain binds are preopened by the child; the MOUNT steps say which are idmapped.
    const mounts = p.filter((s) => s.op.name === "MOUNT" && ["/a", "/b", "/c", "/d"].includes(s.args[1] as string));
    expect(mounts.map((s) => ((s.args[4] as number) & 64) !== 0)).toEqual([true, true, true, false]);
    expect(p.filter((s) => s.op.name === "PREOPEN_BIND" && s.args[0] === src).length).toBe(1);
    expect(() => plan((s) => s.mounts!.push({ destination: "/a", type: "bind", source: src, options: ["bind"], uidMappings: [{ containerID: 0, hostID: 1, size: 1 }], gidMappings: [{ containerID: 0, hostID: 1, size: 1 }] }), { rootless: true }))
      .toThrow(/mounts\[\d+\]: idmapped mounts need root/);
  });

  test("idmapped mounts in a joined user namespace: with its own mappings, that namespace, opened before any setns", () => {
    const src = join(bundle, "rootfs");
    // This process's user namespace maps everything onto itself (the host's): read from /proc/self.
    const self = readFileSync("/proc/self/uid_map", "utf8").trim().split(/\s+/).map(Number);
    const p = plan((s) => {
      s.linux!.namespaces = [{ type: "mount" }, { type: "user", path: "/proc/self/ns/user" }, { type: "network", path: "/proc/self/ns/net" }];
      s.linux!.uidMappings = undefined;
      s.linux!.gidMappings = undefined;
      delete s.hostname;
      const m = [{ containerID: self[0]!, hostID: self[1]!, size: self[2]! }];
      s.mounts!.push({ destination: "/a", type: "bind", source: src, options: ["bind", "idmap"], uidMappings: m, gidMappings: m });
      s.mounts!.push({ destination: "/b", type: "bind", source: src, options: ["bind", "idmap"] }); // the joined namespace's mappings
    });
    const idm = p.filter((s) => s.op.name.startsWith("IDMAP_")).map((s) => [s.op.name, s.op.name === "IDMAP_USERNS" ? s.args[2] : s.args[4]]);
    expect(idm).toEqual([["IDMAP_USERNS", "/proc/self/ns/user"], ["IDMAP_TREE", ""], ["IDMAP_TREE", ""]]);
    const n = p.map((s) => s.op.name);
    expect(n.indexOf("IDMAP_TREE")).toBeLessThan(n.indexOf("SETNS"));
  });

  test("hooks: prestart and createRuntime in the parent between the child's mounts and pivot_root", () => {
    const p = plan((s) => (s.hooks = { prestart: [{ path: "/bin/a" }], createRuntime: [{ path: "/bin/b" }], createContainer: [{ path: "/bin/c" }], startContainer: [{ path: "/bin/d" }] }));
    const n = p.map((s) => `${s.op.name}${s.op.name.endsWith("HOOK") ? ":" + s.args[0] : ""}`);
    const at = (x: string) => n.indexOf(x);
    expect(at("WAKE_PARENT")).toBeGreaterThan(at("OPEN_EXEC_FIFO"));
    expect(at("HOOK:/bin/a")).toBeLessThan(at("HOOK:/bin/b"));
    expect(at("HOOK:/bin/b")).toBeLessThan(at("CHILD_HOOK:/bin/c"));
    expect(at("CHILD_HOOK:/bin/c")).toBeLessThan(at("PIVOT_ROOT"));
    expect(at("CHILD_HOOK:/bin/d")).toBeGreaterThan(at("WAIT_START"));
    expect(at("CHILD_HOOK:/bin/d")).toBeLessThan(at("EXEC"));
    expect(p.find((s) => s.op.name === "HOOK")!.field).toBe("hooks.prestart[0]");
  });

  test("v1 cgroups: the child joins by itself through tasks, except in a new user namespace", () => {
    const o = { cgroupTasks: ["/sys/fs/cgroup/pids/c/tasks"] };
    const p = plan(undefined, o);
    const n = p.map((s) => s.op.name);
    expect(n).not.toContain("WRITE_CHILD_PID");
    expect(p.find((s) => s.op.name === "JOIN_CGROUP")!.args).toEqual(["/sys/fs/cgroup/pids/c/tasks"]);
    expect(n.indexOf("JOIN_CGROUP")).toBe(n.indexOf("WAIT_PARENT") + 1);
    const u = names((s) => {
      s.linux!.namespaces!.push({ type: "user" });
      s.linux!.uidMappings = [{ containerID: 0, hostID: 1000, size: 10 }];
      s.linux!.gidMappings = [{ containerID: 0, hostID: 1000, size: 10 }];
    }, o);
    expect(u).toContain("WRITE_CHILD_PID");
    expect(u).not.toContain("JOIN_CGROUP");
  });

  test("terminals: console socket connected before pivot_root, pty made after; foreground without a socket uses a pair", () => {
    const t = (s: Spec) => (s.process!.terminal = true);
    expect(() => plan(t)).toThrow(/needs --console-socket/);
    const n = names(t, { consoleSocket: "/run/c.sock" });
    expect(n.indexOf("CONSOLE_CONNECT")).toBeLessThan(n.indexOf("PIVOT_ROOT"));
    expect(n.indexOf("CONSOLE_CREATE")).toBeGreaterThan(n.indexOf("PIVOT_ROOT"));
    const f = names(t, { mode: "foreground" });
    expect(f.indexOf("CONSOLE_PAIR")).toBeLessThan(f.indexOf("CLONE"));
    expect(f).not.toContain("CONSOLE_CONNECT");
    expect(() => plan(undefined, { consoleSocket: "/run/c.sock" })).toThrow(/process.terminal is false/);
  });

  test("foreground and detached runs have no exec fifo", () => {
    for (const mode of ["foreground", "detach"] as const) {
      const n = names(undefined, { mode });
      for (const x of ["MKFIFO", "OPEN_EXEC_FIFO", "WAIT_START"]) expect(n).not.toContain(x);
      const finish = plan(undefined, { mode }).at(-1)!;
      expect(finish.args).toEqual([mode === "foreground" ? 1 : 0]);
    }
  });

  test("seccomp loads last with no_new_privs, before dropping privileges without it", () => {
    const seccomp = { bpf: new Uint8Array(8), flags: 0 };
    const n1 = names(undefined, { seccomp });
    expect(n1.indexOf("SECCOMP")).toBe(n1.indexOf("EXEC") - 1);
    const n2 = names((s) => (s.process!.noNewPrivileges = false), { seccomp });
    expect(n2.indexOf("SECCOMP")).toBeLessThan(n2.indexOf("CAPS_BOUNDING"));
  });

  test("seccomp notify: the parent connects to listenerPath first; SECCOMP carries the process state split at the pid", () => {
    const seccomp = { bpf: new Uint8Array(8), flags: 8 /* NEW_LISTENER */ };
    const notify = (s: Spec) => {
      s.linux!.seccomp = { defaultAction: "SCMP_ACT_ALLOW", listenerPath: "/run/agent.sock", listenerMetadata: "m", syscalls: [{ names: ["mkdir"], action: "SCMP_ACT_NOTIFY" }] };
    };
    const hookState: [string, string] = ['{"ociVersion":"1.0.2","id":"c1","status":"creating","bundle":"/b","pid":', "}"];
    const p = plan(notify, { seccomp, hookState });
    expect(p[0]!.op.name).toBe("SECCOMP_CONNECT");
    expect(p[0]!.args).toEqual(["/run/agent.sock"]);
    expect(p[0]!.field).toBe("linux.seccomp.listenerPath");
    const parts = p.find((x) => x.op.name === "SECCOMP")!.args[2] as string[];
    expect(parts).toHaveLength(3); // the pid goes twice: the process's and the state's
    expect(JSON.parse(parts.join("4321"))).toEqual({
      ociVersion: "1.0.2", fds: ["seccompFd"], pid: 4321, metadata: "m",
      state: { ociVersion: "1.0.2", id: "c1", status: "creating", bundle: "/b", pid: 4321 },
    });
    // A filter without NOTIFY rules: listenerPath is ignored (runtime-spec), nothing to send.
    const quiet = plan(notify, { seccomp: { bpf: new Uint8Array(8), flags: 0 }, hookState });
    expect(quiet.map((x) => x.op.name)).not.toContain("SECCOMP_CONNECT");
    expect(quiet.find((x) => x.op.name === "SECCOMP")!.args[2]).toEqual([]);
  });

  test("seccomp notify for exec: state.pid is the init's, the top-level pid the new process's", () => {
    const c = buildConfig(spec(), "c1", bundle);
    const p = buildExecPlan(c.process, {
      initPid: 77, namespaces: ["pid", "mount"], cgroupJoin: [], foreground: true,
      seccomp: { bpf: new Uint8Array(8), flags: 8 },
      seccompListener: { path: "/run/agent.sock", state: { ociVersion: "1.0.2", id: "c1", status: "running", pid: 77, bundle: "/b" } },
    });
    const n = p.map((x) => x.op.name);
    expect(n[0]).toBe("SECCOMP_CONNECT");
    expect(n.indexOf("SECCOMP_CONNECT")).toBeLessThan(n.indexOf("CLONE"));
    const parts = p.find((x) => x.op.name === "SECCOMP")!.args[2] as string[];
    expect(JSON.parse(parts.join("900"))).toEqual({ ociVersion: "1.0.2", fds: ["seccompFd"], pid: 900, state: { ociVersion: "1.0.2", id: "c1", status: "running", pid: 77, bundle: "/b" } });
    expect(() => buildExecPlan(c.process, { initPid: 77, namespaces: [], cgroupJoin: [], foreground: true, seccomp: { bpf: new Uint8Array(8), flags: 8 } })).toThrow(/linux\.seccomp\.listenerPath/);
  });

  test("exec into a user namespace: the other namespaces but mount tried before it, then user, then all again (mount last)", () => {
    const c = buildConfig(spec(), "c1", bundle);
    const j = (namespaces: ("user" | "network" | "ipc" | "mount" | "pid")[]) =>
      buildExecPlan(c.process, { initPid: 77, namespaces, cgroupJoin: [], foreground: true }).filter((x) => x.op.name === "CHILD_SETNS").map((x) => `${(x.args[0] as string).split("/").pop()}${x.args[2] ? "*" : ""}`);
    expect(j(["user", "network", "ipc", "mount", "pid"])).toEqual(["ipc*", "net*", "pid*", "user", "ipc", "net", "pid", "mnt"]);
    expect(j(["network", "mount"])).toEqual(["net", "mnt"]);
  });

  test("processStatePayload: a pid-like text inside strings is not a hole", () => {
    const parts = processStatePayload({ path: "/s", metadata: '"pid":-1', state: { ociVersion: "1", id: "x", status: "creating", bundle: "/b", annotations: { pid: "-1", '"pid":-1': "1" } } });
    expect(parts).toHaveLength(3);
    const v = JSON.parse(parts.join("5"));
    expect([v.pid, v.state.pid, v.metadata, v.state.annotations]).toEqual([5, 5, '"pid":-1', { pid: "-1", '"pid":-1': "1" }]);
  });

  test("the exec is looked up on the container's PATH; preserved fds stay open", () => {
    const p = plan((s) => s.process!.env = ["PATH=/opt/bin:/bin"], { preserveFds: 2 });
    expect(p.find((s) => s.op.name === "FIND_EXEC")!.args).toEqual(["sh", "/opt/bin:/bin"]);
    expect(p.find((s) => s.op.name === "CLOSE_FDS")!.args).toEqual([5]);
  });
});

describe("mount options", () => {
  const m = (options: string[], type = "tmpfs") => parseMount({ destination: "/x", type, source: type === "bind" ? bundle : "tmpfs", options }, 0, bundle);
  test("flags become mount attributes; the rest goes to the file system", () => {
    const t = m(["nosuid", "strictatime", "mode=755", "size=65536k"]);
    expect(t.attrSet).toBe(MOUNT_ATTR.NOSUID | MOUNT_ATTR.STRICTATIME);
    expect(t.attrClr & MOUNT_ATTR.ATIME_MASK).toBe(MOUNT_ATTR.ATIME_MASK);
    expect(t.data).toBe("mode=755,size=65536k");
  });
  test("later options win: ro,rw is rw", () => {
    expect(m(["ro", "rw"]).attrSet & MOUNT_ATTR.RDONLY).toBe(0);
    expect(m(["rw", "ro"]).attrSet & MOUNT_ATTR.RDONLY).toBe(MOUNT_ATTR.RDONLY);
  });
  test("bind, rbind, recursive attributes and propagation", () => {
    const b = m(["rbind", "rro", "rslave"], "bind");
    expect(b).toMatchObject({ bind: true, recursive: true, attrRecursive: true, propagation: MS.SLAVE | MS.REC, data: "" });
    expect(b.attrSet).toBe(MOUNT_ATTR.RDONLY);
  });
  test("idmapped mounts: mappings, idmap/ridmap, the container's own mappings; bad ones name the field", () => {
    const map = [{ containerID: 0, hostID: 100000, size: 65536 }];
    const bind = (o: object, userns?: { uidMappings: typeof map; gidMappings: typeof map }) => parseMount({ destination: "/x", type: "bind", source: bundle, ...o }, 0, bundle, userns);
    expect(bind({ options: ["rbind", "ridmap"], uidMappings: map, gidMappings: map }).idmap).toEqual({ uidMappings: map, gidMappings: map, recursive: true });
    expect(bind({ options: ["bind"], uidMappings: map, gidMappings: map }).idmap).toEqual({ uidMappings: map, gidMappings: map, recursive: false });
    expect(bind({ options: ["bind", "idmap"] }, { uidMappings: map, gidMappings: map }).idmap).toEqual({ uidMappings: map, gidMappings: map, recursive: false });
    expect(bind({ options: ["bind"] }).idmap).toBeUndefined();
    expect(() => bind({ options: ["bind", "idmap"] })).toThrow(/mounts\[0\]\.options: "idmap" without uidMappings\/gidMappings uses the container's user namespace mappings/);
    expect(() => bind({ options: ["bind"], uidMappings: map })).toThrow(/mounts\[0\]\.gidMappings: uidMappings and gidMappings of a mount go together/);
    expect(() => bind({ options: ["bind"], uidMappings: [], gidMappings: [] })).toThrow(/mounts\[0\]\.uidMappings: an idmapped mount needs at least one/);
    expect(() => bind({ options: ["bind"], uidMappings: [{ containerID: 0, hostID: -1, size: 1 }], gidMappings: map })).toThrow(/mounts\[0\]\.uidMappings\[0\]: needs non-negative integers/);
    expect(() => m(["idmap"])).toThrow(/mounts\[0\]\.options: idmapped mounts are bind mounts only; "tmpfs" cannot be idmapped/);
  });
  test("unsupported options are refused with the field", () => {
    expect(() => m(["tmpcopyup"], "bind")).toThrow(/tmpcopyup" applies to tmpfs mounts only/);
    expect(m(["tmpcopyup"]).tmpcopyup).toBe(true);
  });
});

describe("config checks name the field", () => {
  const bad: [string, (s: Spec) => void, RegExp][] = [
    ["ociVersion", (s) => (s.ociVersion = "0.9"), /^ociVersion:/],
    ["root.path", (s) => (s.root = { path: "nope" }), /^root\.path: .*does not exist/],
    ["duplicate namespace", (s) => s.linux!.namespaces!.push({ type: "pid" }), /linux\.namespaces\[5\]\.type: namespace "pid" is listed twice/],
    ["no mount namespace", (s) => (s.linux!.namespaces = [{ type: "pid" }]), /linux\.namespaces: berth needs a mount namespace/],
    ["maps without userns", (s) => (s.linux!.uidMappings = [{ containerID: 0, hostID: 1, size: 1 }]), /linux\.uidMappings: id mappings need a new user namespace/],
    ["env", (s) => s.process!.env!.push("NOEQUALS"), /process\.env\[2\]/],
    ["soft above hard", (s) => (s.process!.rlimits = [{ type: "RLIMIT_NOFILE", soft: 10, hard: 5 }]), /process\.rlimits\[0\]: soft limit 10 is above hard limit 5/],
    ["device type", (s) => (s.linux!.devices = [{ type: "x", path: "/dev/x" }]), /linux\.devices\[0\]\.type/],
    ["sysctl outside the namespaces", (s) => (s.linux!.sysctl = { "kernel.panic": "1" }), /linux\.sysctl\.kernel\.panic: only namespaced sysctls/],
    ["timeOffsets without time ns", (s) => (s.linux!.timeOffsets = { monotonic: { secs: 1 } }), /linux\.timeOffsets/],
    ["hook path", (s) => (s.hooks = { poststart: [{ path: "relative" }] }), /hooks\.poststart\[0\]\.path/],
    ["oomScoreAdj", (s) => (s.process!.oomScoreAdj = 5000), /process\.oomScoreAdj/],
    ["relative listenerPath", (s) => (s.linux!.seccomp = { defaultAction: "SCMP_ACT_ALLOW", listenerPath: "agent.sock" }), /^linux\.seccomp\.listenerPath: must be the absolute path/],
    ["long listenerPath", (s) => (s.linux!.seccomp = { defaultAction: "SCMP_ACT_ALLOW", listenerPath: "/" + "a".repeat(120) }), /linux\.seccomp\.listenerPath: is longer than a unix socket path/],
    ["listenerMetadata alone", (s) => (s.linux!.seccomp = { defaultAction: "SCMP_ACT_ALLOW", listenerMetadata: "m" }), /linux\.seccomp\.listenerMetadata: must not be set without/],
  ];
  for (const [name, edit, re] of bad) test(name, () => expect(() => buildConfig(spec(edit), "c1", bundle)).toThrow(re));

  test("device cgroup rules: the config's, one per device, then runc's defaults", () => {
    const c = buildConfig(spec((s) => (s.linux!.devices = [{ type: "c", path: "/dev/fuse", major: 10, minor: 229 }])), "c1", bundle);
    const rules = c.resources.devices!.map((d) => `${d.allow ? "a" : "d"} ${d.type ?? "a"} ${d.major ?? "*"}:${d.minor ?? "*"} ${d.access}`);
    expect(rules[0]).toBe("d a *:* rwm");
    expect(rules).toContain("a c 10:229 rwm");
    expect(rules).toContain("a c 1:3 rwm");
    expect(rules).toContain("a c *:* m");
  });

  test("a default rule the config already allows after its last deny is not added again", () => {
    const text = (c: ReturnType<typeof buildConfig>) => c.resources.devices!.map((d) => `${d.allow ? "a" : "d"} ${d.type ?? "a"} ${d.major ?? "*"}:${d.minor ?? "*"} ${d.access}`);
    // docker's and the CRI's list: deny all, then (among others) the same defaults, some in "mrw" order.
    const docker = text(buildConfig(spec((s) => (s.linux!.resources = { devices: [
      { allow: false, access: "rwm" }, { allow: true, type: "c", major: 136, minor: null, access: "rwm" }, { allow: true, type: "c", access: "m" }, { allow: true, type: "c", major: 5, minor: 2, access: "mrw" },
    ] })), "c1", bundle));
    expect(docker.filter((r) => r === "a c 136:* rwm")).toHaveLength(1);
    expect(docker.filter((r) => r === "a c *:* m")).toHaveLength(1);
    expect(docker.filter((r) => r.startsWith("a c 5:2 "))).toHaveLength(1);
    expect(docker).toContain("a b *:* m"); // not in that list: still added
    // A deny after the config's allow: the default is added after it again (it must win, as runc's).
    const denied = text(buildConfig(spec((s) => (s.linux!.resources = { devices: [
      { allow: false, access: "rwm" }, { allow: true, type: "c", major: 136, minor: null, access: "rwm" }, { allow: false, type: "c", major: 136, minor: null, access: "rwm" },
    ] })), "c1", bundle));
    expect(denied.slice(-6)).toContain("a c 136:* rwm");
    expect(denied.filter((r) => r === "a c 136:* rwm")).toHaveLength(2);
  });

  test("ambient capabilities outside permitted∩inheritable are dropped, as runc does", () => {
    const c = buildConfig(spec(), "c1", bundle);
    expect(c.process.caps.ambient).toBe(0n);
    expect(c.process.caps.bounding).toBe((1n << 29n) | (1n << 5n) | (1n << 10n));
  });
});

describe("plan encoding", () => {
  test("header, op codes and argument kinds", () => {
    const bytes = encodePlan([step("SETHOSTNAME", ["box"], "x"), step("SETRLIMIT", [7, 1n, 0xffffffffffffffffn], "y"), step("EXEC", [["sh", "-c"], []], "z")], { explain: true });
    const dv = new DataView(bytes.buffer);
    expect(new TextDecoder().decode(bytes.subarray(0, 8))).toBe(PLAN_MAGIC);
    expect(dv.getUint32(12, true)).toBe(1);
    expect(dv.getUint32(16, true)).toBe(3);
    expect(dv.getUint32(20, true)).toBe(OPS.find((o) => o.name === "SETHOSTNAME")!.code);
    expect(dv.getUint32(24, true)).toBe(8); // u32 length + "box\0"
    expect(new TextDecoder().decode(bytes.subarray(32, 36))).toBe("box\0");
  });
  test("wrong argument kinds and NULs are refused", () => {
    expect(() => step("SETHOSTNAME", [], "x")).toThrow(/takes 1 args/);
    expect(() => encodePlan([step("SETHOSTNAME", [5], "x")])).toThrow(/string expected/);
    expect(() => encodePlan([step("SETHOSTNAME", ["a\0b"], "x")])).toThrow(/NUL/);
  });
  test("the plan's version is the op table's hash, the same one the built berth-init was made from", () => {
    const v = planVersion();
    expect(v).toBeGreaterThan(0);
    expect(new DataView(encodePlan([]).buffer).getUint32(8, true)).toBe(v);
    const header = readFileSync(join(import.meta.dir, "../../build/plan-ops.h"), "utf8");
    expect(header).toContain(`#define PLAN_VERSION 0x${v.toString(16).padStart(8, "0")}u`);
  });

  test("every op has a unique code in table order", () => {
    expect(OPS.map((o) => o.code)).toEqual(OPS.map((_, i) => i));
  });
});

describe("signals and flags", () => {
  test("signal names and numbers as runc accepts them", () => {
    expect(parseSignal("KILL")).toBe(9);
    expect(parseSignal("sigterm")).toBe(15);
    expect(parseSignal("9")).toBe(9);
    expect(parseSignal("RTMIN+2")).toBe(36);
    expect(() => parseSignal("NOPE")).toThrow(/unknown signal "NOPE"/);
    expect(() => parseSignal("65")).toThrow();
    expect(signalName(15)).toBe("SIGTERM");
  });
  test("-flag, --flag, --flag=value, and positional arguments between flags", () => {
    const t = { bundle: { kind: "string", alias: "b", help: "" }, detach: { kind: "bool", alias: "d", help: "" }, "preserve-fds": { kind: "int", help: "" } } as const;
    expect(parseFlags(["-bundle", "/b", "id", "--detach", "--preserve-fds=2"], t, false, "run")).toEqual({ flags: { bundle: "/b", detach: true, "preserve-fds": 2 }, rest: ["id"] });
    expect(parseFlags(["-b", "/x", "--", "-d"], t, false, "run")).toEqual({ flags: { bundle: "/x" }, rest: ["-d"] });
    expect(() => parseFlags(["--preserve-fds", "x"], t, false, "run")).toThrow(/needs a number/);
    expect(() => parseFlags(["--bundle"], t, false, "run")).toThrow(/needs a value/);
  });
});

describe("features", () => {
  test("idmapped mounts are announced: mountExtensions.idmap and the idmap/ridmap options", async () => {
    const { featuresDocument } = await import("../../src/runtime/features.ts");
    const f = featuresDocument();
    expect(f.linux.mountExtensions.idmap.enabled).toBe(true);
    expect(f.mountOptions).toContain("idmap");
    expect(f.mountOptions).toContain("ridmap");
    expect([...f.mountOptions].sort()).toEqual(f.mountOptions);
  });
});
