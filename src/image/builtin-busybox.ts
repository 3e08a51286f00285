// The built-in `busybox:latest`: a real OCI image made on this machine from the host's
// busybox-static, so `berth run busybox …` works offline on a fresh machine.
//
// One gzip layer — bin/busybox, a symlink per applet, /etc/passwd and /etc/group, the usual
// empty top-level directories — with every mtime, owner and the entry order fixed, so the same
// busybox binary always gives the same layer, config, manifest and index digests. The image can
// be written into a content store (and named in the metadata DB) and as an OCI layout directory
// that skopeo, umoci, podman (`oci:DIR:latest`) and containerd (`ctr images import`) read.

import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { statSync } from "node:fs";
import { join } from "node:path";
import { digestOf } from "../content/digest.ts";
import { writeBytes } from "../content/write-blob.ts";
import type { Descriptor, Ingester, Platform } from "../content/types.ts";
import type { ImageStore } from "../metadata/images.ts";
import { invalidArgument, notFound } from "../sys/errdefs.ts";
import { MediaType } from "./media-types.ts";
import type { ImageConfigFile } from "./config-to-spec.ts";

export const BUILTIN_BUSYBOX_NAME = "docker.io/library/busybox:latest";
export const DEFAULT_BUSYBOX_PATH = "/bin/busybox";

/** Every file's mtime in the layer: the epoch, so nothing depends on when it was built. */
const EPOCH = 0;
const ANNOTATION_REF_NAME = "org.opencontainers.image.ref.name";
const ANNOTATION_IMAGE_NAME = "io.containerd.image.name";

const PASSWD = `root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
bin:x:2:2:bin:/bin:/bin/false
sys:x:3:3:sys:/dev:/bin/false
www-data:x:33:33:www-data:/var/www:/bin/false
nobody:x:65534:65534:nobody:/home:/bin/false
`;
const GROUP = `root:x:0:
daemon:x:1:
bin:x:2:
sys:x:3:
adm:x:4:
tty:x:5:
wheel:x:10:root
www-data:x:33:
users:x:100:
nogroup:x:65534:
`;
const ENV_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

export interface BuiltImage {
  name: string;
  platform: Platform;
  /** The busybox version line the image was made from. */
  version: string;
  layer: Descriptor;
  /** sha256 of the uncompressed layer tar. */
  diffID: string;
  config: Descriptor;
  manifest: Descriptor;
  /** The image index (what the image name points at), one manifest for this platform. */
  index: Descriptor;
  /** Every blob by digest: layer, config, manifest, index. */
  blobs: Map<string, Uint8Array>;
}

// ---- a deterministic tar writer (POSIX ustar) ----------------------------------------------

export interface TarItem {
  name: string;
  type: "file" | "dir" | "symlink";
  mode: number;
  data?: Uint8Array;
  link?: string;
}

const enc = new TextEncoder();

function ustarHeader(item: TarItem, size: number): Uint8Array {
  const h = new Uint8Array(512);
  const put = (off: number, len: number, s: string) => {
    const b = enc.encode(s);
    if (b.length > len) throw invalidArgument(`tar entry ${JSON.stringify(item.name)}: field does not fit ustar (${len} bytes)`, "name");
    h.set(b, off);
  };
  const oct = (off: number, len: number, v: number) => put(off, len, `${v.toString(8).padStart(len - 1, "0")}\0`);
  put(0, 100, item.type === "dir" ? `${item.name}/` : item.name);
  oct(100, 8, item.mode);
  oct(108, 8, 0); // uid
  oct(116, 8, 0); // gid
  oct(124, 12, size);
  oct(136, 12, EPOCH);
  put(156, 1, item.type === "file" ? "0" : item.type === "dir" ? "5" : "2");
  put(157, 100, item.link ?? "");
  put(257, 6, "ustar\0");
  put(263, 2, "00");
  put(265, 32, "root");
  put(297, 32, "root");
  oct(329, 8, 0);
  oct(337, 8, 0);
  h.fill(0x20, 148, 156); // the checksum is computed with its own field as spaces
  let sum = 0;
  for (const b of h) sum += b;
  put(148, 8, `${sum.toString(8).padStart(6, "0")}\0 `);
  return h;
}

