// A lock per container for lifecycle changes (start, stop, remove, cleanup…), shared by every
// berth process and berthd: flock(2) on `<runroot>/locks/<id>.lock`. The kernel drops it when the
// holder dies, so a killed berth never leaves a container locked. Taken without blocking the
// event loop (LOCK_NB, retried), so a daemon serving other requests is not stalled.
import { closeSync, fstatSync, mkdirSync, openSync, rmSync } from "node:fs";
import { join } from "node:path";
import { unavailable } from "../sys/errdefs.ts";
import { errno, libcSymbols, EINTR, EWOULDBLOCK, LOCK_EX, LOCK_NB, LOCK_UN } from "../sys/libc.ts";

export interface Lock {
  release(): void;
  /** Release and remove the lock file (the container is gone). */
  releaseAndRemove(): void;
}

/**
 * Release a container's lock, removing the file when the container no longer exists (it was
 * removed while we held the lock, or by another holder before us, whose unlink we then
 * re-created by opening the path).
 */
export function releaseFor(lock: Lock, exists: () => boolean): void {
  if (exists()) lock.release();
  else lock.releaseAndRemove();
}

export class LockDir {
  constructor(readonly dir: string) {}

  path(id: string): string {
    return join(this.dir, `${id}.lock`);
  }

  tryAcquire(id: string): Lock | undefined {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const path = this.path(id);
    for (;;) {
      const fd = openSync(path, "a", 0o600);
      const r = libcSymbols().flock(fd, LOCK_EX | LOCK_NB);
      if (r !== 0) {
        const e = errno();
        closeSync(fd);
        if (e === EINTR) continue;
        if (e === EWOULDBLOCK) return undefined;
        throw unavailable(`locking ${path}: errno ${e}`, "lock");
      }
      // The holder before us may have removed the file (the container was removed): our lock
      // is then on an unlinked inode that nobody else will see; start over on the new file.
      if (fstatSync(fd).nlink === 0) {
        closeSync(fd);
        continue;
      }
      let held = true;
      const release = () => {
        if (!held) return;
        held = false;
        libcSymbols().flock(fd, LOCK_UN);
        closeSync(fd);
      };
      return {
        release,
        releaseAndRemove() {
          if (held) rmSync(path, { force: true });
          release();
        },
      };
    }
  }

  /** Waits (polling, 2 → 50 ms) up to `timeoutMs` for the container's lock. */
  async acquire(id: string, what: string, timeoutMs = 60_000): Promise<Lock> {
    const t0 = Date.now();
    for (let wait = 2; ; wait = Math.min(50, wait * 2)) {
      const l = this.tryAcquire(id);
      if (l) return l;
      if (Date.now() - t0 > timeoutMs) {
        throw unavailable(`container ${id.slice(0, 12)} is busy (another berth command holds its lock for ${Math.round(timeoutMs / 1000)} s); cannot ${what} now, try again`, "container");
      }
      await Bun.sleep(wait);
    }
  }
}
