// The registries config: mirrors per registry and registries reached over plain HTTP, in the
// spirit of podman's registries.conf ([[registry]] with [[registry.mirror]]) and containerd's
// hosts.toml, as one JSON file (`<root>/registries.json`, or `berth --registries-config PATH`):
//
//   {
//     "registries": {
//       "docker.io":         { "mirrors": ["mirror.lan:5000", { "location": "10.0.0.9:5000", "insecure": true }] },
//       "registry.lan:5000": { "insecure": true }
//     }
//   }
//
// A key is a registry as written in image names ("docker.io", "host:port"). `mirrors` are tried
// in order for pulls, then the registry itself; pushes only ever go to the registry. A mirror is
// "host[:port]" (HTTPS unless loopback or marked insecure) or "http://host[:port]" /
// "https://host[:port]"; it serves the same repository paths as the registry (docker's
// registry-mirrors convention: busybox on docker.io is /v2/library/busybox on the mirror).
// `insecure: true` allows plain HTTP to that host; loopback always may.

import { readFileSync } from "node:fs";
import { BerthError, invalidArgument } from "../sys/errdefs.ts";

export interface MirrorConfig {
  /** host[:port] the requests go to. */
  host: string;
  /** Plain HTTP to this mirror. */
  insecure: boolean;
}

export interface RegistryConfig {
  mirrors: MirrorConfig[];
  insecure: boolean;
}

export interface RegistriesConfig {
  /** By registry domain as in image names ("docker.io", "127.0.0.1:5000"). */
  registries: Record<string, RegistryConfig>;
}

export const EMPTY_REGISTRIES_CONFIG: RegistriesConfig = { registries: {} };

const HOST = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:.]+\])(?::\d{1,5})?$/;

function parseMirror(v: unknown, where: string): MirrorConfig {
  let location: unknown = v;
  let insecure = false;
  if (typeof v === "object" && v !== null && !Array.isArray(v)) {
    const o = v as Record<string, unknown>;
    location = o.location;
    if (o.insecure !== undefined && typeof o.insecure !== "boolean") throw invalidArgument(`${where}.insecure must be true or false`, where);
    insecure = o.insecure === true;
  }
  if (typeof location !== "string" || location === "") {
    throw invalidArgument(`${where} must be "host[:port]", "http://host[:port]" or {"location": …, "insecure": …}`, where);
  }
  let host = location;
  const scheme = /^(https?):\/\//.exec(location);
  if (scheme) {
    host = location.slice(scheme[0].length).replace(/\/+$/, "");
    if (scheme[1] === "http") insecure = true;
  }
  if (!HOST.test(host)) {
    throw invalidArgument(`${where}: ${JSON.stringify(location)} is not host[:port] (a path after the host is not supported)`, where);
  }
  return { host, insecure };
}

/** Check a parsed document; `source` names the file in errors. */
export function parseRegistriesConfig(doc: unknown, source: string): RegistriesConfig {
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) throw invalidArgument(`${source}: expected a JSON object with "registries"`, source);
  const top = doc as Record<string, unknown>;
  for (const k of Object.keys(top)) {
    if (k !== "registries") throw invalidArgument(`${source}: unknown key ${JSON.stringify(k)} (only "registries")`, source);
  }
  const regs = top.registries ?? {};
  if (typeof regs !== "object" || regs === null || Array.isArray(regs)) {
    throw invalidArgument(`${source}: "registries" must be an object keyed by registry (e.g. "docker.io")`, source);
  }
  const out: RegistriesConfig = { registries: {} };
  for (const [name, raw] of Object.entries(regs as Record<string, unknown>)) {
    const where = `${source}: registries.${name}`;
    if (!HOST.test(name)) throw invalidArgument(`${where}: the key must be a registry host[:port] as in image names`, where);
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw invalidArgument(`${where} must be an object with "mirrors" and/or "insecure"`, where);
    const r = raw as Record<string, unknown>;
    for (const k of Object.keys(r)) {
      if (k !== "mirrors" && k !== "insecure") throw invalidArgument(`${where}: unknown key ${JSON.stringify(k)} (use "mirrors", "insecure")`, where);
    }
    if (r.insecure !== undefined && typeof r.insecure !== "boolean") throw invalidArgument(`${where}.insecure must be true or false`, where);
    if (r.mirrors !== undefined && !Array.isArray(r.mirrors)) throw invalidArgument(`${where}.mirrors must be a list`, where);
    out.registries[name] = {
      insecure: r.insecure === true,
      mirrors: ((r.mirrors as unknown[] | undefined) ?? []).map((m, i) => parseMirror(m, `${where}.mirrors[${i}]`)),
    };
  }
  return out;
}

/**
 * Read a registries config. A missing file is an empty config unless `required` (a path the
 * user gave explicitly).
 */
export function loadRegistriesConfig(path: string, required = false): RegistriesConfig {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === "ENOENT" && !required) return EMPTY_REGISTRIES_CONFIG;
    throw new BerthError(code === "ENOENT" ? "NotFound" : "Internal", `registries config ${path}: ${(e as Error).message}`, "--registries-config");
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw invalidArgument(`registries config ${path} is not valid JSON: ${(e as Error).message}`, "--registries-config");
  }
  return parseRegistriesConfig(doc, path);
}
