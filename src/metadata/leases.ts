// Leases protect work in progress from GC (containerd's leases): a pull takes a lease, every blob
// it commits is recorded as a lease resource, and only when the image record exists is the lease
// dropped. A lease with the label `containerd.io/gc.expire` (RFC 3339) lapses at that time.

import { alreadyExists, invalidArgument, notFound } from "../sys/errdefs.ts";
import { parseLabels, type MetadataDB } from "./db.ts";

export const LABEL_GC_EXPIRE = "containerd.io/gc.expire";

export interface Lease {
  id: string;
  labels: Record<string, string>;
  createdAt: Date;
}

export interface LeaseResource {
  /** "content" (id = digest) or "ingest" (id = ingest ref); snapshots come with the snapshotter. */
  type: string;
  id: string;
}

export class LeaseManager {
  constructor(
    private meta: MetadataDB,
    readonly namespace: string,
  ) {}

  create(opts: { id?: string; labels?: Record<string, string>; expiresInMs?: number } = {}): Lease {
    const id = opts.id ?? `lease-${Date.now().toString(36)}-${crypto.randomUUID().slice(0, 8)}`;
    if (id === "") throw invalidArgument("a lease id must not be empty", "id");
    const labels = { ...(opts.labels ?? {}) };
    if (opts.expiresInMs !== undefined) labels[LABEL_GC_EXPIRE] = new Date(Date.now() + opts.expiresInMs).toISOString();
    this.meta.ensureNamespace(this.namespace);
    const res = this.meta.db
      .query("INSERT OR IGNORE INTO leases (namespace, id, labels, created_at) VALUES (?, ?, ?, ?)")
      .run(this.namespace, id, JSON.stringify(labels), Date.now());
    if (res.changes === 0) throw alreadyExists(`lease ${JSON.stringify(id)} already exists in namespace ${this.namespace}`, "id");
    return { id, labels, createdAt: new Date() };
  }

  list(): Lease[] {
    const rows = this.meta.db
      .query("SELECT id, labels, created_at FROM leases WHERE namespace = ? ORDER BY id")
      .all(this.namespace) as { id: string; labels: string; created_at: number }[];
    return rows.map((r) => ({ id: r.id, labels: parseLabels(r.labels), createdAt: new Date(r.created_at) }));
  }

  delete(id: string): void {
    const res = this.meta.db.query("DELETE FROM leases WHERE namespace = ? AND id = ?").run(this.namespace, id);
    if (res.changes === 0) throw notFound(`lease ${JSON.stringify(id)} not found in namespace ${this.namespace}`, "id");
  }

  addResource(lease: string, r: LeaseResource): void {
    const exists = this.meta.db.query("SELECT 1 FROM leases WHERE namespace = ? AND id = ?").get(this.namespace, lease);
    if (!exists) throw notFound(`lease ${JSON.stringify(lease)} not found in namespace ${this.namespace}; create it first`, "lease");
    this.meta.db
      .query("INSERT OR IGNORE INTO lease_resources (namespace, lease, type, id) VALUES (?, ?, ?, ?)")
      .run(this.namespace, lease, r.type, r.id);
  }

  deleteResource(lease: string, r: LeaseResource): void {
    this.meta.db
      .query("DELETE FROM lease_resources WHERE namespace = ? AND lease = ? AND type = ? AND id = ?")
      .run(this.namespace, lease, r.type, r.id);
  }

  listResources(lease: string): LeaseResource[] {
    return this.meta.db
      .query("SELECT type, id FROM lease_resources WHERE namespace = ? AND lease = ? ORDER BY type, id")
      .all(this.namespace, lease) as LeaseResource[];
  }
}
