// Pull and push as the CLI shows them: docker's progress lines (bars on a terminal, plain lines
// otherwise), credentials from docker's config.json, mirrors and insecure registries from the
// registries config (<root>/registries.json or --registries-config), plain HTTP for loopback
// registries (always) and for --tls-verify=false. A pull unpacks each layer into its snapshot as
// soon as it and the layers below it are in, so the image is ready to run when it ends.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Engine } from "../engine/engine.ts";
import { parseReference, familiarReference, formatReference } from "../distribution/reference.ts";
import { shortId } from "./format.ts";

async function client(e: Engine, insecureDomain?: string) {
  const { RegistryClient } = await import("../distribution/registry-client.ts");
  const { loadDockerConfig } = await import("../distribution/auth.ts");
  const { loadRegistriesConfig } = await import("../distribution/registries-config.ts");
  const registries = e.opts.registriesConfig !== undefined
    ? loadRegistriesConfig(e.opts.registriesConfig, true)
    : loadRegistriesConfig(join(e.opts.root, "registries.json"));
  return new RegistryClient({
    credentials: await loadDockerConfig(),
    registries,
    ...(insecureDomain ? { insecure: [insecureDomain] } : {}),
  });
}

export interface PullCliOptions {
  quiet?: boolean;
  tlsVerify?: boolean;
  platform?: string;
  /** Abort and resume a layer download after this long without a byte. */
  stallTimeoutMs?: number;
  /** Where progress goes: stdout for `pull`, stderr for `run`'s implicit pull. */
  out?: NodeJS.WriteStream;
}

/** Pull `ref` into the engine's stores and snapshots, printing docker's lines; returns the image name. */
export async function pullImage(e: Engine, ref: string, o: PullCliOptions = {}): Promise<string> {
  const { pull } = await import("../distribution/pull.ts");
  const { applyLayer, chainIDs } = await import("../snapshots/apply-layers.ts");
  const { PullDisplay } = await import("./progress.ts");
  const r = parseReference(ref);
  const out = o.out ?? process.stdout;
  const show = new PullDisplay(out, o.quiet);
  show.say(`${r.tag ?? r.digest}: Pulling from ${familiarReference({ domain: r.domain, path: r.path })}`);
  const sn = await e.snapshotter();
  mkdirSync(e.tmp, { recursive: true });
  const present = new Set<string>();
  let chains: string[] | undefined;
  // A lease keeps what this pull has committed (blobs, layer snapshots) from a concurrent GC
  // until the image record exists; it lapses by itself if this process dies.
  const { LeaseManager } = await import("../metadata/leases.ts");
  const { snapshotLeaseType } = await import("../engine/gc.ts");
  const leases = new LeaseManager(e.meta, e.content.namespace);
  const { ownerLabels, collectDeadOwners } = await import("../engine/gc.ts");
  collectDeadOwners(e);
  const lease = leases.create({ expiresInMs: 3_600_000, labels: { "berth.pull": ref, ...ownerLabels() } });
  try {
    const res = await pull(ref, {
      client: await client(e, o.tlsVerify === false ? r.domain : undefined),
      store: e.content.withLease(lease.id),
      images: e.images,
      ...(o.platform ? { platform: o.platform } : {}),
      ...(o.stallTimeoutMs !== undefined ? { stallTimeoutMs: o.stallTimeoutMs } : {}),
      onProgress: (p) => {
        if (p.kind !== "layer") return;
        if (p.status === "waiting") show.set(p.digest, "Pulling fs layer");
        else if (p.status === "downloading") show.set(p.digest, "Downloading", [p.offset, p.total]);
        else if (p.status === "stalled") show.set(p.digest, `Stalled at ${p.offset} bytes, resuming`);
        else if (p.status === "exists") present.add(p.digest);
        else show.set(p.digest, "Download complete");
      },
      unpack: async ({ index, layer, diffIDs }) => {
        chains ??= chainIDs(diffIDs);
        if (!present.has(layer.digest)) show.set(layer.digest, "Extracting");
        const applied = await applyLayer(
          sn,
          chains[index]!,
          index > 0 ? chains[index - 1] : undefined,
          { diffID: diffIDs[index]!, data: () => e.content.read(layer.digest) },
          e.tmp,
        );
        leases.addResource(lease.id, { type: snapshotLeaseType(e), id: chains[index]! });
        show.set(layer.digest, applied === undefined && present.has(layer.digest) ? "Already exists" : "Pull complete");
      },
    });
    show.flush();
    show.say(`Digest: ${res.target.digest}`);
    show.say(`Status: ${res.updated || res.transferred > 0 ? "Downloaded newer image" : "Image is up to date"} for ${familiarReference(r)}`);
    out.write(`${formatReference(r)}\n`);
    return res.name;
  } finally {
    leases.delete(lease.id);
  }
}

export async function pushImage(e: Engine, ref: string, o: { tlsVerify?: boolean; quiet?: boolean } = {}): Promise<void> {
  const { push } = await import("../distribution/push.ts");
  const r = parseReference(ref);
  const name = formatReference(r);
  const img = e.images.get(name);
  const say = (s: string) => {
    if (!o.quiet) process.stdout.write(s);
  };
  say(`The push refers to repository [${r.domain}/${r.path}]\n`);
  const res = await push(name, {
    client: await client(e, o.tlsVerify === false ? r.domain : undefined),
    store: e.content,
    target: img.target,
    onProgress: (p) => {
      if (p.kind !== "layer") return;
      if (p.status === "done") say(`${shortId(p.digest)}: Pushed\n`);
      else if (p.status === "exists") say(`${shortId(p.digest)}: Layer already exists\n`);
      else if (p.status === "mounted") say(`${shortId(p.digest)}: Mounted from another repository\n`);
    },
  });
  say(`${r.tag ?? "latest"}: digest: ${res.digest} size: ${img.target.size}\n`);
}
