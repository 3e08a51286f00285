// Image archives. `save` writes one tar that is both an OCI image layout (oci-layout, index.json,
// blobs/sha256/…: what skopeo, umoci, podman and `ctr images import` read) and a docker-save
// archive (manifest.json naming each image's config and layers by their paths in blobs/, as
// docker 25+ writes it). `load` and `import` read OCI layouts (directories or tars) and docker
// archives of both generations (the older one: <id>.json configs and <id>/layer.tar layers).
import { existsSync, fstatSync, lstatSync, mkdirSync, rmdirSync, statSync, writeFileSync, type Stats } from "node:fs";
import { readFile } from "node:fs/promises";
import { basename, join, posix } from "node:path";
import type { Descriptor } from "../content/types.ts";
import { parseDigest } from "../content/digest.ts";
import { writeBytes } from "../content/write-blob.ts";
import { MediaType, isIndexType, isManifestType } from "../image/media-types.ts";
import { readTar } from "../image/tar-reader.ts";
import { formatReference, parseReference } from "../distribution/reference.ts";
import { failedPrecondition, invalidArgument, isBerthError, notFound } from "../sys/errdefs.ts";
import { AT_FDCWD, O, RESOLVE, closeFd, openat2 } from "../sys/openat2.ts";
import { mountAll, mountOne, unmount } from "../snapshots/mount.ts";
import { archiveTree, extractTar, locate, resolveLogical, type Located } from "./rooted-fs.ts";
import type { Container } from "./containers.ts";
import type { Engine } from "./engine.ts";
import { familiarName, readImage, type ResolvedImage } from "./images.ts";
import type { TarWriter } from "../image/tar-writer.ts";

const ANNOTATION_REF_NAME = "org.opencontainers.image.ref.name";
const ANNOTATION_IMAGE_NAME = "io.containerd.image.name";
const dec = new TextDecoder();
const enc = new TextEncoder();
const parse = <T>(b: Uint8Array, what: string): T => {
  try {
    return JSON.parse(dec.decode(b)) as T;
  } catch (e) {
    throw invalidArgument(`${what} is not valid JSON: ${(e as Error).message}`, what);
  }
};
const blobName = (digest: string) => {
  const { algorithm, hex } = parseDigest(digest);
  return `blobs/${algorithm}/${hex}`;
};

// ---- save ----------------------------------------------------------------------------------

/** Every blob an image record reaches that the store has (other platforms of an index may be absent). */
async function reachable(e: Engine, target: Descriptor, out: Map<string, Descriptor>): Promise<void> {
  if (out.has(target.digest)) return;
  if (isIndexType(target.mediaType) || isManifestType(target.mediaType)) {
    const doc = parse<{ manifests?: Descriptor[]; config?: Descriptor; layers?: Descriptor[] }>(await e.content.read(target.digest), target.digest);
    if (isIndexType(target.mediaType)) {
      for (const m of doc.manifests ?? []) {
        try {
          await e.content.info(m.digest);
        } catch (err) {
          if (isBerthError(err, "NotFound")) continue;
          throw err;
        }
        await reachable(e, m, out);
      }
    } else {
      for (const d of [...(doc.config ? [doc.config] : []), ...(doc.layers ?? [])]) {
        await e.content.info(d.digest);
        out.set(d.digest, d);
      }
    }
  }
  out.set(target.digest, target);
}

export async function saveImages(e: Engine, images: { name: string; img: ResolvedImage }[], tar: TarWriter): Promise<void> {
  const blobs = new Map<string, Descriptor>();
  const index: Descriptor[] = [];
  const docker: { Config: string; RepoTags: string[]; Layers: string[] }[] = [];
  for (const { name, img } of images) {
    await reachable(e, img.record.target, blobs);
    const ref = parseReference(name, { defaultTag: false });
    index.push({ ...img.record.target, annotations: { [ANNOTATION_IMAGE_NAME]: name, ...(ref.tag ? { [ANNOTATION_REF_NAME]: ref.tag } : {}) } });
    const same = docker.find((d) => d.Config === blobName(img.config.digest));
    if (same) same.RepoTags.push(familiarName(name));
    else docker.push({ Config: blobName(img.config.digest), RepoTags: ref.tag ? [familiarName(name)] : [], Layers: img.layers.map((l) => blobName(l.digest)) });
  }
  tar.dir("blobs");
  tar.dir("blobs/sha256");
  for (const d of blobs.values()) tar.file(blobName(d.digest), e.shared.blobPath(d.digest), d.size);
  tar.bytes("oci-layout", enc.encode(JSON.stringify({ imageLayoutVersion: "1.0.0" })));
  tar.bytes("index.json", enc.encode(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: index })));
  tar.bytes("manifest.json", enc.encode(JSON.stringify(docker)));
  tar.end();
}

