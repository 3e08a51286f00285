// Apply a layer (tar, tar+gzip or tar+zstd) onto a directory, as the OCI image-spec's
// layer.md describes "applying changesets":
//   - `.wh.<name>` deletes <name> from lower layers; `.wh..wh..opq` makes its directory opaque
//     (everything already there that this layer did not add is removed);
//   - ownership, modes (incl. setuid/setgid/sticky), xattrs, mtimes, hardlinks and symlinks kept.
// Containment: names with `..` components or absolute names are refused (the whole layer fails);
// every parent directory is resolved *inside* the target, so a symlink in the layer (or in a
// lower layer) pointing to "/" or "../.." can never make us write outside it; hardlink targets
// are resolved the same way and must be files inside the target. Device nodes only as root.

import { lstat, mkdir, readdir, rm, symlink, link, writeFile, chmod, lchown, lutimes } from "node:fs/promises";
import { join } from "node:path";
import { invalidArgument, notFound } from "../sys/errdefs.ts";
import { digestOf } from "../content/digest.ts";
import { readTar, type TarEntry } from "./tar-reader.ts";
import { resolveInRoot } from "./resolve-in-root.ts";
import { S_IFBLK, S_IFCHR, S_IFIFO, lsetxattr, makedev, mknod } from "./fs-ops.ts";

export const WHITEOUT_PREFIX = ".wh.";
export const WHITEOUT_OPAQUE = ".wh..wh..opq";

export interface UnpackOptions {
  /** Create device nodes and chown entries (default: when running as root). */
  privileged?: boolean;
  /** Verify the uncompressed tar against the image config's rootfs.diff_ids entry. */
  expectedDiffID?: string;
}

export interface UnpackResult {
  /** sha256 of the uncompressed tar: the layer's DiffID. */
  diffID: string;
  entries: number;
  whiteouts: number;
  /** Entries not applied (devices when unprivileged, xattrs the filesystem refused), with why. */
  skipped: string[];
}

/** Decompress by magic number, not by media type: registries and tools mislabel layers. */
export function decompressLayer(data: Uint8Array): Uint8Array {
  if (data[0] === 0x1f && data[1] === 0x8b) return Bun.gunzipSync(data as Uint8Array<ArrayBuffer>);
  if (data[0] === 0x28 && data[1] === 0xb5 && data[2] === 0x2f && data[3] === 0xfd) return Bun.zstdDecompressSync(data as Uint8Array<ArrayBuffer>);
  return data;
}


/** Normalise an entry name to its components; refuse absolute names and any `..`. */
export function entryComponents(name: string, what = "entry"): string[] {
  if (name.startsWith("/")) {
    throw invalidArgument(`layer ${what} ${JSON.stringify(name)} is an absolute path; layers must use relative names`, "layer");
  }
  const parts = name.split("/").filter((p) => p !== "" && p !== ".");
  if (parts.includes("..")) {
    throw invalidArgument(`layer ${what} ${JSON.stringify(name)} contains "..": refusing to write outside the target`, "layer");
  }
  return parts;
}

async function removeAll(path: string): Promise<void> {
  await rm(path, { recursive: true, force: true });
}

