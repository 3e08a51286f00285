// The engine's use of the network library (src/network): which containers count as alive for
// its crash collection, the one NetworkManager per open engine, and a container's network at
// start and after its last exit. Network modes: bridge (the default network, as docker), a user
// network by name, none, host, container:<ref> (decided in containers.ts).
import type { NetworkManager, SetupResult } from "../network/index.ts";
import type { PortMapping } from "../network/ports.ts";
import { hashOf } from "../sys/digest.ts";
import { findBinary } from "../monitor/monitor.ts";
import { DEFAULT_ROOT, type Engine } from "./engine.ts";
import type { Container } from "./containers.ts";

const managers = new WeakMap<Engine, NetworkManager>();

/**
 * The default network's bridge and the firewall's admin chain are host-wide names: the default
 * root has docker's shape (berth0, BERTH-ADMIN); another --root (tests, a second engine) gets
 * names of its own, so two engines on one host never share or remove each other's.
 */
function hostNames(root: string): { defaultBridge?: string; adminChain?: string } {
  if (root === DEFAULT_ROOT) return {};
  const h = hashOf("sha256", root).slice(0, 8);
  return { defaultBridge: `bt0${h}`, adminChain: `BT-ADMIN-${h}` };
}

export async function networkManager(e: Engine): Promise<NetworkManager> {
  let m = managers.get(e);
  if (!m) {
    const { NetworkManager } = await import("../network/index.ts");
    // BERTH_CNI_PATH (colon-separated, as CNI_PATH) overrides where the plugins are looked for,
    // as podman's cni_plugin_dirs does.
    const cniPath = process.env.BERTH_CNI_PATH?.split(":").filter(Boolean);
    // Network namespaces by berth-init (NETNS_NEW), the engine's own helper, in one process.
    const makeNetns = async (path: string) => (await import("../runtime/netns.ts")).newNetns(path, { helper: e.opts.berthInit ?? findBinary("berth-init", "BERTH_INIT") });
    m = new NetworkManager({ db: e.meta.db, root: e.opts.root, runroot: e.opts.runroot, ...hostNames(e.opts.root), ...(cniPath?.length ? { cniPath } : {}), makeNetns });
    managers.set(e, m);
  }
  return m;
}

/** Modes that need a network namespace of the container's own, connected by CNI. */
export function usesCni(mode: string): boolean {
  return mode !== "none" && mode !== "host" && !mode.startsWith("container:");
}

/**
 * Whether a container still owns its network: it runs, or another berth process holds its
 * lock (it is being started or stopped right now). What neither answers for was left by a
 * killed berth and is collected.
 */
export function networkOwnerAlive(e: Engine, id: string): boolean {
  let c;
  try {
    c = e.containers.get(id);
  } catch {
    return false;
  }
  if (c.state === "running" || c.state === "paused" || c.state === "restarting") return true;
  const lock = e.locks.tryAcquire(id);
  if (!lock) return true;
  lock.release();
  return false;
}

export async function collectNetworkLeftovers(e: Engine): Promise<string[]> {
  const m = await networkManager(e);
  return (await m.collectLeftovers((id) => networkOwnerAlive(e, id))).collected;
}

/** Image ExposedPorts ("80/tcp") → random host ports (-P). */
export function publishAll(exposed: string[]): PortMapping[] {
  return exposed.map((p) => {
    const [port, proto] = p.split("/");
    return { hostPort: 0, containerPort: Number(port), protocol: (proto ?? "tcp") as PortMapping["protocol"] };
  });
}

/**
 * Network namespace, then CNI ADD, for one start; all or nothing. `netns` settles as soon as the
 * namespace exists, `done` once the plugins have configured it: the runtime can create the
 * container in the namespace while the plugins still work on it (the process runs only at
 * start, after `done`), which takes the plugins' 10 ms or so off a pod's or container's start.
 * Both are marked handled here: a caller that fails on something else first must still settle
 * `done` (await it) before it tears the network down.
 */
