// A pull into the engine's stores for fronts that print nothing (the CRI's PullImage): the same
// steps as the CLI's pull (src/cli/registry.ts) — registries config (mirrors, insecure), a lease
// that keeps the pull's blobs and snapshots from a concurrent GC, each layer unpacked into its
// snapshot as soon as it and the layers below it are in — with the caller's credentials (the
// CRI's AuthConfig) before docker's config.json.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Engine } from "./engine.ts";
import type { Credentials } from "../distribution/auth.ts";
import { formatReference, parseReference } from "../distribution/reference.ts";

export interface EnginePullOptions {
  /** Credentials for the image's registry (the CRI's AuthConfig). */
  auth?: Credentials;
  signal?: AbortSignal;
}

/** Pull `ref`; returns the stored name and the digest of what it points at. */
export async function pullImage(e: Engine, ref: string, o: EnginePullOptions = {}): Promise<{ name: string; digest: string }> {
  // The built-in busybox (as the CLI's run): made on this machine, so an offline node has it.
  const { BUILTIN_BUSYBOX_NAME, installBuiltinBusybox } = await import("../image/builtin-busybox.ts");
  if (formatReference(parseReference(ref)) === BUILTIN_BUSYBOX_NAME) {
    const img = await installBuiltinBusybox({ content: e.content, images: e.images });
    return { name: img.name, digest: img.index.digest };
  }
  const { pull } = await import("../distribution/pull.ts");
  const { applyLayer, chainIDs } = await import("../snapshots/apply-layers.ts");
  const { RegistryClient } = await import("../distribution/registry-client.ts");
  const { loadDockerConfig } = await import("../distribution/auth.ts");
  const { loadRegistriesConfig } = await import("../distribution/registries-config.ts");
  const { LeaseManager } = await import("../metadata/leases.ts");
  const { snapshotLeaseType, ownerLabels, collectDeadOwners } = await import("./gc.ts");
  const r = parseReference(ref);
  const registries = e.opts.registriesConfig !== undefined
    ? loadRegistriesConfig(e.opts.registriesConfig, true)
    : loadRegistriesConfig(join(e.opts.root, "registries.json"));
  const fromConfig = await loadDockerConfig();
  const given = o.auth;
  const client = new RegistryClient({
    credentials: (host) => (given && (host === r.domain || host === "docker.io" && r.domain === "docker.io") ? given : fromConfig(host)),
    registries,
  });
  const sn = await e.snapshotter();
  mkdirSync(e.tmp, { recursive: true });
  const leases = new LeaseManager(e.meta, e.content.namespace);
  collectDeadOwners(e);
  const lease = leases.create({ expiresInMs: 3_600_000, labels: { "berth.pull": ref, ...ownerLabels() } });
  let chains: string[] | undefined;
  try {
    const res = await pull(ref, {
      client, store: e.content.withLease(lease.id), images: e.images,
      ...(o.signal ? { signal: o.signal } : {}),
      unpack: async ({ index, layer, diffIDs }) => {
        chains ??= chainIDs(diffIDs);
        await applyLayer(sn, chains[index]!, index > 0 ? chains[index - 1] : undefined, { diffID: diffIDs[index]!, data: () => e.content.read(layer.digest) }, e.tmp);
        leases.addResource(lease.id, { type: snapshotLeaseType(e), id: chains[index]! });
      },
    });
    e.emit({ type: "image", action: "pull", actor: res.name, attributes: { name: res.name } });
    return { name: res.name, digest: res.target.digest };
  } finally {
    leases.delete(lease.id);
  }
}
