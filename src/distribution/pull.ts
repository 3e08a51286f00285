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
import type { RegistryClient } from "./registry-client.ts";
import { PullSource } from "./pull-source.ts";

export interface PullProgress {
  digest: string;
  kind: "manifest" | "config" | "layer";
  /**
   * waiting: queued ("Pulling fs layer"); exists: already in the store; downloading: bytes
   * arrived; stalled: no bytes for stallTimeoutMs, retrying from `offset`; done: verified and
   * committed.
   */
  status: "waiting" | "exists" | "downloading" | "stalled" | "done";
  offset: number;
  total: number;
}

/** One layer handed to `unpack`, with the image config's diff IDs (layer i is diffIDs[i]). */
export interface UnpackRequest {
  index: number;
  layer: Descriptor;
  diffIDs: readonly string[];
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
  /**
   * A blob download that receives no byte for this long is aborted and resumed from where it
   * stopped (a Range request), up to `retries` times (default 30 s).
   */
  stallTimeoutMs?: number;
  /** Stalls and transient network failures retried per blob (default 3). */
  retries?: number;
  /**
   * Called for each layer in order as soon as it and every layer below it are downloaded, while
   * later layers still download (unpack into snapshots during the pull, as ctr and podman do).
   * The image record is written only after the last call returns.
   */
  unpack?: (u: UnpackRequest) => Promise<void>;
}

export const DEFAULT_STALL_TIMEOUT_MS = 30_000;
export const DEFAULT_PULL_RETRIES = 3;

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
  /** The image record is new or now points elsewhere (docker's "Downloaded newer image"). */
  updated: boolean;
  /** host of the endpoint that served the manifest: a mirror or the registry itself. */
  source: string;
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

/** A stall: no byte arrived for `ms`. Retried by fetchBlob, so its field says what it is. */
function stallError(what: string, ms: number): BerthError {
  return new BerthError("Unavailable", `${what}: no data for ${(ms / 1000).toFixed(1)} s`, "stall");
}

/**
 * Fires `onStall` when kick() has not been called for `ms`. Kicked when a request starts and on
 * every chunk, so it measures zero throughput, not total time.
 */
class Watchdog {
  private timer: ReturnType<typeof setTimeout> | undefined;
  constructor(
    private ms: number,
    private onStall: () => void,
  ) {
    this.kick();
  }
  kick(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(this.onStall, this.ms);
  }
  stop(): void {
    clearTimeout(this.timer);
  }
}

