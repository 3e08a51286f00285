// The network library's core: network records (create, list, inspect, remove, prune, the default
// `bridge`), and per container setup/teardown/connect/disconnect through the CNI plugins, with
// the result cache that makes teardown work after a crash, and collection of dead containers'
// leftovers. Returns data; never prints (steps go to the explain channel).
import type { Database } from "bun:sqlite";
import { hashOf, randomString } from "../sys/digest.ts";
import { rmSync, existsSync } from "node:fs";
import { join } from "node:path";
import { explain } from "../explain/channel.ts";
import { alreadyExists, BerthError, failedPrecondition, invalidArgument, notFound } from "../sys/errdefs.ts";
import { Aardvark, aardvarkNetworkFile, type DnsRecord } from "./aardvark.ts";
import { contains, firstHost, formatCidr, formatIPv4, isUsableHost, parseCidr, parseIPv4, within, type Cidr } from "./cidr.ts";
import { CniCache, type CacheEntry } from "./cni/cache.ts";
import { bridgeConfList, pluginStdin, pluginTypes, type SubnetConfig } from "./cni/conflist.ts";
import { DEFAULT_CNI_PATH, execPlugin, findPlugin } from "./cni/exec.ts";
import { containerSide, CNI_VERSION, type CapabilityArgs, type CniResult, type NetworkConfList } from "./cni/types.ts";
import { applyDnsOverrides, formatHostname, formatHosts, formatResolvConf, hostResolvConf, type DnsConfig, type DnsOverrides, type ExtraHost } from "./etc-files.ts";
import { HostStateFile } from "./host-state.ts";
import { NetworkRules, type RulesNetwork } from "./network-rules.ts";
import { dockerInspect, type DockerNetwork } from "./inspect.ts";
import { addedRules, iptablesSave, masqueradeChain, natChainExists, removeMasquerade } from "./iptables.ts";
import { bridgePorts, deleteLink, LINK_NAME, linkExists, renameLink } from "./links.ts";
import { createNetns as makeNetns, listNetns, mountPoints, netnsInUse, netnsPathFor, removeNetns, type NetnsMaker } from "./netns.ts";
import { blocks, ephemeralRange, formatMapping, parsePortmapDnat, readHostListeners, type HeldPort, type PortMapping } from "./ports.ts";
import { NETWORK_NAME, NetworkStore, type Attachment, type NetworkRecord } from "./store.ts";
import { assertFree, defaultPools, pickSubnet, readHostRoutes, type TakenSubnet } from "./subnets.ts";

export const DEFAULT_BRIDGE = "berth0";
export const DEFAULT_ADMIN_CHAIN = "BERTH-ADMIN";
/** docker's pre-defined networks: `bridge` (the default), `host` and `none`. */
export const PREDEFINED = ["bridge", "host", "none"] as const;

export interface NetworkManagerOptions {
  /** The metadata database handle (tables from migration 2 of src/metadata/db.ts). */
  db: Database;
  /** Persistent data: <root>/networks/{cni-cache,ipam,host-state.json}. */
  root: string;
  /** Runtime files: <runroot>/netns/<id>, <runroot>/networks/aardvark-dns. */
  runroot: string;
  /** Where the CNI plugins are (default /usr/lib/cni, /opt/cni/bin). */
  cniPath?: string[];
  /** The default network's bridge (default berth0). */
  defaultBridge?: string;
  /** Pools new networks take a subnet from when none is given (default: docker's). */
  pools?: string[];
  /**
   * The prefix of berth's iptables chains on this host (default BERTH-ADMIN: chains
   * BERTH-ADMIN-NAT and BERTH-ADMIN-FWD, network-rules.ts); also the firewall plugin's admin
   * chain that container setups of older berth versions made, removed with the last network.
   */
  adminChain?: string;
  aardvark?: { binary?: string; port?: number; forward?: boolean };
  /**
   * How a container's network namespace is made: the engine gives berth-init's NETNS_NEW (one
   * static process); by default util-linux unshare(1) runs iproute2's ip in it (two starts).
   */
  makeNetns?: NetnsMaker;
}

export interface ContainerRef {
  id: string;
  name: string;
  hostname?: string;
  /** The container's network namespace (createNetns gives <runroot>/netns/<id>). */
  netnsPath: string;
}

export interface AttachRequest {
  /** Network name or id; "bridge" is the default network. */
  network: string;
  /** --ip */
  ip?: string;
  /** --mac-address */
  mac?: string;
  /** --network-alias (user networks only, as docker). */
  aliases?: string[];
}

export interface SetupOptions {
  /** --add-host */
  extraHosts?: ExtraHost[];
  /** --dns, --dns-search, --dns-option */
  dns?: DnsOverrides;
}

export interface Timing {
  step: string;
  ms: number;
}

export interface SetupResult {
  interfaces: { name: string; mac: string; network: string; hostVeth: string }[];
  ips: { network: string; address: string; gateway: string }[];
  /** The default route's gateway (absent on --internal networks). */
  gateway?: string;
  /** Published ports with the host ports actually bound. */
  ports: PortMapping[];
  dns: DnsConfig;
  /** /etc/hosts, /etc/hostname, /etc/resolv.conf for the container. */
  etc: { hosts: string; hostname: string; resolvConf: string };
  timings: Timing[];
}

export interface CreateNetworkRequest {
  name: string;
  driver?: string;
  subnet?: string;
  gateway?: string;
  ipRange?: string;
  internal?: boolean;
  labels?: Record<string, string>;
  /** -o: mtu / com.docker.network.driver.mtu, com.docker.network.bridge.name */
  options?: Record<string, string>;
}

const MAC = /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i;
const ALIAS = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/;

function emit(step: string, detail: string, ms?: number): void {
  if (explain.enabled) explain.emit({ step, detail, ...(ms !== undefined ? { ms } : {}), who: "network" });
}