export function writeTar(items: TarItem[]): Uint8Array {
  const parts: Uint8Array[] = [];
  let total = 0;
  for (const it of items) {
    const data = it.type === "file" ? (it.data ?? new Uint8Array()) : new Uint8Array();
    parts.push(ustarHeader(it, data.length));
    total += 512;
    if (data.length > 0) {
      const padded = new Uint8Array(Math.ceil(data.length / 512) * 512);
      padded.set(data);
      parts.push(padded);
      total += padded.length;
    }
  }
  parts.push(new Uint8Array(1024)); // two zero blocks end the archive
  total += 1024;
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

// ---- the image -----------------------------------------------------------------------------

export const GO_ARCH: Readonly<Record<string, string>> = { x64: "amd64", arm64: "arm64", arm: "arm", ia32: "386", s390x: "s390x", ppc64: "ppc64le", riscv64: "riscv64" };

async function applets(busybox: string): Promise<{ names: string[]; version: string }> {
  const list = Bun.spawn([busybox, "--list"], { stdout: "pipe", stderr: "pipe" });
  const [text, code] = await Promise.all([new Response(list.stdout).text(), list.exited]);
  if (code !== 0) throw invalidArgument(`${busybox} --list failed (exit ${code}): is it busybox?`, "busybox");
  const help = Bun.spawn([busybox], { stdout: "pipe", stderr: "pipe" });
  const [out, err] = await Promise.all([new Response(help.stdout).text(), new Response(help.stderr).text(), help.exited]);
  const version = (`${out}${err}`.split("\n")[0] ?? "").replace(/ multi-call binary\.?$/, "").trim();
  const names = [...new Set(text.split("\n").map((s) => s.trim()).filter((s) => s !== "" && s !== "busybox" && !s.includes("/")))].sort();
  return { names, version };
}

/** The layer's entries, in a fixed order. */
function layerItems(binary: Uint8Array, names: string[]): TarItem[] {
  const dirs: [string, number][] = [
    ["bin", 0o755], ["dev", 0o755], ["etc", 0o755], ["home", 0o755], ["proc", 0o755], ["root", 0o700],
    ["sys", 0o755], ["tmp", 0o1777], ["usr", 0o755], ["var", 0o755],
  ];
  const items: TarItem[] = dirs.map(([name, mode]) => ({ name, type: "dir", mode }));
  items.push({ name: "bin/busybox", type: "file", mode: 0o755, data: binary });
  for (const a of names) items.push({ name: `bin/${a}`, type: "symlink", mode: 0o777, link: "busybox" });
  items.push({ name: "etc/group", type: "file", mode: 0o644, data: enc.encode(GROUP) });
  items.push({ name: "etc/passwd", type: "file", mode: 0o644, data: enc.encode(PASSWD) });
  return items;
}

const json = (v: unknown) => enc.encode(JSON.stringify(v));

/** Build the image in memory from a busybox binary (default: the host's busybox-static). */
export async function buildBusyboxImage(opts: { busybox?: string; name?: string } = {}): Promise<BuiltImage> {
  const busybox = opts.busybox ?? DEFAULT_BUSYBOX_PATH;
  let binary: Uint8Array;
  try {
    binary = new Uint8Array(await readFile(busybox));
  } catch {
    throw notFound(`${busybox} is missing: install busybox-static (apt-get install busybox-static) for the built-in image`, "busybox");
  }
  const { names, version } = await applets(busybox);
  // The image's creation time is the binary's (its package's build, as dpkg keeps mtimes): the
  // same binary gives the same digests, and `berth images` does not say "56 years ago".
  const CREATED = new Date(Math.floor(statSync(busybox).mtimeMs / 1000) * 1000).toISOString().replace(".000Z", "Z");
  const tar = writeTar(layerItems(binary, names));
  // gzip output depends only on the input and the level: the header carries no time or name.
  const gz = Bun.gzipSync(tar as Uint8Array<ArrayBuffer>, { level: 9 });
  const diffID = digestOf(tar);
  const layer: Descriptor = { mediaType: MediaType.ociLayerGzip, digest: digestOf(gz), size: gz.length };
  const architecture = GO_ARCH[process.arch] ?? process.arch;
  const platform: Platform = { architecture, os: "linux" };

  const configDoc: ImageConfigFile & Record<string, unknown> = {
    created: CREATED,
    architecture,
    os: "linux",
    config: { Env: [ENV_PATH], Cmd: ["sh"] },
    rootfs: { type: "layers", diff_ids: [diffID] },
    history: [{ created: CREATED, created_by: `berth: built-in image from ${busybox} (${version})` }],
  };
  const configBytes = json(configDoc);
  const config: Descriptor = { mediaType: MediaType.ociConfig, digest: digestOf(configBytes), size: configBytes.length };

  const manifestBytes = json({ schemaVersion: 2, mediaType: MediaType.ociManifest, config, layers: [layer] });
  const manifest: Descriptor = { mediaType: MediaType.ociManifest, digest: digestOf(manifestBytes), size: manifestBytes.length };

  const indexBytes = json({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [{ ...manifest, platform }] });
  const index: Descriptor = { mediaType: MediaType.ociIndex, digest: digestOf(indexBytes), size: indexBytes.length };

  const blobs = new Map<string, Uint8Array>([
    [layer.digest, gz], [config.digest, configBytes], [manifest.digest, manifestBytes], [index.digest, indexBytes],
  ]);
  return { name: opts.name ?? BUILTIN_BUSYBOX_NAME, platform, version, layer, diffID, config, manifest, index, blobs };
}

/** Write every blob into a content store (verified by digest there); children first. */
export async function writeImageToContentStore(store: Ingester, img: BuiltImage): Promise<void> {
  for (const d of [img.layer, img.config, img.manifest, img.index]) {
    const data = img.blobs.get(d.digest)!;
    const written = await writeBytes(store, data, d.mediaType);
    if (written.digest !== d.digest) throw invalidArgument(`blob ${d.digest} changed while writing`, "digest");
  }
}

/**
 * Write the image as an OCI layout directory (image-layout.md): blobs/sha256/…, oci-layout, and
 * an index.json whose entry is the image index, tagged `tag` — `oci:DIR:tag` for skopeo and
 * podman, `DIR:tag` for umoci. Existing blobs are kept; index.json is replaced atomically.
 */
export async function writeOciLayout(dir: string, img: BuiltImage, tag = "latest"): Promise<void> {
  const blobDir = join(dir, "blobs", "sha256");
  await mkdir(blobDir, { recursive: true });
  for (const [digest, data] of img.blobs) {
    const path = join(blobDir, digest.slice("sha256:".length));
    if (await Bun.file(path).exists()) continue;
    await writeAtomic(path, data);
  }
  await writeAtomic(join(dir, "oci-layout"), json({ imageLayoutVersion: "1.0.0" }));
  const top = {
    schemaVersion: 2,
    mediaType: MediaType.ociIndex,
    manifests: [{ ...img.index, annotations: { [ANNOTATION_REF_NAME]: tag, [ANNOTATION_IMAGE_NAME]: img.name } }],
  };
  await writeAtomic(join(dir, "index.json"), json(top));
}

async function writeAtomic(path: string, data: Uint8Array): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  await writeFile(tmp, data);
  await rename(tmp, path);
}

export interface InstallOptions {
  /** Where the blobs go: the local store, or a namespace's view of it (NamespacedContentStore). */
  content: Ingester;
  /** Names the image (BUILTIN_BUSYBOX_NAME) in this namespace's image store. */
  images?: ImageStore;
  /** Also write an OCI layout here. */
  layout?: string;
  busybox?: string;
}

/** Build the built-in image and install it: content store, image record, optional layout. */
export async function installBuiltinBusybox(opts: InstallOptions): Promise<BuiltImage> {
  const img = await buildBusyboxImage(opts.busybox !== undefined ? { busybox: opts.busybox } : {});
  await writeImageToContentStore(opts.content, img);
  opts.images?.put({ name: img.name, target: img.index, labels: { "io.berth.builtin": "busybox" } });
  if (opts.layout !== undefined) await writeOciLayout(opts.layout, img);
  return img;
}