// ---- load / import ---------------------------------------------------------------------------

/** Files of an archive or a layout directory, by relative path. */
export interface Source {
  what: string;
  read(path: string): Promise<Uint8Array | undefined>;
}

export function tarSource(what: string, tar: Uint8Array): Source {
  const files = new Map<string, Uint8Array>();
  for (const entry of readTar(tar)) {
    if (entry.type !== "file") continue;
    files.set(entry.name.replace(/^(\.\/)+/, "").replace(/^\/+/, ""), entry.data);
  }
  return { what, read: async (p) => files.get(p) };
}

export function dirSource(dir: string): Source {
  return {
    what: dir,
    read: async (p) => {
      try {
        return new Uint8Array(await readFile(join(dir, p)));
      } catch (e) {
        if ((e as { code?: string }).code === "ENOENT") return undefined;
        throw e;
      }
    },
  };
}

export interface Loaded {
  /** Names recorded (normalised). */
  names: string[];
  /** Image IDs (config digests) of images loaded without a name. */
  untagged: string[];
}

/** Copy a blob from the source into the content store; its digest is verified on commit. */
async function copyBlob(e: Engine, src: Source, d: Descriptor): Promise<Uint8Array> {
  const data = await src.read(blobName(d.digest));
  if (!data) throw notFound(`${src.what}: blob ${d.digest} is missing (${blobName(d.digest)})`, "blob");
  if (data.length !== d.size) throw invalidArgument(`${src.what}: blob ${d.digest} is ${data.length} bytes, its descriptor says ${d.size}`, "blob");
  const w = await writeBytes(e.content, data, d.mediaType);
  if (w.digest !== d.digest) throw invalidArgument(`${src.what}: blob ${blobName(d.digest)} does not match its digest`, "blob");
  return data;
}

/** Copy what `d` reaches, children before parents (a stored manifest means a whole image). */
async function copyTree(e: Engine, src: Source, d: Descriptor): Promise<void> {
  if (isIndexType(d.mediaType) || isManifestType(d.mediaType)) {
    const body = await src.read(blobName(d.digest));
    if (!body) throw notFound(`${src.what}: ${d.mediaType} ${d.digest} is missing`, "blob");
    const doc = parse<{ manifests?: Descriptor[]; config?: Descriptor; layers?: Descriptor[] }>(body, `${src.what}: ${d.digest}`);
    if (isIndexType(d.mediaType)) {
      let copied = 0;
      for (const m of doc.manifests ?? []) {
        // Copies of one platform of a multi-platform image keep the whole index: skip the others.
        if (!(await src.read(blobName(m.digest)))) continue;
        await copyTree(e, src, m);
        copied++;
      }
      if (copied === 0) throw notFound(`${src.what}: index ${d.digest} has none of its manifests`, "blob");
    } else {
      for (const c of [...(doc.config ? [doc.config] : []), ...(doc.layers ?? [])]) await copyBlob(e, src, c);
    }
  }
  await copyBlob(e, src, d);
}

function validName(n: string): string | undefined {
  try {
    return formatReference(parseReference(n));
  } catch {
    return undefined;
  }
}

/**
 * Load an OCI layout or a docker archive from `src`. `name` (import's NAME argument) names the
 * images; a tag-only ref.name annotation then becomes its tag.
 */