/** Apply an uncompressed or compressed layer held in memory onto `root`. */
export async function unpackLayer(root: string, layer: Uint8Array, opts: UnpackOptions = {}): Promise<UnpackResult> {
  const privileged = opts.privileged ?? process.getuid?.() === 0;
  const tar = decompressLayer(layer);
  const diffID = digestOf(tar);
  if (opts.expectedDiffID && opts.expectedDiffID !== diffID) {
    throw invalidArgument(`layer content is ${diffID} uncompressed but the image config says ${opts.expectedDiffID}; the image is corrupt`, "rootfs.diff_ids");
  }
  const result: UnpackResult = { diffID, entries: 0, whiteouts: 0, skipped: [] };
  // Paths this layer wrote: an opaque marker must not delete them.
  const added = new Set<string>();
  const dirTimes: [string, number][] = [];

  for (const e of readTar(tar)) {
    result.entries++;
    const parts = entryComponents(e.name);
    if (parts.length === 0) continue; // "./": the target itself keeps its own metadata
    const base = parts[parts.length - 1]!;
    const isWhiteout = base.startsWith(WHITEOUT_PREFIX);
    // A whiteout in a directory that does not exist has nothing to delete: create nothing.
    const parent = resolveInRoot(root, parts.slice(0, -1), { create: !isWhiteout });
    if (parent === undefined) {
      if (isWhiteout) {
        result.whiteouts++;
        continue;
      }
      throw invalidArgument(`layer entry ${JSON.stringify(e.name)}: its directory cannot be resolved inside the target (symlinks loop)`, "layer");
    }

    if (base === WHITEOUT_OPAQUE) {
      result.whiteouts++;
      const prefix = parts.slice(0, -1).join("/");
      for (const child of await readdir(parent)) {
        const rel = prefix ? `${prefix}/${child}` : child;
        if (!added.has(rel)) await removeAll(join(parent, child));
      }
      continue;
    }
    if (base.startsWith(WHITEOUT_PREFIX)) {
      result.whiteouts++;
      const victim = base.slice(WHITEOUT_PREFIX.length);
      if (victim === "" || victim === "." || victim === "..") {
        throw invalidArgument(`layer whiteout ${JSON.stringify(e.name)} names no file`, "layer");
      }
      await removeAll(join(parent, victim));
      continue;
    }

    const path = join(parent, base);
    added.add(parts.join("/"));
    const existing = await lstat(path).catch(() => undefined);
    if (existing && !(existing.isDirectory() && e.type === "directory")) await removeAll(path);

    switch (e.type) {
      case "directory":
        if (!existing?.isDirectory()) await mkdir(path, { mode: 0o700 });
        break;
      case "file":
        await writeFile(path, e.data, { flag: "wx", mode: 0o600 });
        break;
      case "symlink":
        // The link text is stored as is: it is only ever followed through resolveInRoot here,
        // and inside the container's own root later.
        await symlink(e.linkname, path);
        break;
      case "hardlink": {
        const tparts = entryComponents(e.linkname, "hardlink target");
        if (tparts.length === 0) throw invalidArgument(`layer hardlink ${JSON.stringify(e.name)} has an empty target`, "layer");
        const tparent = resolveInRoot(root, tparts.slice(0, -1));
        if (tparent === undefined) {
          throw notFound(`layer hardlink ${JSON.stringify(e.name)} → ${JSON.stringify(e.linkname)}: the target is not in the layer or below it`, "layer");
        }
        const target = join(tparent, tparts[tparts.length - 1]!);
        const st = await lstat(target).catch(() => undefined);
        if (!st || st.isDirectory()) {
          throw notFound(`layer hardlink ${JSON.stringify(e.name)} → ${JSON.stringify(e.linkname)}: the target is missing or a directory`, "layer");
        }
        await link(target, path);
        added.add(parts.join("/"));
        continue; // a hardlink shares its target's metadata
      }
      case "char":
      case "block":
        if (!privileged) {
          result.skipped.push(`${e.name}: device node (needs root)`);
          continue;
        }
        mknod(path, (e.type === "char" ? S_IFCHR : S_IFBLK) | e.mode, makedev(e.devmajor, e.devminor));
        break;
      case "fifo":
        mknod(path, S_IFIFO | e.mode, 0n);
        break;
    }
    await applyMetadata(path, e, privileged, result);
    if (e.type === "directory") dirTimes.push([path, e.mtime]);
  }
  // Directory mtimes last: creating their children changed them.
  for (const [p, t] of dirTimes.reverse()) await lutimes(p, t, t);
  return result;
}

async function applyMetadata(path: string, e: TarEntry, privileged: boolean, result: UnpackResult): Promise<void> {
  if (privileged) await lchown(path, e.uid, e.gid);
  // chmod after chown: chown clears setuid/setgid. Symlinks have no mode of their own.
  if (e.type !== "symlink") await chmod(path, e.mode);
  for (const [name, value] of e.xattrs) {
    try {
      lsetxattr(path, name, value);
    } catch (err) {
      result.skipped.push(`${e.name}: xattr ${name} (${(err as Error).message})`);
    }
  }
  if (e.type !== "directory") await lutimes(path, e.mtime, e.mtime);
}

export { readTar, type TarEntry } from "./tar-reader.ts";
