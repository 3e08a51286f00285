// The engine's metadata in one SQLite file (`<root>/meta.db`), containerd's bolt schema in tables:
// everything is scoped by namespace; blobs themselves live in the shared content store and a
// namespace only holds records of them. Garbage collection (gc.ts) decides what the records keep.

import { constants, Database } from "bun:sqlite";
import { mkdirSync, statSync } from "node:fs";
import { dirname } from "node:path";
import { invalidArgument } from "../sys/errdefs.ts";

/** Schema versions, applied in order; `PRAGMA user_version` records how many ran. A step is SQL,
 * or a function for a step that converts rows. */
const MIGRATIONS: (string | ((db: Database) => void))[] = [
  `CREATE TABLE namespaces (
     name TEXT PRIMARY KEY,
     labels TEXT NOT NULL DEFAULT '{}',
     created_at INTEGER NOT NULL
   );
   CREATE TABLE images (
     namespace TEXT NOT NULL REFERENCES namespaces(name) ON DELETE CASCADE,
     name TEXT NOT NULL,
     media_type TEXT NOT NULL,
     digest TEXT NOT NULL,
     size INTEGER NOT NULL,
     target TEXT NOT NULL,
     labels TEXT NOT NULL DEFAULT '{}',
     created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL,
     PRIMARY KEY (namespace, name)
   );
   CREATE TABLE content (
     namespace TEXT NOT NULL REFERENCES namespaces(name) ON DELETE CASCADE,
     digest TEXT NOT NULL,
     size INTEGER NOT NULL,
     labels TEXT NOT NULL DEFAULT '{}',
     created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL,
     PRIMARY KEY (namespace, digest)
   );
   CREATE TABLE leases (
     namespace TEXT NOT NULL REFERENCES namespaces(name) ON DELETE CASCADE,
     id TEXT NOT NULL,
     labels TEXT NOT NULL DEFAULT '{}',
     created_at INTEGER NOT NULL,
     PRIMARY KEY (namespace, id)
   );
   CREATE TABLE lease_resources (
     namespace TEXT NOT NULL,
     lease TEXT NOT NULL,
     type TEXT NOT NULL,
     id TEXT NOT NULL,
     PRIMARY KEY (namespace, lease, type, id),
     FOREIGN KEY (namespace, lease) REFERENCES leases(namespace, id) ON DELETE CASCADE
   );`,
  // 2: the engine's containers (typed: state columns + the front-neutral spec as JSON), exec
  // sessions, volumes and the events log. Containers of the first berth (a table made outside
  // the migrations, foreground runs only) are carried over as exited containers.
  (db) => {
    const old = db.query("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'containers'").get();
    if (old) db.run("ALTER TABLE containers RENAME TO containers_v1");
    db.run(`CREATE TABLE containers (
      namespace TEXT NOT NULL REFERENCES namespaces(name) ON DELETE CASCADE,
      id TEXT NOT NULL,
      name TEXT NOT NULL,
      image TEXT NOT NULL,
      image_id TEXT NOT NULL,
      snapshot_key TEXT NOT NULL,
      created_at INTEGER NOT NULL,
      state TEXT NOT NULL,
      pid INTEGER NOT NULL DEFAULT 0,
      exit_code INTEGER NOT NULL DEFAULT 0,
      oom_killed INTEGER NOT NULL DEFAULT 0,
      error TEXT NOT NULL DEFAULT '',
      started_at INTEGER,
      finished_at INTEGER,
      restart_count INTEGER NOT NULL DEFAULT 0,
      spec TEXT NOT NULL,
      resolved TEXT NOT NULL DEFAULT '{}',
      labels TEXT NOT NULL DEFAULT '{}',
      health TEXT,
      monitor_events_offset INTEGER NOT NULL DEFAULT 0,
      PRIMARY KEY (namespace, id),
      UNIQUE (namespace, name)
    )`);
    if (old) {
      const rows = db.query("SELECT * FROM containers_v1").all() as Record<string, unknown>[];
      for (const r of rows) {
        const cfg = JSON.parse(String(r.config ?? "{}")) as { Path?: string; Args?: string[] };
        const command = cfg.Path ? [cfg.Path, ...(cfg.Args ?? [])] : [];
        db.query(`INSERT INTO containers (namespace, id, name, image, image_id, snapshot_key, created_at, state, exit_code,
            started_at, finished_at, spec, labels) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
          .run(r.namespace as string, r.id as string, r.name as string, r.image as string, r.image_id as string, r.snapshot_key as string,
            r.created_at as number, r.status === "created" ? "created" : "exited", (r.exit_code as number | null) ?? 0,
            (r.started_at as number | null) ?? null, (r.finished_at as number | null) ?? null,
            JSON.stringify({ image: r.image, command }), String(r.labels ?? "{}"));
      }
      db.run("DROP TABLE containers_v1");
    }
    db.run(`CREATE TABLE execs (
      namespace TEXT NOT NULL REFERENCES namespaces(name) ON DELETE CASCADE,
      id TEXT NOT NULL,
      container_id TEXT NOT NULL,
      spec TEXT NOT NULL,
      state TEXT NOT NULL,
      pid INTEGER NOT NULL DEFAULT 0,
      exit_code INTEGER,
      created_at INTEGER NOT NULL,
      started_at INTEGER,
      finished_at INTEGER,
      PRIMARY KEY (namespace, id),
      FOREIGN KEY (namespace, container_id) REFERENCES containers(namespace, id) ON DELETE CASCADE
    )`);
    db.run(`CREATE TABLE volumes (
      namespace TEXT NOT NULL REFERENCES namespaces(name) ON DELETE CASCADE,
      name TEXT NOT NULL,
      driver TEXT NOT NULL,
      mountpoint TEXT NOT NULL,
      labels TEXT NOT NULL DEFAULT '{}',
      options TEXT NOT NULL DEFAULT '{}',
      anonymous INTEGER NOT NULL DEFAULT 0,
      created_at INTEGER NOT NULL,
      PRIMARY KEY (namespace, name)
    )`);
    db.run(`CREATE TABLE events (
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      namespace TEXT NOT NULL,
      time INTEGER NOT NULL,
      type TEXT NOT NULL,
      action TEXT NOT NULL,
      actor TEXT NOT NULL,
      attributes TEXT NOT NULL DEFAULT '{}'
    )`);
    db.run("CREATE INDEX events_time ON events (namespace, time)");
  },
  // 3: networks (src/network/store.ts). Host-wide like the bridges they stand for, so not
  // namespaced. subnets is a JSON list of {subnet, gateway, ipRange}; attachments and published
  // ports say which containers use a network (what `network rm` refuses on) and which host ports
  // are taken; a row is written before its CNI ADD runs, so a crash leaves it for collection.
  `CREATE TABLE networks (
     id TEXT PRIMARY KEY,
     name TEXT NOT NULL UNIQUE,
     driver TEXT NOT NULL,
     subnets TEXT NOT NULL DEFAULT '[]',
     internal INTEGER NOT NULL DEFAULT 0,
     dns INTEGER NOT NULL DEFAULT 0,
     bridge TEXT UNIQUE,
     labels TEXT NOT NULL DEFAULT '{}',
     options TEXT NOT NULL DEFAULT '{}',
     created_at INTEGER NOT NULL
   );
   CREATE TABLE network_attachments (
     container TEXT NOT NULL,
     network TEXT NOT NULL REFERENCES networks(id),
     container_name TEXT NOT NULL,
     interface TEXT NOT NULL,
     ip TEXT,
     mac TEXT,
     aliases TEXT NOT NULL DEFAULT '[]',
     created_at INTEGER NOT NULL,
     PRIMARY KEY (container, network),
     UNIQUE (container, interface)
   );
   CREATE INDEX network_attachments_by_network ON network_attachments(network);
   CREATE TABLE network_ports (
     container TEXT NOT NULL,
     network TEXT NOT NULL,
     host_ip TEXT NOT NULL,
     host_port INTEGER NOT NULL,
     container_port INTEGER NOT NULL,
     protocol TEXT NOT NULL,
     PRIMARY KEY (protocol, host_port, host_ip)
   );`,
];

/** The schema version a database has after this berth opened it. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/** The WAL size past which close() empties it (see there): about two `berth run`s of frames. */
export const WAL_TRUNCATE_AT = 256 * 1024;

function walSize(path: string): number {
  try {
    return statSync(`${path}-wal`).size;
  } catch {
    return 0;
  }
}

export class MetadataDB {
  readonly db: Database;
  readonly path: string;

  /** Opens (creating if needed) the database at `path`, e.g. `/var/lib/berth/meta.db`. */
  constructor(path: string) {
    this.path = path;
    if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path, { create: true, strict: true });
    // The busy timeout first: every later statement, the journal-mode switch included, may meet
    // another berth process's write. WAL lets readers run beside the one writer; NORMAL sync in
    // WAL keeps commits durable across a process kill (not a power cut) without an fsync each;
    // foreign keys make namespace deletes cascade.
    this.db.run("PRAGMA busy_timeout = 10000");
    this.db.run("PRAGMA journal_mode = WAL");
    this.db.run("PRAGMA synchronous = NORMAL");
    this.db.run("PRAGMA foreign_keys = ON");
    // The WAL file stays when the last connection closes (after its checkpoint): without this,
    // each berth process, one per command, made -wal and -shm anew (two new inodes, and an fsync
    // of the directory SQLite does after creating a journal) and unlinked both at its exit;
    // measured ~1 fsync and 4 inode operations per `berth run`, 1–37 ms on a loaded disk.
    if (path !== ":memory:") this.db.fileControl(constants.SQLITE_FCNTL_PERSIST_WAL, 1);
    this.migrate();
  }

  private migrate(): void {
    const row = this.db.query("PRAGMA user_version").get() as { user_version: number };
    const from = row.user_version;
    if (from > MIGRATIONS.length) {
      throw invalidArgument(
        `${this.path} has schema version ${from}, newer than this berth knows (${MIGRATIONS.length}); use a newer berth`,
        "meta.db",
      );
    }
    if (from === MIGRATIONS.length) return;
    // IMMEDIATE: the write lock is taken up front, so two berth processes opening a new database
    // at once wait for each other instead of failing; the version is read again under the lock.
    this.db.transaction(() => {
      const now = (this.db.query("PRAGMA user_version").get() as { user_version: number }).user_version;
      for (let v = now; v < MIGRATIONS.length; v++) {
        const step = MIGRATIONS[v]!;
        if (typeof step === "string") this.db.run(step);
        else step(this.db);
        this.db.run(`PRAGMA user_version = ${v + 1}`);
      }
    }).immediate();
  }

  /** A write transaction that takes the write lock first (no read→write upgrade that can fail busy). */
  write<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  close(): void {
    // Keep the WAL short when nothing else is using it. With the WAL kept (above) and no other
    // connection open, the next process finds the wal-index stale and rebuilds it by reading the
    // whole WAL, and, not knowing its frames are checkpointed, appends after them: the file grew
    // by ~115 KB per `berth run` until SQLite's 1000-page autocheckpoint, and each command's open
    // read up to ~4 MB of it. A TRUNCATE checkpoint empties it, but the next writer then starts
    // the log anew, and SQLite fsyncs a new log's header (and the directory): ~0.6 ms of the
    // next command's first write. So it is done once the WAL passes WAL_TRUNCATE_AT, every few
    // commands, and an open reads at most that much. Without waiting (busy timeout 0): a berthd
    // or another command using the database meanwhile keeps the index valid anyway.
    if (this.path !== ":memory:" && walSize(this.path) > WAL_TRUNCATE_AT) {
      try {
        this.db.run("PRAGMA busy_timeout = 0");
        this.db.query("PRAGMA wal_checkpoint(TRUNCATE)").get();
      } catch {
        // busy or locked: the close's own checkpoint, or the other user's, does the work
      }
    }
    this.db.close();
  }

  /** Create the namespace row if missing; every namespaced write calls this first. */
  ensureNamespace(name: string): void {
    validateNamespace(name);
    this.db.query("INSERT OR IGNORE INTO namespaces (name, created_at) VALUES (?, ?)").run(name, Date.now());
  }

  listNamespaces(): string[] {
    return (this.db.query("SELECT name FROM namespaces ORDER BY name").all() as { name: string }[]).map((r) => r.name);
  }

  /** Deletes a namespace and all its records; GC then frees the blobs nothing else references. */
  deleteNamespace(name: string): void {
    this.db.query("DELETE FROM namespaces WHERE name = ?").run(name);
  }
}

/** Namespace names follow containerd: a DNS-label-like identifier, so they are safe in paths. */
export function validateNamespace(name: string): void {
  if (!/^[A-Za-z0-9]([A-Za-z0-9_.-]{0,74}[A-Za-z0-9])?$/.test(name)) {
    throw invalidArgument(
      `invalid namespace ${JSON.stringify(name)}: use letters, digits, '.', '_' and '-', starting and ending with a letter or digit`,
      "namespace",
    );
  }
}

export const parseLabels = (s: string): Record<string, string> => JSON.parse(s) as Record<string, string>;
