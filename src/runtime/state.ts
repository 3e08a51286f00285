// The runtime's state directory: <root>/<id>/state.json (plus exec.fifo between create and start).
// state.json is written atomically (temp file + rename); the status is derived from the process
// (alive? same start time? fifo still there?) each time, never stored, so it cannot go stale.
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { BerthError, alreadyExists, invalidArgument, notFound } from "../sys/errdefs.ts";
import type { HookConfig } from "./config.ts";
import type { Spec, State } from "./spec/types.ts";

/** runc's rule: root uses /run; an unprivileged user its $XDG_RUNTIME_DIR. */
export const DEFAULT_ROOT =
  process.geteuid?.() !== 0 && process.env.XDG_RUNTIME_DIR ? `${process.env.XDG_RUNTIME_DIR}/berth-runtime` : "/run/berth-runtime";

export interface SavedState {
  readonly ociVersion: string;
  readonly id: string;
  readonly pid: number;
  /** Start time of pid in clock ticks since boot (/proc/<pid>/stat field 22): guards PID reuse. */
  readonly pidStart: number;
  readonly bundle: string;
  readonly rootfs: string;
  readonly created: string;
  readonly owner: string;
  readonly annotations: Record<string, string>;
  readonly cgroupPaths: Record<string, string>;
  readonly poststart: readonly HookConfig[];
  readonly poststop: readonly HookConfig[];
  /** The container's config.json, as created: `exec` takes its process defaults and namespaces from it. */
  readonly spec?: Spec;
  /** The `--explain` timeline of create, when it was recorded: [describe, ms][]. */
  readonly timeline?: readonly (readonly [string, number])[];
}

export type Status = State["status"];

export class StateStore {
  constructor(readonly root: string) {}

  dir(id: string): string {
    return join(this.root, id);
  }
  fifo(id: string): string {
    return join(this.root, id, "exec.fifo");
  }

  /** Reserve the id: mkdir fails if a container of that id exists. */
  reserve(id: string): string {
    try {
      mkdirSync(this.root, { recursive: true, mode: 0o711 });
    } catch (e) {
      throw new BerthError("PermissionDenied", `cannot create the state directory ${this.root}: ${(e as Error).message}; pass --root with a directory you can write (or set XDG_RUNTIME_DIR)`, "--root");
    }
    try {
      mkdirSync(this.dir(id), { mode: 0o711 });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "EEXIST") throw alreadyExists(`container with id "${id}" already exists: delete it first or pick another id`, "container-id");
      throw e;
    }
    return this.dir(id);
  }

  save(s: SavedState): void {
    writeAtomic(join(this.dir(s.id), "state.json"), JSON.stringify(s));
  }

  load(id: string): SavedState {
    if (id.includes("/") || id === "." || id === "..") throw invalidArgument(`invalid container id "${id}"`, "container-id");
    let text: string;
    try {
      text = readFileSync(join(this.dir(id), "state.json"), "utf8");
    } catch {
      throw notFound(`container "${id}" does not exist (looked in ${this.root}; pass --root if it was created with another)`, "container-id");
    }
    return JSON.parse(text) as SavedState;
  }

  remove(id: string): void {
    rmSync(this.dir(id), { recursive: true, force: true });
  }

  ids(): string[] {
    try {
      return readdirSync(this.root).filter((id) => existsSync(join(this.root, id, "state.json"))).sort();
    } catch {
      return [];
    }
  }

  status(s: SavedState, frozen?: () => boolean): Status {
    // pid 0: recorded before berth-init started (so that an interrupted create can be deleted).
    if (s.pid === 0) return "creating";
    if (!processAlive(s.pid, s.pidStart)) return "stopped";
    // The freezer first: a paused created container is "paused", as runc reports it.
    if (frozen?.()) return "paused";
    if (existsSync(this.fifo(s.id))) return "created";
    return "running";
  }
}

/** Write a file whole or not at all: a temp file beside it, then rename (state.json, pid files). */
/**
 * A --pid-file's directory must exist before the process is started: found missing afterwards,
 * the process would be left running with no one knowing its pid.
 */
export function checkPidFile(file: string): void {
  let ok = false;
  try {
    ok = statSync(dirname(file)).isDirectory();
  } catch {}
  if (!ok) throw invalidArgument(`--pid-file ${file}: the directory ${dirname(file)} does not exist: create it first`, "--pid-file");
}

export function writeAtomic(file: string, content: string): void {
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.tmp`);
  writeFileSync(tmp, content);
  renameSync(tmp, file);
}

/**
 * The freezer's answer for StateStore.status: frozen or not, "not" when the cgroup cannot be
 * opened or read (it may be gone with the container). `open` is only called when it matters.
 */
export function frozen(open: () => { freezerState(): string } | undefined): boolean {
  try {
    return open()?.freezerState() === "FROZEN";
  } catch {
    return false;
  }
}

import { processAlive, processStartTime } from "../sys/proc.ts";
export { processAlive, processStartTime };

/** The state as runtime.md defines it (what `state` prints and hooks read on stdin). */
export function publicState(s: SavedState, status: Status): State & { rootfs: string; created: string; owner: string } {
  return {
    ociVersion: s.ociVersion,
    id: s.id,
    pid: status === "stopped" ? 0 : s.pid,
    status,
    bundle: s.bundle,
    rootfs: s.rootfs,
    created: s.created,
    owner: s.owner,
    ...(Object.keys(s.annotations).length > 0 ? { annotations: s.annotations } : {}),
  };
}
