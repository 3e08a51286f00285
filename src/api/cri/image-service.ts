// runtime.v1.ImageService over the engine's image store: an image is one config digest (its id)
// with every name that points at it (repo_tags) and its manifest digest per repository
// (repo_digests). The built-in pause image is pinned (kubelet's image GC keeps it).
import { statfsSync } from "node:fs";
import { join } from "node:path";
import type { Engine } from "../../engine/engine.ts";
import { findImage, readImage, type ResolvedImage } from "../../engine/images.ts";
import { pullImage } from "../../engine/pull.ts";
import { collectEngineGarbage } from "../../engine/gc.ts";
import { failedPrecondition, invalidArgument, isBerthError } from "../../sys/errdefs.ts";
import { parseReference } from "../../distribution/reference.ts";
import type { ImageServiceHandlers } from "./generated/runtime/v1/ImageService.ts";
import type { Image } from "./generated/runtime/v1/Image.ts";
import type { AuthConfig__Output } from "./generated/runtime/v1/AuthConfig.ts";
import { nanos } from "./translate.ts";
import { unary } from "./grpc-edge.ts";

async function allImages(e: Engine): Promise<Map<string, { img: ResolvedImage; names: string[] }>> {
  const byId = new Map<string, { img: ResolvedImage; names: string[] }>();
  for (const rec of e.images.list()) {
    const img = await readImage(e, rec).catch(() => undefined);
    if (!img) continue;
    const entry = byId.get(img.id) ?? { img, names: [] };
    entry.names.push(rec.name);
    byId.set(img.id, entry);
  }
  return byId;
}

function imageOf(img: ResolvedImage, names: string[]): Image {
  const tags: string[] = [];
  const digests = new Set<string>();
  for (const n of names) {
    try {
      const r = parseReference(n, { defaultTag: false });
      if (r.tag) tags.push(n);
      digests.add(`${r.domain}/${r.path}@${img.record.target.digest}`);
    } catch {
      tags.push(n);
    }
  }
  const user = img.configDoc.config?.User ?? "";
  const uid = /^\d+/.exec(user)?.[0];
  return {
    id: img.id, repo_tags: tags, repo_digests: [...digests],
    size: String(img.layers.reduce((a, l) => a + l.size, 0) + img.config.size),
    ...(uid !== undefined ? { uid: { value: uid } } : {}),
    username: uid === undefined ? user.split(":")[0] ?? "" : "",
    spec: { image: img.id, annotations: {} },
    pinned: img.record.labels?.["io.berth.builtin"] === "pause",
  };
}

function credentials(a: AuthConfig__Output | null): { username: string; password: string } | undefined {
  if (!a) return undefined;
  if (a.identity_token || a.registry_token) throw invalidArgument("auth: identity_token and registry_token are not supported; give username and password (or auth)", "auth");
  if (a.auth) {
    const s = Buffer.from(a.auth, "base64").toString("utf8");
    const i = s.indexOf(":");
    if (i < 0) throw invalidArgument("auth.auth is not base64 of \"user:password\"", "auth.auth");
    return { username: s.slice(0, i), password: s.slice(i + 1) };
  }
  if (a.username || a.password) return { username: a.username, password: a.password };
  return undefined;
}

export function imageService(e: Engine): Partial<ImageServiceHandlers> {
  return {
    ListImages: unary(async (req) => {
      const want = req.filter?.image?.image;
      const all = await allImages(e);
      const out: Image[] = [];
      if (want) {
        const one = await findImage(e, want);
        if (one) out.push(imageOf(one, all.get(one.id)?.names ?? [one.record.name]));
      } else {
        for (const { img, names } of all.values()) out.push(imageOf(img, names));
      }
      return { images: out };
    }),

    ImageStatus: unary(async (req) => {
      const ref = req.image?.image;
      if (!ref) throw invalidArgument("ImageStatus: image.image is empty", "image");
      const img = await findImage(e, ref);
      const info: Record<string, string> = {};
      if (!img) return { image: null, info }; // the CRI's "not present" is an empty answer
      const names = (await allImages(e)).get(img.id)?.names ?? [img.record.name];
      if (req.verbose) info.info = JSON.stringify({ imageSpec: img.configDoc, manifest: img.manifest, names });
      return { image: imageOf(img, names), info };
    }),

    PullImage: unary(async (req, call) => {
      const ref = req.image?.image;
      if (!ref) throw invalidArgument("PullImage: image.image is empty", "image");
      const ac = new AbortController();
      call.on("cancelled", () => ac.abort(new Error("the client canceled the pull")));
      const auth = credentials(req.auth);
      const { name } = await pullImage(e, ref, { ...(auth ? { auth } : {}), signal: ac.signal });
      const img = await findImage(e, name);
      return { image_ref: img?.id ?? name };
    }),

    RemoveImage: unary(async (req) => {
      const ref = req.image?.image;
      if (!ref) throw invalidArgument("RemoveImage: image.image is empty", "image");
      const img = await findImage(e, ref);
      if (!img) return {}; // idempotent: an image that is not there is removed
      const users = e.containers.list().filter((c) => c.imageId === img.id);
      if (users.length) throw failedPrecondition(`image ${ref} is in use by container ${users[0]!.id} (${users[0]!.name}): remove the container first`, "image");
      // containerd removes every name of the image, as kubelet's image GC expects.
      for (const n of (await allImages(e)).get(img.id)?.names ?? []) {
        try {
          e.images.delete(n);
        } catch (err) {
          if (!isBerthError(err, "NotFound")) throw err;
        }
      }
      await collectEngineGarbage(e);
      return {};
    }),

    ImageFsInfo: unary(async () => {
      const dir = join(e.opts.root, "snapshots");
      let used = 0;
      for (const { img } of (await allImages(e)).values()) used += img.layers.reduce((a, l) => a + l.size, 0) + img.config.size;
      let inodes = "0";
      try {
        const s = statfsSync(e.opts.root);
        inodes = String(s.files - s.ffree);
      } catch {}
      return { image_filesystems: [{ timestamp: nanos(new Date()), fs_id: { mountpoint: dir }, used_bytes: { value: String(used) }, inodes_used: { value: inodes } }] };
    }),
  };
}
