// A content store on a plain directory, laid out as an OCI image layout (image-layout.md):
//
//   <root>/oci-layout                    {"imageLayoutVersion": "1.0.0"}
//   <root>/blobs/<alg>/<hex>             committed, verified blobs (read-only files)
//   <root>/ingest/<sha256(ref)>/data     bytes of an in-progress write
//   <root>/ingest/<sha256(ref)>/meta.json  {ref, expected, total, startedAt}
//   <root>/ingest/<sha256(ref)>/lock     pid of the process holding the writer
//   <root>/labels/<alg>/<hex>.json       labels of a blob (until the metadata DB holds them)
//
// Invariant: a file appears under blobs/ only by rename(2) from an ingest whose size and digest
// were checked, so a reader never sees a partial or wrong blob. An ingest survives a crash or
// restart; a new writer with the same ref rehashes the partial data and resumes at its end.

import { readFileSync, statSync } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import { join } from "node:path";
import {
  BerthError,
  alreadyExists,
  failedPrecondition,
  invalidArgument,
  notFound,
} from "../sys/errdefs.ts";
import { perProcess } from "../sys/per-process.ts";
import { Digester, digestOf, parseDigest, type DigestAlgorithm } from "./digest.ts";
import type {
  CommitOptions,
  Info,
  ReaderAt,
  Status,
  Store,
  Writer,
  WriterOptions,
} from "./types.ts";

interface IngestMeta {
  ref: string;
  expected: string;
  total: number;
  startedAt: string;
}

/**
 * Writers held by this process, keyed by ingest directory; the lock file covers other processes.
 * One set per process (perProcess): a copy of this module blind to another copy's writers would
 * take their lock files, which name this pid, for stale ones and write the same ingest.
 */
// node:fs/promises on first use: a container's start reads blobs here (below) and never needs it;
// loading it and starting Bun's thread pool cost a short-lived berth command ~1 ms.
let fspModule: typeof import("node:fs/promises") | undefined;
const fsp = (): typeof import("node:fs/promises") => (fspModule ??= require("node:fs/promises") as typeof import("node:fs/promises"));

/** Blobs up to this size (manifests, indexes, configs) are read synchronously: see read(). */
const SYNC_READ_MAX = 1 << 20;

const heldIngests = perProcess("content.heldIngests", () => new Set<string>());

const errno = (e: unknown): string | undefined =>
  typeof e === "object" && e !== null && "code" in e ? String((e as { code: unknown }).code) : undefined;

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return errno(e) === "EPERM";
  }
}

