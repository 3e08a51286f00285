// The file operations a cgroup driver performs, behind a tiny interface so unit tests can run the
// drivers against a temp directory (youki's Syscall trait habit). Every write and mkdir is
// reported on the explain channel and every failure names the config field, file and errno.

import * as fs from "node:fs";
import { posix } from "node:path";
import { explain } from "../explain/channel.ts";
import { BerthError, type ErrorCode } from "../sys/errdefs.ts";

export interface CgroupFs {
  /** Create one directory (not recursive); EEXIST is thrown like mkdir(2). */
  mkdir(dir: string): void;
  rmdir(dir: string): void;
  /** Whole file content; throws like read(2). */
  read(file: string): string;
  /** One write(2) of `value` to an existing file (O_WRONLY, no O_CREAT: cgroupfs files exist or the kernel lacks them). */
  write(file: string, value: string): void;
  exists(path: string): boolean;
  /** Names of subdirectories (child cgroups). */
  subdirs(dir: string): string[];
}

export const realCgroupFs: CgroupFs = {
  mkdir: (dir) => fs.mkdirSync(dir),
  rmdir: (dir) => fs.rmdirSync(dir),
  read: (file) => fs.readFileSync(file, "utf8"),
  write: (file, value) => {
    const fd = fs.openSync(file, fs.constants.O_WRONLY);
    try {
      fs.writeSync(fd, value);
    } finally {
      fs.closeSync(fd);
    }
  },
  exists: (p) => fs.existsSync(p),
  subdirs: (dir) => {
    try {
      return fs.readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
    } catch (e) {
      if (errnoOf(e) === "ENOENT") return [];
      throw e;
    }
  },
};

export function errnoOf(e: unknown): string | undefined {
  return typeof e === "object" && e !== null && "code" in e && typeof e.code === "string" ? e.code : undefined;
}

/** Kernel refusals mapped to the shared error vocabulary. */
function codeForErrno(errno: string | undefined): ErrorCode {
  switch (errno) {
    case "EINVAL":
    case "ERANGE":
      return "InvalidArgument";
    case "EBUSY":
    case "ENOSPC":
    case "ENOENT":
    case "EOPNOTSUPP":
    case "ENOTSUP":
      return "FailedPrecondition";
    case "EACCES":
    case "EPERM":
    case "EROFS":
      return "PermissionDenied";
    default:
      return "Internal";
  }
}

const ERRNO_TEXT: Record<string, string> = {
  EINVAL: "Invalid argument",
  EBUSY: "Device or resource busy",
  ENOSPC: "No space left on device",
  ENOENT: "No such file or directory",
  EACCES: "Permission denied",
  EPERM: "Operation not permitted",
  EROFS: "Read-only file system",
  EOPNOTSUPP: "Operation not supported",
  ERANGE: "Numerical result out of range",
};

/** Why a kernel may say this, for the few errnos whose cause is not obvious. */
const ERRNO_HINT: Record<string, string> = {
  ENOSPC: " (cpuset: cpus/mems empty; v2: no internal processes, or a limit hit)",
  EBUSY: " (v1 memory: new limit below current usage; v2: controller enable on a cgroup with processes)",
};

export function writeError(field: string, file: string, value: string, e: unknown): BerthError {
  const errno = errnoOf(e);
  const what = errno ? `${errno} (${ERRNO_TEXT[errno] ?? "error"})${ERRNO_HINT[errno] ?? ""}` : String(e);
  return new BerthError(
    codeForErrno(errno),
    `cannot set ${field}: writing ${JSON.stringify(value)} to ${file} failed: ${what}`,
    field,
    { cause: e },
  );
}

/** A driver's file access: records what it did so create() can undo it. */
export class CgroupFiles {
  /** Directories this object created, in creation order. */
  readonly created: string[] = [];
  constructor(readonly fs: CgroupFs) {}

  /** Write `value` to `dir/name`; on refusal throw naming `field`, the file and the errno. */
  write(dir: string, name: string, value: string, field: string): void {
    const file = posix.join(dir, name);
    if (explain.enabled) explain.emit({ step: "cgroup-write", detail: `${file} <- ${value}`, who: "runtime" });
    try {
      this.fs.write(file, value);
    } catch (e) {
      throw writeError(field, file, value, e);
    }
  }