export async function loadSource(e: Engine, src: Source, opts: { name?: string; defaultRepo?: string } = {}): Promise<Loaded> {
  const out: Loaded = { names: [], untagged: [] };
  const indexBytes = await src.read("index.json");
  const dockerBytes = await src.read("manifest.json");
  const dockerManifest = dockerBytes ? parse<{ Config: string; RepoTags?: string[] | null; Layers: string[] }[]>(dockerBytes, `${src.what}: manifest.json`) : [];
  if (indexBytes) {
    const index = parse<{ manifests?: Descriptor[] }>(indexBytes, `${src.what}: index.json`);
    if (opts.name !== undefined) {
      // One NAME for several images: each must get a tag of its own (from its ref.name), or the
      // last would silently take the name from the others. Checked before anything is written.
      const given = parseReference(opts.name, { defaultTag: false });
      const tags = (index.manifests ?? []).map((m) => {
        const r = m.annotations?.[ANNOTATION_REF_NAME];
        return given.tag ?? (r && /^[\w][\w.-]{0,127}$/.test(r) ? r : "latest");
      });
      const dup = tags.find((t, i) => tags.indexOf(t) !== i);
      if (dup !== undefined) {
        throw invalidArgument(`${src.what} holds ${tags.length} images; naming them all ${formatReference({ ...given, tag: dup })} would keep only one: give NAME without a tag (each image keeps its own tag) or import a layout with one image`, "name");
      }
    }
    for (const m of index.manifests ?? []) {
      await copyTree(e, src, m);
      const ann = m.annotations ?? {};
      const refName = ann[ANNOTATION_REF_NAME];
      const names: string[] = [];
      const given = opts.name !== undefined ? parseReference(opts.name, { defaultTag: false }) : undefined;
      if (given) {
        const tag = given.tag ?? (refName && /^[\w][\w.-]{0,127}$/.test(refName) ? refName : "latest");
        names.push(formatReference({ ...given, tag }));
      } else if (ann[ANNOTATION_IMAGE_NAME] && validName(ann[ANNOTATION_IMAGE_NAME]!)) {
        names.push(validName(ann[ANNOTATION_IMAGE_NAME]!)!);
      } else if (refName && /[/:]/.test(refName) && validName(refName)) {
        names.push(validName(refName)!);
      } else {
        // docker 25+ archives: names in manifest.json, matched by the config's path.
        const cfg = (await readImage(e, { name: m.digest, target: m, labels: {}, createdAt: new Date(), updatedAt: new Date() }).catch(() => undefined))?.config.digest;
        const entry = cfg ? dockerManifest.find((d) => d.Config === blobName(cfg)) : undefined;
        for (const t of entry?.RepoTags ?? []) if (validName(t)) names.push(validName(t)!);
        if (names.length === 0 && refName && opts.defaultRepo) {
          const n = validName(`${opts.defaultRepo}:${refName}`);
          if (n) names.push(n);
        }
      }
      if (names.length === 0) {
        // Recorded under its digest, so it can still be run, tagged and removed by ID.
        names.push(m.digest);
        const cfg = await readImage(e, { name: m.digest, target: m, labels: {}, createdAt: new Date(), updatedAt: new Date() }).catch(() => undefined);
        out.untagged.push(cfg?.id ?? m.digest);
      } else out.names.push(...names);
      for (const n of names) e.images.put({ name: n, target: { mediaType: m.mediaType, digest: m.digest, size: m.size } });
    }
    return out;
  }
  if (!dockerBytes) throw invalidArgument(`${src.what} is neither an OCI image layout (index.json) nor a docker archive (manifest.json)`, "archive");
  if (opts.name !== undefined && dockerManifest.length > 1) {
    throw invalidArgument(`${src.what} holds ${dockerManifest.length} images; one NAME cannot name them all: import without NAME (their RepoTags name them)`, "name");
  }
  for (const d of dockerManifest) {
    const configBytes = await src.read(d.Config);
    if (!configBytes) throw notFound(`${src.what}: ${d.Config} (named in manifest.json) is missing`, "archive");
    const config = await writeBytes(e.content, configBytes, MediaType.ociConfig);
    const layers: Descriptor[] = [];
    for (const path of d.Layers) {
      const data = await src.read(path);
      if (!data) throw notFound(`${src.what}: layer ${path} (named in manifest.json) is missing`, "archive");
      const mediaType = data[0] === 0x1f && data[1] === 0x8b ? MediaType.ociLayerGzip
        : data[0] === 0x28 && data[1] === 0xb5 && data[2] === 0x2f && data[3] === 0xfd ? MediaType.ociLayerZstd : MediaType.ociLayer;
      layers.push(await writeBytes(e.content, data, mediaType));
    }
    const manifest = await writeBytes(e.content, JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociManifest, config, layers }), MediaType.ociManifest);
    const names = opts.name !== undefined ? [formatReference(parseReference(opts.name))] : (d.RepoTags ?? []).map(validName).filter((n): n is string => n !== undefined);
    if (names.length === 0) {
      names.push(manifest.digest);
      out.untagged.push(config.digest);
    } else out.names.push(...names);
    for (const n of names) e.images.put({ name: n, target: manifest });
  }
  return out;
}

