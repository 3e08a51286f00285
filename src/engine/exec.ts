// Exec sessions in the engine (docker's exec create/start/inspect/resize, CRI's Exec): another
// process in a running container, with the container's namespaces, cgroup, security settings,
// environment and working directory, changed by the session's spec.
//
// Each started session gets a berth-monitor of its own in <runroot>/execs/<id> (podman starts a
// conmon per exec the same way): it holds the process's stdio (pipes, or the pty master),
// reaps it and writes its exit status durably, and serves attach and resize on its socket. So a
// detached session (`exec -d`, the API's Detach) has its exit recorded with nobody attached —
// the monitor's exit command (`berth container cleanup --exec ID CONTAINER`) records it — and a
// killed `berth exec` leaves neither a process nor a session without its exit. The monitor
// starts berth-init with the exec plan the engine computed (the runtime library's exec with
// `launchVia`), as it does for a container's init: no berth-runtime process per exec.
//
// The fronts' calls: the Docker API's POST /containers/{id}/exec → createExec; POST
// /exec/{id}/start → startExec (with `attach` bound to the hijacked connection unless Detach,
// then finishExec); GET /exec/{id}/json → inspectExec (docker/exec-json.ts shapes it); POST
// /exec/{id}/resize → resizeExec. CRI's ExecSync: createExec + startExec with handlers that
// collect the output, finishExec, and killExec at its timeout (as health.ts does).
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { randomString } from "../sys/digest.ts";
import { conflict, failedPrecondition, invalidArgument, isBerthError } from "../sys/errdefs.ts";
import { boundingCapabilities } from "../sys/capabilities.ts";
import { timed } from "../explain/channel.ts";
import { processUser } from "../image/config-to-spec.ts";
import { ATTACH, AttachClient, type AttachHandlers } from "../monitor/attach.ts";
import { consoleSocketPath, findBinary, spawnMonitor, type MonitorStatus } from "../monitor/monitor.ts";
import type { ExecRecord } from "../metadata/execs.ts";
import type { Process, Spec } from "../runtime/spec/types.ts";
import type { Engine } from "./engine.ts";
import { getContainer, StartError, type Container } from "./containers.ts";
import { collectExec, execEvent, LOST_EXIT } from "./exec-collect.ts";

export { collectContainerExecs } from "./exec-collect.ts";

/** What a front asks for (docker's ExecConfig, CRI's ExecRequest). */
export interface ExecSpec {
  /** The command and its arguments (looked up in the container's PATH). */
  cmd: string[];
  /** NAME=value entries over the container's environment. */
  env?: string[];
  /** Default: the container's working directory. */
  workdir?: string;
  /** user[:group], names or ids from the container's /etc/passwd and /etc/group; default the container's. */
  user?: string;
  /** Every capability this host can give (docker's --privileged for exec). */
  privileged?: boolean;
  tty?: boolean;
  /** Keep the process's stdin open for an attached client (docker's AttachStdin, -i). */
  stdin?: boolean;
  /** As given (docker's DetachKeys); the front applies them. */
  detachKeys?: string;
  /** Whether the front means to attach these streams (docker's AttachStdout/AttachStderr; inspect shows them). */
  attachStdout?: boolean;
  attachStderr?: boolean;
}

export type Exec = ExecRecord<ExecSpec>;

export interface ExecStartOptions {
  /**
   * Attach before the process starts (nothing it writes is missed): the session's output to the
   * handlers, its stdin from the client. Without it the session runs detached.
   */
  attach?: { stdin?: boolean; stdout?: boolean; stderr?: boolean; handlers?: AttachHandlers };
  /** The terminal's size, set before the process runs. */
  size?: { rows: number; cols: number };
}

export interface ExecSession {
  exec: Exec;
  /** The process's host pid. */
  pid: number;
  /** The attach connection, with `attach`: pass it to finishExec when the process ended. */
  attach?: AttachClient;
}