/** The host end of a container's veth: "btv" + 12 hex of the container id and interface (15 chars, IFNAMSIZ). */
export const hostVethName = (containerId: string, ifName: string): string =>
  `btv${hashOf("sha256", `${containerId}/${ifName}`).slice(0, 12)}`;

const stripPrefix = (cidr: string): string => cidr.split("/")[0]!;

const rulesNetwork = (n: NetworkRecord): RulesNetwork => ({ id: n.id, name: n.name, bridge: n.bridge!, subnet: n.subnets[0]!.subnet, internal: n.internal });

export class NetworkManager {
  readonly store: NetworkStore;
  readonly cache: CniCache;
  readonly cniPath: string[];
  readonly ipamDir: string;
  readonly adminChain: string;
  readonly aardvark: Aardvark;
  private readonly hostState: HostStateFile;
  readonly rules: NetworkRules;

  constructor(readonly o: NetworkManagerOptions) {
    this.store = new NetworkStore(o.db);
    this.cache = new CniCache(join(o.root, "networks", "cni-cache"));
    this.ipamDir = join(o.root, "networks", "ipam");
    this.cniPath = o.cniPath ?? DEFAULT_CNI_PATH;
    this.adminChain = o.adminChain ?? DEFAULT_ADMIN_CHAIN;
    this.hostState = new HostStateFile(join(o.root, "networks", "host-state.json"));
    this.rules = new NetworkRules({ prefix: this.adminChain, markerDir: join(o.runroot, "networks", "rules"), lockPath: join(o.root, "networks", "rules.lock") });
    this.aardvark = new Aardvark({ dir: join(o.runroot, "networks", "aardvark-dns"), ...(o.aardvark ?? {}) });
  }

  // ---------------------------------------------------------------- network records

  private pools(): Cidr[] {
    return this.o.pools ? this.o.pools.map((p) => parseCidr(p, "pool")) : defaultPools();
  }

  /** Subnets in use: berth's networks, and the host's routes except those of berth's own bridges. */
  private taken(): TakenSubnet[] {
    const nets = this.store.list();
    const ours = new Set(nets.map((n) => n.bridge).filter(Boolean));
    const out: TakenSubnet[] = [];
    for (const n of nets) for (const s of n.subnets) out.push({ owner: n.name, kind: "network", subnet: parseCidr(s.subnet, "subnet") });
    for (const r of readHostRoutes()) if (!ours.has(r.iface)) out.push({ owner: r.iface, kind: "route", subnet: r.dst });
    return out;
  }

  /** The default `bridge` network and docker's `host` and `none`, created on first use. */
  ensureDefaults(): void {
    if (this.store.byName("bridge") && this.store.byName("host") && this.store.byName("none")) return;
    this.store.immediate(() => {
      const now = new Date();
      if (!this.store.byName("bridge")) {
        const bridge = this.o.defaultBridge ?? DEFAULT_BRIDGE;
        const subnet = pickSubnet(this.pools(), this.taken());
        this.store.insert({
          id: randomString(32), name: "bridge", driver: "bridge",
          subnets: [{ subnet: formatCidr(subnet), gateway: formatIPv4(firstHost(subnet)) }],
          internal: false, dns: false, bridge, labels: {}, options: {}, createdAt: now,
        });
      }
      for (const [name, driver] of [["host", "host"], ["none", "null"]] as const) {
        if (!this.store.byName(name)) {
          this.store.insert({ id: randomString(32), name, driver, subnets: [], internal: false, dns: false, labels: {}, options: {}, createdAt: now });
        }
      }
    });
  }

  list(): NetworkRecord[] {
    this.ensureDefaults();
    return this.store.list();
  }

  find(ref: string): NetworkRecord {
    if ((PREDEFINED as readonly string[]).includes(ref)) this.ensureDefaults();
    return this.store.find(ref);
  }

  inspect(ref: string): DockerNetwork {
    const n = this.find(ref);
    return dockerInspect(n, this.store.attachments(n.id));
  }

