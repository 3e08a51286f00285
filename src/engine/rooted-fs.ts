// Files inside a container's root, reached only through a directory fd of that root and
// openat2(2): RESOLVE_IN_ROOT when a path is resolved as the container would (its symlinks,
// "..", absolute links all stay inside), RESOLVE_NO_SYMLINKS|RESOLVE_BENEATH when walking a tree
// (a link is an entry to copy, never a way out). Each node:fs call then goes through
// /proc/self/fd/<dir fd>/<one name>: the directory is pinned by its fd, the last component is
// never followed (lstat, readlink, O_NOFOLLOW|O_EXCL opens, mkdir, symlink, link), and modes,
// owners and times are set through an fd of what was created. So a process in the container
// that swaps a directory for a symlink mid-copy cannot make berth read or write host files
// (docker's CVE-2018-15664).
// The same code extracts into a host directory (cp from a container): there the directory is
// the root, so an archive's entries cannot leave it either.
import {
  closeSync, fchmodSync, fchownSync, fstatSync, futimesSync, lchownSync, linkSync, lstatSync, lutimesSync, mkdirSync, openSync,
  readdirSync, readlinkSync, rmSync, symlinkSync, unlinkSync, writeSync, type Stats,
} from "node:fs";
import { constants } from "node:fs";
import { posix } from "node:path";
import { invalidArgument, notFound } from "../sys/errdefs.ts";
import { O, Openat2Error, RESOLVE, closeFd, fdPath, openat2 } from "../sys/openat2.ts";
import { readTar, type TarEntry } from "../image/tar-reader.ts";
import type { TarHeader, TarWriter } from "../image/tar-writer.ts";
import { S_IFBLK, S_IFCHR, S_IFIFO, makedev, mknod } from "../image/fs-ops.ts";

const IN_ROOT = RESOLVE.IN_ROOT | RESOLVE.NO_MAGICLINKS;
const WALK = RESOLVE.BENEATH | RESOLVE.NO_SYMLINKS | RESOLVE.NO_MAGICLINKS;
const MAX_LINKS = 40;

const code = (e: unknown) => (e as { code?: string }).code;

/** "a/b/c" → ["a/b", "c"]; "/" and "" → ["", "."]. */
function split(path: string): [dir: string, base: string] {
  const clean = posix.normalize(`/${path}`).replace(/\/+$/, "");
  if (clean === "") return ["", "."];
  const i = clean.lastIndexOf("/");
  return [clean.slice(0, i), clean.slice(i + 1)];
}

/** An O_PATH fd of directory `dir` resolved in the root (symlinks followed inside it). */
export function openDirIn(rootFd: number, dir: string): number {
  return openat2(rootFd, dir.replace(/^\/+/, ""), O.PATH | O.DIRECTORY, IN_ROOT);
}

export interface Located {
  /** The parent directory (O_PATH), pinned; close it. */
  dirFd: number;
  /** The last component ("." for the root itself). */
  base: string;
  st: Stats;
}

/**
 * lstat of `path` in the root: its directory resolved (links followed inside the root), its last
 * component not followed, unless `follow` (a trailing "/" or "/." follows it, as lstat(2) does).
 */
export function locate(rootFd: number, path: string, o: { follow?: boolean } = {}): Located {
  if (o.follow) {
    const fd = openat2(rootFd, path.replace(/^\/+/, ""), O.PATH, IN_ROOT);
    return { dirFd: fd, base: ".", st: fstatSync(fd) };
  }
  const [dir, base] = split(path);
  const dirFd = openDirIn(rootFd, dir);
  try {
    // fstat: an lstat of /proc/self/fd/N would describe the magic link, not the directory.
    return { dirFd, base, st: base === "." ? fstatSync(dirFd) : lstatSync(fdPath(dirFd, base)) };
  } catch (e) {
    closeFd(dirFd);
    throw e;
  }
}

/** Where `path` leads inside the root with every symlink followed, as an absolute container path. */
export function resolveLogical(rootFd: number, path: string): string | undefined {
  const todo = path.split("/");
  const done: string[] = [];
  for (let links = 0; todo.length > 0; ) {
    const c = todo.shift()!;
    if (c === "" || c === ".") continue;
    if (c === "..") {
      done.pop();
      continue;
    }
    let fd: number;
    try {
      fd = openat2(rootFd, done.join("/"), O.PATH | O.DIRECTORY, WALK);
    } catch {
      return undefined;
    }
    try {
      const st = lstatSync(fdPath(fd, c));
      if (st.isSymbolicLink()) {
        if (++links > MAX_LINKS) return undefined;
        const t = readlinkSync(fdPath(fd, c));
        if (t.startsWith("/")) done.length = 0;
        todo.unshift(...t.split("/"));
        continue;
      }
    } catch {
      return undefined;
    } finally {
      closeFd(fd);
    }
    done.push(c);
  }
  return `/${done.join("/")}`;
}

// ---- reading a tree into a tar ----------------------------------------------------------------

