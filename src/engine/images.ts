// Finding images the way docker does (by name, by ID or ID prefix, by digest) and reading what
// an image record points at: the platform's manifest, its config and layers.
import type { Descriptor } from "../content/types.ts";
import { isBerthError, notFound, invalidArgument, failedPrecondition } from "../sys/errdefs.ts";
import { isIndexType, isManifestType } from "../image/media-types.ts";
import type { ImageConfigFile } from "../image/config-to-spec.ts";
import type { Image } from "../metadata/images.ts";
import { formatReference, parseReference, familiarReference } from "../distribution/reference.ts";
import { DEFAULT_PLATFORM, selectManifest } from "../distribution/platform.ts";
import type { Engine } from "./engine.ts";

export interface ResolvedImage {
  record: Image;
  manifest: Descriptor;
  config: Descriptor;
  layers: Descriptor[];
  configDoc: ImageConfigFile;
  /** docker's image ID: the config digest. */
  id: string;
}

const dec = new TextDecoder();
const parse = <T>(b: Uint8Array): T => JSON.parse(dec.decode(b)) as T;

/** The manifest, config and layers an image record's target reaches for this platform. */
export async function readImage(e: Engine, record: Image): Promise<ResolvedImage> {
  let manifest = record.target;
  if (isIndexType(manifest.mediaType)) {
    const index = parse<{ manifests?: Descriptor[] }>(await e.content.read(manifest.digest));
    manifest = selectManifest(index.manifests ?? [], DEFAULT_PLATFORM, `image ${record.name}`);
  }
  if (!isManifestType(manifest.mediaType)) throw invalidArgument(`image ${record.name} points at a ${manifest.mediaType}, not an image manifest`, "image");
  let doc: { config?: Descriptor; layers?: Descriptor[] };
  try {
    doc = parse(await e.content.read(manifest.digest));
  } catch (err) {
    if (isBerthError(err, "NotFound")) throw failedPrecondition(`image ${record.name}: manifest ${manifest.digest} is missing from the content store; pull the image again`, "image");
    throw err;
  }
  if (!doc.config) throw invalidArgument(`image ${record.name}: manifest ${manifest.digest} has no config`, "image");
  const configDoc = parse<ImageConfigFile>(await e.content.read(doc.config.digest));
  return { record, manifest, config: doc.config, layers: doc.layers ?? [], configDoc, id: doc.config.digest };
}

/** Normalise a name as docker does: "busybox" → "docker.io/library/busybox:latest". */
export function normalizeName(ref: string): string {
  return formatReference(parseReference(ref));
}

/** "busybox:latest" for docker.io images, the full name elsewhere. */
export function familiarName(name: string): string {
  try {
    return familiarReference(parseReference(name, { defaultTag: false }));
  } catch {
    return name;
  }
}

/** Split a stored name into docker's REPOSITORY and TAG columns. */
export function repoAndTag(name: string): { repo: string; tag: string; digest?: string } {
  try {
    const r = parseReference(name, { defaultTag: false });
    const repo = familiarReference({ domain: r.domain, path: r.path });
    return { repo, tag: r.tag ?? "<none>", ...(r.digest ? { digest: r.digest } : {}) };
  } catch {
    return { repo: name, tag: "<none>" };
  }
}

/**
 * The image `ref` names: a name (normalised), a full or short image ID ("sha256:…", 12+ hex), or
 * undefined when there is none.
 */
export async function findImage(e: Engine, ref: string): Promise<ResolvedImage | undefined> {
  let name: string | undefined;
  try {
    name = normalizeName(ref);
  } catch {
    name = undefined;
  }
  if (name !== undefined) {
    try {
      return await readImage(e, e.images.get(name));
    } catch (err) {
      if (!isBerthError(err, "NotFound") || (err as { field?: string }).field !== "name") throw err;
    }
  }
  const hex = ref.replace(/^sha256:/, "");
  if (/^[0-9a-f]{4,64}$/.test(hex)) {
    const matches: ResolvedImage[] = [];
    for (const rec of e.images.list()) {
      const r = await readImage(e, rec).catch(() => undefined);
      if (r && (r.id.slice(7).startsWith(hex) || rec.target.digest.slice(7) === hex)) matches.push(r);
    }
    const ids = new Set(matches.map((m) => m.id));
    if (ids.size > 1) throw invalidArgument(`image ID prefix ${ref} is ambiguous: give more characters`, "image");
    if (matches.length > 0) return matches[0];
  }
  return undefined;
}

export async function mustFindImage(e: Engine, ref: string): Promise<ResolvedImage> {
  const r = await findImage(e, ref);
  if (!r) throw notFound(`No such image: ${ref} (see berth images; berth pull ${ref})`, "image");
  return r;
}

/** Every name that points at the same image ID. */
export async function namesOf(e: Engine, id: string): Promise<string[]> {
  const out: string[] = [];
  for (const rec of e.images.list()) {
    const r = await readImage(e, rec).catch(() => undefined);
    if (r?.id === id) out.push(rec.name);
  }
  return out;
}

export interface HistoryEntry {
  /** The image's ID for the newest entry, "" for the others (docker's "<missing>"). */
  id: string;
  created?: Date;
  createdBy: string;
  comment: string;
  emptyLayer: boolean;
  /** Bytes the entry's layer takes unpacked (its snapshot's own usage), else its compressed size. */
  size: number;
}

/** docker history: the config's history, newest first, each non-empty entry with its layer's size. */
export async function imageHistory(e: Engine, ref: string): Promise<HistoryEntry[]> {
  const img = await mustFindImage(e, ref);
  const hist = (img.configDoc.history ?? []) as { created?: string; created_by?: string; comment?: string; empty_layer?: boolean }[];
  const { chainIDs } = await import("../snapshots/apply-layers.ts");
  const chains = chainIDs(img.configDoc.rootfs?.diff_ids ?? []);
  const sn = await e.snapshotter();
  const out: HistoryEntry[] = [];
  let layer = 0;
  for (const h of hist) {
    let size = 0;
    if (!h.empty_layer) {
      const chain = chains[layer];
      size = chain ? await sn.usage(chain).then((u) => u.size).catch(() => img.layers[layer]?.size ?? 0) : 0;
      layer++;
    }
    out.push({ id: "", ...(h.created ? { created: new Date(h.created) } : {}), createdBy: h.created_by ?? "", comment: h.comment ?? "", emptyLayer: h.empty_layer === true, size });
  }
  out.reverse();
  if (out[0]) out[0].id = img.id;
  return out;
}
