// Pull and push as the CLI shows them: docker's progress lines (bars on a terminal, plain lines
// otherwise) over the engine's pull and push (engine/registry.ts: credentials, mirrors, insecure
// and loopback registries, leases, layers unpacked as they arrive).
import type { Engine } from "../engine/engine.ts";
import { parseReference, familiarReference, formatReference } from "../distribution/reference.ts";
import { shortId } from "./format.ts";
import { nodeStdout } from "./stdio.ts";

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
  const engine = await import("../engine/registry.ts");
  const { PullDisplay } = await import("./progress.ts");
  const r = parseReference(ref);
  const out = o.out ?? nodeStdout();
  const show = new PullDisplay(out, o.quiet);
  show.say(`${r.tag ?? r.digest}: Pulling from ${familiarReference({ domain: r.domain, path: r.path })}`);
  const res = await engine.pullImage(e, ref, {
    ...(o.tlsVerify !== undefined ? { tlsVerify: o.tlsVerify } : {}),
    ...(o.platform ? { platform: o.platform } : {}),
    ...(o.stallTimeoutMs !== undefined ? { stallTimeoutMs: o.stallTimeoutMs } : {}),
    onStatus: (s) => show.set(s.digest, s.status, s.status === "Downloading" ? s.progress : undefined),
  });
  show.flush();
  show.say(`Digest: ${res.digest}`);
  show.say(`Status: ${res.updated ? "Downloaded newer image" : "Image is up to date"} for ${familiarReference(r)}`);
  out.write(`${formatReference(r)}\n`);
  return res.name;
}

export async function pushImage(e: Engine, ref: string, o: { tlsVerify?: boolean; quiet?: boolean } = {}): Promise<void> {
  const engine = await import("../engine/registry.ts");
  const r = parseReference(ref);
  const say = (s: string) => {
    if (!o.quiet) nodeStdout().write(s);
  };
  say(`The push refers to repository [${r.domain}/${r.path}]\n`);
  const res = await engine.pushImage(e, ref, {
    ...(o.tlsVerify !== undefined ? { tlsVerify: o.tlsVerify } : {}),
    onStatus: (s) => {
      if (s.status !== "Pushing") say(`${shortId(s.digest)}: ${s.status}\n`);
    },
  });
  say(`${res.tag}: digest: ${res.digest} size: ${res.size}\n`);
}
