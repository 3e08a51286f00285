// /images/*: the engine's image records in docker's JSON (list, inspect, history, tag, delete,
// prune). Pull, push, save and load are in transfer.ts.
import { familiarName, findImage, namesOf, normalizeName, readImage, type ResolvedImage } from "../../engine/images.ts";
import { pruneImages } from "../../engine/prune.ts";
import { collectEngineGarbage } from "../../engine/gc.ts";
import { failedPrecondition, notFound } from "../../sys/errdefs.ts";
import type { Engine } from "../../engine/engine.ts";
import { badRequest, qBool, qFilters, q, sendJson, type Ctx } from "./http.ts";

const secs = (iso: string | undefined, fallback: Date) => Math.floor((iso ? Date.parse(iso) : fallback.getTime()) / 1000);
const sizeOf = (img: ResolvedImage) => img.layers.reduce((a, l) => a + l.size, 0) + img.config.size;

async function mustFind(e: Engine, ref: string): Promise<ResolvedImage> {
  const img = await findImage(e, ref);
  if (!img) throw notFound(`No such image: ${ref}`, "image");
  return img;
}

function repoDigests(e: Engine, img: ResolvedImage, names: string[]): string[] {
  void e;
  return names.map((n) => `${familiarName(n).replace(/:[^:/]+$/, "")}@${img.record.target.digest}`);
}

export async function list(c: Ctx): Promise<void> {
  const f = qFilters(c, ["reference", "dangling", "label", "before", "since", "until"]);
  const byId = new Map<string, { img: ResolvedImage; names: string[] }>();
  for (const rec of c.e.images.list()) {
    const img = await readImage(c.e, rec).catch(() => undefined);
    if (!img) continue;
    const row = byId.get(img.id) ?? { img, names: [] };
    row.names.push(rec.name);
    byId.set(img.id, row);
  }
  const used = new Map<string, number>();
  for (const x of c.e.containers.list()) used.set(x.imageId, (used.get(x.imageId) ?? 0) + 1);
  let rows = [...byId.values()];
  const refs = f.get("reference");
  if (refs) {
    const globs = refs.map((r) => new RegExp(`^${r.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, "[^/]*")}(:.*)?$`));
    rows = rows.filter((r) => r.names.some((n) => globs.some((g) => g.test(familiarName(n)))));
  }
  if (f.get("dangling")?.some((v) => v === "true" || v === "1")) rows = [];
  const labels = f.get("label");
  if (labels) rows = rows.filter((r) => labels.every((l) => {
    const eq = l.indexOf("="), lb = r.img.configDoc.config?.Labels ?? {};
    return eq < 0 ? l in lb : lb[l.slice(0, eq)] === l.slice(eq + 1);
  }));
  sendJson(c, 200, rows.map(({ img, names }) => ({
    Id: img.id,
    ParentId: "",
    RepoTags: names.map(familiarName),
    RepoDigests: repoDigests(c.e, img, names),
    Created: secs(img.configDoc.created, img.record.createdAt),
    Size: sizeOf(img),
    SharedSize: -1,
    VirtualSize: sizeOf(img),
    Labels: img.configDoc.config?.Labels ?? null,
    Containers: qBool(c, "shared-size") ? used.get(img.id) ?? 0 : -1,
  })));
}

export async function inspect(c: Ctx): Promise<void> {
  const img = await mustFind(c.e, c.params.name!);
  const names = await namesOf(c.e, img.id);
  const cfg = img.configDoc;
  sendJson(c, 200, {
    Id: img.id,
    RepoTags: names.map(familiarName),
    RepoDigests: repoDigests(c.e, img, names),
    Parent: "",
    Comment: "",
    Created: cfg.created ?? img.record.createdAt.toISOString(),
    DockerVersion: "",
    Author: (cfg as { author?: string }).author ?? "",
    Config: { Hostname: "", Domainname: "", User: "", AttachStdin: false, AttachStdout: false, AttachStderr: false, Tty: false, OpenStdin: false, StdinOnce: false, Env: null, Cmd: null, Image: "", Volumes: null, WorkingDir: "", Entrypoint: null, OnBuild: null, Labels: null, ...(cfg.config ?? {}) },
    Architecture: cfg.architecture ?? "amd64",
    Os: cfg.os ?? "linux",
    Size: sizeOf(img),
    GraphDriver: { Name: c.e.opts.storageDriver, Data: null },
    RootFS: { Type: "layers", Layers: cfg.rootfs?.diff_ids ?? [] },
    Metadata: { LastTagTime: img.record.updatedAt.toISOString() },
    Descriptor: img.record.target,
  });
}

