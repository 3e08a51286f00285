// The content store as one namespace sees it (containerd's metadata content store): blobs are
// shared in the LocalContentStore, but info/list/read only see blobs this namespace recorded, and
// labels live here, per namespace. Delete removes the record; the blob goes at the next GC once no
// namespace references it. Content sharing policy is containerd's default "shared": a blob already
// in the shared store is recorded for a namespace that writes it without re-uploading it.

import { applyLabelUpdate, type LocalContentStore } from "../content/local-store.ts";
import { parseDigest } from "../content/digest.ts";
import { BerthError, alreadyExists, isBerthError, notFound } from "../sys/errdefs.ts";
import type { CommitOptions, Info, ReaderAt, Status, Store, Writer, WriterOptions } from "../content/types.ts";
import { parseLabels, type MetadataDB } from "./db.ts";
import { LeaseManager } from "./leases.ts";

interface Row {
  digest: string;
  size: number;
  labels: string;
  created_at: number;
  updated_at: number;
}

const toInfo = (r: Row): Info => ({
  digest: r.digest,
  size: r.size,
  labels: parseLabels(r.labels),
  createdAt: new Date(r.created_at),
  updatedAt: new Date(r.updated_at),
});

export interface NamespacedContentOptions {
  /** Lease that protects everything this store commits or ingests (see leases.ts). */
  lease?: string;
}

export class NamespacedContentStore implements Store {
  constructor(
    readonly meta: MetadataDB,
    readonly shared: LocalContentStore,
    readonly namespace: string,
    readonly opts: NamespacedContentOptions = {},
  ) {}

  /** The same store with its writes protected by `lease`. */
  withLease(lease: string): NamespacedContentStore {
    return new NamespacedContentStore(this.meta, this.shared, this.namespace, { ...this.opts, lease });
  }

  private row(digest: string): Row | null {
    parseDigest(digest);
    return this.meta.db
      .query("SELECT * FROM content WHERE namespace = ? AND digest = ?")
      .get(this.namespace, digest) as Row | null;
  }

  private mustHave(digest: string): Row {
    const r = this.row(digest);
    if (!r) throw notFound(`content ${digest} is not in namespace ${this.namespace}`, "digest");
    return r;
  }

  /** Record `digest` for this namespace (and the lease); the blob must already be shared. */
  record(digest: string, size: number, labels: Record<string, string> = {}): void {
    this.meta.ensureNamespace(this.namespace);
    const now = Date.now();
    this.meta.db.transaction(() => {
      this.meta.db
        .query(
          `INSERT INTO content (namespace, digest, size, labels, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT (namespace, digest) DO NOTHING`,
        )
        .run(this.namespace, digest, size, JSON.stringify(labels), now, now);
      if (this.opts.lease) new LeaseManager(this.meta, this.namespace).addResource(this.opts.lease, { type: "content", id: digest });
    }).immediate();
  }

  async info(digest: string): Promise<Info> {
    return toInfo(this.mustHave(digest));
  }

  async update(info: Pick<Info, "digest" | "labels">, fieldpaths?: string[]): Promise<Info> {
    const cur = toInfo(this.mustHave(info.digest));
    const labels = applyLabelUpdate(cur.labels, info.labels, fieldpaths);
    this.meta.db
      .query("UPDATE content SET labels = ?, updated_at = ? WHERE namespace = ? AND digest = ?")
      .run(JSON.stringify(labels), Date.now(), this.namespace, info.digest);
    return this.info(info.digest);
  }

  async list(filter?: (info: Info) => boolean): Promise<Info[]> {
    const rows = this.meta.db.query("SELECT * FROM content WHERE namespace = ? ORDER BY digest").all(this.namespace) as Row[];
    const all = rows.map(toInfo);
    return filter ? all.filter(filter) : all;
  }

  async delete(digest: string): Promise<void> {
    this.mustHave(digest);
    this.meta.db.query("DELETE FROM content WHERE namespace = ? AND digest = ?").run(this.namespace, digest);
  }

  async readerAt(desc: { digest: string }): Promise<ReaderAt> {
    this.mustHave(desc.digest);
    return this.shared.readerAt(desc);
  }

  async read(digest: string): Promise<Uint8Array> {
    this.mustHave(digest);
    return this.shared.read(digest);
  }

  async stream(digest: string, offset?: number): Promise<ReadableStream<Uint8Array>> {
    this.mustHave(digest);
    return this.shared.stream(digest, offset);
  }

  // Ingest refs are prefixed with the namespace in the shared store so namespaces never collide.
  private sharedRef(ref: string): string {
    return `${this.namespace}/${ref}`;
  }

  async writer(opts: WriterOptions): Promise<Writer> {
    if (opts.expected) {
      if (this.row(opts.expected)) {
        throw alreadyExists(`content ${opts.expected} already exists in namespace ${this.namespace}`, "expected");
      }
    }
    let inner: Writer;
    try {
      inner = await this.shared.writer({ ...opts, ref: this.sharedRef(opts.ref) });
    } catch (e) {
      if (isBerthError(e, "AlreadyExists") && opts.expected) {
        const info = await this.shared.info(opts.expected);
        if (opts.total && opts.total !== info.size) throw e;
        this.record(opts.expected, info.size);
      }
      throw e;
    }
    if (this.opts.lease) {
      new LeaseManager(this.meta, this.namespace).addResource(this.opts.lease, { type: "ingest", id: opts.ref });
    }
    return new NamespacedWriter(this, inner, opts.ref);
  }

  async status(ref: string): Promise<Status> {
    const s = await this.shared.status(this.sharedRef(ref));
    return { ...s, ref };
  }

  async listStatuses(prefix = ""): Promise<Status[]> {
    const all = await this.shared.listStatuses(this.sharedRef(prefix));
    const cut = this.namespace.length + 1;
    return all.map((s) => ({ ...s, ref: s.ref.slice(cut) }));
  }

  async abort(ref: string): Promise<void> {
    await this.shared.abort(this.sharedRef(ref));
  }
}

class NamespacedWriter implements Writer {
  constructor(
    private store: NamespacedContentStore,
    private inner: Writer,
    readonly ref: string,
  ) {}

  status(): Status {
    return { ...this.inner.status(), ref: this.ref };
  }
  digest(): string {
    return this.inner.digest();
  }
  write(data: Uint8Array): Promise<void> {
    return this.inner.write(data);
  }
  truncate(size: 0): Promise<void> {
    return this.inner.truncate(size);
  }
  close(): Promise<void> {
    return this.inner.close();
  }

  async commit(opts: CommitOptions = {}): Promise<void> {
    const size = this.inner.status().offset;
    const digest = this.inner.digest();
    // Labels are namespaced, so they go to the DB rather than the shared store.
    const { labels, ...rest } = opts;
    try {
      await this.inner.commit(rest);
    } catch (e) {
      if (!(e instanceof BerthError) || e.code !== "AlreadyExists") throw e;
      const had = this.store.meta.db
        .query("SELECT 1 FROM content WHERE namespace = ? AND digest = ?")
        .get(this.store.namespace, digest);
      this.store.record(digest, size, labels);
      if (had) throw e;
      return;
    }
    this.store.record(digest, size, labels);
  }
}