/** How a session ended. */
export interface ExecExit {
  exitCode: number;
  /** Why the monitor could not run or watch the process, if it could not. */
  error?: string;
}

function checkRunning(c: Container): void {
  if (c.state === "paused") throw conflict(`container ${c.id} is paused, unpause the container before exec`, "container");
  if (c.state === "restarting") throw conflict(`container ${c.id} is restarting, wait until the container is running`, "container");
  if (c.state !== "running") throw conflict(`container ${c.id} is not running`, "container");
}

/** exec create: checks the container runs, records the session (state created); exec_create. */
export async function createExec(e: Engine, ref: string, spec: ExecSpec): Promise<Exec> {
  if (!spec.cmd.length || spec.cmd[0] === "") throw invalidArgument("no exec command specified: give the command to run after the container", "cmd");
  for (const v of spec.env ?? []) {
    if (!v.includes("=") || v.startsWith("=")) throw invalidArgument(`exec environment entry ${JSON.stringify(v)}: use NAME=value`, "env");
  }
  const c = await getContainer(e, ref);
  checkRunning(c);
  const id = randomString(32);
  const rec = e.execs.create({ id, containerId: c.id, spec }) as Exec;
  execEvent(e, `exec_create: ${spec.cmd.join(" ")}`, rec);
  return rec;
}

/** The session by id (or unique prefix), its exit recorded if its monitor wrote one. */
export function inspectExec(e: Engine, ref: string): Exec {
  return collectExec(e, e.execs.find(ref)) as Exec;
}

/** A container's sessions since its last start (docker's ExecIDs), reconciled. */
export function listExecs(e: Engine, containerId: string): Exec[] {
  return e.execs.listFor(containerId).map((r) => collectExec(e, r) as Exec);
}

/** NAME=value entries set or replaced, in order (docker's exec env over the container's). */
function mergeEnv(base: readonly string[], over: readonly string[]): string[] {
  const out = [...base];
  for (const kv of over) {
    const name = kv.slice(0, kv.indexOf("="));
    const i = out.findIndex((x) => x.startsWith(`${name}=`));
    if (i >= 0) out[i] = kv;
    else out.push(kv);
  }
  return out;
}

/** The process: the container's own (as its last start ran it), changed by the session's spec. */
function execProcess(e: Engine, c: Container, spec: ExecSpec): Process {
  const dir = e.containerDir(c.id);
  let oci: Spec;
  try {
    oci = JSON.parse(readFileSync(join(dir, "config.json"), "utf8")) as Spec;
  } catch {
    throw failedPrecondition(`container ${c.id} has no runtime config (${join(dir, "config.json")}); is it running?`, "container");
  }
  const proc = structuredClone(oci.process!);
  proc.args = [...spec.cmd];
  proc.terminal = spec.tty ?? false;
  proc.env = mergeEnv(proc.env ?? [], spec.env ?? []);
  if (spec.workdir !== undefined) {
    if (!spec.workdir.startsWith("/")) throw invalidArgument(`exec working directory ${JSON.stringify(spec.workdir)}: use an absolute path`, "workdir");
    proc.cwd = spec.workdir;
  }
  if (spec.user !== undefined && spec.user !== "") {
    // The container's --group-add applies to an exec as another user too (docker's getUser).
    const { user, resolved: u } = processUser(join(dir, "rootfs"), spec.user, c.spec.groupAdd);
    proc.user = user;
    // The container's HOME was its own user's; the exec'd user's unless the session sets one.
    if (!(spec.env ?? []).some((x) => x.startsWith("HOME="))) proc.env = mergeEnv(proc.env, [`HOME=${u.home}`]);
  }
  if (spec.privileged) {
    const all = boundingCapabilities();
    proc.capabilities = { bounding: all, effective: all, permitted: all };
  }
  delete proc.consoleSize;
  return proc;
}


