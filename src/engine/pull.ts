// A pull into the engine's stores for fronts that print nothing (the CRI's PullImage): the
// engine's pull (registry.ts: registries config, the lease against a concurrent GC, layers
// unpacked as they arrive) with the caller's credentials (the CRI's AuthConfig) for the image's
// registry before docker's config.json; the built-in busybox made on this machine.
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
  const r = parseReference(ref);
  const given = o.auth;
  const { pullImage: pull } = await import("./registry.ts");
  const res = await pull(e, ref, {
    ...(given ? { credentials: (host: string) => (host === r.domain || (host === "docker.io" && r.domain === "docker.io") ? given : undefined) } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
  });
  return { name: res.name, digest: res.digest };
}
