// Copying a source into a store through one ingest, the way every caller (pull, import, tests)
// should: resume where a previous attempt stopped, verify, and treat "already there" as done.

import { internal, isBerthError } from "../sys/errdefs.ts";
import { digestOf } from "./digest.ts";
import type { Descriptor, Ingester, Status } from "./types.ts";

export interface BlobSource {
  /** Bytes starting at `offset`… */
  stream: ReadableStream<Uint8Array>;
  /** …or from this offset instead when the source cannot seek (0 → start over). */
  offset: number;
}

export interface WriteBlobOptions {
  labels?: Record<string, string>;
  signal?: AbortSignal;
  /** Called after each chunk with the ingest's status. */
  onProgress?: (status: Status) => void;
}

export interface WriteBlobResult {
  /** True when the store had the blob already and nothing was transferred. */
  existed: boolean;
  /** Offset the transfer resumed from (0 for a fresh ingest). */
  resumedFrom: number;
  /** Bytes received in this call. */
  transferred: number;
}

/**
 * Write `desc` into `store` under ingest `ref`, opening the source at the ingest's offset so an
 * interrupted transfer resumes. The blob becomes visible only if size and digest match.
 */
export async function writeBlob(
  store: Ingester,
  ref: string,
  desc: Pick<Descriptor, "digest" | "size">,
  open: (offset: number) => Promise<BlobSource>,
  opts: WriteBlobOptions = {},
): Promise<WriteBlobResult> {
  let w;
  try {
    w = await store.writer({ ref, expected: desc.digest, total: desc.size });
  } catch (e) {
    if (isBerthError(e, "AlreadyExists")) return { existed: true, resumedFrom: 0, transferred: 0 };
    throw e;
  }
  let transferred = 0;
  let resumedFrom = w.status().offset;
  try {
    if (resumedFrom > desc.size) {
      await w.truncate(0);
      resumedFrom = 0;
    }
    if (resumedFrom < desc.size || desc.size === 0) {
      const src = await open(resumedFrom);
      if (src.offset !== resumedFrom) {
        if (src.offset !== 0) throw internal(`source of ${desc.digest} resumed at byte ${src.offset}, wanted ${resumedFrom} or 0`, "offset");
        await w.truncate(0);
        resumedFrom = 0;
      }
      const reader = src.stream.getReader();
      try {
        for (;;) {
          opts.signal?.throwIfAborted();
          const { done, value } = await reader.read();
          if (done) break;
          await w.write(value);
          transferred += value.length;
          opts.onProgress?.(w.status());
        }
      } finally {
        reader.releaseLock();
      }
    }
    opts.signal?.throwIfAborted();
    try {
      await w.commit({ size: desc.size, expected: desc.digest, ...(opts.labels ? { labels: opts.labels } : {}) });
    } catch (e) {
      if (isBerthError(e, "AlreadyExists")) return { existed: true, resumedFrom, transferred };
      throw e;
    }
    return { existed: false, resumedFrom, transferred };
  } finally {
    await w.close();
  }
}

/** Write bytes held in memory (manifests, configs); returns their descriptor. */
export async function writeBytes(
  store: Ingester,
  data: Uint8Array | string,
  mediaType: string,
  labels?: Record<string, string>,
): Promise<Descriptor> {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  const digest = digestOf(bytes);
  const desc = { mediaType, digest, size: bytes.length };
  await writeBlob(
    store,
    `bytes-${digest}`,
    desc,
    async () => ({ stream: new Blob([bytes]).stream(), offset: 0 }),
    labels ? { labels } : {},
  );
  return desc;
}