export function setupNetwork(e: Engine, c: Container, hostname: string): { netns: Promise<string>; done: Promise<{ netnsPath: string; result: SetupResult }> } {
  const n = c.spec.network ?? { mode: "bridge" };
  const manager = networkManager(e);
  const netns = manager.then(async (m) => {
    await m.collectLeftovers((id) => id === c.id || networkOwnerAlive(e, id));
    return m.createNetns(c.id);
  });
  const done = netns.then(async (netnsPath) => {
    const m = await manager;
    const ports = [...(n.ports ?? []), ...(n.publishAll ? publishAll(c.resolved.exposedPorts) : [])];
    try {
      const result = await m.setup(
        { id: c.id, name: c.name, hostname, netnsPath },
        [{ network: n.mode, ...(n.ip ? { ip: n.ip } : {}), ...(n.mac ? { mac: n.mac } : {}), ...(n.aliases?.length ? { aliases: n.aliases } : {}) }],
        ports,
        { ...(n.extraHosts?.length ? { extraHosts: n.extraHosts } : {}), ...(n.dns ? { dns: n.dns } : {}) },
      );
      return { netnsPath, result };
    } catch (err) {
      await m.teardown(c.id).catch(() => {});
      throw err;
    }
  });
  netns.catch(() => {});
  done.catch(() => {});
  return { netns, done };
}

export async function teardownNetwork(e: Engine, id: string): Promise<void> {
  const m = await networkManager(e);
  await m.teardown(id);
}

/** docker network connect: another network for a running container (eth1, eth2, …). */
export async function connectContainer(e: Engine, c: Container, network: string, o: { ip?: string; aliases?: string[] } = {}): Promise<void> {
  const m = await networkManager(e);
  const { netnsPathFor } = await import("../network/index.ts");
  await m.connect(
    { id: c.id, name: c.name, ...(c.resolved.hostname ? { hostname: c.resolved.hostname } : {}), netnsPath: netnsPathFor(e.opts.runroot, c.id) },
    { network, ...(o.ip ? { ip: o.ip } : {}), ...(o.aliases?.length ? { aliases: o.aliases } : {}) },
  );
  e.emit({ type: "network", action: "connect", actor: m.find(network).id, attributes: { container: c.id, name: m.find(network).name } });
}

export async function disconnectContainer(e: Engine, c: Container, network: string): Promise<void> {
  const m = await networkManager(e);
  const net = m.find(network);
  await m.disconnect(c.id, net.id);
  e.emit({ type: "network", action: "disconnect", actor: net.id, attributes: { container: c.id, name: net.name } });
}

export interface NetworkView {
  networks: { name: string; id: string; address: string; prefixLen: number; gateway: string; mac: string; aliases: string[]; iface: string }[];
  ports: PortMapping[];
  sandboxKey: string;
}

/** What inspect's NetworkSettings and ps's PORTS show for a container. */
export async function networkView(e: Engine, c: Container): Promise<NetworkView | undefined> {
  if (!usesCni(c.spec.network?.mode ?? "bridge")) return undefined;
  const m = await networkManager(e);
  const { netnsPathFor } = await import("../network/index.ts");
  const networks = m.attachmentsOf(c.id).map((a) => {
    const net = (() => {
      try {
        return m.find(a.network);
      } catch {
        return undefined;
      }
    })();
    const [address, prefix] = (a.ip ?? "").split("/");
    return { name: a.networkName, id: a.network, address: address ?? "", prefixLen: Number(prefix ?? 0), gateway: net?.subnets[0]?.gateway ?? "", mac: a.mac ?? "", aliases: a.aliases, iface: a.interface };
  });
  return { networks, ports: m.portsOf(c.id), sandboxKey: networks.length ? netnsPathFor(e.opts.runroot, c.id) : "" };
}

/** docker's "0.0.0.0:8080->80/tcp, 127.0.0.1:9090->90/udp" */
export function formatPorts(ports: PortMapping[], exposed: string[] = []): string {
  const out = ports.map((p) => `${p.hostIp ?? "0.0.0.0"}:${p.hostPort}->${p.containerPort}/${p.protocol}`);
  const published = new Set(ports.map((p) => `${p.containerPort}/${p.protocol}`));
  for (const x of exposed) if (!published.has(x)) out.push(x);
  return out.join(", ");
}