/** Default repository for a layout whose entries carry only a tag: podman's rule, the directory's name. */
export function repoFromPath(path: string): string | undefined {
  const b = basename(path.replace(/\/+$/, "")).replace(/\.(tar|oci)$/, "").toLowerCase();
  return validName(`localhost/${b}`) ? `localhost/${b}` : undefined;
}

// ---- container archives (berth cp; the Docker API's /containers/{id}/archive) ---------------
// A running container's files are reached through /proc/<pid>/root, the root its processes
// see: its volumes, bind mounts and tmpfs mounts included. A stopped one's snapshot is mounted
// (with its volumes and bind mounts on top, as docker mounts them for cp) on a scratch mount
// point under <root>/tmp named after this process, so a killed berth's mount is collected by
// the next (collectDeadOwners); the container's lock is held meanwhile, so it cannot start.
// Every path is resolved by the kernel inside that root (rooted-fs.ts).

/** docker's ContainerPathStat (the X-Docker-Container-Path-Stat header, base64 JSON). */
export interface PathStat {
  name: string;
  size: number;
  /** Go's os.FileMode: permission bits, setuid/setgid/sticky and type bits. */
  mode: number;
  mtime: Date;
  /** Where a symlink leads inside the container (absolute), else "". */
  linkTarget: string;
}

/** A node:fs Stats → Go's os.FileMode bits. */
export function goFileMode(st: Stats): number {
  let m = st.mode & 0o777;
  if (st.mode & 0o4000) m |= 1 << 23;
  if (st.mode & 0o2000) m |= 1 << 22;
  if (st.mode & 0o1000) m |= 1 << 20;
  if (st.isDirectory()) m |= 1 << 31;
  else if (st.isSymbolicLink()) m |= 1 << 27;
  else if (st.isFIFO()) m |= 1 << 25;
  else if (st.isSocket()) m |= 1 << 24;
  else if (st.isCharacterDevice()) m |= (1 << 26) | (1 << 21);
  else if (st.isBlockDevice()) m |= 1 << 26;
  return m >>> 0;
}

/** The header value docker sends on HEAD/GET archive. */
export function pathStatHeader(s: PathStat): string {
  const mtime = s.mtime.toISOString().replace(/\.(\d+)Z$/, (_, f: string) => (/^0+$/.test(f) ? "Z" : `.${f.replace(/0+$/, "")}Z`));
  return Buffer.from(JSON.stringify({ name: s.name, size: s.size, mode: s.mode, mtime, linkTarget: s.linkTarget })).toString("base64");
}

const code = (err: unknown) => (err as { code?: string }).code;
/** "/a/b/." keeps its "/." and "/a/b/" its "/": they mean "the directory's contents" and "follow". */
const absPath = (p: string) => {
  const n = posix.normalize(`/${p}`);
  return p.endsWith("/.") ? `${n.replace(/\/$/, "")}/.`.replace(/^\/\/\./, "/.") : p.endsWith("/") && n !== "/" ? `${n.replace(/\/$/, "")}/` : n;
};
const followsLast = (p: string) => p.endsWith("/") || p.endsWith("/.");
const couldNotFind = (path: string, ref: string) => notFound(`Could not find the file ${path} in container ${ref}`, "path");

