// Container records (containerd's containers service, podman's container DB): what `berth ps -a`,
// `inspect` and `rm` read. A record names its image and snapshot and carries the run's settings
// as JSON; the status and exit code are updated as the container starts and stops.
// The table is created on first use, beside the migrations (as the snapshotters' records are), so
// databases made before it keep their schema version.

import { alreadyExists, invalidArgument, notFound } from "../sys/errdefs.ts";
import type { MetadataDB } from "./db.ts";

export type ContainerStatus = "created" | "running" | "exited";

export interface ContainerRecord {
  id: string;
  /** Unique in the namespace, as docker's names. */
  name: string;
  /** The image reference as given, and the image's config digest (docker's image ID). */
  image: string;
  imageId: string;
  /** The snapshot key holding the container's root filesystem. */
  snapshotKey: string;
  status: ContainerStatus;
  exitCode?: number;
  /** The process that runs the container in the foreground (berth run), while it runs. */
  pid?: number;
  createdAt: Date;
  startedAt?: Date;
  finishedAt?: Date;
  /** The run's settings (command, env, limits, mounts…) as the CLI recorded them. */
  config: Record<string, unknown>;
  labels: Record<string, string>;
}

interface Row {
  id: string;
  name: string;
  image: string;
  image_id: string;
  snapshot_key: string;
  status: string;
  exit_code: number | null;
  pid: number | null;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
  config: string;
  labels: string;
}

const toRecord = (r: Row): ContainerRecord => ({
  id: r.id,
  name: r.name,
  image: r.image,
  imageId: r.image_id,
  snapshotKey: r.snapshot_key,
  status: r.status as ContainerStatus,
  ...(r.exit_code !== null ? { exitCode: r.exit_code } : {}),
  ...(r.pid !== null ? { pid: r.pid } : {}),
  createdAt: new Date(r.created_at),
  ...(r.started_at !== null ? { startedAt: new Date(r.started_at) } : {}),
  ...(r.finished_at !== null ? { finishedAt: new Date(r.finished_at) } : {}),
  config: JSON.parse(r.config) as Record<string, unknown>,
  labels: JSON.parse(r.labels) as Record<string, string>,
});

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS containers (
    namespace TEXT NOT NULL REFERENCES namespaces(name) ON DELETE CASCADE,
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    image TEXT NOT NULL,
    image_id TEXT NOT NULL,
    snapshot_key TEXT NOT NULL,
    status TEXT NOT NULL,
    exit_code INTEGER,
    pid INTEGER,
    created_at INTEGER NOT NULL,
    started_at INTEGER,
    finished_at INTEGER,
    config TEXT NOT NULL DEFAULT '{}',
    labels TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (namespace, id),
    UNIQUE (namespace, name)
  );`;

export class ContainerStore {
  constructor(
    private meta: MetadataDB,
    readonly namespace: string,
  ) {
    meta.db.run(SCHEMA);
  }

  create(c: Omit<ContainerRecord, "createdAt"> & { createdAt?: Date }): ContainerRecord {
    if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(c.name)) {
      throw invalidArgument(`invalid container name ${JSON.stringify(c.name)}: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`, "name");
    }
    this.meta.ensureNamespace(this.namespace);
    const res = this.meta.db
      .query(
        `INSERT OR IGNORE INTO containers (namespace, id, name, image, image_id, snapshot_key, status, exit_code, pid,
           created_at, started_at, finished_at, config, labels) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(this.namespace, c.id, c.name, c.image, c.imageId, c.snapshotKey, c.status, c.exitCode ?? null, c.pid ?? null,
        (c.createdAt ?? new Date()).getTime(), c.startedAt?.getTime() ?? null, c.finishedAt?.getTime() ?? null,
        JSON.stringify(c.config), JSON.stringify(c.labels));
    if (res.changes === 0) {
      const taken = this.meta.db.query("SELECT id FROM containers WHERE namespace = ? AND name = ?").get(this.namespace, c.name) as { id: string } | null;
      if (taken) {
        throw alreadyExists(`the container name "/${c.name}" is already in use by container "${taken.id}"; remove that container (berth rm ${c.name}) or pick another name`, "name");
      }
      throw alreadyExists(`container ${c.id} already exists`, "id");
    }
    return this.get(c.id);
  }

  get(id: string): ContainerRecord {
    const r = this.meta.db.query("SELECT * FROM containers WHERE namespace = ? AND id = ?").get(this.namespace, id) as Row | null;
    if (!r) throw notFound(`no such container: ${id}`, "container");
    return toRecord(r);
  }

  /** By exact name, exact id, or a unique id prefix (docker's rules). */
  find(ref: string): ContainerRecord {
    const q = this.meta.db.query("SELECT * FROM containers WHERE namespace = ? AND (name = ? OR id = ?)").get(this.namespace, ref.replace(/^\//, ""), ref) as Row | null;
    if (q) return toRecord(q);
    if (/^[0-9a-f]+$/.test(ref)) {
      const rows = this.meta.db.query("SELECT * FROM containers WHERE namespace = ? AND id LIKE ? LIMIT 2").all(this.namespace, `${ref}%`) as Row[];
      if (rows.length === 1) return toRecord(rows[0]!);
      if (rows.length > 1) throw invalidArgument(`container id prefix ${ref} is ambiguous: give more characters`, "container");
    }
    throw notFound(`no such container: ${ref} (see berth ps -a)`, "container");
  }

  list(): ContainerRecord[] {
    const rows = this.meta.db.query("SELECT * FROM containers WHERE namespace = ? ORDER BY created_at DESC, id").all(this.namespace) as Row[];
    return rows.map(toRecord);
  }

  update(id: string, u: Partial<Pick<ContainerRecord, "status" | "exitCode" | "pid" | "startedAt" | "finishedAt">>): void {
    const cur = this.get(id);
    const n = { ...cur, ...u };
    this.meta.db
      .query("UPDATE containers SET status = ?, exit_code = ?, pid = ?, started_at = ?, finished_at = ? WHERE namespace = ? AND id = ?")
      .run(n.status, n.exitCode ?? null, "pid" in u ? (u.pid ?? null) : (cur.pid ?? null), n.startedAt?.getTime() ?? null,
        n.finishedAt?.getTime() ?? null, this.namespace, id);
  }

  /** Removes the record; false when there was none. */
  delete(id: string): boolean {
    return this.meta.db.query("DELETE FROM containers WHERE namespace = ? AND id = ?").run(this.namespace, id).changes > 0;
  }
}