  create(req: CreateNetworkRequest): NetworkRecord {
    const name = req.name;
    if (!NETWORK_NAME.test(name)) throw invalidArgument(`invalid network name ${JSON.stringify(name)}: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`, "name");
    if ((PREDEFINED as readonly string[]).includes(name)) throw alreadyExists(`network with name ${name} already exists: it is pre-defined`, "name");
    const driver = req.driver ?? "bridge";
    if (driver !== "bridge") throw invalidArgument(`network driver ${JSON.stringify(driver)} is not supported: berth networks use the bridge driver`, "--driver");
    const options: Record<string, string> = {};
    let mtu: number | undefined;
    let bridgeName: string | undefined;
    for (const [k, v] of Object.entries(req.options ?? {})) {
      if (k === "mtu" || k === "com.docker.network.driver.mtu") {
        mtu = Number(v);
        if (!/^\d+$/.test(v) || mtu < 68 || mtu > 65535) throw invalidArgument(`-o ${k}=${v}: the MTU must be a number from 68 to 65535`, "-o");
      } else if (k === "com.docker.network.bridge.name" || k === "bridge_name") {
        if (!LINK_NAME.test(v)) throw invalidArgument(`-o ${k}=${v}: a bridge name has 1 to 15 letters, digits, '_', '.' or '-'`, "-o");
        bridgeName = v;
      } else {
        throw invalidArgument(`-o ${k}: unsupported bridge network option; use mtu=N or com.docker.network.bridge.name=NAME`, "-o");
      }
      options[k] = v;
    }
    if (!req.subnet && (req.gateway || req.ipRange)) throw invalidArgument(`--gateway and --ip-range need --subnet`, req.gateway ? "--gateway" : "--ip-range");
    const subnet = req.subnet ? parseCidr(req.subnet, "--subnet") : undefined;
    if (subnet && subnet.prefix > 30) throw invalidArgument(`--subnet ${req.subnet}: too small for a gateway and a container; use /30 or larger`, "--subnet");
    let gateway: number | undefined;
    if (req.gateway !== undefined) {
      gateway = parseIPv4(req.gateway);
      if (gateway === undefined) throw invalidArgument(`--gateway ${JSON.stringify(req.gateway)}: not an IPv4 address`, "--gateway");
      if (!isUsableHost(subnet!, gateway)) throw invalidArgument(`--gateway ${req.gateway} is not a usable address of --subnet ${req.subnet}`, "--gateway");
    }
    let ipRange: Cidr | undefined;
    if (req.ipRange !== undefined) {
      ipRange = parseCidr(req.ipRange, "--ip-range");
      if (!within(ipRange, subnet!)) throw invalidArgument(`--ip-range ${req.ipRange} is not inside --subnet ${req.subnet}`, "--ip-range");
    }
    const id = randomString(32);
    const bridge = bridgeName ?? `bt-${id.slice(0, 12)}`;
    if (linkExists(bridge)) throw alreadyExists(`a link named ${bridge} exists on the host already; choose another com.docker.network.bridge.name`, "-o");
    return this.store.immediate(() => {
      if (this.store.byName(name)) throw alreadyExists(`network with name ${name} already exists`, "name");
      if (this.store.list().some((n) => n.bridge === bridge)) throw alreadyExists(`bridge ${bridge} is used by another berth network`, "-o");
      const taken = this.taken();
      let chosen: Cidr;
      if (subnet) {
        assertFree(subnet, taken);
        chosen = subnet;
      } else chosen = pickSubnet(this.pools(), taken);
      const sc: SubnetConfig = { subnet: formatCidr(chosen), gateway: formatIPv4(gateway ?? firstHost(chosen)), ...(ipRange ? { ipRange: formatCidr(ipRange) } : {}) };
      const rec: NetworkRecord = {
        id, name, driver: "bridge", subnets: [sc], internal: req.internal === true, dns: true, bridge,
        labels: req.labels ?? {}, options, createdAt: new Date(),
      };
      this.store.insert(rec);
      return rec;
    });
  }

  /** Removes a network and what it made on the host (bridge, leases dir, DNS file). */
  async remove(ref: string, opts: { allowPredefined?: boolean } = {}): Promise<NetworkRecord> {
    const n = this.find(ref);
    if ((PREDEFINED as readonly string[]).includes(n.name) && !opts.allowPredefined) {
      throw failedPrecondition(`${n.name} is a pre-defined network and cannot be removed`, "network");
    }
    const attached = this.store.attachments(n.id);
    if (attached.length) {
      throw failedPrecondition(`network ${n.name} (${n.id.slice(0, 12)}) has active endpoints: ${attached.map((a) => a.containerName).join(", ")}; disconnect or remove those containers first`, "network");
    }
    const t0 = performance.now();
    if (n.bridge && (await deleteLink(n.bridge))) emit("bridge", `ip link del ${n.bridge} (the bridge plugin never deletes bridges)`, performance.now() - t0);
    if (n.bridge) for (const rule of await this.rules.remove(rulesNetwork(n))) emit("iptables", `removed the network's rule ${rule}`);
    rmSync(join(this.ipamDir, n.name), { recursive: true, force: true });
    if (n.dns) {
      const { ready, action } = this.aardvark.apply(n.name, undefined);
      await ready();
      if (action !== "no aardvark-dns needed") emit("dns", action);
    }
    this.store.delete(n.id);
    await this.maybeDeactivateHost();
    return n;
  }

  /** Removes every user network no container uses; returns them. */
  async prune(): Promise<NetworkRecord[]> {
    const out: NetworkRecord[] = [];
    for (const n of this.store.list()) {
      if ((PREDEFINED as readonly string[]).includes(n.name)) continue;
      if (this.store.attachments(n.id).length) continue;
      out.push(await this.remove(n.id));
    }
    return out;
  }

  private async maybeDeactivateHost(): Promise<void> {
    const live = this.store.list().some((n) => n.bridge && linkExists(n.bridge));
    if (live) return;
    if (this.aardvark.networks().length === 0) await this.aardvark.stop();
    for (const step of await this.rules.removeChains()) emit("iptables", step);
    for (const step of await this.hostState.deactivate()) emit("host", step);
  }

  // ---------------------------------------------------------------- netns

  /** Creates <runroot>/netns/<id> with `lo` up in it. */
  async createNetns(id: string): Promise<string> {
    const t0 = performance.now();
    const { path, how } = await makeNetns(this.o.runroot, id, this.o.makeNetns);
    emit("netns", `${how}: new network namespace bind-mounted on ${path}, lo up`, performance.now() - t0);
    return path;
  }

  async removeNetns(id: string): Promise<boolean> {
    const path = netnsPathFor(this.o.runroot, id);
    const t0 = performance.now();
    const existed = await removeNetns(path);
    if (existed) emit("netns", `umount ${path}; unlink: network namespace released`, performance.now() - t0);
    return existed;
  }

  netnsPath(id: string): string {
    return netnsPathFor(this.o.runroot, id);
  }

  // ---------------------------------------------------------------- setup / teardown

