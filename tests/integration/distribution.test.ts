// Pull and push against a real docker-registry (Debian 2.8) started by this test.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtemp, readdir, rm, writeFile, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawn } from "bun";
import { LocalContentStore, digestOf, writeBytes } from "../../src/content/index.ts";
import { MediaType } from "../../src/image/media-types.ts";
import { ImageStore, MetadataDB, NamespacedContentStore, collectGarbage } from "../../src/metadata/index.ts";
import { RegistryClient, pull, push } from "../../src/distribution/index.ts";
import { unpackLayer } from "../../src/image/unpack.ts";
import { BerthError } from "../../src/sys/errdefs.ts";
import { buildBusyboxImage, registryBlobPath, startRegistry, type RunningRegistry, type TestImage } from "./registry-harness.ts";

let reg: RunningRegistry;
let work: string;
let src: LocalContentStore;
let img: TestImage;
const client = new RegistryClient();
let n = 0;
const freshStore = async () => new LocalContentStore(await mkdtemp(join(work, `store-${n++}-`)));

beforeAll(async () => {
  reg = await startRegistry();
  work = await mkdtemp(join(tmpdir(), "berth-dist-"));
  src = new LocalContentStore(join(work, "src"));
  img = await buildBusyboxImage(src, { bigBytes: 6 << 20 });
});

afterAll(async () => {
  await reg?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

async function rejection(p: Promise<unknown>): Promise<BerthError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof BerthError) return e;
    throw e;
  }
  throw new Error("expected a BerthError, got success");
}

describe("registry round trips", () => {
  test("push (chunked for the big layer) then pull back, byte for byte", async () => {
    const pushed = await push(`${reg.host}/berth/busybox:v1`, {
      client,
      store: src,
      target: img.manifest,
      monolithicMax: 1 << 20,
      chunkSize: 1 << 20,
    });
    expect(pushed.uploaded.sort()).toEqual([img.config, ...img.layers].map((d) => d.digest).sort());

    const dst = await freshStore();
    const meta = new MetadataDB(join(dst.root, "meta.db"));
    try {
      const images = new ImageStore(meta, "default");
      const res = await pull(`${reg.host}/berth/busybox:v1`, { client, store: dst, images });
      expect(res.target).toEqual({ mediaType: MediaType.ociManifest, digest: img.manifest.digest, size: img.manifest.size });
      expect(res.config.digest).toBe(img.config.digest);
      for (const d of [img.manifest, img.config, ...img.layers]) {
        expect(await dst.read(d.digest)).toEqual(await src.read(d.digest));
      }
      expect(images.get(`${reg.host}/berth/busybox:v1`).target.digest).toBe(img.manifest.digest);
      expect(await dst.listStatuses()).toEqual([]);

      // Pull by digest, a second time: everything is present, nothing transferred.
      const again = await pull(`${reg.host}/berth/busybox@${img.manifest.digest}`, { client, store: dst });
      expect(again.transferred).toBe(0);
    } finally {
      meta.close();
    }
  });

  test("push again skips blobs the registry has; cross-repository mount", async () => {
    const same = await push(`${reg.host}/berth/busybox:v1-again`, { client, store: src, target: img.manifest });
    expect(same.uploaded).toEqual([]);
    expect(same.skipped.length).toBe(3);

    const mounted = await push(`${reg.host}/other/copy:v1`, { client, store: src, target: img.manifest, mountFrom: ["berth/busybox"] });
    expect(mounted.mounted.sort()).toEqual([img.config, ...img.layers].map((d) => d.digest).sort());
    expect(mounted.uploaded).toEqual([]);
    const dst = await freshStore();
    const res = await pull(`${reg.host}/other/copy:v1`, { client, store: dst });
    expect(res.layers.map((l) => l.digest)).toEqual(img.layers.map((l) => l.digest));
  });

  test("multi-arch index: linux/amd64 by default, another platform on request", async () => {
    const arm = await buildBusyboxImage(src, { architecture: "arm64", label: "arm" });
    const index = await writeBytes(
      src,
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.ociIndex,
        manifests: [
          { ...arm.manifest, platform: { os: "linux", architecture: "arm64", variant: "v8" } },
          { ...img.manifest, platform: { os: "linux", architecture: "amd64" } },
        ],
      }),
      MediaType.ociIndex,
    );
    await push(`${reg.host}/berth/multi:latest`, { client, store: src, target: index });

    const dst = await freshStore();
    const amd = await pull(`${reg.host}/berth/multi`, { client, store: dst });
    expect(amd.target.digest).toBe(index.digest);
    expect(amd.target.mediaType).toBe(MediaType.ociIndex);
    expect(amd.manifest.digest).toBe(img.manifest.digest);
    const armRes = await pull(`${reg.host}/berth/multi:latest`, { client, store: dst, platform: "linux/arm64" });
    expect(armRes.manifest.digest).toBe(arm.manifest.digest);
    const none = await rejection(pull(`${reg.host}/berth/multi:latest`, { client, store: dst, platform: "linux/s390x" }));
    expect(none.code).toBe("NotFound");
    expect(none.message).toContain("linux/arm64/v8");
  });

  test("Docker schema2 manifest pushes and pulls", async () => {
    const m = await writeBytes(
      src,
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.dockerManifest,
        config: { ...img.config, mediaType: MediaType.dockerConfig },
        layers: img.layers.map((l) => ({ ...l, mediaType: MediaType.dockerLayerGzip })),
      }),
      MediaType.dockerManifest,
    );
    await push(`${reg.host}/berth/docker:s2`, { client, store: src, target: m });
    const res = await pull(`${reg.host}/berth/docker:s2`, { client, store: await freshStore() });
    expect(res.target).toEqual({ mediaType: MediaType.dockerManifest, digest: m.digest, size: m.size });
  });

  test("a missing tag is NotFound naming the repository", async () => {
    const e = await rejection(pull(`${reg.host}/berth/busybox:nope`, { client, store: await freshStore() }));
    expect(e.code).toBe("NotFound");
    expect(e.message).toContain("berth/busybox/manifests/nope");
  });
});

