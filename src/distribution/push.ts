// Push: upload what a descriptor reaches (children before parents, so the registry can validate
// every manifest it receives), then PUT the root manifest under the tag. Blobs the repository
// already has are skipped (HEAD); with `mountFrom` the registry is asked to mount a blob from
// another repository first; small blobs go in one PUT, large ones in PATCH chunks.

import { invalidArgument } from "../sys/errdefs.ts";
import type { Descriptor, Provider } from "../content/types.ts";
import { isIndexType, isManifestType } from "../image/media-types.ts";
import { mapLimit } from "./concurrency.ts";
import { parseReference } from "./reference.ts";
import type { RegistryClient, Repository } from "./registry-client.ts";

export interface PushProgress {
  digest: string;
  /** docker shows layers only; the config and other blobs go quietly. */
  kind: "layer" | "config" | "blob";
  status: "exists" | "mounted" | "uploading" | "done";
  offset: number;
  total: number;
}

export interface PushOptions {
  client: RegistryClient;
  store: Provider;
  /** The index or manifest to push (an image record's target). */
  target: Descriptor;
  /** Repositories on the same registry to try mounting blobs from. */
  mountFrom?: string[];
  /** Blobs up to this size go in one PUT (default 8 MiB); larger ones are chunked. */
  monolithicMax?: number;
  /** Size of each PATCH for chunked uploads (default 4 MiB). */
  chunkSize?: number;
  concurrency?: number;
  onProgress?: (p: PushProgress) => void;
}

export interface PushResult {
  name: string;
  digest: string;
  /** Blobs uploaded, mounted, or already there. */
  uploaded: string[];
  mounted: string[];
  skipped: string[];
}

export async function push(reference: string, opts: PushOptions): Promise<PushResult> {
  const ref = parseReference(reference);
  const repo = opts.client.repository(ref, { forPush: true });
  const result: PushResult = { name: `${ref.domain}/${ref.path}`, digest: opts.target.digest, uploaded: [], mounted: [], skipped: [] };
  const done = new Set<string>();

  const pushBlob = async (desc: Descriptor, kind: PushProgress["kind"] = "blob") => {
    if (done.has(desc.digest)) return;
    done.add(desc.digest);
    await uploadBlob(repo, desc, kind, opts, result);
  };

  const pushManifest = async (desc: Descriptor, tag?: string) => {
    const body = await opts.store.read(desc.digest);
    const doc = JSON.parse(new TextDecoder().decode(body)) as { manifests?: Descriptor[]; config?: Descriptor; layers?: Descriptor[] };
    if (isIndexType(desc.mediaType)) {
      for (const m of doc.manifests ?? []) {
        if (isManifestType(m.mediaType) || isIndexType(m.mediaType)) await pushManifest(m);
        else await pushBlob(m);
      }
    } else if (isManifestType(desc.mediaType)) {
      const blobs = [...(doc.config ? [doc.config] : []), ...(doc.layers ?? [])];
      await mapLimit(blobs, opts.concurrency ?? 3, (b: Descriptor) => pushBlob(b, b === doc.config ? "config" : "layer"));
    } else {
      throw invalidArgument(`cannot push ${desc.digest}: media type ${desc.mediaType} is not a manifest or index`, "target");
    }
    await repo.putManifest(tag ?? desc.digest, desc.mediaType, body);
  };

  await pushManifest(opts.target, ref.tag ?? ref.digest ?? opts.target.digest);
  return result;
}

async function uploadBlob(repo: Repository, desc: Descriptor, kind: PushProgress["kind"], opts: PushOptions, result: PushResult): Promise<void> {
  if ((await repo.blobSize(desc.digest)) !== undefined) {
    result.skipped.push(desc.digest);
    opts.onProgress?.({ digest: desc.digest, kind, status: "exists", offset: desc.size, total: desc.size });
    return;
  }
  let location: URL | undefined;
  for (const from of opts.mountFrom ?? []) {
    if (from === repo.path) continue;
    const r = await repo.startUpload({ digest: desc.digest, from });
    if (r.mounted) {
      result.mounted.push(desc.digest);
      opts.onProgress?.({ digest: desc.digest, kind, status: "mounted", offset: desc.size, total: desc.size });
      return;
    }
    location = r.location;
    break;
  }
  if (!location) {
    const r = await repo.startUpload();
    if (r.mounted) return;
    location = r.location;
  }
  const monolithicMax = opts.monolithicMax ?? 8 << 20;
  if (desc.size <= monolithicMax) {
    await repo.putBlob(location, desc, await opts.store.read(desc.digest));
  } else {
    const chunk = opts.chunkSize ?? 4 << 20;
    const ra = await opts.store.readerAt(desc);
    try {
      for (let off = 0; off < ra.size; off += chunk) {
        const data = await ra.readAt(off, chunk);
        location = await repo.patchChunk(location, off, data);
        opts.onProgress?.({ digest: desc.digest, kind, status: "uploading", offset: off + data.length, total: desc.size });
      }
    } finally {
      await ra.close();
    }
    await repo.finishUpload(location, desc.digest);
  }
  result.uploaded.push(desc.digest);
  opts.onProgress?.({ digest: desc.digest, kind, status: "done", offset: desc.size, total: desc.size });
}
