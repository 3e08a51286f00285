// The engine's metadata in one SQLite file (`<root>/meta.db`), containerd's bolt schema in tables:
// everything is scoped by namespace; blobs themselves live in the shared content store and a
// namespace only holds records of them. Garbage collection (gc.ts) decides what the records keep.

import { Database } from "bun:sqlite";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { invalidArgument } from "../sys/errdefs.ts";

/** Schema versions, applied in order; `PRAGMA user_version` records how many ran. */
const MIGRATIONS: string[] = [
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
  // 2: networks (src/network/store.ts). Host-wide like the bridges they stand for, so not
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

export class MetadataDB {
  readonly db: Database;
  readonly path: string;

  /** Opens (creating if needed) the database at `path`, e.g. `/var/lib/berth/meta.db`. */
  constructor(path: string) {
    this.path = path;
    if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path, { create: true, strict: true });
    // WAL lets readers run beside the one writer; foreign keys make namespace deletes cascade.
    this.db.run("PRAGMA journal_mode = WAL");
    this.db.run("PRAGMA foreign_keys = ON");
    this.db.run("PRAGMA busy_timeout = 5000");
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
    for (let v = from; v < MIGRATIONS.length; v++) {
      this.db.transaction(() => {
        this.db.run(MIGRATIONS[v]!);
        this.db.run(`PRAGMA user_version = ${v + 1}`);
      })();
    }
  }

  close(): void {
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
