// Volumes with docker's local driver: data in `<root>/volumes/<name>/_data`, records in meta.db.
// A new, empty volume mounted where the image has content gets a copy of that content first
// (docker's copy-up), once; `nocopy` skips it.
import { existsSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { randomString } from "../sys/digest.ts";
import { conflict, invalidArgument, notFound, internal } from "../sys/errdefs.ts";
import { resolveInRoot } from "../image/resolve-in-root.ts";
import type { VolumeRecord } from "../metadata/volumes.ts";
import type { Engine } from "./engine.ts";

export type { VolumeRecord };

const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

export interface VolumeCreateOptions {
  name?: string;
  driver?: string;
  labels?: Record<string, string>;
  options?: Record<string, string>;
  anonymous?: boolean;
}

/** Create a volume (a named one that exists is returned as is, as docker does). */
export function createVolume(e: Engine, o: VolumeCreateOptions = {}): VolumeRecord {
  const driver = o.driver ?? "local";
  if (driver !== "local") throw invalidArgument(`volume driver ${JSON.stringify(driver)}: only "local" is available`, "driver");
  for (const k of Object.keys(o.options ?? {})) {
    throw invalidArgument(`volume option ${JSON.stringify(k)}: the local driver here takes no options (a directory under ${e.volumesDir})`, "opt");
  }
  const anonymous = o.anonymous ?? o.name === undefined;
  const name = o.name ?? randomString(32);
  if (!NAME.test(name)) throw invalidArgument(`volume name ${JSON.stringify(name)}: use [a-zA-Z0-9][a-zA-Z0-9_.-]+ (at least 2 characters)`, "name");
  const existing = e.volumes.find(name);
  if (existing) return existing;
  const mountpoint = join(e.volumesDir, name, "_data");
  mkdirSync(mountpoint, { recursive: true, mode: 0o755 });
  if (!e.volumes.insert({ name, driver, mountpoint, labels: o.labels ?? {}, options: o.options ?? {}, anonymous })) return e.volumes.get(name);
  e.emit({ type: "volume", action: "create", actor: name, attributes: { driver } });
  return e.volumes.get(name);
}

/** Containers (ids) whose spec mounts the volume. */
export function volumeUsers(e: Engine, name: string): string[] {
  return e.containers.list().filter((c) => ((c.resolved as { volumes?: { name: string }[] }).volumes ?? []).some((v) => v.name === name)).map((c) => c.id);
}

export function removeVolume(e: Engine, name: string, o: { force?: boolean } = {}): void {
  const v = e.volumes.find(name);
  if (!v) {
    if (o.force) return;
    throw notFound(`get ${name}: no such volume`, "volume");
  }
  const users = volumeUsers(e, name);
  if (users.length > 0) {
    throw conflict(`remove ${name}: volume is in use - [${users.join(", ")}]; remove those containers first (berth rm -v)`, "volume");
  }
  e.volumes.delete(name);
  rmSync(join(e.volumesDir, name), { recursive: true, force: true });
  e.emit({ type: "volume", action: "destroy", actor: name, attributes: { driver: v.driver } });
}

/** Remove volumes no container uses (anonymous ones only, unless `all`), as docker 23+. */
export function pruneVolumes(e: Engine, o: { all?: boolean; labels?: Record<string, string> } = {}): { removed: string[]; reclaimed: number } {
  const removed: string[] = [];
  let reclaimed = 0;
  for (const v of e.volumes.list()) {
    if (!o.all && !v.anonymous) continue;
    if (o.labels && Object.entries(o.labels).some(([k, val]) => v.labels[k] !== val)) continue;
    if (volumeUsers(e, v.name).length > 0) continue;
    reclaimed += dirSize(v.mountpoint);
    removeVolume(e, v.name);
    removed.push(v.name);
  }
  return { removed, reclaimed };
}

export function dirSize(dir: string): number {
  let total = 0;
  const walk = (d: string) => {
    let entries;
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const ent of entries) {
      const p = join(d, ent.name);
      if (ent.isDirectory()) walk(p);
      else try { total += Bun.file(p).size; } catch {}
    }
  };
  walk(dir);
  return total;
}

/**
 * docker's copy-up: an empty volume mounted at `target` gets the image's content there (owners,
 * modes, links and xattrs kept: cp -a). The image path is resolved inside the rootfs only.
 */
export async function copyUp(rootfs: string, target: string, volumeDir: string): Promise<void> {
  if (readdirSync(volumeDir).length > 0) return;
  const src = resolveInRoot(rootfs, target);
  if (src === undefined || !existsSync(src)) return;
  const p = Bun.spawn(["cp", "-a", "--", `${src}/.`, `${volumeDir}/`], { stdout: "ignore", stderr: "pipe" });
  const [code, err] = await Promise.all([p.exited, new Response(p.stderr).text()]);
  if (code !== 0) throw internal(`copying the image's ${target} into its volume failed: ${err.trim()}`, "mount");
}
