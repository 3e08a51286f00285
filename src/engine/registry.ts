// Pull and push into and out of the engine's stores, for every front: the registry client
// (credentials from docker's config.json or the caller, mirrors and insecure registries from the
// registries config, plain HTTP for loopback registries and with tlsVerify false), a lease that
// keeps what a pull committed from a concurrent GC, each layer unpacked into its snapshot as
// soon as it and the layers below it are in. Progress goes to a callback in docker's words
// ("Pulling fs layer", "Downloading", "Extracting", "Pull complete"…); the fronts draw it.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Engine } from "./engine.ts";
import type { CredentialLookup } from "../distribution/auth.ts";
import { parseReference, formatReference } from "../distribution/reference.ts";
import { notFound } from "../sys/errdefs.ts";

export interface TransferStatus {
  digest: string;
  /** docker's status words for a layer. */
  status: string;
  /** Bytes done and total while they move. */
  progress?: [number, number];
}

export interface RegistryOptions {
  tlsVerify?: boolean;
  /** Before docker's config.json (berthd: the request's X-Registry-Auth; CRI: its AuthConfig). */
  credentials?: CredentialLookup;
  signal?: AbortSignal;
  onStatus?: (s: TransferStatus) => void;
}

async function client(e: Engine, o: RegistryOptions, insecureDomain?: string) {
  const { RegistryClient } = await import("../distribution/registry-client.ts");
  const { loadDockerConfig } = await import("../distribution/auth.ts");
  const { loadRegistriesConfig } = await import("../distribution/registries-config.ts");
  const registries = e.opts.registriesConfig !== undefined
    ? loadRegistriesConfig(e.opts.registriesConfig, true)
    : loadRegistriesConfig(join(e.opts.root, "registries.json"));
  const fromConfig = await loadDockerConfig();
  const given = o.credentials;
  return new RegistryClient({
    credentials: given ? (host) => given(host) ?? fromConfig(host) : fromConfig,
    registries,
    ...(insecureDomain ? { insecure: [insecureDomain] } : {}),
  });
}

export interface PullOutcome {
  /** The image record's name. */
  name: string;
  digest: string;
  /** Anything new arrived or the name moved. */
  updated: boolean;
}

export async function pullImage(e: Engine, ref: string, o: RegistryOptions & { platform?: string; stallTimeoutMs?: number } = {}): Promise<PullOutcome> {
  const { pull } = await import("../distribution/pull.ts");
  const { applyLayer, chainIDs } = await import("../snapshots/apply-layers.ts");
  const r = parseReference(ref);
  const say = o.onStatus ?? (() => {});
  const sn = await e.snapshotter();
  mkdirSync(e.tmp, { recursive: true });
  const present = new Set<string>();
  let chains: string[] | undefined;
  const { LeaseManager } = await import("../metadata/leases.ts");
  const { snapshotLeaseType, ownerLabels, collectDeadOwners } = await import("./gc.ts");
  const leases = new LeaseManager(e.meta, e.content.namespace);
  collectDeadOwners(e);
  // The lease lapses by itself if this process dies.
  const lease = leases.create({ expiresInMs: 3_600_000, labels: { "berth.pull": ref, ...ownerLabels() } });
  try {
    const res = await pull(ref, {
      client: await client(e, o, o.tlsVerify === false ? r.domain : undefined),
      store: e.content.withLease(lease.id),
      images: e.images,
      ...(o.platform ? { platform: o.platform } : {}),
      ...(o.stallTimeoutMs !== undefined ? { stallTimeoutMs: o.stallTimeoutMs } : {}),
      ...(o.signal ? { signal: o.signal } : {}),
      onProgress: (p) => {
        if (p.kind !== "layer") return;
        if (p.status === "waiting") say({ digest: p.digest, status: "Pulling fs layer" });
        else if (p.status === "downloading") say({ digest: p.digest, status: "Downloading", progress: [p.offset, p.total] });
        else if (p.status === "stalled") say({ digest: p.digest, status: `Stalled at ${p.offset} bytes, resuming` });
        else if (p.status === "exists") present.add(p.digest);
        else say({ digest: p.digest, status: "Download complete" });
      },
      unpack: async ({ index, layer, diffIDs }) => {
        chains ??= chainIDs(diffIDs);
        if (!present.has(layer.digest)) say({ digest: layer.digest, status: "Extracting" });
        const applied = await applyLayer(sn, chains[index]!, index > 0 ? chains[index - 1] : undefined, { diffID: diffIDs[index]!, data: () => e.content.read(layer.digest) }, e.tmp);
        leases.addResource(lease.id, { type: snapshotLeaseType(e), id: chains[index]! });
        say({ digest: layer.digest, status: applied === undefined && present.has(layer.digest) ? "Already exists" : "Pull complete" });
      },
    });
    e.emit({ type: "image", action: "pull", actor: res.name, attributes: { name: res.name } });
    return { name: res.name, digest: res.target.digest, updated: res.updated || res.transferred > 0 };
  } finally {
    leases.delete(lease.id);
  }
}

export interface PushOutcome {
  digest: string;
  size: number;
  tag: string;
}

export async function pushImage(e: Engine, ref: string, o: RegistryOptions = {}): Promise<PushOutcome> {
  const { push } = await import("../distribution/push.ts");
  const r = parseReference(ref);
  const name = formatReference(r);
  const img = e.images.get(name);
  const say = o.onStatus ?? (() => {});
  const res = await push(name, {
    client: await client(e, o, o.tlsVerify === false ? r.domain : undefined),
    store: e.content,
    target: img.target,
    onProgress: (p) => {
      if (p.kind !== "layer") return;
      if (p.status === "done") say({ digest: p.digest, status: "Pushed" });
      else if (p.status === "exists") say({ digest: p.digest, status: "Layer already exists" });
      else if (p.status === "mounted") say({ digest: p.digest, status: "Mounted from another repository" });
      else say({ digest: p.digest, status: "Pushing", progress: [p.offset, p.total] });
    },
  });
  e.emit({ type: "image", action: "push", actor: name, attributes: { name } });
  return { digest: res.digest, size: img.target.size, tag: r.tag ?? "latest" };
}

/** docker login: do these credentials open the registry (its /v2/ base, with a token if it asks)? */
export async function checkLogin(e: Engine, server: string, creds: { username: string; password: string }): Promise<void> {
  const { RegistryClient, registryError } = await import("../distribution/registry-client.ts");
  const { loadRegistriesConfig } = await import("../distribution/registries-config.ts");
  const host = server.replace(/^https?:\/\//, "").replace(/\/.*$/, "");
  const domain = host === "" || host === "index.docker.io" || host === "registry-1.docker.io" ? "docker.io" : host;
  const registries = e.opts.registriesConfig !== undefined ? loadRegistriesConfig(e.opts.registriesConfig, true) : loadRegistriesConfig(join(e.opts.root, "registries.json"));
  // Only the given credentials: a login checks them, not what config.json holds.
  const client = new RegistryClient({ credentials: () => creds, registries });
  const url = `${client.baseURL(domain)}/v2/`;
  const res = await client.request(url, { scopes: [] });
  if (res.ok) {
    await res.body?.cancel();
    return;
  }
  if (res.status === 404) throw notFound(`${url}: not a registry (HTTP 404)`, "serveraddress");
  throw await registryError(res, "GET", new URL(url), "credentials");
}
