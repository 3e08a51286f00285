import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { existsSync, statSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LocalContentStore, writeBytes, type Descriptor } from "../../src/content/index.ts";
import {
  ImageStore,
  LABEL_GC_REF_CONTENT_PREFIX,
  LABEL_GC_ROOT,
  LeaseManager,
  MEDIA_TYPES,
  MetadataDB,
  NamespacedContentStore,
  collectGarbage,
} from "../../src/metadata/index.ts";
import { BerthError } from "../../src/sys/errdefs.ts";
import { SCHEMA_VERSION, WAL_TRUNCATE_AT } from "../../src/metadata/db.ts";

function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof BerthError) return e.code;
    throw e;
  }
  return "no error";
}

let root: string;
let meta: MetadataDB;
let shared: LocalContentStore;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "berth-meta-"));
  meta = new MetadataDB(join(root, "meta.db"));
  shared = new LocalContentStore(root);
});
afterEach(async () => {
  meta.close();
  await rm(root, { recursive: true, force: true });
});

const target: Descriptor = { mediaType: MEDIA_TYPES.ociManifest, digest: `sha256:${"a".repeat(64)}`, size: 10 };

describe("namespaces and schema", () => {
  test("schema version is recorded and reopening keeps data", () => {
    new ImageStore(meta, "default").create({ name: "x", target });
    meta.close();
    meta = new MetadataDB(join(root, "meta.db"));
    expect((meta.db.query("PRAGMA user_version").get() as { user_version: number }).user_version).toBe(SCHEMA_VERSION);
    expect(new ImageStore(meta, "default").get("x").target).toEqual(target);
  });

  test("the WAL file outlives the last connection, checkpointed, and the next opener reads everything", () => {
    new ImageStore(meta, "default").create({ name: "x", target });
    meta.close();
    expect(existsSync(join(root, "meta.db-wal"))).toBe(true);
    meta = new MetadataDB(join(root, "meta.db"));
    expect(new ImageStore(meta, "default").get("x").target).toEqual(target);
    const flag = new Int32Array([-1, 0]);
    meta.db.fileControl(10 /* SQLITE_FCNTL_PERSIST_WAL */, flag);
    expect(flag[0]).toBe(1);
  });

  test("the last connection empties a WAL past WAL_TRUNCATE_AT, so the next one reads none of it back; another connection's reader is not waited for", () => {
    const wal = join(root, "meta.db-wal");
    const images = new ImageStore(meta, "default");
    let n = 0;
    // A short WAL stays (emptying it costs the next writer a new log's fsyncs): read back whole.
    images.create({ name: `img-${n++}`, target });
    meta.close();
    const short = statSync(wal).size;
    expect(short).toBeGreaterThan(0);
    expect(short).toBeLessThanOrEqual(WAL_TRUNCATE_AT);
    meta = new MetadataDB(join(root, "meta.db"));
    expect(new ImageStore(meta, "default").get("img-0").target).toEqual(target);
    const more = new ImageStore(meta, "default");
    while (statSync(wal).size <= WAL_TRUNCATE_AT) more.create({ name: `img-${n++}`, target }); // each commit appends its pages
    meta.close();
    expect(statSync(wal).size).toBe(0);
    // A second user (a berthd) in a read transaction: the close neither blocks for the 10 s busy
    // timeout nor truncates under it; the data stays readable.
    meta = new MetadataDB(join(root, "meta.db"));
    const late = new ImageStore(meta, "default");
    while (statSync(wal).size <= WAL_TRUNCATE_AT) late.create({ name: `img-${n++}`, target });
    const other = new MetadataDB(join(root, "meta.db"));
    other.db.run("BEGIN");
    expect(new ImageStore(other, "default").get(`img-${n - 1}`).target).toEqual(target);
    const t0 = performance.now();
    meta.close();
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(statSync(wal).size).toBeGreaterThan(WAL_TRUNCATE_AT);
    other.db.run("COMMIT");
    other.close();
    expect(statSync(wal).size).toBe(0);
    meta = new MetadataDB(join(root, "meta.db"));
    expect(new ImageStore(meta, "default").list().length).toBe(n);
  });

  test("invalid namespace names are refused", () => {
    expect(codeOf(() => new ImageStore(meta, "../etc").create({ name: "x", target }))).toBe("InvalidArgument");
    expect(codeOf(() => new ImageStore(meta, "").create({ name: "x", target }))).toBe("InvalidArgument");
  });

  test("deleting a namespace removes its records", () => {
    new ImageStore(meta, "a").create({ name: "x", target });
    new LeaseManager(meta, "a").create({ id: "l" });
    expect(meta.listNamespaces()).toEqual(["a"]);
    meta.deleteNamespace("a");
    expect(meta.listNamespaces()).toEqual([]);
    expect(new ImageStore(meta, "a").list()).toEqual([]);
    expect(new LeaseManager(meta, "a").list()).toEqual([]);
  });
});

