// Exec sessions (docker's exec instances, CRI's Exec): one row per process started in a running
// container besides its init, in the `execs` table of migration 2. A session is created, then
// started once; its exit is recorded by whoever sees it first (the attached client, the exec
// monitor's exit command, or a reconcile that finds the monitor gone). Rows go with their
// container (ON DELETE CASCADE).
import { notFound } from "../sys/errdefs.ts";
import type { MetadataDB } from "./db.ts";

export type ExecState = "created" | "running" | "exited";

export interface ExecRecord<Spec = unknown> {
  id: string;
  containerId: string;
  spec: Spec;
  state: ExecState;
  /** The process's host pid while it runs. */
  pid: number;
  /** Set once it exited (docker's ExitCode is null before). */
  exitCode?: number;
  createdAt: Date;
  startedAt?: Date;
  finishedAt?: Date;
}

interface Row {
  id: string;
  container_id: string;
  spec: string;
  state: string;
  pid: number;
  exit_code: number | null;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
}

const toRecord = (r: Row): ExecRecord => ({
  id: r.id,
  containerId: r.container_id,
  spec: JSON.parse(r.spec) as unknown,
  state: r.state as ExecState,
  pid: r.pid,
  ...(r.exit_code !== null ? { exitCode: r.exit_code } : {}),
  createdAt: new Date(r.created_at),
  ...(r.started_at !== null ? { startedAt: new Date(r.started_at) } : {}),
  ...(r.finished_at !== null ? { finishedAt: new Date(r.finished_at) } : {}),
});

export class ExecStore {
  constructor(
    private meta: MetadataDB,
    readonly namespace: string,
  ) {}

  create(e: { id: string; containerId: string; spec: unknown }): ExecRecord {
    this.meta.ensureNamespace(this.namespace);
    this.meta.db
      .query("INSERT INTO execs (namespace, id, container_id, spec, state, created_at) VALUES (?, ?, ?, ?, 'created', ?)")
      .run(this.namespace, e.id, e.containerId, JSON.stringify(e.spec), Date.now());
    return this.get(e.id);
  }

  get(id: string): ExecRecord {
    const r = this.meta.db.query("SELECT * FROM execs WHERE namespace = ? AND id = ?").get(this.namespace, id) as Row | null;
    if (!r) throw notFound(`No such exec instance: ${id}`, "exec");
    return toRecord(r);
  }

  /** By exact id or a unique id prefix. */
  find(ref: string): ExecRecord {
    const exact = this.meta.db.query("SELECT * FROM execs WHERE namespace = ? AND id = ?").get(this.namespace, ref) as Row | null;
    if (exact) return toRecord(exact);
    if (/^[0-9a-f]+$/.test(ref)) {
      const rows = this.meta.db.query("SELECT * FROM execs WHERE namespace = ? AND id LIKE ? LIMIT 2").all(this.namespace, `${ref}%`) as Row[];
      if (rows.length === 1) return toRecord(rows[0]!);
    }
    throw notFound(`No such exec instance: ${ref}`, "exec");
  }

  /** A container's sessions, oldest first. */
  listFor(containerId: string): ExecRecord[] {
    const rows = this.meta.db.query("SELECT * FROM execs WHERE namespace = ? AND container_id = ? ORDER BY created_at, id").all(this.namespace, containerId) as Row[];
    return rows.map(toRecord);
  }

  /** created → running, once: false when it was started already (docker: 409). */
  markRunning(id: string): boolean {
    return this.meta.db
      .query("UPDATE execs SET state = 'running', started_at = ? WHERE namespace = ? AND id = ? AND state = 'created'")
      .run(Date.now(), this.namespace, id).changes > 0;
  }

  setPid(id: string, pid: number): void {
    this.meta.db.query("UPDATE execs SET pid = ? WHERE namespace = ? AND id = ?").run(pid, this.namespace, id);
  }

  /** Records the exit once: false when it was recorded already (another process saw it first). */
  markExited(id: string, exitCode: number, finishedAt = new Date()): boolean {
    return this.meta.db
      .query("UPDATE execs SET state = 'exited', pid = 0, exit_code = ?, finished_at = ? WHERE namespace = ? AND id = ? AND state != 'exited'")
      .run(exitCode, finishedAt.getTime(), this.namespace, id).changes > 0;
  }

  delete(id: string): boolean {
    return this.meta.db.query("DELETE FROM execs WHERE namespace = ? AND id = ?").run(this.namespace, id).changes > 0;
  }

  /** All of a container's sessions (docker forgets them when the container starts again). */
  deleteFor(containerId: string): void {
    this.meta.db.query("DELETE FROM execs WHERE namespace = ? AND container_id = ?").run(this.namespace, containerId);
  }
}
