// `exec`: run another process in a running container, joining its namespaces and cgroup, with
// the same security setup as its init (runtime-spec has no exec; this is runc's behaviour).
import { existsSync } from "node:fs";
import { join, posix } from "node:path";
import { failedPrecondition, invalidArgument } from "../sys/errdefs.ts";
import { explain } from "../explain/channel.ts";
import { openCgroupManager, type CgroupManager } from "../cgroups/manager.ts";
import { processConfig } from "./config.ts";
import { buildExecPlan } from "./plan/build.ts";
import { forwardSignals, launch } from "./launch.ts";
import { checkPidFile, frozen, StateStore, writeAtomic } from "./state.ts";
import type { NamespaceType, Process } from "./spec/types.ts";

export interface ExecOptions {
  root: string;
  id: string;
  process: Process;
  detach?: boolean;
  pidFile?: string;
  preserveFds?: number;
  consoleSocket?: string;
  /** runc's --ignore-paused: exec into a paused container (the process starts frozen). */
  ignorePaused?: boolean;
  /** runc's --cgroup: "sub" (every hierarchy) or "ctrl[,ctrl]:sub", inside the container's cgroup. */
  cgroups?: readonly string[];
  /** berth-init is started by the caller's berth-monitor (it holds the stdio and reaps): see launch(). */
  launchVia?: { sock: number };
}

/** What exec started: the process's host pid (it has called execve when `detach`). */
export interface ExecStarted {
  pid: number;
}

/**
 * Where --cgroup puts the process: each hierarchy's directory, or a sub-cgroup of it. A path that
 * leaves the container's cgroup is refused (runc: "is not a sub cgroup path"), and so is one that
 * does not exist (the kernel's ENOENT otherwise).
 */
export function execCgroupDirs(paths: Readonly<Record<string, string>>, specs: readonly string[]): Record<string, string> {
  const out: Record<string, string> = { ...paths };
  for (const spec of specs) {
    const colon = spec.indexOf(":");
    const sub = colon >= 0 ? spec.slice(colon + 1) : spec;
    const ctrls = colon >= 0 ? spec.slice(0, colon).split(",") : Object.keys(paths);
    for (const c of ctrls) {
      const base = paths[c];
      if (base === undefined) throw invalidArgument(`exec --cgroup ${spec}: the container has no cgroup for controller "${c}" (it has ${Object.keys(paths).filter(Boolean).join(", ") || "only the unified hierarchy"})`, "--cgroup");
      const dir = posix.join(base, sub);
      if (dir !== base && !dir.startsWith(base + "/")) throw invalidArgument(`exec --cgroup ${spec}: ${sub} is not a sub cgroup path of the container's cgroup ${base}`, "--cgroup");
      if (!existsSync(dir)) throw invalidArgument(`exec --cgroup ${spec}: ${dir} does not exist: create the sub-cgroup first`, "--cgroup");
      out[c] = dir;
    }
  }
  return out;
}


/** Runs the process; returns its exit status (foreground) or 0 once it runs (detach). */
export async function exec(o: ExecOptions): Promise<number> {
  const r = await execProcess(o);
  return r.code;
}

/** exec(), with the process's pid as well: detached (and `launchVia`) it returns once it runs. */
export async function execProcess(o: ExecOptions): Promise<ExecStarted & { code: number }> {
  const store = new StateStore(o.root);
  const s = store.load(o.id);
  // Opened once, for the freezer check and the join; a failure to open counts as "not frozen"
  // here and is raised where the cgroup is needed, as before.
  let cg: CgroupManager | undefined;
  let cgError: unknown;
  try {
    cg = openCgroupManager({ id: s.id, paths: s.cgroupPaths });
  } catch (e) {
    cgError = e;
  }
  const status = store.status(s, () => frozen(() => cg));
  if (status === "stopped") throw failedPrecondition(`cannot exec in container "${o.id}": it has stopped`, "container-id");
  if (status === "creating") throw failedPrecondition(`cannot exec in container "${o.id}": it is still being created`, "container-id");
  if (status === "paused" && !o.ignorePaused) throw failedPrecondition(`cannot exec in container "${o.id}": it is paused (resume it first, or use --ignore-paused)`, "container-id");
  if (o.pidFile) checkPidFile(o.pidFile);
  if (!s.spec) throw failedPrecondition(`container "${o.id}" was created by an older berth-runtime without its config; exec is not possible`, "container-id");
  const proc = processConfig(o.process);
  if (!cg) throw cgError;
  // Cloned into the cgroup2 directory (v2; hybrid's unified), v1 hierarchies joined by the child
  // through `tasks` (a single thread writing "0" moves itself without the global lock).
  const dirs = o.cgroups?.length ? execCgroupDirs(cg.paths, o.cgroups) : cg.paths;
  const into = cg.driver === "v2" ? dirs[""] : cg.unifiedDir?.() !== undefined ? dirs[""] : undefined;
  const cgroupJoin = [...new Set(Object.entries(dirs).filter(([c]) => c !== "").map(([, d]) => join(d, "tasks")))];
  const namespaces = (s.spec.linux?.namespaces ?? []).map((n) => n.type as NamespaceType);
  const profile = s.spec.linux?.seccomp;
  const seccomp = profile ? (await import("../seccomp/cache.ts")).compileSeccompCached(profile, join(o.root, ".seccomp-cache")) : undefined;
  // As runc: the exec'd process's listener fd goes to the same agent, with the container "running"
  // and state.pid the init's (the top-level pid is the new process's, filled in by berth-init).
  const seccompListener = profile?.listenerPath
    ? {
        path: profile.listenerPath,
        ...(profile.listenerMetadata ? { metadata: profile.listenerMetadata } : {}),
        state: { ociVersion: s.ociVersion, id: s.id, status: "running" as const, pid: s.pid, bundle: s.bundle, ...(Object.keys(s.annotations ?? {}).length ? { annotations: s.annotations } : {}) },
      }
    : undefined;
  const steps = buildExecPlan(proc, {
    initPid: s.pid, namespaces, cgroupJoin, ...(into ? { cgroupInto: into } : {}), foreground: !(o.detach || o.launchVia), preserveFds: o.preserveFds ?? 0,
    waitCallerExit: o.detach === true && !o.launchVia,
    ...(o.consoleSocket ? { consoleSocket: o.consoleSocket } : {}),
    ...(seccomp ? { seccomp: { bpf: seccomp.bpf, flags: seccomp.flags } } : {}),
    ...(seccompListener ? { seccompListener } : {}),
  });
  const detach = o.detach || o.launchVia !== undefined;
  // A monitor (launchVia) reaps the process itself and learns of its execve (end of file on the
  // report socket). A caller of `exec --detach` learns its pid from the pid file once we exit; if
  // it reaps orphans (containerd's shim), a process that exited before that was dropped and the
  // shim waited for it forever: so the process waits for our exit before it execs (callers that
  // read /proc/<pid> at once may see berth-init a moment, as they see runc's init under runc).
  const launched = await launch(steps, {
    preserveFds: o.preserveFds ?? 0, explain: explain.enabled, foreground: !detach,
    untilExec: o.launchVia !== undefined, holdReportUntilExit: o.detach === true && !o.launchVia,
    ...(o.launchVia ? { via: o.launchVia } : {}),
  });
  if (o.pidFile) writeAtomic(o.pidFile, String(launched.pid));
  if (detach) return { pid: launched.pid, code: 0 };
  const stop = forwardSignals(launched.pid);
  const code = await launched.helper!.exited;
  stop();
  return { pid: launched.pid, code };
}
