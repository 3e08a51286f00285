// Garbage collection by references (containerd's gc: mark from roots, sweep the rest).
//
// Roots, per namespace: image targets; resources of leases that have not expired; content
// labelled `containerd.io/gc.root`. From a root, references are followed
//   - by media type: an index or manifest list references its manifests, a manifest its config
//     and layers (OCI image-spec image-index.md / manifest.md, Docker schema2);
//   - by labels `containerd.io/gc.ref.content.<anything>` = <digest>, for content whose
//     references are not in its bytes.
// Sweep: records a namespace holds but did not mark are deleted, then blobs of the shared store
// that no namespace records are deleted. Ingests in progress are left alone (leases cover them).

import type { LocalContentStore } from "../content/local-store.ts";
import type { Descriptor } from "../content/types.ts";
import { isBerthError } from "../sys/errdefs.ts";
import { MediaType, isIndexType, isManifestType } from "../image/media-types.ts";
import { parseLabels, type MetadataDB } from "./db.ts";
import { LABEL_GC_EXPIRE } from "./leases.ts";

export const LABEL_GC_ROOT = "containerd.io/gc.root";
export const LABEL_GC_REF_CONTENT_PREFIX = "containerd.io/gc.ref.content.";

export const MEDIA_TYPES = {
  ociIndex: MediaType.ociIndex,
  ociManifest: MediaType.ociManifest,
  dockerManifestList: MediaType.dockerManifestList,
  dockerManifest: MediaType.dockerManifest,
} as const;

/** Children of a manifest or index blob; other media types have none in their bytes. */
export function childrenOf(mediaType: string, blob: Uint8Array): Descriptor[] {
  if (!isIndexType(mediaType) && !isManifestType(mediaType)) return [];
  const doc = JSON.parse(new TextDecoder().decode(blob)) as {
    manifests?: Descriptor[];
    config?: Descriptor;
    layers?: Descriptor[];
    subject?: Descriptor;
  };
  const out: Descriptor[] = [];
  if (isIndexType(mediaType)) out.push(...(doc.manifests ?? []));
  else {
    if (doc.config) out.push(doc.config);
    out.push(...(doc.layers ?? []));
  }
  return out;
}

export interface GCResult {
  /** Blobs removed from the shared store. */
  removedBlobs: string[];
  /** Namespace content records removed, as "namespace/digest". */
  removedRecords: string[];
  /** Leases removed because they expired, as "namespace/id". */
  expiredLeases: string[];
}

/**
 * Run one collection over every namespace. Callers must not commit content concurrently in this
 * process (the engine serialises GC with writers; a daemon is the single writer of a root).
 */
export async function collectGarbage(meta: MetadataDB, shared: LocalContentStore, now = new Date()): Promise<GCResult> {
  const result: GCResult = { removedBlobs: [], removedRecords: [], expiredLeases: [] };

  // Expired leases go first so their resources are no longer roots.
  const leases = meta.db.query("SELECT namespace, id, labels FROM leases").all() as { namespace: string; id: string; labels: string }[];
  for (const l of leases) {
    const exp = parseLabels(l.labels)[LABEL_GC_EXPIRE];
    if (exp !== undefined && Date.parse(exp) <= now.getTime()) {
      meta.db.query("DELETE FROM leases WHERE namespace = ? AND id = ?").run(l.namespace, l.id);
      result.expiredLeases.push(`${l.namespace}/${l.id}`);
    }
  }

  const referenced = new Set<string>();
  for (const ns of meta.listNamespaces()) {
    const records = new Map<string, Record<string, string>>();
    for (const r of meta.db.query("SELECT digest, labels FROM content WHERE namespace = ?").all(ns) as { digest: string; labels: string }[]) {
      records.set(r.digest, parseLabels(r.labels));
    }
    const marked = new Set<string>();
    // Work list of (digest, media type if known).
    const todo: { digest: string; mediaType?: string }[] = [];
    for (const r of meta.db.query("SELECT target FROM images WHERE namespace = ?").all(ns) as { target: string }[]) {
      const t = JSON.parse(r.target) as Descriptor;
      todo.push({ digest: t.digest, mediaType: t.mediaType });
    }
    for (const r of meta.db
      .query("SELECT r.id FROM lease_resources r WHERE r.namespace = ? AND r.type = 'content'")
      .all(ns) as { id: string }[]) {
      todo.push({ digest: r.id });
    }
    for (const [digest, labels] of records) if (labels[LABEL_GC_ROOT] !== undefined) todo.push({ digest });

    while (todo.length > 0) {
      const { digest, mediaType } = todo.pop()!;
      const key = `${digest} ${mediaType ?? ""}`;
      if (marked.has(key)) continue;
      marked.add(key);
      marked.add(digest);
      const labels = records.get(digest);
      for (const [k, v] of Object.entries(labels ?? {})) {
        if (k.startsWith(LABEL_GC_REF_CONTENT_PREFIX)) todo.push({ digest: v });
      }
      if (mediaType && labels !== undefined && (isIndexType(mediaType) || isManifestType(mediaType))) {
        let blob: Uint8Array;
        try {
          blob = await shared.read(digest);
        } catch (e) {
          if (isBerthError(e, "NotFound")) continue; // a partial pull: nothing below it to keep
          throw e;
        }
        for (const c of childrenOf(mediaType, blob)) todo.push({ digest: c.digest, mediaType: c.mediaType });
      }
    }

    for (const digest of records.keys()) {
      if (marked.has(digest)) referenced.add(digest);
      else {
        meta.db.query("DELETE FROM content WHERE namespace = ? AND digest = ?").run(ns, digest);
        result.removedRecords.push(`${ns}/${digest}`);
      }
    }
  }

  for (const info of await shared.list()) {
    if (referenced.has(info.digest)) continue;
    try {
      await shared.delete(info.digest);
      result.removedBlobs.push(info.digest);
    } catch (e) {
      if (!isBerthError(e, "NotFound")) throw e;
    }
  }
  return result;
}
