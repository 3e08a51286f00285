// Resolving a path inside a root filesystem as the container will see it: the root is "/",
// symlinks are followed with absolute targets restarting at the root and ".." stopping there, so
// no link in an image can lead outside it. One implementation for the unpacker (which creates
// missing parent directories as it goes) and for reading an image's files (/etc/passwd, the
// working directory), which only looks.
import { lstatSync, mkdirSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { invalidArgument } from "../sys/errdefs.ts";

/** Links followed in one resolution, as Linux's MAXSYMLINKS (path_resolution(7)). */
const MAX_LINKS = 40;

export interface ResolveOptions {
  /**
   * Create missing components as directories (mode 0755). Every component must then be a
   * directory: an existing non-directory is refused with an error naming it.
   */
  create?: boolean;
}

/**
 * The host path `path` (a "/"-separated string or its components) names under `root`, with no
 * symlink left in it; undefined when a component is missing (without `create`), is not a
 * directory where one is needed, or links loop.
 */
export function resolveInRoot(root: string, path: string | readonly string[], opts: ResolveOptions = {}): string | undefined {
  const todo = typeof path === "string" ? path.split("/") : [...path];
  const done: string[] = [];
  for (let links = 0; todo.length > 0; ) {
    const c = todo.shift()!;
    if (c === "" || c === ".") continue;
    if (c === "..") {
      done.pop();
      continue;
    }
    const p = join(root, ...done, c);
    let st;
    try {
      st = lstatSync(p);
    } catch (e) {
      if ((e as { code?: string }).code !== "ENOENT" || !opts.create) return undefined;
      mkdirSync(p, { mode: 0o755 });
      done.push(c);
      continue;
    }
    if (st.isSymbolicLink()) {
      if (++links > MAX_LINKS) return undefined;
      const target = readlinkSync(p);
      if (target.startsWith("/")) done.length = 0;
      todo.unshift(...target.split("/"));
      continue;
    }
    if (opts.create && !st.isDirectory()) {
      throw invalidArgument(`${[...done, c].join("/")} is not a directory (resolving ${typeof path === "string" ? path : path.join("/")})`, "layer");
    }
    done.push(c);
  }
  return join(root, ...done);
}
