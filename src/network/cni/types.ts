// CNI 1.0 data (SPEC.md of containernetworking/cni, "Result Types" and "Error"): the typed result
// a plugin prints on ADD, and the error object it prints when it fails.

export const CNI_VERSION = "1.0.0";

export interface CniInterface {
  name: string;
  mac?: string;
  /** Set for interfaces inside the container: the netns path. */
  sandbox?: string;
}

export interface CniIp {
  /** CIDR: "10.89.0.2/24". */
  address: string;
  gateway?: string;
  /** Index into `interfaces`. */
  interface?: number;
}

export interface CniRoute {
  dst: string;
  gw?: string;
}

export interface CniDns {
  nameservers?: string[];
  domain?: string;
  search?: string[];
  options?: string[];
}

export interface CniResult {
  cniVersion: string;
  interfaces?: CniInterface[];
  ips?: CniIp[];
  routes?: CniRoute[];
  dns?: CniDns;
}

export interface CniErrorObject {
  cniVersion?: string;
  code: number;
  msg: string;
  details?: string;
}

/** One plugin's configuration inside a list (`type` names the binary). */
export type PluginConf = { type: string } & Record<string, unknown>;

export interface NetworkConfList {
  cniVersion: string;
  name: string;
  plugins: PluginConf[];
}

/** Capability arguments (CONVENTIONS.md): what the runtime passes as `runtimeConfig`. */
export interface CapabilityArgs {
  portMappings?: { hostPort: number; containerPort: number; protocol: string; hostIP?: string }[];
  ips?: string[];
  mac?: string;
}

/** A result as it is checked on the way in: anything a plugin prints is untrusted input. */
export function asResult(v: unknown, plugin: string): CniResult {
  const r = v as CniResult;
  if (!r || typeof r !== "object" || typeof r.cniVersion !== "string") {
    throw new TypeError(`CNI plugin ${plugin} printed a result without cniVersion`);
  }
  for (const ip of r.ips ?? []) if (typeof ip.address !== "string") throw new TypeError(`CNI plugin ${plugin} printed an IP without an address`);
  for (const i of r.interfaces ?? []) if (typeof i.name !== "string") throw new TypeError(`CNI plugin ${plugin} printed an interface without a name`);
  return r;
}

/** The container-side interface of a result for `ifName` and its first IPv4 address. */
export function containerSide(r: CniResult, ifName: string): { index: number; iface?: CniInterface; ip?: CniIp } {
  const index = (r.interfaces ?? []).findIndex((i) => i.name === ifName && i.sandbox);
  const ip = (r.ips ?? []).find((x) => (index < 0 || x.interface === undefined || x.interface === index) && !x.address.includes(":"));
  return { index, ...(index >= 0 ? { iface: r.interfaces![index]! } : {}), ...(ip ? { ip } : {}) };
}
