// /volumes/*: the engine's volumes (engine/volumes.ts) in docker's Volume JSON.
import { createVolume, pruneVolumes, removeVolume, dirSize, volumeUsers } from "../../engine/volumes.ts";
import { volumeJson } from "../../docker/volume-json.ts";
import { notFound } from "../../sys/errdefs.ts";
import { badRequest, jsonBody, qBool, qFilters, sendEmpty, sendJson, type Ctx } from "./http.ts";

export async function list(c: Ctx): Promise<void> {
  const f = qFilters(c, ["name", "driver", "label", "dangling"]);
  let vs = c.e.volumes.list();
  for (const [k, vals] of f) {
    vs = vs.filter((v) => vals.some((x) => {
      if (k === "name") return v.name.includes(x);
      if (k === "driver") return v.driver === x;
      if (k === "dangling") return (volumeUsers(c.e, v.name).length === 0) === (x === "true" || x === "1");
      const eq = x.indexOf("=");
      return eq < 0 ? x in v.labels : v.labels[x.slice(0, eq)] === x.slice(eq + 1);
    }));
  }
  sendJson(c, 200, { Volumes: vs.map(volumeJson), Warnings: null });
}

export async function create(c: Ctx): Promise<void> {
  const b = await jsonBody<{ Name?: string; Driver?: string; DriverOpts?: Record<string, string> | null; Labels?: Record<string, string> | null }>(c);
  if (b.Name !== undefined && typeof b.Name !== "string") throw badRequest("Name: expected a string");
  const v = createVolume(c.e, {
    ...(b.Name ? { name: b.Name } : {}),
    ...(b.Driver ? { driver: b.Driver } : {}),
    labels: b.Labels ?? {},
    options: b.DriverOpts ?? {},
    anonymous: false,
  });
  sendJson(c, 201, volumeJson(v));
}

export async function inspect(c: Ctx): Promise<void> {
  const v = c.e.volumes.find(c.params.name!);
  if (!v) throw notFound(`get ${c.params.name}: no such volume`, "volume");
  sendJson(c, 200, { ...volumeJson(v), UsageData: { Size: dirSize(v.mountpoint), RefCount: volumeUsers(c.e, v.name).length } });
}

export async function remove(c: Ctx): Promise<void> {
  removeVolume(c.e, c.params.name!, { force: qBool(c, "force") });
  sendEmpty(c, 204);
}

export async function prune(c: Ctx): Promise<void> {
  const f = qFilters(c, ["label", "all"]);
  const labels: Record<string, string> = {};
  for (const l of f.get("label") ?? []) {
    const eq = l.indexOf("=");
    labels[eq < 0 ? l : l.slice(0, eq)] = eq < 0 ? "" : l.slice(eq + 1);
  }
  const all = (f.get("all") ?? []).some((x) => x === "true" || x === "1");
  const r = pruneVolumes(c.e, { all, ...(Object.keys(labels).length ? { labels } : {}) });
  sendJson(c, 200, { VolumesDeleted: r.removed.length ? r.removed : null, SpaceReclaimed: r.reclaimed });
}
