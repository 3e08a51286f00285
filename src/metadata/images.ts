// Image records: a name (a normalized reference, "docker.io/library/busybox:latest") pointing at
// a target descriptor (manifest or index). Images are GC roots: whatever their target reaches
// is kept (gc.ts).

import { alreadyExists, invalidArgument, notFound } from "../sys/errdefs.ts";
import { parseDigest } from "../content/digest.ts";
import type { Descriptor } from "../content/types.ts";
import { applyLabelUpdate } from "../content/local-store.ts";
import { parseLabels, type MetadataDB } from "./db.ts";

export interface Image {
  name: string;
  target: Descriptor;
  labels: Record<string, string>;
  createdAt: Date;
  updatedAt: Date;
}

interface Row {
  name: string;
  target: string;
  labels: string;
  created_at: number;
  updated_at: number;
}

const toImage = (r: Row): Image => ({
  name: r.name,
  target: JSON.parse(r.target) as Descriptor,
  labels: parseLabels(r.labels),
  createdAt: new Date(r.created_at),
  updatedAt: new Date(r.updated_at),
});

function validate(name: string, target: Descriptor): void {
  if (name === "") throw invalidArgument("an image name must not be empty", "name");
  if (!target || typeof target.mediaType !== "string" || target.mediaType === "") {
    throw invalidArgument(`image ${name}: target needs a mediaType`, "target.mediaType");
  }
  parseDigest(target.digest, "target.digest");
  if (!Number.isSafeInteger(target.size) || target.size < 0) {
    throw invalidArgument(`image ${name}: target size ${target.size} is not a byte count`, "target.size");
  }
}

export class ImageStore {
  constructor(
    private meta: MetadataDB,
    readonly namespace: string,
  ) {}

  get(name: string): Image {
    const r = this.meta.db
      .query("SELECT * FROM images WHERE namespace = ? AND name = ?")
      .get(this.namespace, name) as Row | null;
    if (!r) throw notFound(`image ${JSON.stringify(name)} not found in namespace ${this.namespace}; pull or load it first`, "name");
    return toImage(r);
  }

  list(filter?: (img: Image) => boolean): Image[] {
    const rows = this.meta.db.query("SELECT * FROM images WHERE namespace = ? ORDER BY name").all(this.namespace) as Row[];
    const all = rows.map(toImage);
    return filter ? all.filter(filter) : all;
  }

  create(img: Pick<Image, "name" | "target"> & { labels?: Record<string, string> }): Image {
    validate(img.name, img.target);
    this.meta.ensureNamespace(this.namespace);
    const now = Date.now();
    const res = this.meta.db
      .query(
        `INSERT OR IGNORE INTO images (namespace, name, media_type, digest, size, target, labels, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(this.namespace, img.name, img.target.mediaType, img.target.digest, img.target.size,
        JSON.stringify(img.target), JSON.stringify(img.labels ?? {}), now, now);
    if (res.changes === 0) {
      throw alreadyExists(`image ${JSON.stringify(img.name)} already exists in namespace ${this.namespace}; remove or update it`, "name");
    }
    return this.get(img.name);
  }

  /** Update target and/or labels; fieldpaths: "target", "labels", "labels.<key>" (none = all). */
  update(img: Pick<Image, "name"> & { target?: Descriptor; labels?: Record<string, string> }, fieldpaths?: string[]): Image {
    const cur = this.get(img.name);
    const all = !fieldpaths || fieldpaths.length === 0;
    const target = all || fieldpaths.includes("target") ? (img.target ?? cur.target) : cur.target;
    validate(img.name, target);
    const labelPaths = all ? undefined : fieldpaths.filter((f) => f === "labels" || f.startsWith("labels."));
    const labels =
      labelPaths === undefined
        ? (img.labels ?? cur.labels)
        : labelPaths.length === 0
          ? cur.labels
          : applyLabelUpdate(cur.labels, img.labels ?? {}, labelPaths);
    for (const f of fieldpaths ?? []) {
      if (f !== "target" && f !== "labels" && !f.startsWith("labels.")) {
        throw invalidArgument(`cannot update image field ${JSON.stringify(f)}: only target and labels change`, "fieldpaths");
      }
    }
    this.meta.db
      .query(
        `UPDATE images SET media_type = ?, digest = ?, size = ?, target = ?, labels = ?, updated_at = ?
         WHERE namespace = ? AND name = ?`,
      )
      .run(target.mediaType, target.digest, target.size, JSON.stringify(target), JSON.stringify(labels),
        Date.now(), this.namespace, img.name);
    return this.get(img.name);
  }

  /** Create, or point an existing name at a new target (what pull and tag do). */
  put(img: Pick<Image, "name" | "target"> & { labels?: Record<string, string> }): Image {
    return this.meta.db.transaction(() => {
      const exists = this.meta.db.query("SELECT 1 FROM images WHERE namespace = ? AND name = ?").get(this.namespace, img.name);
      return exists ? this.update(img, img.labels ? ["target", "labels"] : ["target"]) : this.create(img);
    }).immediate();
  }

  delete(name: string): void {
    const res = this.meta.db.query("DELETE FROM images WHERE namespace = ? AND name = ?").run(this.namespace, name);
    if (res.changes === 0) throw notFound(`image ${JSON.stringify(name)} not found in namespace ${this.namespace}`, "name");
  }
}