function typeOf(st: Stats): TarHeader["type"] | undefined {
  if (st.isFile()) return "0";
  if (st.isDirectory()) return "5";
  if (st.isSymbolicLink()) return "2";
  if (st.isCharacterDevice()) return "3";
  if (st.isBlockDevice()) return "4";
  if (st.isFIFO()) return "6";
  return undefined; // sockets are not archived (docker skips them too)
}

/**
 * Write `base` in directory `dirFd` (and, for a directory, everything below it, never following
 * a link) to `tar` under the name `name`.
 */
export function archiveTree(dirFd: number, base: string, st: Stats, name: string, tar: TarWriter): void {
  const links = new Map<string, string>();
  const visit = (dfd: number, b: string, s: Stats, n: string) => {
    const type = typeOf(s);
    if (!type) return;
    const h: TarHeader = { name: n, type, mode: s.mode & 0o7777, uid: s.uid, gid: s.gid, mtime: Math.floor(s.mtimeMs / 1000) };
    const here = b === "." ? fdPath(dfd) : fdPath(dfd, b);
    if (type === "5") {
      tar.entry({ ...h, name: n.endsWith("/") ? n : `${n}/` });
      const fd = b === "." ? openat2(dfd, ".", O.RDONLY | O.DIRECTORY, WALK) : openat2(dfd, b, O.RDONLY | O.DIRECTORY, WALK);
      try {
        for (const child of readdirSync(fdPath(fd)).sort()) {
          let cs: Stats;
          try {
            cs = lstatSync(fdPath(fd, child));
          } catch (e) {
            if (code(e) === "ENOENT") continue; // removed meanwhile
            throw e;
          }
          visit(fd, child, cs, `${n.replace(/\/$/, "")}/${child}`);
        }
      } finally {
        closeFd(fd);
      }
      return;
    }
    if (type === "2") {
      tar.entry({ ...h, linkname: readlinkSync(here) });
      return;
    }
    if (type === "3" || type === "4") {
      tar.entry({ ...h, devmajor: Math.floor(s.rdev / 256) & 0xfff, devminor: (s.rdev & 0xff) | ((s.rdev >> 12) & 0xfff00) });
      return;
    }
    if (type === "6") {
      tar.entry(h);
      return;
    }
    const key = `${s.dev}:${s.ino}`;
    if (s.nlink > 1) {
      const first = links.get(key);
      if (first !== undefined) {
        tar.entry({ ...h, type: "1", linkname: first });
        return;
      }
      links.set(key, n);
    }
    const fd = b === "." ? openat2(dfd, ".", O.RDONLY | O.NOFOLLOW, WALK) : openat2(dfd, b, O.RDONLY | O.NOFOLLOW, WALK);
    try {
      const fs = fstatSync(fd); // the size of what was opened, not of what was lstat'ed
      tar.entry({ ...h, size: fs.size }, fd);
    } finally {
      closeSync(fd);
    }
  };
  visit(dirFd, base, st, name);
}

// ---- extracting a tar into a directory -------------------------------------------------------

export interface ExtractOptions {
  /** Refuse to replace a directory with a non-directory or the reverse (docker cp's default). */
  noOverwriteDirNonDir?: boolean;
  /** Owner of every entry; "archive": the tar's own uid/gid (cp -a). */
  owner: { uid: number; gid: number } | "archive";
  /** Rename entries (and hardlink targets) before extracting: cp's rebase of the top entry. */
  rename?: (name: string) => string;
}

/** Entry name → components; absolute names and ".." are refused. */
function components(name: string): string[] {
  if (name.startsWith("/")) throw invalidArgument(`archive entry ${JSON.stringify(name)} is an absolute path`, "archive");
  const parts = name.split("/").filter((p) => p !== "" && p !== ".");
  if (parts.includes("..")) throw invalidArgument(`archive entry ${JSON.stringify(name)} contains "..": refusing to write outside the destination`, "archive");
  return parts;
}

/** The directory `parts` below `destFd`, made (0755) where missing; an O_PATH fd. */
function ensureDir(destFd: number, parts: string[]): number {
  let fd = openat2(destFd, ".", O.PATH | O.DIRECTORY, WALK);
  for (const p of parts) {
    let next: number;
    try {
      next = openat2(fd, p, O.PATH | O.DIRECTORY, WALK);
    } catch (e) {
      if (!(e instanceof Openat2Error) || e.code !== "ENOENT") {
        closeFd(fd);
        throw e instanceof Openat2Error && (e.code === "ELOOP" || e.code === "ENOTDIR" || e.code === "EXDEV")
          ? invalidArgument(`cannot extract into ${p}: it is not a directory (a symlink or a file)`, "archive") : e;
      }
      mkdirSync(fdPath(fd, p), { mode: 0o755 });
      next = openat2(fd, p, O.PATH | O.DIRECTORY, WALK);
    }
    closeFd(fd);
    fd = next;
  }
  return fd;
}