describe("images", () => {
  test("create, get, list, update, put, delete; namespaces are isolated", () => {
    const a = new ImageStore(meta, "a");
    const b = new ImageStore(meta, "b");
    a.create({ name: "docker.io/library/busybox:latest", target, labels: { k: "v" } });
    expect(codeOf(() => a.create({ name: "docker.io/library/busybox:latest", target }))).toBe("AlreadyExists");
    expect(codeOf(() => b.get("docker.io/library/busybox:latest"))).toBe("NotFound");
    expect(a.get("docker.io/library/busybox:latest").labels).toEqual({ k: "v" });

    const t2 = { ...target, digest: `sha256:${"b".repeat(64)}` };
    a.update({ name: "docker.io/library/busybox:latest", target: t2 }, ["target"]);
    const img = a.get("docker.io/library/busybox:latest");
    expect(img.target.digest).toBe(t2.digest);
    expect(img.labels).toEqual({ k: "v" });
    a.update({ name: "docker.io/library/busybox:latest", labels: { k2: "v2" } }, ["labels.k2"]);
    expect(a.get("docker.io/library/busybox:latest").labels).toEqual({ k: "v", k2: "v2" });
    expect(codeOf(() => a.update({ name: "docker.io/library/busybox:latest" }, ["name"]))).toBe("InvalidArgument");

    a.put({ name: "second", target });
    a.put({ name: "second", target: t2 });
    expect(a.list().map((i) => [i.name, i.target.digest])).toEqual([
      ["docker.io/library/busybox:latest", t2.digest],
      ["second", t2.digest],
    ]);
    a.delete("second");
    expect(codeOf(() => a.delete("second"))).toBe("NotFound");
    expect(codeOf(() => a.create({ name: "bad", target: { ...target, digest: "sha256:nothex" } }))).toBe("InvalidArgument");
    expect(codeOf(() => a.create({ name: "bad", target: { ...target, mediaType: "" } }))).toBe("InvalidArgument");
  });
});

describe("leases", () => {
  test("create, resources, delete; unknown lease is NotFound", () => {
    const lm = new LeaseManager(meta, "default");
    const l = lm.create({ labels: { why: "pull" } });
    expect(codeOf(() => lm.create({ id: l.id }))).toBe("AlreadyExists");
    lm.addResource(l.id, { type: "content", id: target.digest });
    lm.addResource(l.id, { type: "content", id: target.digest });
    expect(lm.listResources(l.id)).toEqual([{ type: "content", id: target.digest }]);
    lm.deleteResource(l.id, { type: "content", id: target.digest });
    expect(lm.listResources(l.id)).toEqual([]);
    expect(codeOf(() => lm.addResource("nope", { type: "content", id: target.digest }))).toBe("NotFound");
    lm.delete(l.id);
    expect(codeOf(() => lm.delete(l.id))).toBe("NotFound");
  });

  test("a store with a lease records what it commits", async () => {
    const lm = new LeaseManager(meta, "default");
    lm.create({ id: "pull-1" });
    const cs = new NamespacedContentStore(meta, shared, "default").withLease("pull-1");
    const d = await writeBytes(cs, "leased", "text/plain");
    expect(lm.listResources("pull-1")).toContainEqual({ type: "content", id: d.digest });
  });
});

