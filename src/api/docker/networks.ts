// /networks/*: the network library's records (src/network) through the engine's manager, in
// docker's Network JSON; connect/disconnect go through the engine (a container's namespace).
import { collectNetworkLeftovers, connectContainer, disconnectContainer, networkManager } from "../../engine/network.ts";
import { getContainer } from "../../engine/containers.ts";
import { dockerInspect } from "../../network/index.ts";
import { ApiError, badRequest, jsonBody, qFilters, sendEmpty, sendJson, type Ctx } from "./http.ts";

export async function list(c: Ctx): Promise<void> {
  const m = await networkManager(c.e);
  const f = qFilters(c, ["name", "id", "driver", "label", "type", "scope", "dangling"]);
  let nets = m.list();
  for (const [k, vals] of f) {
    nets = nets.filter((n) => vals.some((v) => {
      switch (k) {
        case "name": return n.name.includes(v);
        case "id": return n.id.startsWith(v);
        case "driver": return n.driver === v;
        case "scope": return v === "local";
        case "type": return v === "builtin" ? ["bridge", "host", "none"].includes(n.name) : !["bridge", "host", "none"].includes(n.name);
        case "label": {
          const eq = v.indexOf("=");
          return eq < 0 ? v in n.labels : n.labels[v.slice(0, eq)] === v.slice(eq + 1);
        }
        default: return true;
      }
    }));
  }
  sendJson(c, 200, nets.map((n) => m.inspect(n.id)));
}

export async function inspect(c: Ctx): Promise<void> {
  const m = await networkManager(c.e);
  sendJson(c, 200, m.inspect(c.params.id!));
}

export async function create(c: Ctx): Promise<void> {
  const b = await jsonBody<{ Name?: string; Driver?: string; Internal?: boolean; EnableIPv6?: boolean; Labels?: Record<string, string> | null; Options?: Record<string, string> | null; IPAM?: { Driver?: string; Config?: { Subnet?: string; Gateway?: string; IPRange?: string }[] | null } | null }>(c);
  if (!b.Name) throw badRequest("network create needs a Name");
  if (b.EnableIPv6) throw badRequest("EnableIPv6: IPv6 networks are not supported yet");
  const cfg = b.IPAM?.Config ?? [];
  if (cfg.length > 1) throw badRequest("IPAM.Config: berth networks take one subnet");
  const m = await networkManager(c.e);
  const rec = m.create({
    name: b.Name,
    ...(b.Driver ? { driver: b.Driver } : {}),
    ...(cfg[0]?.Subnet ? { subnet: cfg[0].Subnet } : {}),
    ...(cfg[0]?.Gateway ? { gateway: cfg[0].Gateway } : {}),
    ...(cfg[0]?.IPRange ? { ipRange: cfg[0].IPRange } : {}),
    internal: b.Internal === true,
    labels: b.Labels ?? {},
    options: b.Options ?? {},
  });
  c.e.emit({ type: "network", action: "create", actor: rec.id, attributes: { name: rec.name, type: rec.driver } });
  sendJson(c, 201, { Id: rec.id, Warning: "" });
}

export async function remove(c: Ctx): Promise<void> {
  const m = await networkManager(c.e);
  await collectNetworkLeftovers(c.e);
  const rec = await m.remove(c.params.id!);
  c.e.emit({ type: "network", action: "destroy", actor: rec.id, attributes: { name: rec.name, type: rec.driver } });
  sendEmpty(c, 204);
}

export async function prune(c: Ctx): Promise<void> {
  const m = await networkManager(c.e);
  await collectNetworkLeftovers(c.e);
  const gone = await m.prune();
  sendJson(c, 200, { NetworksDeleted: gone.length ? gone.map((n) => n.name) : null });
}

async function running(c: Ctx, ref: unknown) {
  if (typeof ref !== "string" || ref === "") throw badRequest("Container: the container's name or id is required");
  const ctr = await getContainer(c.e, ref);
  if (ctr.state !== "running" && ctr.state !== "paused") throw new ApiError(409, `container ${ctr.id} is not running: berth connects running containers (give the network at create for the first one)`);
  return ctr;
}

export async function connect(c: Ctx): Promise<void> {
  const b = await jsonBody<{ Container?: string; EndpointConfig?: { Aliases?: string[] | null; IPAMConfig?: { IPv4Address?: string } | null } | null }>(c);
  const ctr = await running(c, b.Container);
  await connectContainer(c.e, ctr, c.params.id!, { ...(b.EndpointConfig?.IPAMConfig?.IPv4Address ? { ip: b.EndpointConfig.IPAMConfig.IPv4Address } : {}), aliases: b.EndpointConfig?.Aliases ?? [] });
  sendEmpty(c, 200);
}

export async function disconnect(c: Ctx): Promise<void> {
  const b = await jsonBody<{ Container?: string }>(c);
  const ctr = await running(c, b.Container);
  await disconnectContainer(c.e, ctr, c.params.id!);
  sendEmpty(c, 200);
}

export { dockerInspect };
