// Images in and out: POST /images/create (pull, docker's JSON progress stream, X-Registry-Auth),
// POST /images/{name}/push, GET /images/get and /images/{name}/get (save), POST /images/load.
// A pull's stream starts with its first progress line, so an error before any (no such image,
// a registry that refuses) is a plain status with docker's {"message"}; after that it is an
// error line in the stream, as dockerd does.
import { shortId } from "../../docker/ids.ts";
import { createReadStream, mkdirSync, mkdtempSync, openSync, closeSync, rmSync } from "node:fs";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import type { ServerResponse } from "node:http";
import { pullImage, pushImage, type TransferStatus } from "../../engine/registry.ts";
import { familiarName, findImage, normalizeName } from "../../engine/images.ts";
import type { CredentialLookup } from "../../distribution/auth.ts";
import { parseReference, familiarReference } from "../../distribution/reference.ts";
import { BUILTIN_BUSYBOX_NAME } from "../../image/builtin-busybox.ts";
import { notFound } from "../../sys/errdefs.ts";
import { badRequest, errorReply, q, sendJson, writeChunk, type Ctx } from "./http.ts";
import { ensureBuiltin } from "./containers.ts";

/** X-Registry-Auth: base64url JSON {username, password, serveraddress}; "e30=" ({}) is none. */
export function registryAuth(header: string | undefined): CredentialLookup | undefined {
  if (!header) return undefined;
  let doc: { username?: string; password?: string; serveraddress?: string; identitytoken?: string };
  try {
    doc = JSON.parse(Buffer.from(header.replace(/-/g, "+").replace(/_/g, "/"), "base64").toString("utf8")) as typeof doc;
  } catch {
    throw badRequest("X-Registry-Auth: not base64-encoded JSON");
  }
  if (!doc.username && !doc.password) return undefined;
  const host = (doc.serveraddress ?? "").replace(/^https?:\/\//, "").replace(/\/.*$/, "");
  const creds = { username: doc.username ?? "", password: doc.password ?? "" };
  return (h) => (!host || h === host ? creds : undefined);
}

/** A JSON-lines reply whose 200 goes out with the first line. */
class ProgressStream {
  private started = false;
  constructor(private readonly c: Ctx) {}
  get res(): ServerResponse {
    return this.c.res!;
  }
  async line(obj: unknown): Promise<void> {
    if (!this.started) {
      this.started = true;
      this.res.writeHead(200, { "Content-Type": "application/json" });
    }
    await writeChunk(this.res, `${JSON.stringify(obj)}\r\n`, this.c.signal);
  }
  /** An error: a status if nothing was sent, else an error line. */
  async fail(err: unknown): Promise<void> {
    if (!this.started) throw err;
    const { message } = errorReply(err);
    await this.line({ errorDetail: { message }, error: message });
  }
  end(): void {
    if (!this.started) this.res.writeHead(200, { "Content-Type": "application/json" });
    this.res.end();
  }
}


function progressLine(s: TransferStatus): Record<string, unknown> {
  const detail = s.progress ? { current: s.progress[0], total: s.progress[1] } : {};
  return { status: s.status, progressDetail: detail, id: shortId(s.digest) };
}

export async function create(c: Ctx): Promise<void> {
  const from = q(c, "fromImage");
  if (q(c, "fromSrc") !== undefined) throw badRequest("importing a root filesystem (docker import) through the API is not supported by berth yet; use berth import");
  if (!from) throw badRequest("fromImage is required (docker pull NAME)");
  const tag = q(c, "tag");
  const ref = tag ? (tag.startsWith("sha256:") ? `${from}@${tag}` : `${from}:${tag}`) : from;
  let name: string;
  try {
    name = normalizeName(ref);
  } catch (err) {
    throw badRequest(`invalid reference format: ${ref}: ${(err as Error).message}`);
  }
  const r = parseReference(ref);
  const out = new ProgressStream(c);
  const familiar = familiarReference(r);
  if (name === BUILTIN_BUSYBOX_NAME) {
    // Offline: the built-in busybox (from the host's busybox-static) stands in for the Hub's.
    const had = !!(await findImage(c.e, ref));
    await ensureBuiltin(c.e, ref);
    await out.line({ status: `Pulling from ${familiarReference({ domain: r.domain, path: r.path })}`, id: r.tag ?? "latest" });
    const img = await findImage(c.e, ref);
    await out.line({ status: `Digest: ${img!.record.target.digest}` });
    await out.line({ status: `Status: ${had ? "Image is up to date" : "Downloaded newer image"} for ${familiar}` });
    out.end();
    return;
  }
  const credentials = registryAuth(c.req.headers["x-registry-auth"] as string | undefined);
  const platform = q(c, "platform");
  // Lines are queued in order and written with back-pressure; the pull does not wait for the client.
  let chain = Promise.resolve();
  const push = (obj: unknown) => (chain = chain.then(() => out.line(obj)));
  // "Pulling from" waits for the manifest: a missing image or a refusal is then a plain 404/401.
  let announced = false;
  const announce = () => {
    if (announced) return;
    announced = true;
    push({ status: `Pulling from ${familiarReference({ domain: r.domain, path: r.path })}`, id: r.tag ?? r.digest ?? "latest" });
  };
  try {
    const res = await pullImage(c.e, ref, {
      ...(credentials ? { credentials } : {}),
      ...(platform ? { platform } : {}),
      onStatus: (s) => {
        announce();
        void push(progressLine(s));
      },
    });
    announce();
    await chain;
    await out.line({ status: `Digest: ${res.digest}` });
    await out.line({ status: `Status: ${res.updated ? "Downloaded newer image" : "Image is up to date"} for ${familiar}` });
  } catch (err) {
    await chain.catch(() => {});
    await out.fail(err);
  }
  out.end();
}

export async function push(c: Ctx): Promise<void> {
  const tag = q(c, "tag");
  const ref = tag ? `${c.params.name}:${tag}` : c.params.name!;
  const img = await findImage(c.e, ref);
  if (!img) throw notFound(`An image does not exist locally with the tag: ${familiarName(normalizeName(ref))}`, "image");
  const credentials = registryAuth(c.req.headers["x-registry-auth"] as string | undefined);
  const out = new ProgressStream(c);
  const r = parseReference(ref);
  let chain = Promise.resolve();
  const line = (obj: unknown) => (chain = chain.then(() => out.line(obj)));
  try {
    line({ status: `The push refers to repository [${r.domain}/${r.path}]` });
    const res = await pushImage(c.e, ref, { ...(credentials ? { credentials } : {}), onStatus: (s) => void line(progressLine(s)) });
    await chain;
    await out.line({ status: `${res.tag}: digest: ${res.digest} size: ${res.size}` });
    await out.line({ progressDetail: {}, aux: { Tag: res.tag, Digest: res.digest, Size: res.size } });
  } catch (err) {
    await chain.catch(() => {});
    await out.fail(err);
  }
  out.end();
}

/** docker save: the archive (docker's manifest.json and an OCI layout in one) streamed from a temp file. */
export async function save(c: Ctx): Promise<void> {
  const names = c.params.name ? [c.params.name] : c.query.getAll("names");
  if (names.length === 0) throw badRequest("names is required (docker save IMAGE…)");
  const images = [];
  for (const n of names) {
    const img = await findImage(c.e, n);
    if (!img) throw notFound(`No such image: ${n}`, "image");
    let name = img.record.name;
    try {
      name = normalizeName(n);
      if (name !== img.record.name && !c.e.images.list().some((x) => x.name === name)) name = img.record.name;
    } catch {}
    images.push({ name, img });
  }
  const { TarWriter } = await import("../../image/tar-writer.ts");
  const { saveImages } = await import("../../engine/archive.ts");
  mkdirSync(c.e.tmp, { recursive: true });
  const dir = mkdtempSync(join(c.e.tmp, "save-"));
  const file = join(dir, "images.tar");
  try {
    const fd = openSync(file, "w", 0o600);
    try {
      await saveImages(c.e, images, new TarWriter(fd));
    } finally {
      closeSync(fd);
    }
    c.res!.writeHead(200, { "Content-Type": "application/x-tar" });
    await pipeline(createReadStream(file), c.res!).catch(() => {});
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function load(c: Ctx): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const ch of c.req) chunks.push(ch as Buffer);
  const data = new Uint8Array(Buffer.concat(chunks));
  if (data.length === 0) throw badRequest("the load body is empty: send a tar archive (docker save's, or an OCI layout)");
  const { loadSource, tarSource } = await import("../../engine/archive.ts");
  const r = await loadSource(c.e, tarSource("the uploaded archive", data));
  const lines = [...r.names.map((n) => `Loaded image: ${familiarName(n)}`), ...r.untagged.map((id) => `Loaded image ID: ${id}`)];
  c.res!.writeHead(200, { "Content-Type": "application/json" });
  c.res!.end(lines.map((l) => `${JSON.stringify({ stream: `${l}\n` })}\r\n`).join(""));
}

export { sendJson };