describe("garbage collection", () => {
  async function buildImage(cs: NamespacedContentStore, tag: string) {
    const layerA = await writeBytes(cs, `layer A of ${tag}`, "application/vnd.oci.image.layer.v1.tar+gzip");
    const layerB = await writeBytes(cs, `layer B of ${tag}`, "application/vnd.oci.image.layer.v1.tar+gzip");
    const config = await writeBytes(cs, JSON.stringify({ architecture: "amd64", os: "linux", tag }), "application/vnd.oci.image.config.v1+json");
    const manifest = await writeBytes(
      cs,
      JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPES.ociManifest, config, layers: [layerA, layerB] }),
      MEDIA_TYPES.ociManifest,
    );
    const armConfig = await writeBytes(cs, JSON.stringify({ architecture: "arm64", os: "linux", tag }), "application/vnd.oci.image.config.v1+json");
    const armManifest = await writeBytes(
      cs,
      JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPES.dockerManifest, config: armConfig, layers: [layerA] }),
      MEDIA_TYPES.dockerManifest,
    );
    const index = await writeBytes(
      cs,
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MEDIA_TYPES.ociIndex,
        manifests: [
          { ...manifest, platform: { os: "linux", architecture: "amd64" } },
          { ...armManifest, platform: { os: "linux", architecture: "arm64" } },
        ],
      }),
      MEDIA_TYPES.ociIndex,
    );
    return { layerA, layerB, config, manifest, armConfig, armManifest, index };
  }

  test("keeps what images, leases and gc.root reach; removes everything else", async () => {
    const cs = new NamespacedContentStore(meta, shared, "default");
    const img = await buildImage(cs, "one");
    new ImageStore(meta, "default").create({ name: "one:latest", target: img.index });

    const orphan = await writeBytes(cs, "orphan", "text/plain");
    const leased = await writeBytes(cs, "leased", "text/plain");
    const lm = new LeaseManager(meta, "default");
    lm.create({ id: "keep" });
    lm.addResource("keep", { type: "content", id: leased.digest });
    lm.create({ id: "old", expiresInMs: -1000 });
    const expiredLeased = await writeBytes(cs.withLease("old"), "expired lease", "text/plain");
    const rooted = await writeBytes(cs, "rooted", "text/plain", { [LABEL_GC_ROOT]: "now" });
    const refd = await writeBytes(cs, "referenced by label", "text/plain");
    await cs.update({ digest: rooted.digest, labels: { [`${LABEL_GC_REF_CONTENT_PREFIX}x`]: refd.digest } }, [
      `labels.${LABEL_GC_REF_CONTENT_PREFIX}x`,
    ]);
    // Written straight into the shared store, recorded by no namespace.
    const unrecorded = await writeBytes(shared, "unrecorded", "text/plain");

    const res = await collectGarbage(meta, shared);
    expect(res.expiredLeases).toEqual(["default/old"]);
    expect(res.removedBlobs.sort()).toEqual([orphan.digest, expiredLeased.digest, unrecorded.digest].sort());
    const left = (await shared.list()).map((i) => i.digest).sort();
    const kept = [
      img.layerA, img.layerB, img.config, img.manifest, img.armConfig, img.armManifest, img.index, leased, rooted, refd,
    ].map((d) => d.digest).sort();
    expect(left).toEqual(kept);
    expect((await cs.list()).map((i) => i.digest).sort()).toEqual(kept);

    // A second run has nothing to do.
    expect(await collectGarbage(meta, shared)).toEqual({ removedBlobs: [], removedRecords: [], expiredLeases: [] });

    // Once the image and lease go, everything but the gc.root content goes.
    new ImageStore(meta, "default").delete("one:latest");
    lm.delete("keep");
    await collectGarbage(meta, shared);
    expect((await shared.list()).map((i) => i.digest).sort()).toEqual([rooted.digest, refd.digest].sort());
  });

  test("a blob shared by two namespaces survives until neither references it", async () => {
    const a = new NamespacedContentStore(meta, shared, "a");
    const b = new NamespacedContentStore(meta, shared, "b");
    const imgA = await buildImage(a, "same");
    const imgB = await buildImage(b, "same");
    expect(imgB.index.digest).toBe(imgA.index.digest);
    new ImageStore(meta, "a").create({ name: "x", target: imgA.index });

    const res = await collectGarbage(meta, shared);
    expect(res.removedBlobs).toEqual([]);
    expect(res.removedRecords.length).toBe(7);
    expect(res.removedRecords.every((r) => r.startsWith("b/"))).toBe(true);
    expect((await b.list()).length).toBe(0);

    new ImageStore(meta, "a").delete("x");
    const res2 = await collectGarbage(meta, shared);
    expect(res2.removedBlobs.length).toBe(7);
    expect(await shared.list()).toEqual([]);
  });

  test("selecting only the manifest keeps only that platform's content", async () => {
    const cs = new NamespacedContentStore(meta, shared, "default");
    const img = await buildImage(cs, "m");
    new ImageStore(meta, "default").create({ name: "arm", target: img.armManifest });
    await collectGarbage(meta, shared);
    expect((await shared.list()).map((i) => i.digest).sort()).toEqual(
      [img.armManifest, img.armConfig, img.layerA].map((d) => d.digest).sort(),
    );
  });
});
