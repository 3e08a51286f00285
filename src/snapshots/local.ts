// What both local snapshotters share: the records in a bun:sqlite table (`local_snapshots`, kept
// apart from src/metadata's migrations) and one directory per snapshot, `<root>/snapshots/<id>/`.
// The drivers (overlay.ts, native.ts) only decide what goes into a new snapshot's directory,
// which mounts present it, and what usage measures.
//
// Crash consistency: a new snapshot's directory is filled under `<root>/staging/` and renamed to
// its final place inside the same SQLite transaction that inserts its record, so a record never
// points at a half-made directory. remove() deletes the record and moves the directory to
// `<root>/removed/` in one transaction, then deletes it; cleanup() finishes what a crash left.

import type { Database } from "bun:sqlite";
import { Database as SQLite } from "bun:sqlite";
import { mkdirSync, mkdtempSync, renameSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { alreadyExists, failedPrecondition, invalidArgument, notFound } from "../sys/errdefs.ts";
import { applyLabelUpdate } from "../content/local-store.ts";
import type { Info, Kind, Mount, SnapshotOptions, Snapshotter, Usage } from "./types.ts";
import { diskUsage } from "./disk-usage.ts";
import { removeTree } from "../sys/remove-tree.ts";

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS local_snapshots (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    snapshotter TEXT NOT NULL,
    key TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('active', 'view', 'committed')),
    parent_id INTEGER REFERENCES local_snapshots(id) ON DELETE RESTRICT,
    labels TEXT NOT NULL DEFAULT '{}',
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    size INTEGER NOT NULL DEFAULT 0,
    inodes INTEGER NOT NULL DEFAULT 0,
    UNIQUE (snapshotter, key)
  );
  CREATE INDEX IF NOT EXISTS local_snapshots_parent ON local_snapshots (parent_id);
  CREATE TABLE IF NOT EXISTS local_snapshot_roots (
    snapshotter TEXT PRIMARY KEY,
    root TEXT NOT NULL
  );`;

interface Row {
  id: number;
  key: string;
  kind: Kind;
  parent_id: number | null;
  labels: string;
  created_at: number;
  updated_at: number;
  size: number;
  inodes: number;
}

/** A snapshot's record with its directory and its ancestors' directories (nearest first). */
export interface SnapshotRecord {
  id: number;
  kind: Kind;
  key: string;
  /** `<root>/snapshots/<id>` */
  dir: string;
  /** Directories of the committed ancestors, parent first. */
  parentDirs: string[];
}

export interface LocalSnapshotterOptions {
  /** Directory holding the snapshot directories (e.g. /var/lib/berth/snapshots/overlay). */
  root: string;
  /**
   * The database for the records: the engine's meta.db (MetadataDB.db) or any other. Without
   * one, `<root>/metadata.db` is opened and closed with the snapshotter.
   */
  db?: Database;
  /**
   * Name of this snapshotter's records in the database (default: the driver's name), so one
   * database can hold several snapshotters. A scope belongs to one root: opening it with another
   * root is refused, as its records would point at directories that are not there.
   */
  scope?: string;
}

export abstract class LocalSnapshotter implements Snapshotter {
  /** The driver: "overlay", "native". */
  readonly name: string;
  readonly root: string;
  /** The records' name in the database. */
  private readonly scope: string;
  protected readonly db: Database;
  private readonly ownsDb: boolean;
  private closed = false;

  constructor(name: string, opts: LocalSnapshotterOptions) {
    this.name = name;
    this.root = opts.root;
    for (const d of ["snapshots", "staging", "removed"]) mkdirSync(join(opts.root, d), { recursive: true, mode: 0o700 });
    if (opts.db) {
      this.db = opts.db;
      this.ownsDb = false;
    } else {
      this.db = new SQLite(join(opts.root, "metadata.db"), { create: true, strict: true });
      this.db.run("PRAGMA journal_mode = WAL");
      this.db.run("PRAGMA busy_timeout = 5000");
      this.ownsDb = true;
    }
    this.db.run("PRAGMA foreign_keys = ON");
    this.db.run(SCHEMA);
    this.scope = opts.scope ?? name;
    this.db.query("INSERT OR IGNORE INTO local_snapshot_roots (snapshotter, root) VALUES (?, ?)").run(this.scope, this.root);
    const owner = this.db.query("SELECT root FROM local_snapshot_roots WHERE snapshotter = ?").get(this.scope) as { root: string };
    if (owner.root !== this.root) {
      if (this.ownsDb) this.db.close();
      throw failedPrecondition(
        `the ${name} snapshot records "${this.scope}" in this database belong to ${owner.root}, not ${this.root}; give this root its own scope`,
        "root",
      );
    }
  }


  /** Fill a new snapshot's (staging) directory; `parentDirs` are the ancestors, parent first. */
  protected abstract populate(dir: string, kind: Kind, parentDirs: string[]): Promise<void>;
  /** The mounts that present an active snapshot or view. */
  protected abstract mountsOf(rec: SnapshotRecord): Mount[];
  /** The directory holding a snapshot's own changes, measured by usage(). */
  protected abstract changesDir(dir: string): string;

  // ---- records ---------------------------------------------------------------------------

  private row(key: string): Row | null {
    return this.db.query("SELECT * FROM local_snapshots WHERE snapshotter = ? AND key = ?").get(this.scope, key) as Row | null;
  }

  private mustRow(key: string): Row {
    this.checkOpen();
    const r = this.row(key);
    if (!r) throw notFound(`snapshot ${JSON.stringify(key)} does not exist in the ${this.name} snapshotter`, "key");
    return r;
  }

  private rowById(id: number): Row {
    return this.db.query("SELECT * FROM local_snapshots WHERE id = ?").get(id) as Row;
  }

  private toInfo(r: Row): Info {
    const parent = r.parent_id === null ? undefined : this.rowById(r.parent_id).key;
    return {
      kind: r.kind,
      name: r.key,
      ...(parent !== undefined ? { parent } : {}),
      labels: JSON.parse(r.labels) as Record<string, string>,
      created: new Date(r.created_at),
      updated: new Date(r.updated_at),
    };
  }

  protected snapshotDir(id: number): string {
    return join(this.root, "snapshots", String(id));
  }

  private ancestorDirs(parentId: number | null): string[] {
    const dirs: string[] = [];
    for (let id = parentId; id !== null; id = this.rowById(id).parent_id) dirs.push(this.snapshotDir(id));
    return dirs;
  }

  private record(r: Row): SnapshotRecord {
    return { id: r.id, kind: r.kind, key: r.key, dir: this.snapshotDir(r.id), parentDirs: this.ancestorDirs(r.parent_id) };
  }

  /** The record of a snapshot, with directories: for appliers that write a layer in place. */
  recordOf(key: string): SnapshotRecord {
    return this.record(this.mustRow(key));
  }

  private checkOpen(): void {
    if (this.closed) throw failedPrecondition(`the ${this.name} snapshotter at ${this.root} is closed`, "snapshotter");
  }

  // ---- the interface ---------------------------------------------------------------------

  async stat(key: string): Promise<Info> {
    return this.toInfo(this.mustRow(key));
  }

  async update(info: Pick<Info, "name"> & { labels?: Record<string, string> }, fieldpaths?: string[]): Promise<Info> {
    const r = this.mustRow(info.name);
    for (const f of fieldpaths ?? []) {
      if (f !== "labels" && !f.startsWith("labels.")) {
        throw invalidArgument(`cannot update snapshot field ${JSON.stringify(f)} of ${JSON.stringify(info.name)}: only labels change`, "fieldpaths");
      }
    }
    const labels = applyLabelUpdate(JSON.parse(r.labels) as Record<string, string>, info.labels ?? {}, fieldpaths);
    this.db
      .query("UPDATE local_snapshots SET labels = ?, updated_at = ? WHERE id = ?")
      .run(JSON.stringify(labels), Math.max(Date.now(), r.updated_at + 1), r.id);
    return this.toInfo(this.rowById(r.id));
  }

  async usage(key: string): Promise<Usage> {
    const r = this.mustRow(key);
    if (r.kind === "committed") return { size: r.size, inodes: r.inodes };
    return diskUsage(this.changesDir(this.snapshotDir(r.id)));
  }

  async mounts(key: string): Promise<Mount[]> {
    const r = this.mustRow(key);
    if (r.kind === "committed") {
      throw failedPrecondition(`snapshot ${JSON.stringify(key)} is committed: only active snapshots and views have mounts; view or prepare a child of it`, "key");
    }
    return this.mountsOf(this.record(r));
  }

  prepare(key: string, parent?: string, opts: SnapshotOptions = {}): Promise<Mount[]> {
    return this.create("active", key, parent, opts);
  }

  view(key: string, parent?: string, opts: SnapshotOptions = {}): Promise<Mount[]> {
    return this.create("view", key, parent, opts);
  }

  private async create(kind: Kind, key: string, parent: string | undefined, opts: SnapshotOptions): Promise<Mount[]> {
    this.checkOpen();
    if (typeof key !== "string" || key === "") throw invalidArgument("a snapshot key must not be empty", "key");
    if (this.row(key)) throw alreadyExists(`snapshot ${JSON.stringify(key)} already exists in the ${this.name} snapshotter`, "key");
    let parentRow: Row | null = null;
    if (parent !== undefined && parent !== "") {
      parentRow = this.row(parent);
      if (!parentRow) throw notFound(`parent snapshot ${JSON.stringify(parent)} of ${JSON.stringify(key)} does not exist`, "parent");
      if (parentRow.kind !== "committed") {
        throw invalidArgument(`parent ${JSON.stringify(parent)} of ${JSON.stringify(key)} is ${parentRow.kind === "view" ? "a view" : "active"}, not committed; commit it first`, "parent");
      }
    }
    const parentDirs = this.ancestorDirs(parentRow?.id ?? null);
    const staging = mkdtempSync(join(this.root, "staging", "new-"));
    try {
      await this.populate(staging, kind, parentDirs);
      const now = Date.now();
      const id = this.db.transaction(() => {
        // Checked again inside the transaction: another caller may have raced us.
        if (this.row(key)) throw alreadyExists(`snapshot ${JSON.stringify(key)} already exists in the ${this.name} snapshotter`, "key");
        if (parentRow && !this.row(parent!)) throw notFound(`parent snapshot ${JSON.stringify(parent)} was removed meanwhile`, "parent");
        const res = this.db
          .query(`INSERT INTO local_snapshots (snapshotter, key, kind, parent_id, labels, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)`)
          .run(this.scope, key, kind, parentRow?.id ?? null, JSON.stringify(opts.labels ?? {}), now, now);
        const newId = Number(res.lastInsertRowid);
        renameSync(staging, this.snapshotDir(newId));
        return newId;
      }).immediate();
      return this.mountsOf(this.record(this.rowById(id)));
    } catch (e) {
      rmSync(staging, { recursive: true, force: true }); // what populate() made: a few directories
      throw e;
    }
  }

  async commit(name: string, key: string, opts: SnapshotOptions = {}): Promise<void> {
    const r = this.mustRow(key);
    if (typeof name !== "string" || name === "") throw invalidArgument(`commit of ${JSON.stringify(key)}: the name must not be empty`, "name");
    if (r.kind !== "active") {
      throw failedPrecondition(`cannot commit snapshot ${JSON.stringify(key)}: it is ${r.kind === "view" ? "a view (read-only)" : "already committed"}; only active snapshots commit`, "key");
    }
    if (this.row(name)) throw alreadyExists(`cannot commit ${JSON.stringify(key)} as ${JSON.stringify(name)}: that name exists already`, "name");
    const usage = await diskUsage(this.changesDir(this.snapshotDir(r.id)));
    this.db.transaction(() => {
      const cur = this.rowById(r.id);
      if (!cur || cur.kind !== "active" || cur.key !== key) throw failedPrecondition(`snapshot ${JSON.stringify(key)} changed during commit`, "key");
      if (this.row(name)) throw alreadyExists(`cannot commit ${JSON.stringify(key)} as ${JSON.stringify(name)}: that name exists already`, "name");
      const labels = opts.labels ?? (JSON.parse(cur.labels) as Record<string, string>);
      this.db
        .query("UPDATE local_snapshots SET key = ?, kind = 'committed', labels = ?, updated_at = ?, size = ?, inodes = ? WHERE id = ?")
        .run(name, JSON.stringify(labels), Date.now(), usage.size, usage.inodes, r.id);
    }).immediate();
    await this.afterCommit(this.snapshotDir(r.id));
  }

  /** A driver's tidy-up once a snapshot is committed (overlay drops its workdir). */
  protected async afterCommit(_dir: string): Promise<void> {}

  async remove(key: string): Promise<void> {
    const r = this.mustRow(key);
    const trash = join(this.root, "removed", `${r.id}-${Date.now()}`);
    this.db.transaction(() => {
      const children = this.db.query("SELECT key FROM local_snapshots WHERE parent_id = ? ORDER BY id").all(r.id) as { key: string }[];
      if (children.length > 0) {
        throw failedPrecondition(
          `cannot remove snapshot ${JSON.stringify(key)}: ${children.length} snapshot(s) depend on it (${children.slice(0, 3).map((c) => JSON.stringify(c.key)).join(", ")}); remove them first`,
          "key",
        );
      }
      this.db.query("DELETE FROM local_snapshots WHERE id = ?").run(r.id);
      try {
        renameSync(this.snapshotDir(r.id), trash);
      } catch (e) {
        if ((e as { code?: string }).code !== "ENOENT") throw e;
      }
    }).immediate();
    await removeTree(trash);
  }

  async walk(fn: (info: Info) => void | Promise<void>, filter?: (info: Info) => boolean): Promise<void> {
    this.checkOpen();
    const rows = this.db.query("SELECT * FROM local_snapshots WHERE snapshotter = ? ORDER BY id").all(this.scope) as Row[];
    for (const r of rows) {
      const info = this.toInfo(r);
      if (!filter || filter(info)) await fn(info);
    }
  }

  /** Run when no other operation is under way: it also drops staging directories. */
  async cleanup(): Promise<void> {
    this.checkOpen();
    const known = new Set(
      (this.db.query("SELECT id FROM local_snapshots WHERE snapshotter = ?").all(this.scope) as { id: number }[]).map((r) => String(r.id)),
    );
    for (const name of readdirSync(join(this.root, "snapshots"))) {
      if (!known.has(name)) await removeTree(join(this.root, "snapshots", name));
    }
    for (const d of ["staging", "removed"]) {
      for (const name of readdirSync(join(this.root, d))) await removeTree(join(this.root, d, name));
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.ownsDb) this.db.close();
  }
}