/** docker's exec start failures: 127 not found, 126 cannot be invoked, 126 anything else. */
function execFailure(err: unknown): StartError {
  const errno = (err as { errno?: unknown }).errno;
  const msg = isBerthError(err) ? err.message : `internal error: ${(err as Error).message ?? String(err)}`;
  if (isBerthError(err) && err.field === "process.args" && typeof errno === "number") {
    return new StartError(`exec failed: ${msg}`, errno === 2 ? 127 : 126, "cmd");
  }
  if (isBerthError(err) && (err.field === "process.cwd" || err.field === "process.user")) return new StartError(`exec failed: ${msg}`, 126, "exec");
  return new StartError(`exec failed: ${msg}`, 126, isBerthError(err) ? err.field : "exec");
}

/**
 * exec start, once per session: its monitor, the attach connection (with `attach`), the
 * process. exec_start. Throws StartError (exitCode 126/127, as docker) when the process could
 * not be started; the session records that code.
 */
export async function startExec(e: Engine, ref: string, o: ExecStartOptions = {}): Promise<ExecSession> {
  const rec = e.execs.find(ref) as Exec;
  const spec = rec.spec;
  const c = await getContainer(e, rec.containerId);
  if (rec.state !== "created") throw conflict(`exec ${rec.id} has already been started`, "exec");
  checkRunning(c);
  if (!e.execs.markRunning(rec.id)) throw conflict(`exec ${rec.id} has already been started`, "exec");
  let proc: Process;
  try {
    proc = execProcess(e, c, spec);
    // The terminal has its size before the process runs (berth-init sets it on the pty).
    if (spec.tty && o.size) proc.consoleSize = { height: o.size.rows, width: o.size.cols };
  } catch (err) {
    // As runc's exec: a user the image does not know, a bad working directory: 126.
    const failure = new StartError(`exec failed: ${isBerthError(err) ? err.message : String(err)}`, 126, isBerthError(err) ? err.field : "exec");
    if (e.execs.markExited(rec.id, failure.exitCode)) execEvent(e, "exec_die", rec, { exitCode: String(failure.exitCode) });
    throw failure;
  }
  const dir = e.execDir(rec.id);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  let monitor: Awaited<ReturnType<typeof spawnMonitor>> | undefined;
  let client: AttachClient | undefined;
  try {
    monitor = await timed("engine", "monitor", "start berth-monitor for the exec session (holds its stdio, reaps, records the exit)", () => spawnMonitor({
      id: rec.id, dir, stdin: spec.stdin ?? false, tty: spec.tty ?? false, stdinOnce: true,
      restart: { name: "no" },
      runtime: e.opts.runtime ?? findBinary("berth-runtime", "BERTH_RUNTIME"), runtimeRoot: e.runtimeRoot, bundle: e.containerDir(c.id),
      berthInit: e.opts.berthInit ?? findBinary("berth-init", "BERTH_INIT"), monitor: e.opts.monitor ?? findBinary("berth-monitor", "BERTH_MONITOR"),
      exitCommand: e.opts.exitCommand ? [...e.opts.exitCommand, "--exec", rec.id, c.id] : [],
    }));
    if (o.attach) {
      const a = o.attach;
      const flags = (a.stdout ? ATTACH.stdout : 0) | (a.stderr ? ATTACH.stderr : 0) | (a.stdin && spec.stdin ? ATTACH.stdin : 0) | ATTACH.cleanup;
      client = await AttachClient.connect(dir, flags, a.handlers ?? {});
    }
    const { execProcess: runExec } = await import("../runtime/exec.ts");
    const started = await runExec({
      root: e.runtimeRoot, id: c.id, process: proc, launchVia: { sock: monitor.initSock },
      ...(spec.tty ? { consoleSocket: consoleSocketPath(dir, monitor.pid) } : {}),
    });
    monitor.started(started.pid, undefined);
    monitor.close(); // launch saw the execve (untilExec) on this socket already
    e.execs.setPid(rec.id, started.pid);
    execEvent(e, `exec_start: ${spec.cmd.join(" ")}`, rec);
    return { exec: e.execs.get(rec.id) as Exec, pid: started.pid, ...(client ? { attach: client } : {}) };
  } catch (err) {
    const aborted = monitor?.abort();
    client?.close();
    const failure = execFailure(err);
    if (e.execs.markExited(rec.id, failure.exitCode)) execEvent(e, "exec_die", rec, { exitCode: String(failure.exitCode) });
    // The monitor exits once the start was aborted; its directory goes after it.
    await aborted;
    rmSync(dir, { recursive: true, force: true });
    throw failure;
  }
}

