// docker's shapes for networks: `docker network inspect` (the Engine API's Network object) and a
// `docker network ls --format json` row. Pure.
import type { Attachment, NetworkRecord } from "./store.ts";

export interface DockerNetwork {
  Name: string;
  Id: string;
  Created: string;
  Scope: "local";
  Driver: string;
  EnableIPv6: boolean;
  IPAM: { Driver: "default"; Options: Record<string, string>; Config: { Subnet: string; Gateway: string; IPRange?: string }[] };
  Internal: boolean;
  Attachable: boolean;
  Ingress: boolean;
  ConfigFrom: { Network: string };
  ConfigOnly: boolean;
  Containers: Record<string, { Name: string; EndpointID: string; MacAddress: string; IPv4Address: string; IPv6Address: string }>;
  Options: Record<string, string>;
  Labels: Record<string, string>;
}

export function dockerInspect(n: NetworkRecord, attachments: Attachment[]): DockerNetwork {
  const containers: DockerNetwork["Containers"] = {};
  for (const a of attachments) {
    containers[a.container] = {
      Name: a.containerName,
      // docker's endpoint id is its own random id; berth's endpoint is the (container, network) pair.
      EndpointID: `${a.container.slice(0, 32)}${n.id.slice(0, 32)}`,
      MacAddress: a.mac ?? "",
      IPv4Address: a.ip ?? "",
      IPv6Address: "",
    };
  }
  return {
    Name: n.name,
    Id: n.id,
    Created: n.createdAt.toISOString(),
    Scope: "local",
    Driver: n.driver,
    EnableIPv6: false,
    IPAM: {
      Driver: "default",
      Options: {},
      Config: n.subnets.map((s) => ({ Subnet: s.subnet, Gateway: s.gateway, ...(s.ipRange ? { IPRange: s.ipRange } : {}) })),
    },
    Internal: n.internal,
    Attachable: false,
    Ingress: false,
    ConfigFrom: { Network: "" },
    ConfigOnly: false,
    Containers: containers,
    Options: { ...n.options, ...(n.bridge ? { "com.docker.network.bridge.name": n.bridge } : {}) },
    Labels: n.labels,
  };
}

/** docker's Go time format in `network ls --format json` ("2024-05-01 10:00:00.123456789 +0000 UTC"). */
function goTime(d: Date): string {
  const iso = d.toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)} +0000 UTC`;
}

export function dockerListRow(n: NetworkRecord, noTrunc = false): Record<string, string> {
  return {
    CreatedAt: goTime(n.createdAt),
    Driver: n.driver,
    ID: noTrunc ? n.id : n.id.slice(0, 12),
    IPv6: "false",
    Internal: String(n.internal),
    Labels: Object.entries(n.labels).map(([k, v]) => `${k}=${v}`).join(","),
    Name: n.name,
    Scope: "local",
  };
}