async function fsyncDir(dir: string): Promise<void> {
  const fh = await fsp().open(dir, "r");
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export class LocalContentStore implements Store {
  readonly root: string;

  constructor(root: string) {
    this.root = root;
  }

  blobPath(digest: string): string {
    const { algorithm, hex } = parseDigest(digest);
    return join(this.root, "blobs", algorithm, hex);
  }

  private labelsPath(digest: string): string {
    const { algorithm, hex } = parseDigest(digest);
    return join(this.root, "labels", algorithm, `${hex}.json`);
  }

  private ingestDir(ref: string): string {
    if (ref === "") throw invalidArgument("an ingest ref must not be empty", "ref");
    return join(this.root, "ingest", digestOf(ref).slice("sha256:".length));
  }

  // ---- Manager ------------------------------------------------------------------------------

  async info(digest: string): Promise<Info> {
    const path = this.blobPath(digest);
    let st;
    try {
      st = await fsp().stat(path);
    } catch (e) {
      if (errno(e) === "ENOENT") throw notFound(`content ${digest} is not in the store at ${this.root}`, "digest");
      throw e;
    }
    const labels = await this.readLabels(digest);
    return {
      digest,
      size: st.size,
      createdAt: st.birthtime.getTime() > 0 ? st.birthtime : st.ctime,
      updatedAt: labels.updatedAt ?? st.mtime,
      labels: labels.labels,
    };
  }

  private async readLabels(digest: string): Promise<{ labels: Record<string, string>; updatedAt?: Date }> {
    try {
      const raw = JSON.parse(await fsp().readFile(this.labelsPath(digest), "utf8")) as {
        labels: Record<string, string>;
        updatedAt: string;
      };
      return { labels: raw.labels, updatedAt: new Date(raw.updatedAt) };
    } catch (e) {
      if (errno(e) === "ENOENT") return { labels: {} };
      throw e;
    }
  }

  private async writeLabels(digest: string, labels: Record<string, string>): Promise<Date> {
    const path = this.labelsPath(digest);
    const now = new Date();
    await fsp().mkdir(join(path, ".."), { recursive: true });
    if (Object.keys(labels).length === 0) {
      await fsp().rm(path, { force: true });
      return now;
    }
    // Unique per write: two updates of one blob's labels may run at once in one process.
    const tmp = `${path}.${process.pid}-${Math.random().toString(36).slice(2, 10)}.tmp`;
    await fsp().writeFile(tmp, JSON.stringify({ labels, updatedAt: now.toISOString() }));
    await fsp().rename(tmp, path);
    return now;
  }

  async update(info: Pick<Info, "digest" | "labels">, fieldpaths?: string[]): Promise<Info> {
    const current = await this.info(info.digest);
    const next = applyLabelUpdate(current.labels, info.labels, fieldpaths);
    await this.writeLabels(info.digest, next);
    return this.info(info.digest);
  }

  async list(filter?: (info: Info) => boolean): Promise<Info[]> {
    const out: Info[] = [];
    for (const algorithm of ["sha256", "sha512"] as DigestAlgorithm[]) {
      let names: string[];
      try {
        names = await fsp().readdir(join(this.root, "blobs", algorithm));
      } catch (e) {
        if (errno(e) === "ENOENT") continue;
        throw e;
      }
      for (const hex of names.sort()) {
        const digest = `${algorithm}:${hex}`;
        let info: Info;
        try {
          info = await this.info(digest);
        } catch (e) {
          // A stray file that is not a digest, or a blob deleted while we listed.
          if (e instanceof BerthError) continue;
          throw e;
        }
        if (!filter || filter(info)) out.push(info);
      }
    }
    return out;
  }

  async delete(digest: string): Promise<void> {
    const path = this.blobPath(digest);
    try {
      await fsp().rm(path);
    } catch (e) {
      if (errno(e) === "ENOENT") throw notFound(`content ${digest} is not in the store at ${this.root}`, "digest");
      throw e;
    }
    await fsp().rm(this.labelsPath(digest), { force: true });
  }

  // ---- Provider -----------------------------------------------------------------------------

  async readerAt(desc: { digest: string }): Promise<ReaderAt> {
    const path = this.blobPath(desc.digest);
    let fh: FileHandle;
    try {
      fh = await fsp().open(path, "r");
    } catch (e) {
      if (errno(e) === "ENOENT") throw notFound(`content ${desc.digest} is not in the store at ${this.root}`, "digest");
      throw e;
    }
    const size = (await fh.stat()).size;
    return {
      size,
      async readAt(offset: number, length: number): Promise<Uint8Array> {
        if (offset < 0 || length < 0) throw invalidArgument(`readAt(${offset}, ${length}): negative offset or length`);
        const n = Math.max(0, Math.min(length, size - offset));
        const buf = new Uint8Array(n);
        let done = 0;
        while (done < n) {
          const { bytesRead } = await fh.read(buf, done, n - done, offset + done);
          if (bytesRead === 0) break;
          done += bytesRead;
        }
        return done === n ? buf : buf.subarray(0, done);
      },
      close: () => fh.close(),
    };
  }

  async read(digest: string): Promise<Uint8Array> {
    const path = this.blobPath(digest);
    try {
      // A manifest or config (a few KB; a `run` reads them several times) is read at once: an
      // async read is a hop through Bun's thread pool, which costs more than the read. Big blobs
      // (layers) stay off the event loop.
      if (statSync(path).size <= SYNC_READ_MAX) return new Uint8Array(readFileSync(path));
      return new Uint8Array(await fsp().readFile(path));
    } catch (e) {
      if (errno(e) === "ENOENT") throw notFound(`content ${digest} is not in the store at ${this.root}`, "digest");
      throw e;
    }
  }

  async stream(digest: string, offset = 0): Promise<ReadableStream<Uint8Array>> {
    await this.info(digest); // NotFound before a stream exists
    return Bun.file(this.blobPath(digest)).slice(offset).stream();
  }

  // ---- Ingester / IngestManager ---------------------------------------------------------------

  async writer(opts: WriterOptions): Promise<Writer> {
    const expected = opts.expected ?? "";
    const total = opts.total ?? 0;
    if (expected !== "") {
      parseDigest(expected, "expected");
      if (await exists(this.blobPath(expected))) {
        throw alreadyExists(`content ${expected} already exists in the store at ${this.root}`, "expected");
      }
    }
    if (total < 0 || !Number.isSafeInteger(total)) throw invalidArgument(`invalid total size ${total}`, "total");
    const dir = this.ingestDir(opts.ref);
    await fsp().mkdir(dir, { recursive: true });
    await this.lockIngest(dir, opts.ref);
    try {
      let meta = await readMeta(dir);
      // An ingest left for a different blob under the same ref cannot be resumed: start over.
      const stale =
        meta !== undefined &&
        ((expected !== "" && meta.expected !== "" && meta.expected !== expected) ||
          (total !== 0 && meta.total !== 0 && meta.total !== total));
      if (meta === undefined || stale) {
        meta = { ref: opts.ref, expected, total, startedAt: new Date().toISOString() };
        await fsp().rm(join(dir, "data"), { force: true });
        await fsp().writeFile(join(dir, "meta.json"), JSON.stringify(meta));
      } else if ((expected !== "" && meta.expected === "") || (total !== 0 && meta.total === 0)) {
        meta = { ...meta, expected: expected || meta.expected, total: total || meta.total };
        await fsp().writeFile(join(dir, "meta.json"), JSON.stringify(meta));
      }
      const algorithm = meta.expected !== "" ? parseDigest(meta.expected).algorithm : "sha256";
      const fh = await fsp().open(join(dir, "data"), "a+");
      // Rehash what a previous writer left: the hash state does not survive a restart, the bytes do.
      const digester = new Digester(algorithm);
      const size = (await fh.stat()).size;
      const chunk = new Uint8Array(1 << 20);
      for (let off = 0; off < size; ) {
        const { bytesRead } = await fh.read(chunk, 0, chunk.length, off);
        if (bytesRead === 0) break;
        digester.update(chunk.subarray(0, bytesRead));
        off += bytesRead;
      }
      return new LocalWriter(this, dir, meta, fh, digester, size);
    } catch (e) {
      await this.unlockIngest(dir);
      throw e;
    }
  }

  private async lockIngest(dir: string, ref: string): Promise<void> {
    const lockPath = join(dir, "lock");
    if (heldIngests.has(dir)) {
      throw new BerthError("Unavailable", `ingest ${JSON.stringify(ref)} is locked by another writer in this process; retry when it is done`, "ref");
    }
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await fsp().writeFile(lockPath, String(process.pid), { flag: "wx" });
        heldIngests.add(dir);
        return;
      } catch (e) {
        if (errno(e) !== "EEXIST") throw e;
        const pid = Number((await fsp().readFile(lockPath, "utf8").catch(() => "")).trim());
        // Our own pid without an in-process holder means a writer that was never closed
        // (or a previous run that reused the pid): the lock is stale either way.
        if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && processAlive(pid)) {
          throw new BerthError("Unavailable", `ingest ${JSON.stringify(ref)} is locked by process ${pid}; retry when it is done`, "ref");
        }
        await fsp().rm(lockPath, { force: true });
      }
    }
    throw new BerthError("Unavailable", `could not lock ingest ${JSON.stringify(ref)} at ${dir}`, "ref");
  }

  /** @internal */
  async unlockIngest(dir: string): Promise<void> {
    heldIngests.delete(dir);
    await fsp().rm(join(dir, "lock"), { force: true });
  }

  /** @internal Commit the ingest's data file as `digest`. */
  async commitIngest(dir: string, digest: string, labels: Record<string, string> | undefined): Promise<void> {
    const target = this.blobPath(digest);
    await fsp().mkdir(join(target, ".."), { recursive: true });
    await ensureLayoutFile(this.root);
    if (await exists(target)) {
      await this.dropIngest(dir);
      throw alreadyExists(`content ${digest} already exists in the store at ${this.root}`, "digest");
    }
    await fsp().chmod(join(dir, "data"), 0o444);
    await fsp().rename(join(dir, "data"), target);
    await fsyncDir(join(target, ".."));
    if (labels && Object.keys(labels).length > 0) await this.writeLabels(digest, labels);
    await this.dropIngest(dir);
  }

  /** @internal */
  async dropIngest(dir: string): Promise<void> {
    heldIngests.delete(dir);
    await fsp().rm(dir, { recursive: true, force: true });
  }

  async status(ref: string): Promise<Status> {
    const dir = this.ingestDir(ref);
    const meta = await readMeta(dir);
    if (!meta) throw notFound(`no ingest named ${JSON.stringify(ref)} in ${this.root}`, "ref");
    return statusOf(dir, meta);
  }

  async listStatuses(prefix = ""): Promise<Status[]> {
    let dirs: string[];
    try {
      dirs = await fsp().readdir(join(this.root, "ingest"));
    } catch (e) {
      if (errno(e) === "ENOENT") return [];
      throw e;
    }
    const out: Status[] = [];
    for (const d of dirs) {
      const dir = join(this.root, "ingest", d);
      const meta = await readMeta(dir);
      if (meta && meta.ref.startsWith(prefix)) out.push(await statusOf(dir, meta));
    }
    return out.sort((a, b) => a.ref.localeCompare(b.ref));
  }

  async abort(ref: string): Promise<void> {
    const dir = this.ingestDir(ref);
    if (!(await readMeta(dir))) throw notFound(`no ingest named ${JSON.stringify(ref)} in ${this.root}`, "ref");
    await this.dropIngest(dir);
  }
}