describe("interop with skopeo", () => {
  test("berth pulls what skopeo pushed from an OCI layout (the content store is one)", async () => {
    // Our store root is an OCI image layout; skopeo only needs an index.json naming the tag.
    await writeFile(
      join(src.root, "index.json"),
      JSON.stringify({
        schemaVersion: 2,
        manifests: [{ ...img.manifest, annotations: { "org.opencontainers.image.ref.name": "v2" } }],
      }),
    );
    const p = spawn(
      ["skopeo", "copy", "--quiet", "--dest-tls-verify=false", `oci:${src.root}:v2`, `docker://${reg.host}/skopeo/busybox:v2`],
      { stdout: "pipe", stderr: "pipe" },
    );
    const code = await p.exited;
    expect(code === 0 ? "" : await new Response(p.stderr).text()).toBe("");
    const dst = await freshStore();
    const res = await pull(`${reg.host}/skopeo/busybox:v2`, { client, store: dst });
    expect(res.config.digest).toBe(img.config.digest);
    expect(res.layers.map((l) => l.digest)).toEqual(img.layers.map((l) => l.digest));
    expect(await dst.read(img.layers[0]!.digest)).toEqual(await src.read(img.layers[0]!.digest));
  });
});

describe("failures leave nothing half-written", () => {
  test("a corrupted blob in the registry is refused", async () => {
    const bad = await buildBusyboxImage(src, { label: "to corrupt", bigBytes: 100_000 });
    await push(`${reg.host}/berth/corrupt:v1`, { client, store: src, target: bad.manifest });
    const victim = bad.layers[1]!;
    const path = registryBlobPath(reg, victim.digest);
    const bytes = new Uint8Array(await Bun.file(path).arrayBuffer());
    bytes[bytes.length >> 1]! ^= 0xff; // same size, different content
    await writeFile(path, bytes);

    const dst = await freshStore();
    const meta = new MetadataDB(join(dst.root, "meta.db"));
    try {
      const images = new ImageStore(meta, "default");
      const e = await rejection(pull(`${reg.host}/berth/corrupt:v1`, { client, store: dst, images }));
      expect(e.code).toBe("FailedPrecondition");
      expect(e.message).toContain(victim.digest);
      expect(e.message).toContain(digestOf(bytes));
      expect(await dst.info(victim.digest).catch((x: BerthError) => x.code)).toBe("NotFound");
      // The bad blob's ingest is gone; what is left are resumable ingests of the good blobs,
      // stopped when the pull failed (no writer is still running: their locks are free).
      const left = await dst.listStatuses();
      expect(left.map((s) => s.expected)).not.toContain(victim.digest);
      for (const s of left) {
        expect([bad.config.digest, bad.layers[0]!.digest]).toContain(s.expected);
        expect(s.offset).toBeLessThanOrEqual(s.total);
        await (await dst.writer({ ref: s.ref })).close();
      }
      expect(images.list()).toEqual([]);
      // The manifest is stored only after all its blobs, so no manifest is visible either.
      expect(await dst.info(bad.manifest.digest).catch((x: BerthError) => x.code)).toBe("NotFound");
      // Repair the registry: the next pull completes from where the good blobs stopped.
      bytes[bytes.length >> 1]! ^= 0xff;
      await writeFile(path, bytes);
      await pull(`${reg.host}/berth/corrupt:v1`, { client, store: dst, images });
      expect(await dst.read(victim.digest)).toEqual(await src.read(victim.digest));
      expect(await dst.listStatuses()).toEqual([]);
      expect((await readdir(join(dst.root, "ingest"))).length).toBe(0);
    } finally {
      meta.close();
    }
  });

  test("an interrupted pull resumes with Range where it stopped", async () => {
    const big = img.layers[1]!;
    const dst = await freshStore();
    const ctrl = new AbortController();
    const first = await rejection(
      pull(`${reg.host}/berth/busybox:v1`, {
        client,
        store: dst,
        signal: ctrl.signal,
        onProgress: (p) => {
          if (p.digest === big.digest && p.offset > 1 << 20) ctrl.abort(new BerthError("Unavailable", "test interruption"));
        },
      }),
    ).catch((e) => e as Error);
    expect(String(first)).toContain("interruption");
    const partial = (await dst.status(`pull-${big.digest}`)).offset;
    expect(partial).toBeGreaterThan(1 << 20);
    expect(partial).toBeLessThan(big.size);

    // A new process: a new store object over the same root.
    const again = new LocalContentStore(dst.root);
    const offsets: number[] = [];
    const res = await pull(`${reg.host}/berth/busybox:v1`, {
      client,
      store: again,
      onProgress: (p) => {
        if (p.digest === big.digest && p.status === "downloading") offsets.push(p.offset);
      },
    });
    expect(offsets[0]!).toBeGreaterThan(partial);
    expect(res.transferred).toBeLessThan(big.size - partial + img.layers[0]!.size + img.config.size + 1);
    expect(res.transferred).toBeGreaterThanOrEqual(big.size - partial);
    expect(await again.read(big.digest)).toEqual(await src.read(big.digest));
    expect(await again.listStatuses()).toEqual([]);
  });
});