/** Reads of `src` that end (with the signal's reason) as soon as `signal` aborts. */
function abortable(src: ReadableStream<Uint8Array>, signal: AbortSignal): ReadableStream<Uint8Array> {
  const reader = src.getReader();
  const aborted = new Promise<never>((_, reject) => {
    const fail = () => reject(signal.reason);
    if (signal.aborted) fail();
    else signal.addEventListener("abort", fail, { once: true });
  });
  aborted.catch(() => {});
  return new ReadableStream<Uint8Array>({
    async pull(ctrl) {
      try {
        const r = await Promise.race([reader.read(), aborted]);
        if (r.done) ctrl.close();
        else ctrl.enqueue(r.value);
      } catch (e) {
        reader.cancel(e).catch(() => {});
        ctrl.error(e);
      }
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
}

/** Worth another attempt at the same blob: a stall, or the registry dropping the connection. */
const retryable = (e: unknown) => isBerthError(e, "Unavailable") && ((e as BerthError).field === "stall" || (e as BerthError).field === "registry");

async function fetchBlob(
  source: PullSource,
  store: Store,
  desc: Descriptor,
  kind: PullProgress["kind"],
  opts: PullOptions,
  signal: AbortSignal,
): Promise<number> {
  const ref = `pull-${desc.digest}`;
  const stallMs = opts.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS;
  const maxRetries = opts.retries ?? DEFAULT_PULL_RETRIES;
  let transferred = 0;
  let retries = 0;
  for (let waits = 0; ; ) {
    const ctrl = new AbortController();
    const onAbort = () => ctrl.abort(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    const what = `${kind} ${desc.digest}`;
    const dog = new Watchdog(stallMs, () => ctrl.abort(stallError(`pulling ${what}`, stallMs)));
    let offset = 0;
    try {
      const res = await writeBlob(
        store,
        ref,
        desc,
        async (at) => {
          offset = at;
          const src = await source.openBlob(desc.digest, at, ctrl.signal);
          dog.kick();
          return { stream: abortable(src.stream, ctrl.signal), offset: src.offset };
        },
        {
          signal: ctrl.signal,
          onProgress: (s) => {
            dog.kick();
            offset = s.offset;
            opts.onProgress?.({ digest: desc.digest, kind, status: "downloading", offset: s.offset, total: desc.size });
          },
        },
      );
      transferred += res.transferred;
      opts.onProgress?.({ digest: desc.digest, kind, status: res.existed ? "exists" : "done", offset: desc.size, total: desc.size });
      return transferred;
    } catch (e) {
      signal.throwIfAborted();
      // Another pull in this process or another is fetching the same blob: wait for it.
      if (isBerthError(e, "Unavailable") && (e as BerthError).field === "ref" && waits++ < 600) {
        await Bun.sleep(100);
        continue;
      }
      if (retryable(e) && retries++ < maxRetries) {
        opts.onProgress?.({ digest: desc.digest, kind, status: "stalled", offset, total: desc.size });
        continue;
      }
      if (retryable(e)) {
        throw new BerthError("Unavailable", `${(e as Error).message}; gave up after ${maxRetries} retries (raise --stall-timeout or check the registry)`, "registry", { cause: e });
      }
      if (e instanceof BerthError && e.code === "FailedPrecondition") {
        throw failedPrecondition(`pulling ${what} from ${source.servedBy ?? source.upstream}: ${e.message}`, "digest");
      }
      throw e;
    } finally {
      dog.stop();
      signal.removeEventListener("abort", onAbort);
    }
  }
}

export async function pull(reference: string, opts: PullOptions): Promise<PullResult> {
  const ref = parseReference(reference);
  const platform = typeof opts.platform === "string" ? parsePlatform(opts.platform) : (opts.platform ?? DEFAULT_PLATFORM);
  const source = new PullSource(opts.client.pullEndpoints(ref));
  const name = formatReference(ref);

  const root = await source.fetchManifest(ref.digest ?? ref.tag ?? "latest");
  opts.signal?.throwIfAborted();
  let manifest = root;
  if (isIndexType(root.desc.mediaType)) {
    const index = parseDoc(root.body, name);
    const chosen = selectManifest(index.manifests ?? [], platform, `image index ${name}`);
    if (!isManifestType(chosen.mediaType)) {
      throw invalidArgument(`${name}: nested index ${chosen.digest} for ${platform.os}/${platform.architecture} is not supported`, "platform");
    }
    manifest = await source.fetchManifest(chosen.digest);
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
  for (const l of layers) opts.onProgress?.({ digest: l.digest, kind: "layer", status: "waiting", offset: 0, total: l.size });

  const ctrl = new AbortController();
  const onAbort = () => ctrl.abort(opts.signal?.reason);
  opts.signal?.addEventListener("abort", onAbort, { once: true });
  let transferred: number;
  try {
    // The config first (small): unpacking needs its diff IDs.
    transferred = await fetchBlob(source, opts.store, config, "config", opts, ctrl.signal);
    let diffIDs: string[] = [];
    const cfg = JSON.parse(new TextDecoder().decode(await opts.store.read(config.digest))) as { rootfs?: { diff_ids?: string[] }; os?: string; architecture?: string; variant?: string };
    // A single-platform image says its platform only in its config: one that was asked for
    // explicitly must match (as docker 25+ checks), or the user runs the wrong binary.
    if (opts.platform !== undefined && !isIndexType(root.desc.mediaType) && cfg.architecture && cfg.os
      && (cfg.os !== platform.os || cfg.architecture !== platform.architecture)) {
      throw invalidArgument(`image ${name} is for ${cfg.os}/${cfg.architecture}${cfg.variant ? `/${cfg.variant}` : ""}, which does not match the requested platform ${platform.os}/${platform.architecture}${platform.variant ? `/${platform.variant}` : ""}`, "platform");
    }
    if (opts.unpack) {
      diffIDs = cfg.rootfs?.diff_ids ?? [];
      if (diffIDs.length !== layers.length) {
        throw invalidArgument(`${name}: the config lists ${diffIDs.length} layers (rootfs.diff_ids), the manifest ${layers.length}; the image is broken`, "manifest");
      }
    }
    const downloaded = layers.map(() => Promise.withResolvers<void>());
    for (const d of downloaded) d.promise.catch(() => {});
    const downloads = mapLimit(
      layers,
      opts.concurrency ?? 3,
      async (d, i, signal) => {
        try {
          const n = await fetchBlob(source, opts.store, d, "layer", opts, signal);
          downloaded[i]!.resolve();
          return n;
        } catch (e) {
          downloaded[i]!.reject(e);
          throw e;
        }
      },
      ctrl.signal,
    );
    // Layers that never started (another failed first) fail their waiters too.
    downloads.catch((e: unknown) => downloaded.forEach((d) => d.reject(e)));
    const unpacking = (async () => {
      if (!opts.unpack) return;
      for (const [index, layer] of layers.entries()) {
        await downloaded[index]!.promise;
        ctrl.signal.throwIfAborted();
        await opts.unpack({ index, layer, diffIDs });
      }
    })();
    try {
      const [sizes] = await Promise.all([downloads, unpacking]);
      transferred += sizes.reduce((a, b) => a + b, 0);
    } catch (e) {
      // Stop the other half and wait for it, so nothing still writes when pull() rejects.
      ctrl.abort(e);
      await Promise.allSettled([downloads, unpacking]);
      throw e;
    }
  } finally {
    opts.signal?.removeEventListener("abort", onAbort);
  }

  // Manifests are stored after the blobs they reference, so a stored manifest means a whole image.
  await storeManifest(opts.store, manifest.desc, manifest.body);
  if (root !== manifest) await storeManifest(opts.store, root.desc, root.body);
  opts.onProgress?.({ digest: root.desc.digest, kind: "manifest", status: "done", offset: root.desc.size, total: root.desc.size });

  let before: string | undefined;
  try {
    before = opts.images?.get(name).target.digest;
  } catch {
    before = undefined;
  }
  opts.images?.put({ name, target: root.desc });
  return {
    updated: before !== root.desc.digest,
    name,
    target: root.desc,
    manifest: manifest.desc,
    config,
    layers,
    transferred,
    source: source.servedBy ?? source.upstream,
  };
}