/**
 * Extract an uncompressed tar into the directory `destFd` (an fd of it). Parent directories are
 * resolved below it without following links, so no entry can land outside.
 */
export function extractTar(destFd: number, tar: Uint8Array, o: ExtractOptions): { entries: number } {
  let entries = 0;
  const dirTimes: [string[], number][] = [];
  for (const raw of readTar(tar)) {
    const e = o.rename ? { ...raw, name: o.rename(raw.name), linkname: raw.type === "hardlink" ? o.rename(raw.linkname) : raw.linkname } : raw;
    const parts = components(e.name);
    entries++;
    if (parts.length === 0) continue; // the destination itself keeps its own metadata
    const base = parts[parts.length - 1]!;
    const pfd = ensureDir(destFd, parts.slice(0, -1));
    try {
      extractOne(destFd, pfd, base, e, o);
    } finally {
      closeFd(pfd);
    }
    if (e.type === "directory") dirTimes.push([parts, e.mtime]);
  }
  for (const [parts, t] of dirTimes.reverse()) {
    try {
      const fd = openat2(destFd, parts.join("/"), O.RDONLY | O.DIRECTORY, WALK);
      try {
        futimesSync(fd, t, t);
      } finally {
        closeSync(fd);
      }
    } catch {}
  }
  return { entries };
}

function extractOne(destFd: number, pfd: number, base: string, e: TarEntry, o: ExtractOptions): void {
  const target = fdPath(pfd, base);
  const existing = (() => {
    try {
      return lstatSync(target);
    } catch {
      return undefined;
    }
  })();
  const isDir = e.type === "directory";
  if (existing) {
    if (existing.isDirectory() && isDir) {
      // merge: keep the directory, take the archive's metadata
    } else if (o.noOverwriteDirNonDir && existing.isDirectory() !== isDir) {
      throw invalidArgument(existing.isDirectory()
        ? `cannot overwrite directory ${JSON.stringify(e.name)} with non-directory ${JSON.stringify(e.name)}`
        : `cannot overwrite non-directory ${JSON.stringify(e.name)} with directory ${JSON.stringify(e.name)}`, "archive");
    } else if (existing.isDirectory()) rmSync(target, { recursive: true, force: true });
    else unlinkSync(target);
  }
  const owner = o.owner === "archive" ? { uid: e.uid, gid: e.gid } : o.owner;
  const viaFd = (flags: number, f: (fd: number) => void) => {
    const fd = openat2(pfd, base, flags, WALK);
    try {
      f(fd);
    } finally {
      closeSync(fd);
    }
  };
  const meta = (fd: number) => {
    fchownSync(fd, owner.uid, owner.gid);
    fchmodSync(fd, e.mode); // after chown, which clears setuid/setgid
  };
  switch (e.type) {
    case "directory":
      if (!existing) mkdirSync(target, { mode: 0o700 });
      viaFd(O.RDONLY | O.DIRECTORY, meta);
      return;
    case "file": {
      const fd = openSync(target, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
      try {
        for (let off = 0; off < e.data.length; ) off += writeSync(fd, e.data, off);
        meta(fd);
        futimesSync(fd, e.mtime, e.mtime);
      } finally {
        closeSync(fd);
      }
      return;
    }
    case "symlink":
      symlinkSync(e.linkname, target);
      lchownSync(target, owner.uid, owner.gid);
      lutimesSync(target, e.mtime, e.mtime);
      return;
    case "hardlink": {
      const tparts = components(e.linkname);
      if (tparts.length === 0) throw invalidArgument(`archive hardlink ${JSON.stringify(e.name)} has an empty target`, "archive");
      const tfd = ensureDirExisting(destFd, tparts.slice(0, -1), e);
      try {
        const src = fdPath(tfd, tparts[tparts.length - 1]!);
        const st = lstatSync(src);
        if (!st.isFile()) throw notFound(`archive hardlink ${JSON.stringify(e.name)} → ${JSON.stringify(e.linkname)}: the target is not a file in the archive`, "archive");
        linkSync(src, target); // linkat(2) without AT_SYMLINK_FOLLOW
      } finally {
        closeFd(tfd);
      }
      return;
    }
    case "char":
    case "block":
    case "fifo":
      mknod(target, (e.type === "char" ? S_IFCHR : e.type === "block" ? S_IFBLK : S_IFIFO) | e.mode, e.type === "fifo" ? 0n : makedev(e.devmajor, e.devminor));
      lchownSync(target, owner.uid, owner.gid);
      lutimesSync(target, e.mtime, e.mtime);
      return;
  }
}

function ensureDirExisting(destFd: number, parts: string[], e: TarEntry): number {
  try {
    return openat2(destFd, parts.join("/"), O.PATH | O.DIRECTORY, WALK);
  } catch {
    throw notFound(`archive hardlink ${JSON.stringify(e.name)} → ${JSON.stringify(e.linkname)}: the target's directory is not in the archive`, "archive");
  }
}