class LocalWriter implements Writer {
  readonly ref: string;
  private closed = false;
  private updatedAt = new Date();

  constructor(
    private store: LocalContentStore,
    private dir: string,
    private meta: IngestMeta,
    private fh: FileHandle,
    private digester: Digester,
    private offset: number,
  ) {
    this.ref = meta.ref;
  }

  status(): Status {
    return {
      ref: this.meta.ref,
      offset: this.offset,
      total: this.meta.total,
      expected: this.meta.expected,
      startedAt: new Date(this.meta.startedAt),
      updatedAt: this.updatedAt,
    };
  }

  digest(): string {
    return this.digester.digest();
  }

  private checkOpen(): void {
    if (this.closed) throw failedPrecondition(`writer for ingest ${JSON.stringify(this.ref)} is closed`, "ref");
  }

  async write(data: Uint8Array): Promise<void> {
    this.checkOpen();
    let done = 0;
    while (done < data.length) {
      const { bytesWritten } = await this.fh.write(data, done, data.length - done, this.offset + done);
      done += bytesWritten;
    }
    this.digester.update(data);
    this.offset += data.length;
    this.updatedAt = new Date();
  }

  async truncate(size: 0): Promise<void> {
    this.checkOpen();
    if (size !== 0) throw invalidArgument(`truncate to ${size}: only 0 is supported`, "size");
    await this.fh.truncate(0);
    this.offset = 0;
    this.digester = new Digester(this.digester.algorithm);
  }

