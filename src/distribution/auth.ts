// Registry authentication:
// - credentials from a docker-style config.json: {"auths": {"<host>": {"auth": base64("user:pass")}}}
//   (or "username"/"password" fields); Docker Hub is keyed "https://index.docker.io/v1/".
// - challenges (RFC 7235 WWW-Authenticate): `Basic realm=…` → send the credentials;
//   `Bearer realm=…,service=…,scope=…` → docker's token protocol: GET realm?service=&scope=
//   (with basic credentials if we have them), answer {"token"|"access_token", "expires_in"}.

import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { invalidArgument, BerthError } from "../sys/errdefs.ts";

export interface Credentials {
  username: string;
  password: string;
}

export type CredentialLookup = (host: string) => Credentials | undefined;

interface DockerConfig {
  auths?: Record<string, { auth?: string; username?: string; password?: string }>;
}

const HUB_KEYS = ["https://index.docker.io/v1/", "index.docker.io", "docker.io", "registry-1.docker.io"];

/** Default path of docker's credentials file: $DOCKER_CONFIG/config.json or ~/.docker/config.json. */
export function defaultDockerConfigPath(): string {
  return join(process.env.DOCKER_CONFIG ?? join(homedir(), ".docker"), "config.json");
}

/** Credentials from a docker config.json; a missing file means "no credentials". */
export async function loadDockerConfig(path = defaultDockerConfigPath()): Promise<CredentialLookup> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    if ((e as { code?: string }).code === "ENOENT") return () => undefined;
    throw e;
  }
  let cfg: DockerConfig;
  try {
    cfg = JSON.parse(text) as DockerConfig;
  } catch (e) {
    throw invalidArgument(`${path} is not valid JSON (${(e as Error).message}); fix or remove it`, path);
  }
  return credentialsFromConfig(cfg, path);
}

