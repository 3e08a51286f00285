// Volume records (docker's local volume driver): a name, the directory that holds the data
// (`<root>/volumes/<name>/_data`), labels and options. Anonymous volumes (an image's VOLUME, a
// `-v /path` without a name) are marked so `rm -v` and prune know them.
import { alreadyExists, notFound } from "../sys/errdefs.ts";
import type { MetadataDB } from "./db.ts";

export interface VolumeRecord {
  name: string;
  driver: string;
  mountpoint: string;
  labels: Record<string, string>;
  options: Record<string, string>;
  anonymous: boolean;
  createdAt: Date;
}

interface Row {
  name: string;
  driver: string;
  mountpoint: string;
  labels: string;
  options: string;
  anonymous: number;
  created_at: number;
}

const toRecord = (r: Row): VolumeRecord => ({
  name: r.name, driver: r.driver, mountpoint: r.mountpoint, labels: JSON.parse(r.labels) as Record<string, string>,
  options: JSON.parse(r.options) as Record<string, string>, anonymous: r.anonymous !== 0, createdAt: new Date(r.created_at),
});

export class VolumeStore {
  constructor(
    private meta: MetadataDB,
    readonly namespace: string,
  ) {}

  /** Inserts the record; false when a volume of that name exists (the caller decides). */
  insert(v: Omit<VolumeRecord, "createdAt">): boolean {
    this.meta.ensureNamespace(this.namespace);
    return this.meta.db
      .query("INSERT OR IGNORE INTO volumes (namespace, name, driver, mountpoint, labels, options, anonymous, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
      .run(this.namespace, v.name, v.driver, v.mountpoint, JSON.stringify(v.labels), JSON.stringify(v.options), v.anonymous ? 1 : 0, Date.now()).changes > 0;
  }

  create(v: Omit<VolumeRecord, "createdAt">): VolumeRecord {
    if (!this.insert(v)) throw alreadyExists(`volume ${v.name} already exists`, "name");
    return this.get(v.name);
  }

  get(name: string): VolumeRecord {
    const r = this.meta.db.query("SELECT * FROM volumes WHERE namespace = ? AND name = ?").get(this.namespace, name) as Row | null;
    if (!r) throw notFound(`no such volume: ${name}`, "volume");
    return toRecord(r);
  }

  find(name: string): VolumeRecord | undefined {
    const r = this.meta.db.query("SELECT * FROM volumes WHERE namespace = ? AND name = ?").get(this.namespace, name) as Row | null;
    return r ? toRecord(r) : undefined;
  }

  list(): VolumeRecord[] {
    return (this.meta.db.query("SELECT * FROM volumes WHERE namespace = ? ORDER BY name").all(this.namespace) as Row[]).map(toRecord);
  }

  delete(name: string): boolean {
    return this.meta.db.query("DELETE FROM volumes WHERE namespace = ? AND name = ?").run(this.namespace, name).changes > 0;
  }
}
