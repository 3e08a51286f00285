// Pull: resolve a reference, fetch the manifest (selecting a platform from an index), then the
// config and layers concurrently into the content store. Every blob goes through an ingest named
// after its digest, so a pull interrupted at any point resumes with a Range request next time,
// and nothing that fails verification ever becomes visible. The image record is written last.

import { BerthError, failedPrecondition, invalidArgument, isBerthError } from "../sys/errdefs.ts";
import { writeBlob, writeBytes } from "../content/write-blob.ts";
import type { Descriptor, Platform, Store } from "../content/types.ts";
import { isIndexType, isManifestType } from "../image/media-types.ts";
import type { ImageStore } from "../metadata/images.ts";
import { mapLimit } from "./concurrency.ts";
import { DEFAULT_PLATFORM, parsePlatform, selectManifest } from "./platform.ts";
import { formatReference, parseReference } from "./reference.ts";
import type { RegistryClient, Repository } from "./registry-client.ts";

export interface PullProgress {
  digest: string;
  kind: "manifest" | "config" | "layer";
  status: "exists" | "downloading" | "done";
  offset: number;
  total: number;
}

export interface PullOptions {
  client: RegistryClient;
  store: Store;
  /** Where to record the image; omitted → only content is fetched. */
  images?: ImageStore;
  platform?: Platform | string;
  /** Layers downloaded at once (default 3, like docker). */
  concurrency?: number;
  signal?: AbortSignal;
  onProgress?: (p: PullProgress) => void;
}

export interface PullResult {
  /** Normalised reference, the image record's name. */
  name: string;
  /** What the reference resolved to: an index or a manifest. */
  target: Descriptor;
  manifest: Descriptor;
  config: Descriptor;
  layers: Descriptor[];
  /** Bytes received from the registry in this call (resumed and present blobs excluded). */
  transferred: number;
}

interface ManifestDoc {
  schemaVersion?: number;
  mediaType?: string;
  config?: Descriptor;
  layers?: Descriptor[];
  manifests?: Descriptor[];
}

function parseDoc(body: Uint8Array, what: string): ManifestDoc {
  const doc = JSON.parse(new TextDecoder().decode(body)) as ManifestDoc;
  if (doc.schemaVersion !== 2) {
    throw invalidArgument(`${what}: schemaVersion ${doc.schemaVersion} is not supported (only 2; schema1 images must be converted)`, "manifest");
  }
  return doc;
}

async function storeManifest(store: Store, desc: Descriptor, body: Uint8Array): Promise<void> {
  try {
    await writeBytes(store, body, desc.mediaType);
  } catch (e) {
    if (!isBerthError(e, "AlreadyExists")) throw e;
  }
}

async function fetchBlob(
  repo: Repository,
  store: Store,
  desc: Descriptor,
  kind: PullProgress["kind"],
  opts: PullOptions,
  signal: AbortSignal,
): Promise<number> {
  const ref = `pull-${desc.digest}`;
  for (let attempt = 0; ; attempt++) {
    try {
      const res = await writeBlob(store, ref, desc, (offset) => repo.openBlob(desc.digest, offset, signal), {
        signal,
        onProgress: (s) => opts.onProgress?.({ digest: desc.digest, kind, status: "downloading", offset: s.offset, total: desc.size }),
      });
      opts.onProgress?.({ digest: desc.digest, kind, status: res.existed ? "exists" : "done", offset: desc.size, total: desc.size });
      return res.transferred;
    } catch (e) {
      // Another pull in this process or another is fetching the same blob: wait for it.
      if (isBerthError(e, "Unavailable") && (e as BerthError).field === "ref" && attempt < 600) {
        signal.throwIfAborted();
        await Bun.sleep(100);
        continue;
      }
      if (e instanceof BerthError && e.code === "FailedPrecondition") {
        throw failedPrecondition(`pulling ${kind} ${desc.digest} from ${repo.domain}/${repo.path}: ${e.message}`, "digest");
      }
      throw e;
    }
  }
}

export async function pull(reference: string, opts: PullOptions): Promise<PullResult> {
  const ref = parseReference(reference);
  const platform = typeof opts.platform === "string" ? parsePlatform(opts.platform) : (opts.platform ?? DEFAULT_PLATFORM);
  const repo = opts.client.repository(ref);
  const name = formatReference(ref);

  const root = await repo.fetchManifest(ref.digest ?? ref.tag ?? "latest");
  opts.signal?.throwIfAborted();
  let manifest = root;
  if (isIndexType(root.desc.mediaType)) {
    const index = parseDoc(root.body, name);
    const chosen = selectManifest(index.manifests ?? [], platform, `image index ${name}`);
    if (!isManifestType(chosen.mediaType)) {
      throw invalidArgument(`${name}: nested index ${chosen.digest} for ${platform.os}/${platform.architecture} is not supported`, "platform");
    }
    manifest = await repo.fetchManifest(chosen.digest);
    if (manifest.desc.size !== chosen.size) {
      throw failedPrecondition(`${name}: manifest ${chosen.digest} is ${manifest.desc.size} bytes, the index says ${chosen.size}`, "digest");
    }
  } else if (!isManifestType(root.desc.mediaType)) {
    throw invalidArgument(`${name} is a ${root.desc.mediaType}, not an image`, "reference");
  }
  const doc = parseDoc(manifest.body, name);
  if (!doc.config || !Array.isArray(doc.layers)) {
    throw invalidArgument(`${name}: manifest ${manifest.desc.digest} lacks config or layers`, "manifest");
  }
  const config = doc.config;
  const layers = doc.layers;

  const blobs: [Descriptor, PullProgress["kind"]][] = [[config, "config"], ...layers.map((l): [Descriptor, PullProgress["kind"]] => [l, "layer"])];
  const sizes = await mapLimit(
    blobs,
    opts.concurrency ?? 3,
    ([d, kind], _i, signal) => fetchBlob(repo, opts.store, d, kind, opts, signal),
    opts.signal,
  );

  // Manifests are stored after the blobs they reference, so a stored manifest means a whole image.
  await storeManifest(opts.store, manifest.desc, manifest.body);
  if (root !== manifest) await storeManifest(opts.store, root.desc, root.body);
  opts.onProgress?.({ digest: root.desc.digest, kind: "manifest", status: "done", offset: root.desc.size, total: root.desc.size });

  opts.images?.put({ name, target: root.desc });
  return {
    name,
    target: root.desc,
    manifest: manifest.desc,
    config,
    layers,
    transferred: sizes.reduce((a, b) => a + b, 0),
  };
}
