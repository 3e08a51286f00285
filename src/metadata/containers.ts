// Container records (containerd's containers service, podman's container DB): the engine's
// one container model, whichever front made the container. A record names its image and
// snapshot, keeps the front-neutral spec (engine/spec.ts) as JSON, and the state the engine last
// reconciled from the container's monitor. Names are unique per namespace (the table's UNIQUE
// constraint decides races between concurrent creates).

import { alreadyExists, invalidArgument, notFound } from "../sys/errdefs.ts";
import type { MetadataDB } from "./db.ts";

export type ContainerState = "created" | "running" | "paused" | "restarting" | "exited" | "dead" | "removing";

export interface ContainerRecord<Spec = unknown, Resolved = unknown> {
  id: string;
  /** Unique in the namespace, as docker's names (without the leading "/"). */
  name: string;
  /** The image reference as given, and the image's config digest (docker's image ID). */
  image: string;
  imageId: string;
  /** The snapshot key holding the container's root filesystem. */
  snapshotKey: string;
  createdAt: Date;
  state: ContainerState;
  /** The init's host pid while running. */
  pid: number;
  exitCode: number;
  oomKilled: boolean;
  /** Why the last start failed or how the container ended badly (docker's State.Error). */
  error: string;
  startedAt?: Date;
  finishedAt?: Date;
  restartCount: number;
  spec: Spec;
  /** What the engine worked out at create (image defaults merged in, stop signal…). */
  resolved: Resolved;
  labels: Record<string, string>;
  health?: unknown;
  /** How far the monitor's events.jsonl has been imported. */
  monitorEventsOffset: number;
}

interface Row {
  id: string;
  name: string;
  image: string;
  image_id: string;
  snapshot_key: string;
  created_at: number;
  state: string;
  pid: number;
  exit_code: number;
  oom_killed: number;
  error: string;
  started_at: number | null;
  finished_at: number | null;
  restart_count: number;
  spec: string;
  resolved: string;
  labels: string;
  health: string | null;
  monitor_events_offset: number;
}

const toRecord = (r: Row): ContainerRecord => ({
  id: r.id,
  name: r.name,
  image: r.image,
  imageId: r.image_id,
  snapshotKey: r.snapshot_key,
  createdAt: new Date(r.created_at),
  state: r.state as ContainerState,
  pid: r.pid,
  exitCode: r.exit_code,
  oomKilled: r.oom_killed !== 0,
  error: r.error,
  ...(r.started_at !== null ? { startedAt: new Date(r.started_at) } : {}),
  ...(r.finished_at !== null ? { finishedAt: new Date(r.finished_at) } : {}),
  restartCount: r.restart_count,
  spec: JSON.parse(r.spec) as unknown,
  resolved: JSON.parse(r.resolved) as unknown,
  labels: JSON.parse(r.labels) as Record<string, string>,
  ...(r.health !== null ? { health: JSON.parse(r.health) as unknown } : {}),
  monitorEventsOffset: r.monitor_events_offset,
});

export type ContainerUpdate = Partial<Pick<ContainerRecord, "name" | "state" | "pid" | "exitCode" | "oomKilled" | "error" | "startedAt" | "finishedAt" | "restartCount" | "health" | "monitorEventsOffset" | "resolved">>;

const COLUMNS: Record<keyof ContainerUpdate, [string, (v: never) => unknown]> = {
  name: ["name", (v: string) => v],
  state: ["state", (v: string) => v],
  pid: ["pid", (v: number) => v],
  exitCode: ["exit_code", (v: number) => v],
  oomKilled: ["oom_killed", (v: boolean) => (v ? 1 : 0)],
  error: ["error", (v: string) => v],
  startedAt: ["started_at", (v: Date | undefined) => v?.getTime() ?? null],
  finishedAt: ["finished_at", (v: Date | undefined) => v?.getTime() ?? null],
  restartCount: ["restart_count", (v: number) => v],
  health: ["health", (v: unknown) => (v === undefined ? null : JSON.stringify(v))],
  monitorEventsOffset: ["monitor_events_offset", (v: number) => v],
  resolved: ["resolved", (v: unknown) => JSON.stringify(v)],
};

