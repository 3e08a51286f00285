// Mirrors from the registries config, against two real docker-registry instances on 127.0.0.1:
// one stands for the upstream registry, the other for its mirror. Pulls try the mirror first and
// fall back to the upstream (mirror without the image, mirror down); pushes never go to a mirror.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { existsSync } from "node:fs";
import { LocalContentStore } from "../../src/content/index.ts";
import { RegistryClient, parseRegistriesConfig, pull, push, type RegistriesConfig } from "../../src/distribution/index.ts";
import { BerthError } from "../../src/sys/errdefs.ts";
import { buildBusyboxImage, startRegistry, type RunningRegistry, type TestImage } from "./registry-harness.ts";
import { Cli, BERTH } from "./cli-helpers.ts";

const have = (bin: string) => Bun.spawnSync(["sh", "-c", `command -v ${bin}`]).exitCode === 0;
const ready = have("docker-registry");

let upstream: RunningRegistry;
let mirror: RunningRegistry;
let work: string;
let src: LocalContentStore;
let img: TestImage;
let other: TestImage;
let deadPort: number;
let n = 0;
const freshStore = async () => new LocalContentStore(await mkdtemp(join(work, `store-${n++}-`)));
const config = (mirrors: string[]): RegistriesConfig =>
  parseRegistriesConfig({ registries: { [upstream.host]: { mirrors } } }, "test");

beforeAll(async () => {
  if (!ready) return;
  [upstream, mirror] = await Promise.all([startRegistry(), startRegistry()]);
  work = await mkdtemp(join(tmpdir(), "berth-mirrors-"));
  src = new LocalContentStore(join(work, "src"));
  img = await buildBusyboxImage(src, { label: "mirrored" });
  other = await buildBusyboxImage(src, { label: "upstream-only" });
  const plain = new RegistryClient();
  // The mirror has berth/app:mirrored (same repository path as on the upstream); the upstream
  // has only berth/app:up.
  await push(`${mirror.host}/berth/app:mirrored`, { client: plain, store: src, target: img.manifest });
  await push(`${upstream.host}/berth/app:up`, { client: plain, store: src, target: other.manifest });
  const s = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  deadPort = s.port;
  s.stop(true);
});

afterAll(async () => {
  await upstream?.stop();
  await mirror?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

async function manifestStatus(reg: RunningRegistry, repo: string, tag: string): Promise<number> {
  const r = await fetch(`http://${reg.host}/v2/${repo}/manifests/${tag}`, { headers: { accept: "application/vnd.oci.image.manifest.v1+json" } });
  await r.body?.cancel();
  return r.status;
}

describe.if(ready)("registry mirrors", () => {
  test("a pull reads from the mirror when it has the image (the upstream does not)", async () => {
    const name = `${upstream.host}/berth/app:mirrored`;
    const withoutMirror = await pull(name, { client: new RegistryClient(), store: await freshStore() }).catch((e: unknown) => e);
    expect((withoutMirror as BerthError).code).toBe("NotFound");

    const store = await freshStore();
    const res = await pull(name, { client: new RegistryClient({ registries: config([mirror.host]) }), store });
    expect(res.source).toBe(mirror.host);
    expect(res.manifest.digest).toBe(img.manifest.digest);
    for (const d of [img.config, ...img.layers]) expect(await store.read(d.digest)).toEqual(await src.read(d.digest));
  });

  test("a mirror without the image: fall back to the upstream", async () => {
    const store = await freshStore();
    const res = await pull(`${upstream.host}/berth/app:up`, { client: new RegistryClient({ registries: config([mirror.host]) }), store });
    expect(res.source).toBe(upstream.host);
    expect(res.manifest.digest).toBe(other.manifest.digest);
  });

  test("mirrors in order; one that is down is skipped; then the upstream", async () => {
    const dead = `127.0.0.1:${deadPort}`;
    const cfg = config([dead, mirror.host]);
    const viaMirror = await pull(`${upstream.host}/berth/app:mirrored`, { client: new RegistryClient({ registries: cfg }), store: await freshStore() });
    expect(viaMirror.source).toBe(mirror.host);
    const onlyDead = config([dead]);
    const viaUpstream = await pull(`${upstream.host}/berth/app:up`, { client: new RegistryClient({ registries: onlyDead }), store: await freshStore() });
    expect(viaUpstream.source).toBe(upstream.host);
    // Nowhere: the upstream's answer, with what the mirror said.
    const err = (await pull(`${upstream.host}/berth/app:nowhere`, { client: new RegistryClient({ registries: onlyDead }), store: await freshStore() }).catch((e: unknown) => e)) as BerthError;
    expect(err.code).toBe("NotFound");
    expect(err.message).toContain(`mirrors tried first: ${dead}/berth/app (mirror of ${upstream.host})`);
  });

  test("a push never goes to a mirror", async () => {
    const client = new RegistryClient({ registries: config([mirror.host]) });
    await push(`${upstream.host}/berth/app:pushed`, { client, store: src, target: img.manifest });
    expect(await manifestStatus(upstream, "berth/app", "pushed")).toBe(200);
    expect(await manifestStatus(mirror, "berth/app", "pushed")).toBe(404);
  });

  test.if(existsSync(BERTH) && process.getuid?.() === 0)("berth --registries-config: pull through the mirror, then run it", async () => {
    const cli = new Cli("bt-cli-mirror-");
    try {
      const file = join(cli.dir, "registries.json");
      await writeFile(file, JSON.stringify({ registries: { [upstream.host]: { mirrors: [`http://${mirror.host}`] } } }));
      const name = `${upstream.host}/berth/app:mirrored`;
      expect((await cli.run(["pull", "-q", name])).code).toBe(1);
      expect(await cli.ok(["--registries-config", file, "pull", "-q", name])).toBe(`${name}\n`);
      expect(await cli.ok(["run", "--rm", name, "busybox", "cat", "/label"])).toBe("mirrored");
      // The default place, <root>/registries.json, is read too.
      await writeFile(join(cli.root, "registries.json"), JSON.stringify({ registries: { [upstream.host]: { mirrors: [mirror.host] } } }));
      await cli.ok(["rmi", name]);
      expect(await cli.ok(["pull", "-q", name])).toBe(`${name}\n`);
      // A bad file names itself and the field.
      await writeFile(file, JSON.stringify({ registries: { [upstream.host]: { mirrors: ["http://x/y/z"] } } }));
      const bad = await cli.run(["--registries-config", file, "pull", "-q", name]);
      expect(bad.code).toBe(1);
      expect(bad.stderr).toContain(`${file}: registries.${upstream.host}.mirrors[0]`);
      const missing = await cli.run(["--registries-config", join(cli.dir, "nope.json"), "pull", "-q", name]);
      expect(missing.stderr).toContain("nope.json");
    } finally {
      const left = await cli.cleanup();
      expect(left.mounts).toEqual([]);
    }
  });
});