  private resolveAttach(reqs: AttachRequest[]): { net: NetworkRecord; req: AttachRequest; ip?: number }[] {
    const out: { net: NetworkRecord; req: AttachRequest; ip?: number }[] = [];
    for (const req of reqs) {
      const net = this.find(req.network);
      if (net.driver !== "bridge") throw invalidArgument(`network ${net.name} (driver ${net.driver}) cannot be attached with other networks; use it alone as the container's network mode`, "--network");
      if (out.some((o) => o.net.id === net.id)) throw invalidArgument(`network ${net.name} is given twice`, "--network");
      let ip: number | undefined;
      if (req.ip !== undefined) {
        ip = parseIPv4(req.ip);
        if (ip === undefined) throw invalidArgument(`--ip ${JSON.stringify(req.ip)}: not an IPv4 address`, "--ip");
        const s = net.subnets[0]!;
        const range = parseCidr(s.ipRange ?? s.subnet, "subnet");
        if (!isUsableHost(parseCidr(s.subnet, "subnet"), ip) || !contains(range, ip)) {
          throw invalidArgument(`--ip ${req.ip} is outside network ${net.name}'s ${s.ipRange ? `--ip-range ${s.ipRange}` : `subnet ${s.subnet}`} (or is its network or broadcast address)`, "--ip");
        }
        if (formatIPv4(ip) === s.gateway) throw invalidArgument(`--ip ${req.ip} is network ${net.name}'s gateway`, "--ip");
      }
      if (req.mac !== undefined && (!MAC.test(req.mac) || (parseInt(req.mac.slice(0, 2), 16) & 1) === 1)) {
        throw invalidArgument(`--mac-address ${JSON.stringify(req.mac)}: use six hex pairs with a unicast first octet, e.g. 02:42:ac:11:00:02`, "--mac-address");
      }
      for (const a of req.aliases ?? []) {
        if (!ALIAS.test(a)) throw invalidArgument(`--network-alias ${JSON.stringify(a)}: use letters, digits, '_', '.' and '-'`, "--network-alias");
      }
      if ((req.aliases?.length ?? 0) > 0 && !net.dns) throw invalidArgument(`--network-alias: network-scoped aliases work only on user-defined networks, not on ${net.name}`, "--network-alias");
      out.push({ net, req, ...(ip !== undefined ? { ip } : {}) });
    }
    return out;
  }

  private checkPlugins(ports: boolean): void {
    const types = pluginTypes(bridgeConfList({ name: "x", bridge: "x", subnets: [], internal: false }, { ipamDir: "", ports }));
    for (const t of types) findPlugin(t, this.cniPath);
  }

  private async heldPorts(wanted: PortMapping[]): Promise<HeldPort[]> {
    if (!wanted.length) return [];
    return [...readHostListeners(), ...parsePortmapDnat(await (async () => {
      const p = Bun.spawn(["iptables-save", "-t", "nat"], { stdin: "ignore", stdout: "pipe", stderr: "ignore" });
      const [out] = await Promise.all([new Response(p.stdout).text(), p.exited]);
      return out;
    })())];
  }

  /** Ports for the container, checked against what holds host ports and berth's own table; random ones picked. */
  private reservePorts(containerId: string, networkId: string, wanted: PortMapping[], held: HeldPort[]): PortMapping[] {
    const published = this.store.ports();
    const isHeld = (m: PortMapping) =>
      held.find((h) => blocks(h, m)) ??
      published.map((p): HeldPort => ({ protocol: p.protocol, port: p.hostPort, address: p.hostIp || "*", by: "dnat" })).find((h) => blocks(h, m));
    const out: PortMapping[] = [];
    const [lo, hi] = ephemeralRange();
    for (const w of wanted) {
      let m = w;
      if (w.hostPort === 0) {
        let found: PortMapping | undefined;
        for (let i = 0; i < 200 && !found; i++) {
          const c = { ...w, hostPort: lo + Math.floor(Math.random() * (hi - lo + 1)) };
          if (!isHeld(c) && !out.some((o) => blocks({ protocol: o.protocol, port: o.hostPort, address: o.hostIp ?? "*", by: "dnat" }, c))) found = c;
        }
        if (!found) throw new BerthError("Unavailable", `no free host port for ${w.containerPort}/${w.protocol} in ${lo}-${hi}`, "-p");
        m = found;
      } else {
        const h = isHeld(w) ?? out.map((o): HeldPort => ({ protocol: o.protocol, port: o.hostPort, address: o.hostIp ?? "*", by: "dnat" })).find((x) => blocks(x, w));
        if (h) {
          const by = h.by === "socket" ? "a process on the host listens on it" : "it is already published (to a container of berth or another CNI user)";
          throw failedPrecondition(`host port ${w.hostIp ?? "0.0.0.0"}:${w.hostPort}/${w.protocol} is not available: ${by}; choose another -p host port or let berth pick one (-p ${w.containerPort})`, "-p");
        }
      }
      this.store.insertPort({ container: containerId, network: networkId, hostIp: m.hostIp ?? "", hostPort: m.hostPort, containerPort: m.containerPort, protocol: m.protocol });
      out.push(m);
    }
    return out;
  }