  /**
   * write() of each item, in order: the same one write(2) per value, errors and explain events.
   * On the real file system a file is opened once for all its values (v1 device rules: 16 opens
   * fewer per container); a test's fake file system gets its own write() per value.
   */
  writeSeq(dir: string, items: readonly { name: string; value: string; field: string }[]): void {
    if (this.fs.write !== realCgroupFs.write) {
      for (const it of items) this.write(dir, it.name, it.value, it.field);
      return;
    }
    const fds = new Map<string, number>();
    try {
      for (const it of items) {
        const file = posix.join(dir, it.name);
        if (explain.enabled) explain.emit({ step: "cgroup-write", detail: `${file} <- ${it.value}`, who: "runtime" });
        try {
          let fd = fds.get(file);
          if (fd === undefined) {
            fd = fs.openSync(file, fs.constants.O_WRONLY);
            fds.set(file, fd);
          }
          fs.writeSync(fd, it.value);
        } catch (e) {
          throw writeError(it.field, file, it.value, e);
        }
      }
    } finally {
      for (const fd of fds.values()) fs.closeSync(fd);
    }
  }

  has(dir: string, name: string): boolean {
    return this.fs.exists(posix.join(dir, name));
  }

  read(dir: string, name: string): string {
    return this.fs.read(posix.join(dir, name));
  }

  /** Read, or undefined when the file does not exist (controller absent, older kernel). */
  tryRead(dir: string, name: string): string | undefined {
    try {
      return this.fs.read(posix.join(dir, name));
    } catch (e) {
      const errno = errnoOf(e);
      if (errno === "ENOENT" || errno === "ENODEV" || errno === "EOPNOTSUPP") return undefined;
      throw e;
    }
  }

  /** mkdir -p for the chain (parents first); remembers what it made. */
  mkdirChain(chain: string[], field: string): void {
    for (const dir of chain) {
      // Explaining, say only what is made; otherwise let mkdir(2) tell (EEXIST) and save a stat.
      if (explain.enabled && this.fs.exists(dir)) continue;
      if (explain.enabled) explain.emit({ step: "cgroup-mkdir", detail: dir, who: "runtime" });
      try {
        this.fs.mkdir(dir);
        this.created.push(dir);
      } catch (e) {
        if (errnoOf(e) === "EEXIST") continue; // raced with another creator: fine, not ours
        const errno = errnoOf(e);
        throw new BerthError(codeForErrno(errno), `cannot create cgroup ${dir} for ${field}: ${errno ?? String(e)}`, field, {
          cause: e,
        });
      }
    }
  }

  /** Remove what mkdirChain made, deepest first; best effort (used on the failure path). */
  undoCreated(): void {
    for (const dir of [...this.created].reverse()) {
      try {
        this.fs.rmdir(dir);
        if (explain.enabled) explain.emit({ step: "cgroup-rmdir", detail: dir, who: "runtime" });
      } catch {
        // Left for destroy() to report; the original error matters more here.
      }
    }
    this.created.length = 0;
  }
}

/** Synchronous sleep without spinning: the runtime's cgroup paths are synchronous by design. */
export function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Parse "12 34\n56" style pid lists (cgroup.procs). */
export function parsePids(text: string): number[] {
  const out: number[] = [];
  for (const s of text.split(/\s+/)) {
    if (s === "") continue;
    const n = Number(s);
    if (Number.isInteger(n) && n > 0) out.push(n);
  }
  return out;
}

/**
 * Remove a cgroup dir and every child cgroup under it, deepest first, retrying EBUSY briefly
 * (a killed task leaves its cgroup asynchronously). `killAll(dir)` is called when a dir still
 * has processes; it must signal them. Returns without error if `dir` is already gone.
 */
export function removeCgroupTree(
  cfs: CgroupFs,
  dir: string,
  killAll: (dir: string) => void,
  timeoutMs = 2000,
): void {
  if (!cfs.exists(dir)) return;
  for (const child of cfs.subdirs(dir)) removeCgroupTree(cfs, posix.join(dir, child), killAll, timeoutMs);
  const deadline = Date.now() + timeoutMs;
  let delay = 1;
  let killed = false;
  for (;;) {
    try {
      cfs.rmdir(dir);
      if (explain.enabled) explain.emit({ step: "cgroup-rmdir", detail: dir, who: "runtime" });
      return;
    } catch (e) {
      const errno = errnoOf(e);
      if (errno === "ENOENT") return;
      if (errno !== "EBUSY" || Date.now() > deadline) {
        throw new BerthError(
          errno === "EBUSY" ? "FailedPrecondition" : codeForErrno(errno),
          `cannot remove cgroup ${dir}: ${errno ?? String(e)}${errno === "EBUSY" ? " (processes remain after SIGKILL)" : ""}`,
          dir,
          { cause: e },
        );
      }
      if (!killed) {
        killAll(dir);
        killed = true;
      } else if (delay >= 64) {
        killAll(dir); // late arrivals (a fork that was in flight)
      }
      sleepMs(delay);
      delay = Math.min(delay * 2, 100);
    }
  }
}
