// Where a pull reads from: the registry's mirrors in configured order, then the registry itself
// (RegistryClient.pullEndpoints). Each request tries the endpoints in turn and moves on when one
// fails (unreachable, missing, refusing, or serving bytes that do not verify); what the upstream
// says is the error the caller sees, with what the mirrors said appended. Content is verified by
// digest whatever endpoint served it, so a mirror can make a pull faster but never different —
// except for tags, which a stale mirror may resolve to an older manifest (as docker's mirrors do).

import { BerthError, isBerthError } from "../sys/errdefs.ts";
import type { BlobSource } from "../content/write-blob.ts";
import type { FetchedManifest, Repository } from "./registry-client.ts";

export class PullSource {
  /** Endpoints found unreachable during this pull: not asked again. */
  private down = new Set<Repository>();
  /** The endpoint that served the manifest: blobs are asked there first. */
  private preferred: Repository | undefined;

  constructor(private readonly endpoints: Repository[]) {
    if (endpoints.length === 0) throw new BerthError("Internal", "a pull needs at least one endpoint");
  }

  /** host of the registry itself. */
  get upstream(): string {
    return this.endpoints[this.endpoints.length - 1]!.domain;
  }

  /** host of the endpoint that served the manifest, once one did. */
  get servedBy(): string | undefined {
    return this.preferred?.domain;
  }

  private order(): Repository[] {
    const live = this.endpoints.filter((e, i) => i === this.endpoints.length - 1 || !this.down.has(e));
    if (!this.preferred || !live.includes(this.preferred)) return live;
    return [this.preferred, ...live.filter((e) => e !== this.preferred)];
  }

  private async tryEach<T>(what: string, f: (r: Repository) => Promise<T>, signal?: AbortSignal): Promise<{ value: T; from: Repository }> {
    const failures: string[] = [];
    const order = this.order();
    for (const [i, r] of order.entries()) {
      try {
        return { value: await f(r), from: r };
      } catch (e) {
        signal?.throwIfAborted();
        if (!isBerthError(e) || i === order.length - 1) {
          if (failures.length > 0 && isBerthError(e)) {
            throw new BerthError(e.code, `${e.message} (mirrors tried first: ${failures.join("; ")})`, e.field, { cause: e });
          }
          throw e;
        }
        // A stall is the caller's to retry on the same endpoint, not a reason to move on.
        if (e.field === "stall") throw e;
        if (e.code === "Unavailable") this.down.add(r);
        failures.push(`${r.where}: ${e.message}`);
      }
    }
    throw new BerthError("Internal", `no endpoint left for ${what}`);
  }

  async fetchManifest(tagOrDigest: string): Promise<FetchedManifest> {
    const { value, from } = await this.tryEach(`manifest ${tagOrDigest}`, (r) => r.fetchManifest(tagOrDigest));
    this.preferred ??= from;
    return value;
  }

  openBlob(digest: string, offset: number, signal?: AbortSignal): Promise<BlobSource> {
    return this.tryEach(`blob ${digest}`, (r) => r.openBlob(digest, offset, signal), signal).then((x) => x.value);
  }
}
