// A registry API v2 client (OCI distribution-spec) on Bun's fetch. One RegistryClient per engine
// holds the auth state; `repository()` gives the calls for one repository.

import { BerthError, invalidArgument, notFound } from "../sys/errdefs.ts";
import { digestOf } from "../content/digest.ts";
import type { BlobSource } from "../content/write-blob.ts";
import type { Descriptor } from "../content/types.ts";
import { MANIFEST_ACCEPT, sniffManifestType } from "../image/media-types.ts";
import { Authorizer, type CredentialLookup } from "./auth.ts";
import { registryHost, type Reference } from "./reference.ts";
import type { RegistriesConfig } from "./registries-config.ts";

export interface RegistryClientOptions {
  /** Credentials by registry host (see loadDockerConfig). */
  credentials?: CredentialLookup;
  /** Hosts (host[:port]) reached over plain HTTP besides localhost and 127.0.0.0/8. */
  insecure?: string[];
  /** Mirrors and insecure registries (registries-config.ts). */
  registries?: RegistriesConfig;
  userAgent?: string;
  fetch?: typeof fetch;
}

/** Loopback is the only place plain HTTP is allowed without configuration. */
export function isLoopbackHost(host: string): boolean {
  const h = host.startsWith("[") ? host.slice(0, host.indexOf("]") + 1) : host.replace(/:\d+$/, "");
  return h === "localhost" || h === "[::1]" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

export class RegistryClient {
  readonly auth: Authorizer;
  private doFetch: typeof fetch;
  private insecure: Set<string>;
  private userAgent: string;
  private registries: RegistriesConfig;

  constructor(opts: RegistryClientOptions = {}) {
    this.doFetch = opts.fetch ?? fetch;
    this.auth = new Authorizer(opts.credentials ?? (() => undefined), this.doFetch);
    this.insecure = new Set(opts.insecure ?? []);
    this.registries = opts.registries ?? { registries: {} };
    for (const [name, r] of Object.entries(this.registries.registries)) {
      if (r.insecure) this.insecure.add(name);
      for (const m of r.mirrors) if (m.insecure) this.insecure.add(m.host);
    }
    this.userAgent = opts.userAgent ?? "berth/0.1";
  }

  baseURL(domain: string): string {
    const host = registryHost(domain);
    const scheme = isLoopbackHost(host) || this.insecure.has(host) || this.insecure.has(domain) ? "http" : "https";
    return `${scheme}://${host}`;
  }

  /** `forPush`: every call asks for pull,push so one token serves the whole push session. */
  repository(ref: Pick<Reference, "domain" | "path">, opts: { forPush?: boolean } = {}): Repository {
    return new Repository(this, ref.domain, ref.path, opts.forPush ?? false);
  }

  /**
   * Where a pull of `ref` may read from, in order: the registry's configured mirrors, then the
   * registry itself. Pushes use repository() and never reach a mirror.
   */
  pullEndpoints(ref: Pick<Reference, "domain" | "path">): Repository[] {
    const mirrors = this.registries.registries[ref.domain]?.mirrors ?? [];
    return [...mirrors.map((m) => new Repository(this, m.host, ref.path, false, ref.domain)), this.repository(ref)];
  }

  /**
   * One HTTP exchange with auth: a 401 is answered once from its challenge, redirects are
   * followed by hand so credentials never go to another origin (blob storage redirects).
   */
  async request(
    url: string,
    init: { method?: string; headers?: Record<string, string>; body?: Uint8Array | null; scopes: string[]; signal?: AbortSignal },
  ): Promise<Response> {
    const method = init.method ?? "GET";
    let target = new URL(url);
    const origin = target.origin;
    const host = target.host;
    let authRetried = false;
    for (let hops = 0; hops < 10; hops++) {
      const headers: Record<string, string> = { "user-agent": this.userAgent, ...init.headers };
      if (target.origin === origin) {
        const a = await this.auth.header(host, init.scopes);
        if (a) headers.authorization = a;
      }
      let res: Response;
      try {
        res = await this.doFetch(target, { method, headers, body: init.body ?? null, redirect: "manual", ...(init.signal ? { signal: init.signal } : {}) });
      } catch (e) {
        if (init.signal?.aborted) throw init.signal.reason;
        throw new BerthError("Unavailable", `registry ${target.host} is unreachable (${method} ${target.pathname}): ${networkWords(e, target.host)}`, "registry", { cause: e });
      }
      if (res.status === 401 && target.origin === origin && !authRetried) {
        await res.body?.cancel();
        authRetried = true;
        if (this.auth.onUnauthorized(host, res.headers.get("www-authenticate"))) continue;
        throw await registryError(res, method, target, "credentials");
      }
      const loc = res.headers.get("location");
      if ([301, 302, 303, 307, 308].includes(res.status) && loc && (method === "GET" || method === "HEAD")) {
        await res.body?.cancel();
        target = new URL(loc, target);
        continue;
      }
      return res;
    }
    throw new BerthError("Unavailable", `registry ${host}: too many redirects for ${url}`, "registry");
  }
}

interface RegistryErrorBody {
  errors?: { code?: string; message?: string; detail?: unknown }[];
}

/** Turn a failed response into a BerthError carrying the registry's own error codes. */
export async function registryError(res: Response, method: string, url: URL, field: string): Promise<BerthError> {
  let detail = "";
  try {
    const text = await res.text();
    try {
      const body = JSON.parse(text) as RegistryErrorBody;
      detail = (body.errors ?? []).map((e) => `${e.code ?? "?"}: ${e.message ?? ""}`).join("; ");
    } catch {
      detail = text.slice(0, 200);
    }
  } catch {
    // the body is optional
  }
  const what = `${method} ${url.host}${url.pathname}: HTTP ${res.status}${detail ? ` (${detail})` : ""}`;
  switch (res.status) {
    case 401:
    case 403:
      return new BerthError("PermissionDenied", `${what}; check the credentials for ${url.host} in config.json`, field);
    case 404:
      return notFound(what, field);
    case 400:
    case 405:
    case 416:
      return invalidArgument(what, field);
    default:
      return new BerthError(res.status >= 500 || res.status === 429 ? "Unavailable" : "Internal", what, field);
  }
}

export interface FetchedManifest {
  desc: Descriptor;
  body: Uint8Array;
}

export class Repository {
  readonly base: string;

  constructor(
    readonly client: RegistryClient,
    readonly domain: string,
    readonly path: string,
    private forPush = false,
    /** Set on a mirror: the registry it stands in for. */
    readonly mirrorOf?: string,
  ) {
    this.base = `${client.baseURL(domain)}/v2/${path}`;
  }

  /** "host/path", and for a mirror which registry it mirrors: for messages. */
  get where(): string {
    return `${this.domain}/${this.path}${this.mirrorOf ? ` (mirror of ${this.mirrorOf})` : ""}`;
  }

  private pull = () => [`repository:${this.path}:${this.forPush ? "pull,push" : "pull"}`];
  private push = () => [`repository:${this.path}:pull,push`];

  /**
   * GET a manifest by tag or digest. The descriptor's digest is computed from the bytes; when the
   * reference is a digest it must match (distribution-spec: content is verified by the client).
   */
  async fetchManifest(tagOrDigest: string, accept = MANIFEST_ACCEPT): Promise<FetchedManifest> {
    const url = `${this.base}/manifests/${tagOrDigest}`;
    const res = await this.client.request(url, { headers: { accept }, scopes: this.pull() });
    if (!res.ok) throw await registryError(res, "GET", new URL(url), "reference");
    const body = new Uint8Array(await res.arrayBuffer());
    const digest = digestOf(body);
    if (tagOrDigest.includes(":") && tagOrDigest !== digest) {
      throw new BerthError(
        "FailedPrecondition",
        `manifest ${this.domain}/${this.path}@${tagOrDigest} from the registry has digest ${digest}; refusing it`,
        "digest",
      );
    }
    const header = res.headers.get("docker-content-digest");
    if (header && header !== digest && header.startsWith("sha256:")) {
      throw new BerthError("FailedPrecondition", `manifest ${this.domain}/${this.path}:${tagOrDigest}: Docker-Content-Digest ${header} but the body is ${digest}`, "digest");
    }
    let mediaType = (res.headers.get("content-type") ?? "").split(";")[0]!.trim();
    let doc: Record<string, unknown>;
    try {
      doc = JSON.parse(new TextDecoder().decode(body)) as Record<string, unknown>;
    } catch {
      throw invalidArgument(`manifest ${this.domain}/${this.path}:${tagOrDigest} is not JSON`, "reference");
    }
    // The document's own mediaType wins over a generic Content-Type.
    const sniffed = sniffManifestType(doc);
    if (sniffed && (typeof doc.mediaType === "string" || !accept.includes(mediaType))) mediaType = sniffed;
    if (!accept.includes(mediaType)) {
      throw invalidArgument(`manifest ${this.domain}/${this.path}:${tagOrDigest} has unsupported media type ${JSON.stringify(mediaType)}`, "reference");
    }
    return { desc: { mediaType, digest, size: body.length }, body };
  }

  /** Size of a blob if the repository has it. */
  async blobSize(digest: string): Promise<number | undefined> {
    const url = `${this.base}/blobs/${digest}`;
    const res = await this.client.request(url, { method: "HEAD", scopes: this.pull() });
    if (res.status === 404) return undefined;
    if (!res.ok) throw await registryError(res, "HEAD", new URL(url), "digest");
    return Number(res.headers.get("content-length") ?? "0");
  }

  /** Open a blob at `offset` with a Range request; a server that ignores Range restarts at 0. */
  async openBlob(digest: string, offset = 0, signal?: AbortSignal): Promise<BlobSource> {
    const url = `${this.base}/blobs/${digest}`;
    const headers: Record<string, string> = {};
    if (offset > 0) headers.range = `bytes=${offset}-`;
    const res = await this.client.request(url, { headers, scopes: this.pull(), ...(signal ? { signal } : {}) });
    if (res.status === 416 && offset > 0) {
      // Our partial data is longer than the blob: start over.
      await res.body?.cancel();
      return this.openBlob(digest, 0, signal);
    }
    if (!res.ok || !res.body) throw await registryError(res, "GET", new URL(url), "digest");
    if (res.status === 206) {
      const m = /^bytes (\d+)-/.exec(res.headers.get("content-range") ?? "");
      const start = m ? Number(m[1]) : offset;
      return { stream: res.body, offset: start };
    }
    return { stream: res.body, offset: 0 };
  }

  // ---- push ---------------------------------------------------------------------------------

  /**
   * Start an upload session; with `mountFrom` ask the registry to mount the blob from another
   * repository of the same registry (distribution-spec "Mounting a blob from another repository":
   * 201 = mounted, 202 = not mounted, an upload session started instead).
   */
  async startUpload(mount?: { digest: string; from: string }): Promise<{ mounted: true } | { mounted: false; location: URL }> {
    let url = `${this.base}/blobs/uploads/`;
    const scopes = this.push();
    if (mount) {
      url += `?mount=${encodeURIComponent(mount.digest)}&from=${encodeURIComponent(mount.from)}`;
      scopes.push(`repository:${mount.from}:pull`);
    }
    const res = await this.client.request(url, { method: "POST", headers: { "content-length": "0" }, scopes });
    await res.body?.cancel();
    if (res.status === 201 && mount) return { mounted: true };
    if (res.status !== 202) throw await registryError(res, "POST", new URL(url), "push");
    const loc = res.headers.get("location");
    if (!loc) throw new BerthError("Internal", `registry ${this.domain} started an upload without a Location header`, "push");
    return { mounted: false, location: new URL(loc, url) };
  }

  /** Upload the whole blob in one PUT (monolithic upload). */
  async putBlob(location: URL, desc: Pick<Descriptor, "digest">, data: Uint8Array): Promise<void> {
    const url = new URL(location);
    url.searchParams.set("digest", desc.digest);
    const res = await this.client.request(url.href, {
      method: "PUT",
      headers: { "content-type": "application/octet-stream", "content-length": String(data.length) },
      body: data,
      scopes: this.push(),
    });
    await checkCreated(res, "PUT", url, desc.digest);
  }

  /** Send one chunk of a chunked upload; returns where the next chunk goes. */
  async patchChunk(location: URL, start: number, data: Uint8Array): Promise<URL> {
    const res = await this.client.request(location.href, {
      method: "PATCH",
      headers: {
        "content-type": "application/octet-stream",
        "content-length": String(data.length),
        // distribution-spec: inclusive byte range of this chunk.
        "content-range": `${start}-${start + data.length - 1}`,
      },
      body: data,
      scopes: this.push(),
    });
    await res.body?.cancel();
    if (res.status !== 202) throw await registryError(res, "PATCH", location, "push");
    const loc = res.headers.get("location");
    return loc ? new URL(loc, location) : location;
  }

  /** Close a chunked upload: PUT with the digest and no body. */
  async finishUpload(location: URL, digest: string): Promise<void> {
    const url = new URL(location);
    url.searchParams.set("digest", digest);
    const res = await this.client.request(url.href, {
      method: "PUT",
      headers: { "content-length": "0" },
      scopes: this.push(),
    });
    await checkCreated(res, "PUT", url, digest);
  }

  async putManifest(tagOrDigest: string, mediaType: string, body: Uint8Array): Promise<string> {
    const url = `${this.base}/manifests/${tagOrDigest}`;
    const res = await this.client.request(url, {
      method: "PUT",
      headers: { "content-type": mediaType, "content-length": String(body.length) },
      body,
      scopes: this.push(),
    });
    await checkCreated(res, "PUT", new URL(url), tagOrDigest);
    return res.headers.get("docker-content-digest") ?? digestOf(body);
  }
}

async function checkCreated(res: Response, method: string, url: URL, what: string): Promise<void> {
  if (res.status === 201 || res.status === 204) {
    await res.body?.cancel();
    return;
  }
  throw await registryError(res, method, url, what);
}

/** What went wrong on the way to a registry, in words that say what to check (not the HTTP library's). */
export function networkWords(e: unknown, host: string): string {
  const code = (e as { code?: string }).code ?? "";
  switch (code) {
    case "ECONNREFUSED": return `connection refused: nothing listens at ${host}; is the registry running, and is the port right?`;
    case "ENOTFOUND": case "EAI_AGAIN": return `the name ${host.replace(/:\d+$/, "")} does not resolve; check the registry's name (and this host's DNS)`;
    case "ETIMEDOUT": case "UND_ERR_CONNECT_TIMEOUT": return `the connection to ${host} timed out; is it reachable from here?`;
    case "ECONNRESET": return `${host} closed the connection; does it speak HTTPS? (a plain-HTTP registry needs --tls-verify=false or "insecure" in the registries config)`;
    case "EHOSTUNREACH": case "ENETUNREACH": return `no route to ${host}`;
    default:
      if (/CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_VERIFY/i.test(code)) {
        return `TLS: ${code} — the certificate of ${host} is not trusted; add its CA to the system, or use --tls-verify=false / "insecure" for a registry you trust`;
      }
      return ((e as Error).message ?? String(e)).replace(/\s*Is the computer able to access the url\?/, "");
  }
}
