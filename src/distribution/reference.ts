// Image references as docker and the distribution project spell them:
//   [domain[:port]/]path[:tag][@algorithm:hex]
// with Docker Hub normalisation: no domain → docker.io, one path component on docker.io →
// library/<name>, no tag and no digest → :latest. The first component is a domain when it
// contains '.' or ':' or is "localhost" (or has uppercase letters, which paths cannot have).

import { invalidArgument } from "../sys/errdefs.ts";
import { parseDigest } from "../content/digest.ts";

export const DEFAULT_DOMAIN = "docker.io";
const LEGACY_DOMAIN = "index.docker.io";
const OFFICIAL_PREFIX = "library/";
/** Where docker.io's registry API actually lives. */
export const DOCKER_HUB_REGISTRY = "registry-1.docker.io";

// distribution-spec: path components are [a-z0-9]+ joined by '.', '_', '__' or runs of '-'.
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DOMAIN_COMPONENT = /^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const MAX_NAME = 255;

export interface Reference {
  /** Registry host and optional port, e.g. "docker.io", "127.0.0.1:5000". */
  domain: string;
  /** Repository path, e.g. "library/busybox". */
  path: string;
  tag?: string;
  digest?: string;
}

function bad(input: string, why: string): never {
  throw invalidArgument(
    `invalid image reference ${JSON.stringify(input)}: ${why} (expected [registry[:port]/]name[:tag][@sha256:<hex>], e.g. docker.io/library/busybox:latest)`,
    "reference",
  );
}

function validDomain(d: string): boolean {
  if (d.startsWith("[")) return /^\[[0-9a-fA-F:.]+\](:\d+)?$/.test(d); // IPv6 literal
  const [host, port, ...extra] = d.split(":");
  if (extra.length > 0 || host === undefined) return false;
  if (port !== undefined && !/^\d{1,5}$/.test(port)) return false;
  return host.split(".").every((c) => DOMAIN_COMPONENT.test(c));
}

/** Parse and normalise a reference; `busybox` → docker.io/library/busybox:latest. */
export function parseReference(input: string, opts: { defaultTag?: boolean } = {}): Reference {
  if (input === "") bad(input, "it is empty");
  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    try {
      parseDigest(digest);
    } catch {
      bad(input, `"${digest}" is not a valid digest`);
    }
  }
  let tag: string | undefined;
  // A tag follows the last ':' after the last '/' (an earlier ':' is a port).
  const slash = rest.lastIndexOf("/");
  const colon = rest.lastIndexOf(":");
  if (colon > slash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) bad(input, `tag "${tag}" must be 1-128 of [A-Za-z0-9_.-], not starting with '.' or '-'`);
  }
  let domain = DEFAULT_DOMAIN;
  let path = rest;
  const firstSlash = rest.indexOf("/");
  if (firstSlash >= 0) {
    const first = rest.slice(0, firstSlash);
    if (/[.:]/.test(first) || first === "localhost" || first.toLowerCase() !== first) {
      domain = first;
      path = rest.slice(firstSlash + 1);
      if (!validDomain(domain)) bad(input, `"${domain}" is not a valid registry host[:port]`);
    }
  }
  if (domain === LEGACY_DOMAIN) domain = DEFAULT_DOMAIN;
  if (path === "") bad(input, "the repository name is empty");
  if (path.toLowerCase() !== path) bad(input, "repository names must be lowercase");
  for (const c of path.split("/")) {
    if (!PATH_COMPONENT.test(c)) bad(input, `"${c}" is not a valid name component`);
  }
  if (domain === DEFAULT_DOMAIN && !path.includes("/")) path = OFFICIAL_PREFIX + path;
  if (domain.length + 1 + path.length > MAX_NAME) bad(input, `the name is longer than ${MAX_NAME} characters`);
  if (tag === undefined && digest === undefined && opts.defaultTag !== false) tag = "latest";
  const ref: Reference = { domain, path };
  if (tag !== undefined) ref.tag = tag;
  if (digest !== undefined) ref.digest = digest;
  return ref;
}

/** "docker.io/library/busybox" */
export const repositoryName = (r: Reference): string => `${r.domain}/${r.path}`;

/** Fully qualified: "docker.io/library/busybox:latest", "x/y@sha256:…", or both. */
export function formatReference(r: Reference): string {
  return repositoryName(r) + (r.tag !== undefined ? `:${r.tag}` : "") + (r.digest !== undefined ? `@${r.digest}` : "");
}

/** The short form docker prints: "busybox:latest", "user/app:1". */
export function familiarReference(r: Reference): string {
  let name = repositoryName(r);
  if (r.domain === DEFAULT_DOMAIN) {
    name = r.path.startsWith(OFFICIAL_PREFIX) ? r.path.slice(OFFICIAL_PREFIX.length) : r.path;
  }
  return name + (r.tag !== undefined ? `:${r.tag}` : "") + (r.digest !== undefined ? `@${r.digest}` : "");
}

/** Host[:port] to talk the registry API to. */
export const registryHost = (domain: string): string => (domain === DEFAULT_DOMAIN ? DOCKER_HUB_REGISTRY : domain);
