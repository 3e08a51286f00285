// docker cp's path rules, as data (docker's cli/command/container/cp.go and pkg/archive's
// CopyInfo / PrepareArchiveCopy, documented in `docker cp --help`):
//   SRC a file:  DEST missing → a file of that name (DEST ending in "/" → error: the directory
//                must exist); DEST a file → overwritten; DEST a directory → copied into it.
//   SRC a dir:   DEST missing → created, with SRC's contents; DEST a file → error;
//                DEST a directory → SRC copied into it, or its contents when SRC ends in "/.".
// The copy is an archive whose top entry is renamed (rebased) and extracted into a directory.

export interface CpArg {
  /** The container's name or id; undefined for a local path (or "-"). */
  container?: string;
  path: string;
}

/** "ctr:path" or a local path; absolute and "./" paths are local even with a colon in them. */
export function splitCpArg(arg: string): CpArg {
  if (arg.startsWith("/")) return { path: arg };
  const i = arg.indexOf(":");
  if (i < 0 || arg.startsWith(".")) return { path: arg };
  return { container: arg.slice(0, i), path: arg.slice(i + 1) };
}

export interface SourceInfo {
  path: string;
  isDir: boolean;
  /** The name the copy takes when -L followed a link to something named differently. */
  rebaseName?: string;
}

export interface DestInfo {
  path: string;
  exists: boolean;
  isDir: boolean;
}

export type CopyPlan =
  /** Extract into `dir`, the archive's top entry (`from`) renamed to `to` ("" keeps it). */
  | { ok: true; dir: string; from: string; to: string }
  | { ok: false; error: "cannot copy directory" | "no such directory" };

const hasTrailingSep = (p: string) => p.endsWith("/");
/** "a/b/" → ["a", "b"], "/x" → ["/", "x"], "x" → [".", "x"]. */
export function splitDirEntry(p: string): [dir: string, base: string] {
  const clean = p.length > 1 ? p.replace(/\/+$/, "") : p;
  const i = clean.lastIndexOf("/");
  if (i < 0) return [".", clean];
  return [i === 0 ? "/" : clean.slice(0, i), clean.slice(i + 1)];
}

/** The base name the source's archive uses for its top entry: "." for "dir/.", else the last name. */
export function sourceBase(src: string): string {
  if (src === "/" || /(^|\/)\.$/.test(src)) return ".";
  return splitDirEntry(src)[1];
}

/** Where to extract and how to rename, per docker's PrepareArchiveCopy. */
export function planCopy(src: SourceInfo, dst: DestInfo): CopyPlan {
  const srcBase = sourceBase(src.path);
  if (dst.exists && dst.isDir) {
    // Into the directory: with its own name (or the name -L gave it); "dir/." → its contents.
    return { ok: true, dir: dst.path, from: srcBase, to: src.rebaseName && srcBase !== "." ? src.rebaseName : srcBase };
  }
  if (dst.exists && src.isDir) return { ok: false, error: "cannot copy directory" };
  if (!dst.exists && !src.isDir && hasTrailingSep(dst.path)) return { ok: false, error: "no such directory" };
  const [dir, base] = splitDirEntry(dst.path);
  return { ok: true, dir, from: srcBase, to: base };
}

/** An archive entry's name after the plan's rename (names under `from` move under `to`). */
export function rebaseName(name: string, from: string, to: string): string {
  const n = name.replace(/^(\.\/)+(?=.)/, "");
  if (from === to) return n;
  if (from === ".") return n === "." || n === "./" ? to : `${to}/${n.replace(/^\.\//, "")}`;
  if (n === from || n === `${from}/`) return n.endsWith("/") ? `${to}/` : to;
  if (n.startsWith(`${from}/`)) return `${to}${n.slice(from.length)}`;
  return n;
}
