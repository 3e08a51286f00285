// Network records, attachments and published ports in the metadata database (tables made by
// migration 2 of src/metadata/db.ts). Takes the bun:sqlite handle, as the snapshotters do, so the
// network library does not depend on the metadata library's classes.
import type { Database } from "bun:sqlite";
import { notFound, invalidArgument } from "../sys/errdefs.ts";
import type { SubnetConfig } from "./cni/conflist.ts";
import type { Protocol } from "./ports.ts";

export type NetworkDriver = "bridge" | "host" | "null";

export interface NetworkRecord {
  /** 64 hex digits, as docker's network IDs. */
  id: string;
  name: string;
  driver: NetworkDriver;
  subnets: SubnetConfig[];
  internal: boolean;
  /** Name resolution between containers (aardvark-dns); user bridge networks only. */
  dns: boolean;
  /** The Linux bridge, for the bridge driver. */
  bridge?: string;
  labels: Record<string, string>;
  /** Driver options as given (`-o mtu=1400`). */
  options: Record<string, string>;
  createdAt: Date;
}

export interface Attachment {
  container: string;
  /** Network id. */
  network: string;
  containerName: string;
  interface: string;
  /** CIDR once ADD has assigned it. */
  ip?: string;
  mac?: string;
  aliases: string[];
  createdAt: Date;
}

export interface PublishedPort {
  container: string;
  network: string;
  /** "" for every address. */
  hostIp: string;
  hostPort: number;
  containerPort: number;
  protocol: Protocol;
}

interface NetworkRow {
  id: string; name: string; driver: string; subnets: string; internal: number; dns: number; bridge: string | null;
  labels: string; options: string; created_at: number;
}
interface AttachmentRow {
  container: string; network: string; container_name: string; interface: string; ip: string | null; mac: string | null; aliases: string; created_at: number;
}
interface PortRow { container: string; network: string; host_ip: string; host_port: number; container_port: number; protocol: string }

const toNetwork = (r: NetworkRow): NetworkRecord => ({
  id: r.id, name: r.name, driver: r.driver as NetworkDriver, subnets: JSON.parse(r.subnets) as SubnetConfig[],
  internal: r.internal !== 0, dns: r.dns !== 0, ...(r.bridge !== null ? { bridge: r.bridge } : {}),
  labels: JSON.parse(r.labels) as Record<string, string>, options: JSON.parse(r.options) as Record<string, string>,
  createdAt: new Date(r.created_at),
});
const toAttachment = (r: AttachmentRow): Attachment => ({
  container: r.container, network: r.network, containerName: r.container_name, interface: r.interface,
  ...(r.ip !== null ? { ip: r.ip } : {}), ...(r.mac !== null ? { mac: r.mac } : {}),
  aliases: JSON.parse(r.aliases) as string[], createdAt: new Date(r.created_at),
});
const toPort = (r: PortRow): PublishedPort => ({
  container: r.container, network: r.network, hostIp: r.host_ip, hostPort: r.host_port, containerPort: r.container_port, protocol: r.protocol as Protocol,
});

export const NETWORK_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

export class NetworkStore {
  constructor(readonly db: Database) {}

  /** Runs `f` in a write transaction taken at once (BEGIN IMMEDIATE): checks and inserts are atomic across processes. */
  immediate<T>(f: () => T): T {
    return this.db.transaction(f).immediate();
  }

  insert(n: NetworkRecord): void {
    this.db.query(`INSERT INTO networks (id, name, driver, subnets, internal, dns, bridge, labels, options, created_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(
      n.id, n.name, n.driver, JSON.stringify(n.subnets), n.internal ? 1 : 0, n.dns ? 1 : 0, n.bridge ?? null,
      JSON.stringify(n.labels), JSON.stringify(n.options), n.createdAt.getTime(),
    );
  }

  list(): NetworkRecord[] {
    return (this.db.query("SELECT * FROM networks ORDER BY created_at, name").all() as NetworkRow[]).map(toNetwork);
  }

  byName(name: string): NetworkRecord | undefined {
    const r = this.db.query("SELECT * FROM networks WHERE name = ?").get(name) as NetworkRow | null;
    return r ? toNetwork(r) : undefined;
  }

  byId(id: string): NetworkRecord | undefined {
    const r = this.db.query("SELECT * FROM networks WHERE id = ?").get(id) as NetworkRow | null;
    return r ? toNetwork(r) : undefined;
  }

  /** docker's lookup order: exact name, exact id, then a unique id prefix. */
  find(ref: string): NetworkRecord {
    const byName = this.byName(ref);
    if (byName) return byName;
    if (/^[0-9a-f]+$/.test(ref)) {
      const rows = this.db.query("SELECT * FROM networks WHERE id LIKE ? || '%' LIMIT 2").all(ref) as NetworkRow[];
      if (rows.length === 1) return toNetwork(rows[0]!);
      if (rows.length > 1) throw invalidArgument(`network id prefix ${ref} is ambiguous; give more digits or the name`, "network");
    }
    throw notFound(`network ${ref} not found`, "network");
  }

  delete(id: string): void {
    this.db.query("DELETE FROM networks WHERE id = ?").run(id);
  }

  attachments(network?: string): Attachment[] {
    const rows = network === undefined
      ? this.db.query("SELECT * FROM network_attachments ORDER BY created_at").all()
      : this.db.query("SELECT * FROM network_attachments WHERE network = ? ORDER BY created_at").all(network);
    return (rows as AttachmentRow[]).map(toAttachment);
  }

  attachmentsOf(container: string): Attachment[] {
    return (this.db.query("SELECT * FROM network_attachments WHERE container = ? ORDER BY created_at, interface").all(container) as AttachmentRow[]).map(toAttachment);
  }

  insertAttachment(a: Attachment): void {
    this.db.query(`INSERT INTO network_attachments (container, network, container_name, interface, ip, mac, aliases, created_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?)`).run(a.container, a.network, a.containerName, a.interface, a.ip ?? null, a.mac ?? null, JSON.stringify(a.aliases), a.createdAt.getTime());
  }

  setAddress(container: string, network: string, ip: string | undefined, mac: string | undefined): void {
    this.db.query("UPDATE network_attachments SET ip = ?, mac = ? WHERE container = ? AND network = ?").run(ip ?? null, mac ?? null, container, network);
  }

  deleteAttachment(container: string, network: string): void {
    this.db.query("DELETE FROM network_attachments WHERE container = ? AND network = ?").run(container, network);
  }

  ports(container?: string): PublishedPort[] {
    const rows = container === undefined
      ? this.db.query("SELECT * FROM network_ports").all()
      : this.db.query("SELECT * FROM network_ports WHERE container = ?").all(container);
    return (rows as PortRow[]).map(toPort);
  }

  insertPort(p: PublishedPort): void {
    this.db.query("INSERT INTO network_ports (container, network, host_ip, host_port, container_port, protocol) VALUES (?, ?, ?, ?, ?, ?)")
      .run(p.container, p.network, p.hostIp, p.hostPort, p.containerPort, p.protocol);
  }

  deletePorts(container: string, network?: string): void {
    if (network === undefined) this.db.query("DELETE FROM network_ports WHERE container = ?").run(container);
    else this.db.query("DELETE FROM network_ports WHERE container = ? AND network = ?").run(container, network);
  }

  /** Containers that have any row here. */
  containers(): string[] {
    const rows = this.db.query("SELECT container FROM network_attachments UNION SELECT container FROM network_ports").all() as { container: string }[];
    return rows.map((r) => r.container);
  }
}
