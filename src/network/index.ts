// berth's network library: what the engine, the Docker API and the CRI call. No CLI code, no
// printing, no signal handlers; every step is reported on the explain channel (who: "network").
//
// Use (one NetworkManager per open metadata database):
//
//   const net = new NetworkManager({ db: meta.db, root, runroot });
//   await net.collectLeftovers((id) => engineSaysAlive(id));   // first, on any command that touches networking
//   const netnsPath = await net.createNetns(id);               // <runroot>/netns/<id>, lo up
//   const r = await net.setup({ id, name, hostname, netnsPath },
//                             [{ network: "bridge" }],          // or user networks, with ip/mac/aliases
//                             parsePublish("127.0.0.1:8080:80")); // published ports (0 = random host port)
//   // r.interfaces, r.ips, r.gateway, r.ports (host ports bound), r.dns, r.etc.{hosts,hostname,resolvConf}
//   // → pass netnsPath to the runtime as linux.namespaces [{type: "network", path}], bind r.etc files
//   await net.check(id);                                       // CNI CHECK of every plugin
//   await net.teardown(id);                                    // DEL from the cache, rows, DNS, netns; idempotent
//
//   net.create({ name, subnet?, gateway?, ipRange?, internal?, labels?, options? }) → NetworkRecord
//   net.list(), net.find(ref), net.inspect(ref) → docker's inspect JSON, net.remove(ref), net.prune()
//   net.connect(container, { network, ip?, mac?, aliases? }), net.disconnect(id, network)
//
// Parsers and file generators are pure and exported for the fronts: parsePublish (-p),
// parseAddHost (--add-host), formatHosts/formatResolvConf/formatHostname, hostResolvConf.
export { NetworkManager, DEFAULT_BRIDGE, DEFAULT_ADMIN_CHAIN, PREDEFINED, hostVethName } from "./manager.ts";
export type { NetworkManagerOptions, ContainerRef, AttachRequest, SetupOptions, SetupResult, CreateNetworkRequest, Timing } from "./manager.ts";
export type { NetworkRecord, Attachment, PublishedPort, NetworkDriver } from "./store.ts";
export { parsePublish, formatMapping, type PortMapping, type Protocol } from "./ports.ts";
export { parseAddHost, formatHosts, formatHostname, formatResolvConf, hostResolvConf, upstreamDns, applyDnsOverrides, type DnsConfig, type DnsOverrides, type ExtraHost } from "./etc-files.ts";
export { dockerInspect, dockerListRow, type DockerNetwork } from "./inspect.ts";
export { CniPluginError, DEFAULT_CNI_PATH } from "./cni/exec.ts";
export { netnsPathFor } from "./netns.ts";
