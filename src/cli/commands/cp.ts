import { closeSync, lstatSync, mkdirSync, openSync, realpathSync, rmSync, statSync, type Stats } from "node:fs";
import { join, posix } from "node:path";
import { command, args } from "../command.ts";
import { UsageError } from "../flags.ts";
import { humanSize4 } from "../units.ts";
import { planCopy, rebaseName, sourceBase, splitCpArg, splitDirEntry, type DestInfo, type SourceInfo } from "../cp-rules.ts";
import { BerthError, invalidArgument, isBerthError, notFound } from "../../sys/errdefs.ts";
import type { Engine } from "../../engine/engine.ts";
import { nodeStderr, stderr } from "../stdio.ts";

const fail = (msg: string, field = "path") => new BerthError("InvalidArgument", msg, field);
const code = (e: unknown) => (e as { code?: string }).code;
const isDirPath = (m: number) => (m & (1 << 31)) !== 0;
const isLinkMode = (m: number) => (m & (1 << 27)) !== 0;

/** A scratch file under <root>/tmp named after this process (a killed berth's is collected). */
function scratch(e: Engine): string {
  mkdirSync(e.tmp, { recursive: true });
  return join(e.tmp, `apply-${process.pid}-cp-${Math.random().toString(36).slice(2, 10)}.tar`);
}

/** A scratch archive mapped into memory (pages read on demand, not copied onto the heap). */
function mapped(path: string): Uint8Array {
  return statSync(path).size === 0 ? new Uint8Array(0) : Bun.mmap(path, { shared: false });
}

async function toTarFile<T>(e: Engine, write: (fd: number) => Promise<T> | T): Promise<{ path: string; result: T }> {
  const path = scratch(e);
  const fd = openSync(path, "wx", 0o600);
  try {
    return { path, result: await write(fd) };
  } catch (err) {
    rmSync(path, { force: true });
    throw err;
  } finally {
    closeSync(fd);
  }
}

async function fromContainer(e: Engine, ref: string, srcPath: string, dest: string, o: { follow: boolean; archive: boolean }): Promise<number> {
  const { TarWriter } = await import("../../image/tar-writer.ts");
  const { getContainerArchive, statContainerPath } = await import("../../engine/archive.ts");
  let src: SourceInfo = { path: srcPath, isDir: false };
  let stat = await statContainerPath(e, ref, srcPath);
  if (o.follow && isLinkMode(stat.mode) && stat.linkTarget) {
    // -L: copy what the link leads to, under the link's own name.
    src = { path: stat.linkTarget, isDir: false, rebaseName: sourceBase(srcPath) };
    stat = await statContainerPath(e, ref, stat.linkTarget);
  }
  src.isDir = isDirPath(stat.mode);
  if (dest === "-") {
    // The archive as the Docker API gives it, on stdout.
    await getContainerArchive(e, ref, src.path, new TarWriter(1));
    return 0;
  }
  let dst: DestInfo;
  try {
    dst = { path: dest, exists: true, isDir: statSync(dest).isDirectory() };
  } catch (err) {
    if (code(err) !== "ENOENT") throw err;
    dst = { path: dest, exists: false, isDir: false };
    const [parent] = splitDirEntry(dest);
    let pst: Stats;
    try {
      pst = statSync(parent);
    } catch {
      throw notFound(`cannot copy to ${dest}: its directory ${parent} does not exist (create it first)`, "destination");
    }
    if (!pst.isDirectory()) throw fail(`cannot copy to ${dest}: ${parent} is not a directory`, "destination");
  }
  const plan = planCopy(src, dst);
  if (!plan.ok) {
    throw fail(plan.error === "cannot copy directory"
      ? `cannot copy directory ${ref}:${srcPath} to ${dest}: ${dest} is a file (cannot copy directory)`
      : `cannot copy ${ref}:${srcPath} to ${dest}: the destination directory does not exist (no such directory)`, "destination");
  }
  const top = plan.from; // the archive's top entry: the source's own last name
  const { path: tarPath } = await toTarFile(e, (fd) => getContainerArchive(e, ref, src.path, new TarWriter(fd)));
  try {
    const { extractTar } = await import("../../engine/rooted-fs.ts");
    const { openat2, AT_FDCWD, O, closeFd } = await import("../../sys/openat2.ts");
    const dirFd = openat2(AT_FDCWD, plan.dir, O.PATH | O.DIRECTORY, 0);
    try {
      const tar = mapped(tarPath);
      extractTar(dirFd, tar, {
        noOverwriteDirNonDir: true,
        owner: o.archive ? "archive" : { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 },
        rename: (n) => rebaseName(n, top, plan.to),
      });
      progress(tar.length, dest);
    } finally {
      closeFd(dirFd);
    }
  } finally {
    rmSync(tarPath, { force: true });
  }
  return 0;
}