  /**
   * Connects a container to its networks: one CNI ADD of each network's list (eth0, eth1, …),
   * published ports on the first, names in the networks' DNS. All or nothing: on any failure
   * what was done is torn down (the netns stays: the caller made it) and the error is thrown.
   */
  async setup(c: ContainerRef, attachments: AttachRequest[], ports: PortMapping[] = [], opts: SetupOptions = {}): Promise<SetupResult> {
    const t0 = performance.now();
    const timings: Timing[] = [];
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/.test(c.id)) throw invalidArgument(`invalid container id ${JSON.stringify(c.id)}`, "id");
    if (!mountPoints().has(c.netnsPath)) throw notFound(`network namespace ${c.netnsPath} does not exist (create it first: createNetns)`, "netns");
    const resolved = this.resolveAttach(attachments);
    if (ports.length && !resolved.length) throw invalidArgument(`-p needs a bridge network; published ports do nothing on network mode none or host`, "-p");
    this.checkPlugins(ports.length > 0);
    const held = await this.heldPorts(ports);
    let bound: PortMapping[] = [];
    this.store.immediate(() => {
      if (this.store.attachmentsOf(c.id).length || this.cache.entries(c.id).length) throw alreadyExists(`container ${c.id.slice(0, 12)} is set up already; tear it down first`, "id");
      for (const r of resolved) {
        if (r.ip === undefined) continue;
        const ip = formatIPv4(r.ip);
        const other = this.store.attachments(r.net.id).find((a) => a.ip !== undefined && stripPrefix(a.ip) === ip);
        if (other) throw alreadyExists(`--ip ${ip} is in use on network ${r.net.name} by ${other.containerName}`, "--ip");
      }
      if (resolved.length) bound = this.reservePorts(c.id, resolved[0]!.net.id, ports, held);
      resolved.forEach((r, i) => {
        this.store.insertAttachment({ container: c.id, network: r.net.id, containerName: c.name, interface: `eth${i}`, aliases: r.req.aliases ?? [], createdAt: new Date(Date.now() + i) });
      });
    });
    try {
      const { recorded, state } = this.hostState.activate(this.adminChain);
      if (recorded) emit("host", `recorded ip_forward=${state.ipForward} (restored when the last berth network goes)`);
      const results: { net: NetworkRecord; ifName: string; result: CniResult; hostVeth: string }[] = [];
      for (let i = 0; i < resolved.length; i++) {
        const r = resolved[i]!;
        const ifName = `eth${i}`;
        const caps: CapabilityArgs = {
          ...(i === 0 && bound.length ? { portMappings: bound.map((p) => ({ hostPort: p.hostPort, containerPort: p.containerPort, protocol: p.protocol, ...(p.hostIp ? { hostIP: p.hostIp } : {}) })) } : {}),
          ...(r.ip !== undefined ? { ips: [`${formatIPv4(r.ip)}/${r.net.subnets[0]!.subnet.split("/")[1]}`] } : {}),
          ...(r.req.mac ? { mac: r.req.mac.toLowerCase() } : {}),
        };
        results.push(await this.addNetwork(c, r.net, ifName, caps, timings));
      }
      await this.syncDns(resolved.map((r) => r.net), timings);
      return this.describe(c, results, bound, opts, timings, t0);
    } catch (e) {
      try {
        await this.teardown(c.id, { keepNetns: true });
      } catch (cleanup) {
        throw new BerthError((e as BerthError).code ?? "Internal", `${(e as Error).message} (and cleaning up failed: ${(cleanup as Error).message})`, (e as BerthError).field);
      }
      throw e;
    }
  }

  private describe(c: ContainerRef, results: { net: NetworkRecord; ifName: string; result: CniResult; hostVeth: string }[], ports: PortMapping[], opts: SetupOptions, timings: Timing[], t0: number): SetupResult {
    const interfaces: SetupResult["interfaces"] = [];
    const ips: SetupResult["ips"] = [];
    let gateway: string | undefined;
    for (const r of results) {
      const side = containerSide(r.result, r.ifName);
      interfaces.push({ name: r.ifName, mac: side.iface?.mac ?? "", network: r.net.name, hostVeth: r.hostVeth });
      if (side.ip) ips.push({ network: r.net.name, address: side.ip.address, gateway: side.ip.gateway ?? r.net.subnets[0]!.gateway });
      if (gateway === undefined && !r.net.internal) gateway = side.ip?.gateway ?? r.net.subnets[0]!.gateway;
    }
    const dnsNets = results.filter((r) => r.net.dns);
    const host = hostResolvConf();
    const base: DnsConfig = dnsNets.length
      ? { servers: dnsNets.map((r) => r.net.subnets[0]!.gateway), search: host.search, options: host.options }
      : { servers: host.servers, search: host.search, options: host.options };
    const dns = applyDnsOverrides(base, opts.dns);
    const hostname = c.hostname ?? c.id.slice(0, 12);
    timings.push({ step: "total", ms: performance.now() - t0 });
    emit("network", `setup of ${c.id.slice(0, 12)} done: ${ips.map((i) => `${i.address} on ${i.network}`).join(", ")}${ports.length ? `; ports ${ports.map(formatMapping).join(", ")}` : ""}`, performance.now() - t0);
    return {
      interfaces, ips, ...(gateway ? { gateway } : {}), ports, dns,
      etc: {
        hosts: formatHosts({ hostname, ips: ips.map((i) => stripPrefix(i.address)), ...(opts.extraHosts ? { extraHosts: opts.extraHosts } : {}) }),
        hostname: formatHostname(hostname),
        resolvConf: formatResolvConf(dns, dnsNets.length ? undefined : `from the host (${host.source})`),
      },
      timings,
    };
  }

  /** One network's CNI ADD, plugin by plugin, the cache updated before and after each. */
  private async addNetwork(c: ContainerRef, net: NetworkRecord, ifName: string, caps: CapabilityArgs, timings: Timing[]): Promise<{ net: NetworkRecord; ifName: string; result: CniResult; hostVeth: string }> {
    const list: NetworkConfList = bridgeConfList(
      { name: net.name, bridge: net.bridge!, subnets: net.subnets, internal: net.internal, ...(net.options.mtu || net.options["com.docker.network.driver.mtu"] ? { mtu: Number(net.options.mtu ?? net.options["com.docker.network.driver.mtu"]) } : {}) },
      { ipamDir: this.ipamDir, ports: (caps.portMappings?.length ?? 0) > 0 },
    );
    // The network's masquerade and FORWARD rules, once per network and boot (network-rules.ts).
    const tr = performance.now();
    // A bridge that is not there (first container since the network was made, or someone
    // deleted it) re-reads the rule set whatever the marker says.
    const rules = await this.rules.ensure(rulesNetwork(net), { force: !linkExists(net.bridge!) });
    timings.push({ step: "network rules", ms: performance.now() - tr });
    if (rules.cached) emit("iptables", `rules of network ${net.name} (${net.internal ? "FORWARD drops: internal" : "masquerade, FORWARD accepts"}) in place: verified earlier this boot, no iptables call`);
    else if (!rules.added.length) emit("iptables", `rules of network ${net.name} verified: all in place`, performance.now() - tr);
    else {
      for (const rule of rules.added) emit("iptables", `rules of network ${net.name}: ${rule}`);
      emit("iptables", `rules of network ${net.name}: iptables-save, then ${rules.added.length} line(s) in one iptables-restore --noflush (once per network and boot)`, performance.now() - tr);
    }
    if (!list.plugins.some((p) => p.type === "portmap")) emit("cni", `portmap not run: no published ports`);
    const entry: CacheEntry = {
      kind: "berth-cni-cache-v1", containerId: c.id, networkId: net.id, networkName: net.name, ifName, netns: c.netnsPath,
      confList: list, capabilityArgs: caps, started: 0, complete: false, createdAt: new Date().toISOString(),
    };
    this.cache.write(entry);
    let prev: CniResult | undefined;
    let hostVeth = "";
    for (let i = 0; i < list.plugins.length; i++) {
      const type = list.plugins[i]!.type;
      entry.started = i + 1;
      this.cache.write(entry);
      const bridgeExisted = type === "bridge" ? linkExists(net.bridge!) : false;
      // Only for --explain: the rule set before and after shows what the plugin added, as it is.
      // (Not around the bridge plugin, which adds no rule with ipMasq off: two iptables-save
      // execs would only inflate the times --explain shows.)
      const watchRules = explain.enabled && (type !== "bridge" || (list.plugins[i] as { ipMasq?: boolean }).ipMasq === true);
      const before = watchRules ? await iptablesSave() : "";
      const { result, ms } = await execPlugin({ command: "ADD", plugin: type, containerId: c.id, netns: c.netnsPath, ifName, network: net.name, config: pluginStdin(list, i, caps, prev) }, this.cniPath);
      let res = result!;
      timings.push({ step: `cni ${type} ADD`, ms });
      if (type === "bridge") {
        const t = performance.now();
        const hostIf = (res.interfaces ?? []).find((x) => !x.sandbox && x.name !== net.bridge);
        if (hostIf) {
          hostVeth = hostVethName(c.id, ifName);
          await renameLink(hostIf.name, hostVeth);
          res = { ...res, interfaces: res.interfaces!.map((x) => (x === hostIf ? { ...x, name: hostVeth } : x)) };
          timings.push({ step: "veth rename", ms: performance.now() - t });
        }
      }
      prev = res;
      entry.result = res;
      this.cache.write(entry);
      if (explain.enabled) this.explainPlugin(type, net, ifName, c.netnsPath, res, bridgeExisted, ms, watchRules ? addedRules(before, await iptablesSave()) : [], caps);
    }
    entry.complete = true;
    this.cache.write(entry);
    const side = containerSide(prev!, ifName);
    this.store.setAddress(c.id, net.id, side.ip?.address, side.iface?.mac);
    return { net, ifName, result: prev!, hostVeth };
  }

  private explainPlugin(type: string, net: NetworkRecord, ifName: string, netns: string, r: CniResult, bridgeExisted: boolean, ms: number, rules: string[], caps: CapabilityArgs): void {
    const side = containerSide(r, ifName);
    if (type === "bridge") {
      const hostIf = (r.interfaces ?? []).find((x) => !x.sandbox && x.name !== net.bridge);
      emit("cni", `bridge ADD on network ${net.name}`, ms);
      emit("bridge", `${bridgeExisted ? "reused" : "created"} bridge ${net.bridge} with gateway ${net.subnets[0]!.gateway}/${net.subnets[0]!.subnet.split("/")[1]}`);
      emit("veth", `veth pair ${hostIf?.name ?? "?"} (host, port of ${net.bridge}, hairpin on) <-> ${ifName} (in ${netns}, mac ${side.iface?.mac ?? "?"})`);
      if (side.ip) emit("address", `${side.ip.address} on ${ifName} (host-local IPAM, leases in ${join(this.ipamDir, net.name)})`);
      for (const rt of r.routes ?? []) emit("route", `${rt.dst === "0.0.0.0/0" ? "default" : rt.dst} via ${rt.gw ?? side.ip?.gateway ?? net.subnets[0]!.gateway} dev ${ifName}`);
    } else if (type === "portmap") {
      emit("cni", `portmap ADD: ${(caps.portMappings ?? []).map((p) => `${p.hostIP ?? "0.0.0.0"}:${p.hostPort} -> ${side.ip ? stripPrefix(side.ip.address) : "?"}:${p.containerPort}/${p.protocol}`).join(", ") || "no published ports"}`, ms);
    } else {
      emit("cni", `${type} ADD on network ${net.name}`, ms);
    }
    for (const rule of rules) emit("iptables", `${type}: ${rule}`);
  }

  /**
   * One network's CNI DEL in reverse plugin order with the cached config and result. `released`:
   * the netns is released right after and no process is left in it; the plugins are then given
   * no netns (CNI's DEL of a namespace that is gone: the bridge plugin only frees the address) and
   * the kernel deletes the interfaces with the namespace, in its own worker, instead of the
   * plugin's synchronous veth delete, which waits for RCU grace periods (16-40 ms here, on every
   * stop of a bridged container, against ~2 ms to unmount the namespace).
   */
  private async delEntry(e: CacheEntry, timings: Timing[], released = false): Promise<string[]> {
    const errors: string[] = [];
    const netnsAlive = !released && mountPoints().has(e.netns);
    for (let i = Math.min(e.started, e.confList.plugins.length) - 1; i >= 0; i--) {
      const type = e.confList.plugins[i]!.type;
      try {
        const { ms } = await execPlugin({ command: "DEL", plugin: type, containerId: e.containerId, netns: netnsAlive ? e.netns : "", ifName: e.ifName, network: e.networkName, config: pluginStdin(e.confList, i, e.capabilityArgs, e.result) }, this.cniPath);
        timings.push({ step: `cni ${type} DEL`, ms });
        emit("cni", `${type} DEL on network ${e.networkName} (${e.ifName} of ${e.containerId.slice(0, 12)})${released ? ", no netns given: the kernel deletes the interface with the namespace" : ""}`, ms);
      } catch (err) {
        errors.push((err as Error).message);
      }
    }
    const bridge = e.confList.plugins[0] as { ipMasq?: boolean } | undefined;
    if (bridge?.ipMasq && e.result && !errors.length && (await natChainExists(masqueradeChain(e.networkName, e.containerId)))) {
      const ips = (e.result.ips ?? []).map((x) => stripPrefix(x.address));
      const why = netnsAlive ? "the container's interface had lost its address" : "the netns was gone";
      for (const step of await removeMasquerade(e.networkName, e.containerId, ips)) emit("iptables", `bridge DEL left its NAT rules (${why}); removed: ${step}`);
    }
    return errors;
  }

  /** Rewrites the DNS file of each network (from the attachments table) and waits until aardvark-dns answers. */
  private async syncDns(nets: NetworkRecord[], timings: Timing[]): Promise<void> {
    for (const net of nets) {
      if (!net.dns) continue;
      const t = performance.now();
      // In the write transaction: two processes regenerating one file cannot lose each other's entry.
      const { ready, action } = this.store.immediate(() => {
        const records: DnsRecord[] = this.store.attachments(net.id).filter((a) => a.ip).map((a) => ({
          containerId: a.container, ipv4: [stripPrefix(a.ip!)], names: [a.containerName, ...a.aliases, a.container.slice(0, 12)],
        }));
        return this.aardvark.apply(net.name, records.length && this.store.byId(net.id) ? aardvarkNetworkFile([net.subnets[0]!.gateway], records) : undefined);
      });
      await ready();
      const ms = performance.now() - t;
      timings.push({ step: "dns", ms });
      emit("dns", `${action} (network ${net.name})`, ms);
    }
  }

  /**
   * Undoes setup from the cache alone: DEL of each network (newest first), rows removed, DNS
   * updated, and — unless keepNetns — the netns at <runroot>/netns/<id> released. Idempotent.
   */
  async teardown(id: string, opts: { keepNetns?: boolean } = {}): Promise<{ timings: Timing[] }> {
    const t0 = performance.now();
    const timings: Timing[] = [];
    const errors: string[] = [];
    const touched = new Map<string, NetworkRecord>();
    for (const a of this.store.attachmentsOf(id)) {
      const n = this.store.byId(a.network);
      if (n) touched.set(n.id, n);
    }
    // Nothing in the netns any more and it goes at the end: let the kernel take the interfaces.
    const netns = netnsPathFor(this.o.runroot, id);
    const released = !opts.keepNetns && mountPoints().has(netns) && !netnsInUse(netns);
    const dels = (async () => {
      for (const e of this.cache.entries(id).reverse()) {
        const errs = await this.delEntry(e, timings, released && e.netns === netns);
        if (errs.length) {
          errors.push(...errs);
          continue;
        }
        this.cache.remove(e);
        this.store.deleteAttachment(id, e.networkId);
        this.store.deletePorts(id, e.networkId);
        const n = this.store.byId(e.networkId);
        if (n) touched.set(n.id, n);
      }
    })();
    // A released namespace is given to no plugin: it is unmounted (synchronously, ~1.5 ms of RCU
    // grace period here) while the first plugin runs. A DEL that fails is retried the same way.
    const gone = released ? this.removeNetns(id) : undefined;
    gone?.catch(() => {});
    await dels;
    if (!errors.length) {
      // Rows whose ADD never started (killed before the cache entry was written).
      for (const a of this.store.attachmentsOf(id)) this.store.deleteAttachment(id, a.network);
      this.store.deletePorts(id);
    }
    await this.syncDns([...touched.values()], timings);
    if (gone) await gone;
    else if (!opts.keepNetns && !errors.length) await this.removeNetns(id);
    timings.push({ step: "total", ms: performance.now() - t0 });
    if (errors.length) throw new BerthError("Unavailable", `tearing down the network of ${id.slice(0, 12)} failed (the cache is kept; a later teardown retries): ${errors.join("; ")}`, "network");
    return { timings };
  }

  /**
   * CNI CHECK of every network of a container with the cached config and result: each plugin
   * verifies that what it made is still there (the bridge plugin: the veth, the address, the
   * routes; portmap and firewall: their rules). Throws the first plugin's error.
   */
  async check(id: string): Promise<{ timings: Timing[] }> {
    const timings: Timing[] = [];
    const entries = this.cache.entries(id);
    if (!entries.length) throw notFound(`container ${id.slice(0, 12)} has no network set up`, "id");
    for (const e of entries) {
      if (!e.complete || !e.result) throw failedPrecondition(`the network setup of ${id.slice(0, 12)} on ${e.networkName} did not finish; tear it down`, "network");
      for (let i = 0; i < e.confList.plugins.length; i++) {
        const type = e.confList.plugins[i]!.type;
        // portmap 1.1.x checks its chain in ip6tables too, whatever the container's addresses
        // (plugins/meta/portmap/portmap.go checkPorts), so it fails on every IPv4-only container.
        if (type === "portmap" && !(e.result.ips ?? []).some((x) => x.address.includes(":"))) {
          emit("cni", `portmap CHECK skipped on network ${e.networkName}: the plugin checks ip6tables for an IPv4-only container`);
          continue;
        }
        const { ms } = await execPlugin({ command: "CHECK", plugin: type, containerId: id, netns: e.netns, ifName: e.ifName, network: e.networkName, config: pluginStdin(e.confList, i, e.capabilityArgs, e.result) }, this.cniPath);
        timings.push({ step: `cni ${type} CHECK`, ms });
        emit("cni", `${type} CHECK on network ${e.networkName}: as set up`, ms);
      }
      // The network's own rules (berth's, not a plugin's): read back, whatever the marker says.
      const net = this.store.byId(e.networkId);
      if (net?.bridge) {
        const missing = await this.rules.missing(rulesNetwork(net));
        if (missing.length) {
          this.rules.forget(rulesNetwork(net));
          throw failedPrecondition(`the iptables rules of network ${net.name} are not all in place (missing ${missing.join("; ")}); the next container set up on it restores them`, "iptables");
        }
        emit("iptables", `rules of network ${net.name} CHECK: in place`);
      }
    }
    return { timings };
  }

  /** Connects a running container (its netns) to one more network, as `docker network connect`. */
  async connect(c: ContainerRef, attachment: AttachRequest): Promise<SetupResult["interfaces"][number] & { address?: string }> {
    const timings: Timing[] = [];
    if (!mountPoints().has(c.netnsPath)) throw notFound(`network namespace ${c.netnsPath} does not exist`, "netns");
    const [r] = this.resolveAttach([attachment]);
    this.checkPlugins(false);
    let ifName = "";
    this.store.immediate(() => {
      const have = this.store.attachmentsOf(c.id);
      if (have.some((a) => a.network === r!.net.id)) throw alreadyExists(`container ${c.name} is already connected to network ${r!.net.name}`, "network");
      if (r!.ip !== undefined) {
        const ip = formatIPv4(r!.ip);
        const other = this.store.attachments(r!.net.id).find((a) => a.ip !== undefined && stripPrefix(a.ip) === ip);
        if (other) throw alreadyExists(`--ip ${ip} is in use on network ${r!.net.name} by ${other.containerName}`, "--ip");
      }
      const used = new Set([...have.map((a) => a.interface), ...this.cache.entries(c.id).map((e) => e.ifName)]);
      let n = 0;
      while (used.has(`eth${n}`)) n++;
      ifName = `eth${n}`;
      this.store.insertAttachment({ container: c.id, network: r!.net.id, containerName: c.name, interface: ifName, aliases: r!.req.aliases ?? [], createdAt: new Date() });
    });
    try {
      this.hostState.activate(this.adminChain);
      const caps: CapabilityArgs = {
        ...(r!.ip !== undefined ? { ips: [`${formatIPv4(r!.ip)}/${r!.net.subnets[0]!.subnet.split("/")[1]}`] } : {}),
        ...(r!.req.mac ? { mac: r!.req.mac.toLowerCase() } : {}),
      };
      const res = await this.addNetwork(c, r!.net, ifName, caps, timings);
      await this.syncDns([r!.net], timings);
      const side = containerSide(res.result, ifName);
      return { name: ifName, mac: side.iface?.mac ?? "", network: r!.net.name, hostVeth: res.hostVeth, ...(side.ip ? { address: side.ip.address } : {}) };
    } catch (e) {
      await this.disconnect(c.id, r!.net.id).catch(() => {});
      throw e;
    }
  }

  /** Disconnects a container from one network (DEL of that network's list). */
  async disconnect(id: string, network: string): Promise<void> {
    const net = this.find(network);
    const timings: Timing[] = [];
    const entries = this.cache.entries(id).filter((e) => e.networkId === net.id);
    const rows = this.store.attachmentsOf(id).filter((a) => a.network === net.id);
    if (!entries.length && !rows.length) throw notFound(`container ${id.slice(0, 12)} is not connected to network ${net.name}`, "network");
    for (const e of entries) {
      const errs = await this.delEntry(e, timings);
      if (errs.length) throw new BerthError("Unavailable", `disconnecting from ${net.name} failed: ${errs.join("; ")}`, "network");
      this.cache.remove(e);
    }
    this.store.deleteAttachment(id, net.id);
    this.store.deletePorts(id, net.id);
    await this.syncDns([net], timings);
  }

  /**
   * Crash safety: every container with a trace here (cache entry, netns, attachment or port row)
   * that `isAlive` says is gone is torn down. `isAlive` must answer true for containers being set
   * up right now. Returns the ids collected and the errors of those that could not be.
   */
  async collectLeftovers(isAlive: (containerId: string) => boolean): Promise<{ collected: string[]; errors: string[] }> {
    const ids = new Set([...this.cache.containers(), ...listNetns(this.o.runroot), ...this.store.containers()]);
    const collected: string[] = [];
    const errors: string[] = [];
    for (const id of ids) {
      if (isAlive(id)) continue;
      try {
        await this.teardown(id);
        collected.push(id);
        emit("network", `collected the network leftovers of dead container ${id.slice(0, 12)}`);
      } catch (e) {
        errors.push((e as Error).message);
      }
    }
    return { collected, errors };
  }

  /** What a container is attached to (for inspect's NetworkSettings). */
  attachmentsOf(id: string): (Attachment & { networkName: string })[] {
    return this.store.attachmentsOf(id).map((a) => ({ ...a, networkName: this.store.byId(a.network)?.name ?? a.network }));
  }

  /** Host ports a container publishes. */
  portsOf(id: string): PortMapping[] {
    return this.store.ports(id).map((p) => ({ ...(p.hostIp ? { hostIp: p.hostIp } : {}), hostPort: p.hostPort, containerPort: p.containerPort, protocol: p.protocol }));
  }

}