/** Run `fn` with an fd of the container's root (its processes' view, or its mounted snapshot). */
export async function withContainerRoot<T>(e: Engine, ref: string, fn: (rootFd: number, c: Container) => Promise<T> | T): Promise<T> {
  const { getContainer } = await import("./containers.ts");
  const c = await getContainer(e, ref);
  // A restarting container's snapshot is still mounted by its monitor (a second overlay mount of
  // one upper directory is refused), and it has no process to enter: wait for it to run.
  if (c.state === "restarting" || ((c.state === "running" || c.state === "paused") && !(c.pid > 0))) {
    throw failedPrecondition(`container ${ref} is restarting: copy its files once it runs again`, "container");
  }
  if (c.state === "running" || c.state === "paused") {
    let fd: number;
    try {
      fd = openat2(AT_FDCWD, `/proc/${c.pid}/root`, O.PATH | O.DIRECTORY, 0);
    } catch (err) {
      throw failedPrecondition(`container ${ref} stopped while its files were being opened: try again`, "container");
    }
    try {
      // Still the same process after the open: the fd is its root, not a reused pid's.
      const now = await getContainer(e, c.id);
      if (now.pid !== c.pid || (now.state !== "running" && now.state !== "paused")) {
        throw failedPrecondition(`container ${ref} stopped while its files were being opened: try again`, "container");
      }
      return await fn(fd, c);
    } finally {
      closeFd(fd);
    }
  }
  // What a killed cp left mounted (its scratch mount point names its dead pid) goes first.
  const { collectDeadOwners } = await import("./gc.ts");
  collectDeadOwners(e);
  const lock = await e.locks.acquire(c.id, "copy its files");
  const dir = join(e.tmp, `apply-${process.pid}-cp-${c.id.slice(0, 12)}-${Math.random().toString(36).slice(2, 8)}`);
  const mounted: string[] = [];
  let fd = -1;
  try {
    const { getContainer: again } = await import("./containers.ts");
    const fresh = await again(e, c.id);
    if (fresh.state === "running" || fresh.state === "paused") {
      lock.release();
      return await withContainerRoot(e, ref, fn); // it was started meanwhile
    }
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const sn = await e.snapshotter();
    mountAll(await sn.mounts(c.snapshotKey), dir);
    mounted.push(dir);
    // Volumes and bind mounts over the snapshot, shortest target first (docker's order).
    const { resolveInRoot } = await import("../image/resolve-in-root.ts");
    const binds: { source: string; target: string; readOnly: boolean }[] = [];
    const ro = (target: string) => (c.spec.mounts ?? []).some((m) => m.readOnly && posix.normalize(m.target) === target);
    for (const m of c.spec.mounts ?? []) if (m.type === "bind" && m.source) binds.push({ source: m.source, target: posix.normalize(m.target), readOnly: m.readOnly ?? false });
    for (const v of c.resolved.volumes ?? []) {
      const rec = v.name ? e.volumes.find(v.name) : undefined;
      if (rec) binds.push({ source: rec.mountpoint, target: v.target, readOnly: ro(v.target) });
    }
    binds.sort((a, b) => a.target.length - b.target.length);
    for (const b of binds) {
      if (!existsSync(b.source)) continue;
      const isDir = statSync(b.source).isDirectory();
      const parent = resolveInRoot(dir, posix.dirname(b.target), { create: true });
      if (!parent) continue;
      const at = join(parent, posix.basename(b.target));
      if (!existsSync(at)) {
        if (isDir) mkdirSync(at, { mode: 0o755 });
        else writeFileSync(at, "", { flag: "wx" });
      }
      if (lstatSync(at).isSymbolicLink()) continue; // never mount through a link
      // Read-only as in the container: the kernel then refuses a write that a link led there.
      mountOne({ type: "bind", source: b.source, options: b.readOnly ? ["rbind", "ro"] : ["rbind"] }, at);
      mounted.push(at);
    }
    fd = openat2(AT_FDCWD, dir, O.PATH | O.DIRECTORY, 0);
    return await fn(fd, c);
  } finally {
    if (fd >= 0) closeFd(fd);
    let unmounted = true;
    for (const m of mounted.reverse()) {
      try {
        unmount(m, { detach: true });
      } catch {
        unmounted = false;
      }
    }
    // Never a recursive remove here: a mount that failed to go would take the container's files
    // (or a volume's) with it. An empty mount point is all there is to remove.
    if (unmounted) {
      try {
        rmdirSync(dir);
      } catch {}
    }
    lock.release();
  }
}