export async function history(c: Ctx): Promise<void> {
  const img = await mustFind(c.e, c.params.name!);
  const names = await namesOf(c.e, img.id);
  const hist = ((img.configDoc as { history?: { created?: string; created_by?: string; comment?: string; empty_layer?: boolean }[] }).history ?? []);
  const layers = [...img.layers];
  const rows = hist.map((h) => ({
    Id: "<missing>",
    Created: secs(h.created, img.record.createdAt),
    CreatedBy: h.created_by ?? "",
    Tags: null as string[] | null,
    Size: h.empty_layer ? 0 : (layers.shift()?.size ?? 0),
    Comment: h.comment ?? "",
  })).reverse();
  if (rows.length === 0) rows.push({ Id: "<missing>", Created: secs(img.configDoc.created, img.record.createdAt), CreatedBy: "", Tags: null, Size: sizeOf(img), Comment: "" });
  rows[0]!.Id = img.id;
  rows[0]!.Tags = names.map(familiarName);
  sendJson(c, 200, rows);
}

export async function tag(c: Ctx): Promise<void> {
  const img = await mustFind(c.e, c.params.name!);
  const repo = q(c, "repo");
  if (!repo) throw badRequest("tag needs repo (and tag)");
  const t = q(c, "tag") || "latest";
  let target: string;
  try {
    target = normalizeName(`${repo}:${t}`);
  } catch (err) {
    throw badRequest(`invalid reference format: ${repo}:${t}: ${(err as Error).message}`);
  }
  if (c.e.images.list().some((r) => r.name === target)) c.e.images.delete(target);
  c.e.images.create({ name: target, target: img.record.target, labels: img.record.labels });
  c.e.emit({ type: "image", action: "tag", actor: img.id, attributes: { name: familiarName(target) } });
  c.res!.writeHead(201, { "Content-Length": 0 });
  c.res!.end();
}

/** docker rmi: by name untags that name; by ID every name goes (force when there are several). */
export async function remove(c: Ctx): Promise<void> {
  const ref = c.params.name!;
  const force = qBool(c, "force");
  const img = await mustFind(c.e, ref);
  let byName = false;
  try {
    byName = normalizeName(ref) === img.record.name;
  } catch {}
  const names = await namesOf(c.e, img.id);
  const untag = byName ? [img.record.name] : names;
  if (!byName && names.length > 1 && !force) throw failedPrecondition(`conflict: unable to delete ${ref} (must be forced) - image is referenced in multiple repositories`, "image");
  const last = untag.length === names.length;
  const users = c.e.containers.list().filter((x) => x.imageId === img.id);
  if (last && users.length > 0 && !force) {
    throw failedPrecondition(`conflict: unable to remove repository reference "${ref}" (must force) - container ${users[0]!.id.slice(0, 12)} is using its referenced image ${img.id.slice(7, 19)}`, "image");
  }
  const out: Record<string, string>[] = [];
  for (const n of untag) {
    c.e.images.delete(n);
    out.push({ Untagged: familiarName(n) });
    c.e.emit({ type: "image", action: "untag", actor: img.id, attributes: { name: familiarName(n) } });
  }
  if (last) {
    out.push({ Deleted: img.id });
    c.e.emit({ type: "image", action: "delete", actor: img.id, attributes: { name: familiarName(img.record.name) } });
    await collectEngineGarbage(c.e);
  }
  sendJson(c, 200, out);
}

export async function prune(c: Ctx): Promise<void> {
  const f = qFilters(c, ["dangling", "until", "label", "label!"]);
  const all = (f.get("dangling") ?? []).some((v) => v === "false" || v === "0");
  const filters = [...f].filter(([k]) => k !== "dangling").flatMap(([k, vs]) => vs.map((v) => `${k}=${v}`));
  const r = await pruneImages(c.e, { all, filters });
  const g = await collectEngineGarbage(c.e);
  const deleted = [...r.untagged.map((n) => ({ Untagged: familiarName(n) })), ...r.deleted.map((d) => ({ Deleted: d }))];
  sendJson(c, 200, { ImagesDeleted: deleted.length ? deleted : null, SpaceReclaimed: g.reclaimed });
}