export const CONTAINER_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

export function checkContainerName(name: string): void {
  if (!CONTAINER_NAME.test(name)) {
    throw invalidArgument(`invalid container name ${JSON.stringify(name)}: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`, "name");
  }
}

export class ContainerStore {
  constructor(
    private meta: MetadataDB,
    readonly namespace: string,
  ) {}

  create(c: Pick<ContainerRecord, "id" | "name" | "image" | "imageId" | "snapshotKey" | "spec" | "resolved" | "labels"> & { createdAt?: Date }): ContainerRecord {
    checkContainerName(c.name);
    this.meta.ensureNamespace(this.namespace);
    const res = this.meta.db
      .query(
        `INSERT OR IGNORE INTO containers (namespace, id, name, image, image_id, snapshot_key, created_at, state, spec, resolved, labels)
         VALUES (?, ?, ?, ?, ?, ?, ?, 'created', ?, ?, ?)`,
      )
      .run(this.namespace, c.id, c.name, c.image, c.imageId, c.snapshotKey, (c.createdAt ?? new Date()).getTime(),
        JSON.stringify(c.spec), JSON.stringify(c.resolved), JSON.stringify(c.labels));
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
    if (!r) throw notFound(`No such container: ${id}`, "container");
    return toRecord(r);
  }

  /** By exact name (with or without "/"), exact id, or a unique id prefix (docker's rules). */
  find(ref: string): ContainerRecord {
    const name = ref.replace(/^\//, "");
    const q = this.meta.db.query("SELECT * FROM containers WHERE namespace = ? AND (id = ? OR name = ?) ORDER BY id = ? DESC LIMIT 1").get(this.namespace, ref, name, ref) as Row | null;
    if (q) return toRecord(q);
    if (/^[0-9a-f]+$/.test(ref)) {
      const rows = this.meta.db.query("SELECT * FROM containers WHERE namespace = ? AND id LIKE ? LIMIT 2").all(this.namespace, `${ref}%`) as Row[];
      if (rows.length === 1) return toRecord(rows[0]!);
      if (rows.length > 1) throw invalidArgument(`container id prefix ${ref} is ambiguous: give more characters`, "container");
    }
    throw notFound(`No such container: ${ref}`, "container");
  }

  list(): ContainerRecord[] {
    const rows = this.meta.db.query("SELECT * FROM containers WHERE namespace = ? ORDER BY created_at DESC, id").all(this.namespace) as Row[];
    return rows.map(toRecord);
  }

  nameTaken(name: string): boolean {
    return this.meta.db.query("SELECT 1 FROM containers WHERE namespace = ? AND name = ?").get(this.namespace, name) !== null;
  }

  update(id: string, u: ContainerUpdate): void {
    const keys = Object.keys(u) as (keyof ContainerUpdate)[];
    if (keys.length === 0) return;
    const sets = keys.map((k) => `${COLUMNS[k][0]} = ?`).join(", ");
    const vals = keys.map((k) => (COLUMNS[k][1] as (v: unknown) => unknown)(u[k]));
    let res;
    try {
      res = this.meta.db.query(`UPDATE containers SET ${sets} WHERE namespace = ? AND id = ?`).run(...(vals as never[]), this.namespace, id);
    } catch (e) {
      if (u.name !== undefined && /UNIQUE/.test((e as Error).message)) {
        throw alreadyExists(`the container name "/${u.name}" is already in use; pick another name`, "name");
      }
      throw e;
    }
    if (res.changes === 0) throw notFound(`No such container: ${id}`, "container");
  }

  /** Removes the record; false when there was none. */
  delete(id: string): boolean {
    return this.meta.db.query("DELETE FROM containers WHERE namespace = ? AND id = ?").run(this.namespace, id).changes > 0;
  }
}