  async commit(opts: CommitOptions = {}): Promise<void> {
    this.checkOpen();
    const size = opts.size || this.meta.total;
    const expected = opts.expected || this.meta.expected;
    const actual = this.digest();
    await this.fh.sync();
    await this.fh.close();
    this.closed = true;
    if (size > 0 && size !== this.offset) {
      await this.store.dropIngest(this.dir);
      throw failedPrecondition(
        `ingest ${JSON.stringify(this.ref)}: size mismatch, expected ${size} bytes but ${this.offset} were written (${expected || actual}); the partial data was dropped, fetch it again`,
        "size",
      );
    }
    if (expected !== "" && expected !== actual) {
      await this.store.dropIngest(this.dir);
      throw failedPrecondition(
        `ingest ${JSON.stringify(this.ref)}: digest mismatch, expected ${expected} but the content is ${actual}; the data was dropped, check the source`,
        "digest",
      );
    }
    await this.store.commitIngest(this.dir, actual, opts.labels);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.fh.close();
    await this.store.unlockIngest(this.dir);
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await fsp().stat(path);
    return true;
  } catch (e) {
    if (errno(e) === "ENOENT") return false;
    throw e;
  }
}

async function readMeta(dir: string): Promise<IngestMeta | undefined> {
  try {
    return JSON.parse(await fsp().readFile(join(dir, "meta.json"), "utf8")) as IngestMeta;
  } catch (e) {
    if (errno(e) === "ENOENT") return undefined;
    throw e;
  }
}

async function statusOf(dir: string, meta: IngestMeta): Promise<Status> {
  const st = await fsp().stat(join(dir, "data")).catch(() => undefined);
  return {
    ref: meta.ref,
    offset: st?.size ?? 0,
    total: meta.total,
    expected: meta.expected,
    startedAt: new Date(meta.startedAt),
    updatedAt: st?.mtime ?? new Date(meta.startedAt),
  };
}

async function ensureLayoutFile(root: string): Promise<void> {
  const path = join(root, "oci-layout");
  if (await exists(path)) return;
  await fsp().writeFile(path, JSON.stringify({ imageLayoutVersion: "1.0.0" }));
}

/** Shared by every store: containerd's fieldpath rules for label updates. */
export function applyLabelUpdate(
  current: Record<string, string>,
  given: Record<string, string>,
  fieldpaths?: string[],
): Record<string, string> {
  if (!fieldpaths || fieldpaths.length === 0 || fieldpaths.includes("labels")) return { ...given };
  const next = { ...current };
  for (const fp of fieldpaths) {
    if (!fp.startsWith("labels.")) {
      throw invalidArgument(`cannot update field ${JSON.stringify(fp)}: only "labels" and "labels.<key>" can change`, "fieldpaths");
    }
    const key = fp.slice("labels.".length);
    const v = given[key];
    if (v === undefined) delete next[key];
    else next[key] = v;
  }
  return next;
}