async function toContainer(e: Engine, srcPath: string, ref: string, destPath: string, o: { follow: boolean; archive: boolean }): Promise<number> {
  const { putContainerArchive, statContainerPath } = await import("../../engine/archive.ts");
  let dst: DestInfo = { path: destPath, exists: false, isDir: false };
  try {
    let st = await statContainerPath(e, ref, destPath);
    if (isLinkMode(st.mode) && st.linkTarget) {
      // A link as the destination is followed (docker does the same).
      dst.path = st.linkTarget;
      st = await statContainerPath(e, ref, st.linkTarget).catch((err: unknown) => {
        if (isBerthError(err, "NotFound")) return undefined as never;
        throw err;
      });
    }
    if (st) dst = { path: dst.path, exists: true, isDir: isDirPath(st.mode) };
  } catch (err) {
    // Missing: the extraction into its parent may still work (the parent must exist).
    if (!isBerthError(err, "NotFound")) throw err;
  }
  if (srcPath === "-") {
    if (!dst.isDir) throw fail(`destination "${ref}:${destPath}" must be a directory`, "destination");
    // The stream goes to a scratch file first (mapped, not read into memory, as the archives below).
    const path = scratch(e);
    try {
      await Bun.write(path, Bun.stdin);
      await putContainerArchive(e, ref, dst.path, mapped(path), { noOverwriteDirNonDir: true, copyUIDGID: o.archive });
    } finally {
      rmSync(path, { force: true });
    }
    return 0;
  }
  let st: Stats;
  try {
    st = o.follow ? statSync(srcPath) : lstatSync(srcPath);
  } catch (err) {
    if (code(err) === "ENOENT") throw notFound(`lstat ${srcPath}: no such file or directory`, "source");
    throw err;
  }
  if (srcPath.endsWith("/") && !st.isDirectory()) throw fail(`${srcPath}: not a directory`, "source");
  const src: SourceInfo = { path: srcPath, isDir: st.isDirectory() };
  const plan = planCopy(src, dst);
  if (!plan.ok) {
    throw fail(plan.error === "cannot copy directory"
      ? `cannot copy directory ${srcPath} to ${ref}:${destPath}: it is a file in the container (cannot copy directory)`
      : `cannot copy ${srcPath} to ${ref}:${destPath}: the destination directory does not exist (no such directory)`, "destination");
  }
  const { TarWriter } = await import("../../image/tar-writer.ts");
  const { archiveTree } = await import("../../engine/rooted-fs.ts");
  const { openat2, AT_FDCWD, O, closeFd } = await import("../../sys/openat2.ts");
  // The host side: the source opened by its directory; with -L, what a link leads to.
  const abs = o.follow ? realpathSync(posix.resolve(srcPath)) : posix.resolve(srcPath);
  const [dir, base] = plan.from === "." ? [abs.replace(/\/\.$/, ""), "."] : splitDirEntry(abs);
  const { path: tarPath } = await toTarFile(e, (fd) => {
    const dirFd = openat2(AT_FDCWD, dir, O.PATH | O.DIRECTORY, 0);
    try {
      const tw = new TarWriter(fd);
      archiveTree(dirFd, base, base === "." ? statSync(dir) : lstatSync(join(dir, base)), plan.to, tw);
      tw.end();
    } finally {
      closeFd(dirFd);
    }
  });
  try {
    const tar = mapped(tarPath);
    await putContainerArchive(e, ref, plan.dir, tar, { noOverwriteDirNonDir: true, copyUIDGID: o.archive });
    progress(tar.length, `${ref}:${destPath}`);
  } finally {
    rmSync(tarPath, { force: true });
  }
  return 0;
}

let quiet = false;
/** docker 24+: "Successfully copied 1.54kB to …" on a terminal's stderr, unless -q. */
function progress(bytes: number, to: string): void {
  if (!quiet && nodeStderr().isTTY) stderr.write(`Successfully copied ${humanSize4(bytes)} to ${to}\n`);
}

export default command({
  name: "cp",
  usage: "[OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n\tberth cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH",
  summary: "Copy files/folders between a container and the local filesystem (running or stopped; '-' is a tar stream on stdin or stdout)",
  flags: {
    archive: { kind: "bool", short: "a", help: "archive mode (copy all uid/gid information)" },
    "follow-link": { kind: "bool", short: "L", help: "always follow symbol link in SRC_PATH" },
    quiet: { kind: "bool", short: "q", help: "suppress progress output during copy (suppressed without a terminal anyway)" },
  },
  async run(p, e) {
    const [a, b] = args(p, this, 2);
    quiet = p.flags.quiet === true;
    const src = splitCpArg(a!);
    const dst = splitCpArg(b!);
    const o = { follow: p.flags["follow-link"] === true, archive: p.flags.archive === true };
    if (src.container !== undefined && dst.container !== undefined) throw invalidArgument("copying between containers is not supported", "arguments");
    if (src.container === undefined && dst.container === undefined) throw invalidArgument("must specify at least one container source", "arguments");
    if (src.container !== undefined) {
      if (src.container === "") throw new UsageError(`"${a}": the container name is empty (give CONTAINER:PATH)`, "source");
      if (src.path === "") throw fail(`"${a}": the path in the container is empty (give ${src.container}:/path)`, "source");
      return fromContainer(e, src.container, src.path, dst.path, o);
    }
    if (dst.container === "") throw new UsageError(`"${b}": the container name is empty (give CONTAINER:PATH)`, "destination");
    if (dst.path === "") throw fail(`"${b}": the path in the container is empty (give ${dst.container}:/path)`, "destination");
    return toContainer(e, src.path, dst.container!, dst.path, o);
  },
});
