// A berth network record → the CNI network configuration list that realises it for one
// container, as data (the shape of what podman 4's CNI backend writes to /etc/cni/net.d, held in
// memory and cached per container):
//   bridge   the Linux bridge, a veth pair into the netns, the address from host-local IPAM, the
//            default route (not on --internal networks)
//   portmap  published ports (DNAT, with SNAT for localhost and hairpin traffic) — only in the
//            list of a container that publishes ports: with none, the plugin has nothing to do
// and the capability arguments (CONVENTIONS.md) injected as runtimeConfig, as libcni does.
// Masquerade and the FORWARD rules are per network, not per container (network-rules.ts says
// why): the bridge plugin runs with ipMasq off and the firewall plugin is not in the list.
// Lists cached by an older berth (ipMasq on, firewall in the list) are still torn down as they
// were set up: DEL runs the cached list.
import { formatIPv4, lastOf, parseCidr, firstHost } from "../cidr.ts";
import { CNI_VERSION, type CapabilityArgs, type NetworkConfList, type PluginConf } from "./types.ts";

export interface SubnetConfig {
  subnet: string;
  gateway: string;
  ipRange?: string;
}

export interface BridgeNetwork {
  name: string;
  bridge: string;
  subnets: SubnetConfig[];
  internal: boolean;
  mtu?: number;
}

export interface ConfListOptions {
  /** host-local's lease directory (one subdirectory per network name). */
  ipamDir: string;
  /** The container publishes ports: portmap is in the list. */
  ports?: boolean;
}

export function bridgeConfList(n: BridgeNetwork, o: ConfListOptions): NetworkConfList {
  const ranges = n.subnets.map((s) => {
    const r: Record<string, string> = { subnet: s.subnet, gateway: s.gateway };
    if (s.ipRange) {
      const c = parseCidr(s.ipRange, "--ip-range");
      r.rangeStart = formatIPv4(firstHost(c));
      r.rangeEnd = formatIPv4(c.prefix >= 31 ? lastOf(c) : lastOf(c) - 1);
    }
    return [r];
  });
  const bridge: PluginConf = {
    type: "bridge",
    bridge: n.bridge,
    isGateway: true,
    ipMasq: false,
    hairpinMode: true,
    ...(n.mtu ? { mtu: n.mtu } : {}),
    capabilities: { ips: true, mac: true },
    ipam: {
      type: "host-local",
      dataDir: o.ipamDir,
      ranges,
      routes: n.internal ? [] : [{ dst: "0.0.0.0/0" }],
    },
  };
  return {
    cniVersion: CNI_VERSION,
    name: n.name,
    plugins: [bridge, ...(o.ports ? [{ type: "portmap", capabilities: { portMappings: true }, snat: true }] : [])],
  };
}

/** The stdin of plugin `index` of a list (SPEC.md "Network configuration list runtime semantics"). */
export function pluginStdin(list: NetworkConfList, index: number, caps: CapabilityArgs, prevResult?: unknown): Record<string, unknown> {
  const p = list.plugins[index]!;
  const declared = (p.capabilities ?? {}) as Record<string, boolean>;
  const runtimeConfig: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(caps)) if (declared[k] && v !== undefined && !(Array.isArray(v) && v.length === 0)) runtimeConfig[k] = v;
  return {
    cniVersion: list.cniVersion,
    name: list.name,
    ...p,
    ...(Object.keys(runtimeConfig).length ? { runtimeConfig } : {}),
    ...(prevResult !== undefined ? { prevResult } : {}),
  };
}

/** The plugins a list needs, IPAM included: all must exist before anything is created. */
export function pluginTypes(list: NetworkConfList): string[] {
  const out = new Set<string>();
  for (const p of list.plugins) {
    out.add(p.type);
    const ipam = p.ipam as { type?: string } | undefined;
    if (ipam?.type) out.add(ipam.type);
  }
  return [...out];
}
