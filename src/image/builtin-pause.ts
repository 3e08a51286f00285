// The built-in `localhost/berth-pause`: the image of a CRI pod's infra container (podman builds
// its localhost/podman-pause image the same way, from catatonit). One layer holding berth-pause
// (native/berth-pause.c, static), made on this machine, so RunPodSandbox needs no pull and works
// on an offline node. Deterministic like the built-in busybox: the same binary gives the same
// digests.
import { readFile } from "node:fs/promises";
import { digestOf } from "../content/digest.ts";
import type { Descriptor, Platform } from "../content/types.ts";
import type { ImageStore } from "../metadata/images.ts";
import type { Ingester } from "../content/types.ts";
import { notFound } from "../sys/errdefs.ts";
import { MediaType } from "./media-types.ts";
import { GO_ARCH, writeImageToContentStore, writeTar, type BuiltImage } from "./builtin-busybox.ts";

export const BUILTIN_PAUSE_NAME = "localhost/berth-pause:1";
export const PAUSE_PATH_IN_IMAGE = "/pause";

const enc = new TextEncoder();
const json = (v: unknown) => enc.encode(JSON.stringify(v));
const CREATED = "1970-01-01T00:00:00Z";

export async function buildPauseImage(binaryPath: string): Promise<BuiltImage> {
  let binary: Uint8Array;
  try {
    binary = new Uint8Array(await readFile(binaryPath));
  } catch {
    throw notFound(`${binaryPath} is missing: run scripts/build.sh (it builds berth-pause)`, "berth-pause");
  }
  const tar = writeTar([
    { name: "dev", type: "dir", mode: 0o755 }, { name: "etc", type: "dir", mode: 0o755 },
    { name: "proc", type: "dir", mode: 0o755 }, { name: "sys", type: "dir", mode: 0o755 },
    { name: "pause", type: "file", mode: 0o755, data: binary },
  ]);
  const gz = Bun.gzipSync(tar as Uint8Array<ArrayBuffer>, { level: 9 });
  const diffID = digestOf(tar);
  const layer: Descriptor = { mediaType: MediaType.ociLayerGzip, digest: digestOf(gz), size: gz.length };
  const architecture = GO_ARCH[process.arch] ?? process.arch;
  const platform: Platform = { architecture, os: "linux" };
  const configBytes = json({
    created: CREATED, architecture, os: "linux",
    config: { Entrypoint: [PAUSE_PATH_IN_IMAGE], User: "0:0", WorkingDir: "/" },
    rootfs: { type: "layers", diff_ids: [diffID] },
    history: [{ created: CREATED, created_by: "berth: built-in pod infra image (native/berth-pause.c)" }],
  });
  const config: Descriptor = { mediaType: MediaType.ociConfig, digest: digestOf(configBytes), size: configBytes.length };
  const manifestBytes = json({ schemaVersion: 2, mediaType: MediaType.ociManifest, config, layers: [layer] });
  const manifest: Descriptor = { mediaType: MediaType.ociManifest, digest: digestOf(manifestBytes), size: manifestBytes.length };
  const indexBytes = json({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [{ ...manifest, platform }] });
  const index: Descriptor = { mediaType: MediaType.ociIndex, digest: digestOf(indexBytes), size: indexBytes.length };
  const blobs = new Map<string, Uint8Array>([[layer.digest, gz], [config.digest, configBytes], [manifest.digest, manifestBytes], [index.digest, indexBytes]]);
  return { name: BUILTIN_PAUSE_NAME, platform, version: "1", layer, diffID, config, manifest, index, blobs };
}

/** Build and install the image (content store + image record), as the busybox one. */
export async function installBuiltinPause(opts: { content: Ingester; images: ImageStore; binary: string }): Promise<BuiltImage> {
  const img = await buildPauseImage(opts.binary);
  await writeImageToContentStore(opts.content, img);
  opts.images.put({ name: img.name, target: img.index, labels: { "io.berth.builtin": "pause" } });
  return img;
}