function statAt(rootFd: number, path: string, ref: string): { loc: Located; stat: PathStat } {
  const abs = absPath(path);
  let loc: Located;
  try {
    loc = locate(rootFd, abs, { follow: followsLast(abs) });
  } catch (err) {
    if (code(err) === "ENOENT" || code(err) === "ELOOP") throw couldNotFind(path, ref);
    if (code(err) === "ENOTDIR") throw invalidArgument(`${path} in container ${ref}: not a directory`, "path");
    throw err;
  }
  if (followsLast(abs) && !loc.st.isDirectory()) {
    closeFd(loc.dirFd);
    throw invalidArgument(`${path} in container ${ref}: not a directory`, "path");
  }
  const name = abs === "/" ? "/" : abs.endsWith("/.") ? "." : posix.basename(abs.replace(/\/$/, ""));
  const linkTarget = loc.st.isSymbolicLink() ? (resolveLogical(rootFd, abs) ?? "") : "";
  return { loc, stat: { name, size: loc.st.size, mode: goFileMode(loc.st), mtime: loc.st.mtime, linkTarget } };
}

/** HEAD /containers/{id}/archive: what `path` names in the container (a final link not followed). */
export async function statContainerPath(e: Engine, ref: string, path: string): Promise<PathStat> {
  return withContainerRoot(e, ref, (rootFd) => {
    const { loc, stat } = statAt(rootFd, path, ref);
    closeFd(loc.dirFd);
    return stat;
  });
}

/**
 * GET /containers/{id}/archive: a tar of `path` (a directory with all below it, links kept as
 * links), its top entry named after the path's last component ("." for "dir/.").
 */
export async function getContainerArchive(e: Engine, ref: string, path: string, tar: TarWriter): Promise<PathStat> {
  return withContainerRoot(e, ref, (rootFd) => {
    const { loc, stat } = statAt(rootFd, path, ref);
    try {
      archiveTree(loc.dirFd, loc.base, loc.st, stat.name === "/" ? "." : stat.name, tar);
      tar.end();
    } finally {
      closeFd(loc.dirFd);
    }
    return stat;
  });
}

export interface PutArchiveOptions {
  /** Refuse to replace a directory with a non-directory or the reverse (docker cp always asks this). */
  noOverwriteDirNonDir?: boolean;
  /** Keep the archive's owners (cp -a); else every entry is the container's root's. */
  copyUIDGID?: boolean;
}

/** PUT /containers/{id}/archive: extract an uncompressed tar into the directory `path`. */
export async function putContainerArchive(e: Engine, ref: string, path: string, tar: Uint8Array, o: PutArchiveOptions = {}): Promise<{ entries: number }> {
  return withContainerRoot(e, ref, (rootFd, c) => {
    const abs = posix.normalize(`/${path}`);
    // docker's checks: the innermost mount holding the path decides (a read-only volume or bind
    // refuses; the root refuses when the container's rootfs is read-only).
    const under = (t: string) => abs === t || abs.startsWith(t === "/" ? "/" : `${t}/`);
    const holder = (c.spec.mounts ?? []).filter((m) => m.type !== "tmpfs" && under(posix.normalize(m.target))).sort((a, b) => b.target.length - a.target.length)[0];
    if (holder?.readOnly) throw failedPrecondition(`mounted volume is marked read-only: ${holder.target} in container ${ref}`, "path");
    if (!holder && c.spec.readOnly && !(c.spec.mounts ?? []).some((m) => m.type === "tmpfs" && under(posix.normalize(m.target)))) {
      throw failedPrecondition("container rootfs is marked read-only", "path");
    }
    let fd: number;
    try {
      fd = openat2(rootFd, abs.replace(/^\/+/, ""), O.PATH, RESOLVE.IN_ROOT | RESOLVE.NO_MAGICLINKS);
    } catch (err) {
      if (code(err) === "ENOENT" || code(err) === "ENOTDIR" || code(err) === "ELOOP") throw couldNotFind(path, ref);
      throw err;
    }
    try {
      if (!fstatSync(fd).isDirectory()) throw invalidArgument(`extraction point is not a directory: ${path} in container ${ref}`, "path");
      return extractTar(fd, tar, { noOverwriteDirNonDir: o.noOverwriteDirNonDir ?? false, owner: o.copyUIDGID ? "archive" : { uid: 0, gid: 0 } });
    } finally {
      closeFd(fd);
    }
  });
}
