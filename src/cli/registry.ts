// Pull and push as the CLI shows them: docker's progress lines, credentials from docker's
// config.json, plain HTTP for loopback registries (always) and for --tls-verify=false.
import type { Engine } from "./engine.ts";
import { parseReference, familiarReference, formatReference } from "../distribution/reference.ts";
import { shortId } from "./format.ts";

async function client(insecureDomain?: string) {
  const { RegistryClient } = await import("../distribution/registry-client.ts");
  const { loadDockerConfig } = await import("../distribution/auth.ts");
  return new RegistryClient({ credentials: await loadDockerConfig(), ...(insecureDomain ? { insecure: [insecureDomain] } : {}) });
}

export interface PullCliOptions {
  quiet?: boolean;
  tlsVerify?: boolean;
  platform?: string;
  /** Where progress goes: stdout for `pull`, stderr for `run`'s implicit pull. */
  out?: NodeJS.WriteStream;
}

/** Pull `ref` into the engine's stores, printing docker's lines; returns the image name. */
export async function pullImage(e: Engine, ref: string, o: PullCliOptions = {}): Promise<string> {
  const { pull } = await import("../distribution/pull.ts");
  const r = parseReference(ref);
  const out = o.out ?? process.stdout;
  const say = (s: string) => {
    if (!o.quiet) out.write(s);
  };
  const tty = out.isTTY === true && !o.quiet;
  say(`${r.tag ?? r.digest}: Pulling from ${familiarReference({ domain: r.domain, path: r.path })}\n`);
  const lines = new Map<string, string>();
  const order: string[] = [];
  let drawn = 0;
  const draw = () => {
    if (!tty) return;
    if (drawn > 0) out.write(`\x1b[${drawn}A`);
    for (const d of order) out.write(`\x1b[2K${shortId(d)}: ${lines.get(d)}\n`);
    drawn = order.length;
  };
  let lastDraw = 0;
  const res = await pull(ref, {
    client: await client(o.tlsVerify === false ? r.domain : undefined),
    store: e.content,
    images: e.images,
    ...(o.platform ? { platform: o.platform } : {}),
    onProgress: (p) => {
      if (p.kind !== "layer") return;
      if (!lines.has(p.digest)) order.push(p.digest);
      const line = p.status === "exists" ? "Already exists" : p.status === "done" ? "Pull complete" : `Downloading ${bar(p.offset, p.total)}`;
      const before = lines.get(p.digest);
      lines.set(p.digest, line);
      if (!tty) {
        if (p.status !== "downloading" && before !== line) say(`${shortId(p.digest)}: ${line}\n`);
        return;
      }
      const now = performance.now();
      if (p.status !== "downloading" || now - lastDraw > 100) {
        lastDraw = now;
        draw();
      }
    },
  });
  draw();
  say(`Digest: ${res.target.digest}\n`);
  say(`Status: ${res.transferred > 0 ? "Downloaded newer image" : "Image is up to date"} for ${familiarReference(r)}\n`);
  out.write(`${formatReference(r)}\n`);
  return res.name;
}

function bar(done: number, total: number): string {
  const w = 40;
  const n = total > 0 ? Math.min(w, Math.floor((done / total) * w)) : 0;
  const mb = (b: number) => `${(b / 1e6).toFixed(1)}MB`;
  return `[${"=".repeat(Math.max(0, n - 1))}${n > 0 ? ">" : ""}${" ".repeat(w - n)}] ${mb(done)}/${mb(total)}`;
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
    client: await client(o.tlsVerify === false ? r.domain : undefined),
    store: e.content,
    target: img.target,
    onProgress: (p) => {
      if (p.status === "done") say(`${shortId(p.digest)}: Pushed\n`);
      else if (p.status === "exists") say(`${shortId(p.digest)}: Layer already exists\n`);
      else if (p.status === "mounted") say(`${shortId(p.digest)}: Mounted from another repository\n`);
    },
  });
  say(`${r.tag ?? "latest"}: digest: ${res.digest} size: ${img.target.size}\n`);
}