/**
 * A session's end: waits for the exit (its record comes after the last output), records it,
 * emits exec_die, and (attached) releases the monitor. A detached session is waited on through
 * its monitor, whose exit command records it. Returns how it ended.
 */
export async function finishExec(e: Engine, s: ExecSession, exit?: MonitorStatus): Promise<ExecExit> {
  const client = s.attach;
  if (!client && !exit) {
    // A detached session: wait on its monitor (which stays in charge of the cleanup).
    try {
      const watcher = await AttachClient.connect(e.execDir(s.exec.id), 0);
      const st = await watcher.exit;
      watcher.close();
      return { exitCode: st?.exitCode ?? inspectExec(e, s.exec.id).exitCode ?? 255 };
    } catch {
      const r = inspectExec(e, s.exec.id);
      return { exitCode: r.exitCode ?? 255 };
    }
  }
  const st = exit ?? (client ? await client.exit : undefined);
  let code: number;
  let error: string | undefined;
  if (st) {
    // A monitor that never saw the process start (its "start" did not come: it recorded why)
    // has no exit status to give: LOST_EXIT, not the 0 of a status that was never filled in.
    code = st.error && !st.startedAt ? LOST_EXIT : st.exitCode;
    if (st.error) error = st.error;
    if (e.execs.markExited(s.exec.id, code, st.finishedAt ? new Date(Date.parse(st.finishedAt)) : new Date())) {
      execEvent(e, "exec_die", s.exec, { exitCode: String(code) });
    }
  } else {
    // The monitor went away without an exit record: what the record says (or LOST_EXIT).
    const r = collectExec(e, { ...s.exec, state: "running", pid: s.pid });
    code = r.exitCode ?? 255;
    error = "the exec session's monitor went away without recording the exit";
  }
  if (client) {
    client.done();
    await Promise.race([client.closed, Bun.sleep(5000)]);
    client.close();
  }
  rmSync(e.execDir(s.exec.id), { recursive: true, force: true });
  return { exitCode: code, ...(error ? { error } : {}) };
}

/** A session's terminal size (docker's exec resize). */
export async function resizeExec(e: Engine, ref: string, rows: number, cols: number): Promise<void> {
  const rec = inspectExec(e, ref);
  if (rec.state !== "running") throw conflict(`exec ${rec.id} is not running`, "exec");
  if (!rec.spec.tty) throw invalidArgument(`exec ${rec.id} has no terminal to resize`, "exec");
  const client = await AttachClient.connect(e.execDir(rec.id), 0);
  client.resize(rows, cols);
  client.close();
  await Promise.race([client.closed, Bun.sleep(1000)]);
}

/** Send a signal to a running session's process (the health check's timeout; CRI's timeout). */
export function killExec(e: Engine, ref: string, signal: number = 9): void {
  const rec = inspectExec(e, ref);
  if (rec.state !== "running" || rec.pid <= 0) return;
  try {
    process.kill(rec.pid, signal);
  } catch {
    // ended meanwhile: its monitor records that
  }
}

/** The exit command's work for a session (`container cleanup --exec ID`): record its exit. */
export function cleanupExec(e: Engine, ref: string): void {
  let rec: ExecRecord;
  try {
    rec = e.execs.find(ref);
  } catch (err) {
    if (!isBerthError(err, "NotFound")) throw err;
    rmSync(e.execDir(ref), { recursive: true, force: true }); // its container was removed
    return;
  }
  collectExec(e, rec);
}