export function credentialsFromConfig(cfg: DockerConfig, source = "config.json"): CredentialLookup {
  const table = new Map<string, Credentials>();
  for (const [key, entry] of Object.entries(cfg.auths ?? {})) {
    let creds: Credentials | undefined;
    if (entry.auth) {
      const decoded = Buffer.from(entry.auth, "base64").toString("utf8");
      const i = decoded.indexOf(":");
      if (i < 0) throw invalidArgument(`${source}: auths["${key}"].auth is not base64 of "user:password"`, source);
      creds = { username: decoded.slice(0, i), password: decoded.slice(i + 1) };
    } else if (entry.username !== undefined && entry.password !== undefined) {
      creds = { username: entry.username, password: entry.password };
    }
    if (!creds) continue;
    // Keys may be URLs ("https://host/v1/") or bare hosts.
    const host = key.replace(/^[a-z]+:\/\//, "").replace(/\/.*$/, "");
    table.set(HUB_KEYS.includes(key) || HUB_KEYS.includes(host) ? "docker.io" : host, creds);
  }
  return (host) => table.get(HUB_KEYS.includes(host) ? "docker.io" : host);
}

export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** Parse a WWW-Authenticate header (one or more challenges). */
export function parseChallenges(header: string): Challenge[] {
  const out: Challenge[] = [];
  let i = 0;
  const s = header;
  const skipWs = () => {
    while (i < s.length && (s[i] === " " || s[i] === "\t")) i++;
  };
  while (i < s.length) {
    skipWs();
    const m = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+/.exec(s.slice(i));
    if (!m) break;
    const token = m[0];
    i += token.length;
    skipWs();
    if (s[i] === "=") {
      // A parameter of the current challenge.
      i++;
      skipWs();
      let value = "";
      if (s[i] === '"') {
        i++;
        while (i < s.length && s[i] !== '"') {
          if (s[i] === "\\" && i + 1 < s.length) i++;
          value += s[i];
          i++;
        }
        i++;
      } else {
        const v = /^[^,\s]*/.exec(s.slice(i))![0];
        value = v;
        i += v.length;
      }
      const cur = out[out.length - 1];
      if (cur) cur.params[token.toLowerCase()] = value;
    } else {
      out.push({ scheme: token.toLowerCase(), params: {} });
    }
    skipWs();
    if (s[i] === ",") i++;
  }
  return out;
}

interface CachedToken {
  token: string;
  expiresAt: number;
}

/**
 * Remembers, per registry host, how it wants to be authenticated and the tokens fetched for
 * each scope, so only the first request of a scope pays a 401 round trip.
 */
export class Authorizer {
  private challenges = new Map<string, Challenge>();
  private tokens = new Map<string, CachedToken>();
  /** Token requests in flight, so concurrent layer requests share one. */
  private pending = new Map<string, Promise<string>>();

  constructor(
    private credentials: CredentialLookup,
    private doFetch: typeof fetch = fetch,
  ) {}

  /** Authorization header for a request to `host` needing `scopes`, if we know how. */
  async header(host: string, scopes: string[]): Promise<string | undefined> {
    const ch = this.challenges.get(host);
    if (!ch) return undefined;
    if (ch.scheme === "basic") {
      const c = this.credentials(host);
      return c ? `Basic ${btoa(`${c.username}:${c.password}`)}` : undefined;
    }
    if (ch.scheme === "bearer") return `Bearer ${await this.token(host, ch, scopes)}`;
    return undefined;
  }

  /** Record a 401's challenge; returns false when we cannot answer it (no retry then). */
  onUnauthorized(host: string, header: string | null): boolean {
    const chs = parseChallenges(header ?? "");
    const ch = chs.find((c) => c.scheme === "bearer") ?? chs.find((c) => c.scheme === "basic");
    if (!ch) return false;
    const prev = this.challenges.get(host);
    this.challenges.set(host, ch);
    if (ch.scheme === "basic") return this.credentials(host) !== undefined && prev?.scheme !== "basic";
    // A second 401 for a scope we already hold a token for: the token is not enough; drop it.
    for (const k of [...this.tokens.keys()]) if (k.startsWith(`${host} `)) this.tokens.delete(k);
    return true;
  }

  private async token(host: string, ch: Challenge, scopes: string[]): Promise<string> {
    const key = `${host} ${scopes.join(" ")}`;
    const cached = this.tokens.get(key);
    if (cached && cached.expiresAt > Date.now()) return cached.token;
    let p = this.pending.get(key);
    if (!p) {
      p = this.fetchToken(host, ch, scopes, key).finally(() => this.pending.delete(key));
      this.pending.set(key, p);
    }
    return p;
  }

  private async fetchToken(host: string, ch: Challenge, scopes: string[], key: string): Promise<string> {
    const realm = ch.params.realm;
    if (!realm) throw new BerthError("PermissionDenied", `registry ${host} asked for a bearer token without a realm`, "WWW-Authenticate");
    const url = new URL(realm);
    if (ch.params.service) url.searchParams.set("service", ch.params.service);
    for (const s of scopes) url.searchParams.append("scope", s);
    const headers: Record<string, string> = {};
    const c = this.credentials(host);
    if (c) headers.authorization = `Basic ${btoa(`${c.username}:${c.password}`)}`;
    let res: Response;
    try {
      res = await this.doFetch(url, { headers });
    } catch (e) {
      throw new BerthError("Unavailable", `token server ${url.origin} for ${host} is unreachable: ${(e as Error).message}`, "realm", { cause: e });
    }
    if (!res.ok) {
      const body = await res.text().catch(() => "");
      throw new BerthError(
        res.status === 401 || res.status === 403 ? "PermissionDenied" : "Unavailable",
        `token server ${url.origin} refused ${scopes.join(" ")} for ${host}: HTTP ${res.status} ${body.slice(0, 200)}` +
          (c ? "" : "; log in (add credentials to config.json) if the repository is private"),
        "credentials",
      );
    }
    const body = (await res.json()) as { token?: string; access_token?: string; expires_in?: number };
    const token = body.token ?? body.access_token;
    if (!token) throw new BerthError("PermissionDenied", `token server ${url.origin} answered without a token`, "realm");
    // Tokens default to 60 s (token spec); renew a little early.
    const ttl = Math.max(10, (body.expires_in ?? 60) - 5) * 1000;
    this.tokens.set(key, { token, expiresAt: Date.now() + ttl });
    return token;
  }
}