describe("pull into the metadata store, then GC", () => {
  test("a pulled image survives GC; after rmi, GC frees it all", async () => {
    const root = await mkdtemp(join(work, "gc-"));
    const meta = new MetadataDB(join(root, "meta.db"));
    try {
      const shared = new LocalContentStore(root);
      const cs = new NamespacedContentStore(meta, shared, "default");
      const images = new ImageStore(meta, "default");
      await pull(`${reg.host}/berth/multi:latest`, { client, store: cs, images });
      await writeBytes(cs, "unreferenced", "text/plain");
      const before = (await shared.list()).length;
      const gc1 = await collectGarbage(meta, shared);
      expect(gc1.removedBlobs.length).toBe(1);
      expect((await shared.list()).length).toBe(before - 1);
      images.delete(`${reg.host}/berth/multi:latest`);
      await collectGarbage(meta, shared);
      expect(await shared.list()).toEqual([]);
      expect((await stat(join(root, "blobs"))).isDirectory()).toBe(true);
    } finally {
      meta.close();
    }
  });
});

describe("pull then unpack", () => {
  test("the pulled layers unpack with verified diffIDs into a runnable busybox tree", async () => {
    const dst = await freshStore();
    const res = await pull(`${reg.host}/berth/busybox:v1`, { client, store: dst });
    const config = JSON.parse(new TextDecoder().decode(await dst.read(res.config.digest))) as { rootfs: { diff_ids: string[] } };
    const rootfs = await mkdtemp(join(work, "rootfs-"));
    for (const [i, l] of res.layers.entries()) {
      const r = await unpackLayer(rootfs, await dst.read(l.digest), { expectedDiffID: config.rootfs.diff_ids[i]! });
      expect(r.skipped).toEqual([]);
    }
    const out = Bun.spawnSync([join(rootfs, "bin", "sh"), "-c", "echo unpacked"]);
    expect(new TextDecoder().decode(out.stdout)).toBe("unpacked\n");
    expect((await stat(join(rootfs, "random.bin"))).size).toBe(6 << 20);
  });
});
