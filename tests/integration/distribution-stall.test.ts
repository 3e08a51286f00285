// Stall detection: a registry (a small Bun.serve on 127.0.0.1 speaking enough of the API for one
// manifest and its blobs) that sends half a layer and then nothing. The pull notices that no byte
// arrives for stallTimeoutMs, drops the connection, and resumes with a Range request from where
// it stopped; a registry that always stalls makes the pull fail after a bounded number of tries.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Server } from "bun";
import { LocalContentStore, digestOf } from "../../src/content/index.ts";
import { MediaType } from "../../src/image/media-types.ts";
import { RegistryClient, pull, type PullProgress } from "../../src/distribution/index.ts";
import { BerthError } from "../../src/sys/errdefs.ts";
import { Cli, BERTH } from "./cli-helpers.ts";

let work: string;
let server: Server<undefined>;
let host: string;
/** Range headers of the layer requests ("" for none), in order. */
let layerRequests: string[] = [];
/** Requests (0-based) that send half of what they should, then stall. */
let stallOn = new Set<number>();

const layerTar = (() => {
  // A tar with one random file (a real layer: the CLI test unpacks it).
  const data = new Uint8Array(1 << 20);
  for (let o = 0; o < data.length; o += 65536) crypto.getRandomValues(data.subarray(o, o + 65536));
  const header = new Uint8Array(512);
  const enc = new TextEncoder();
  const put = (s: string, at: number) => header.set(enc.encode(s), at);
  put("random.bin", 0);
  put("0000644\0", 100);
  put("0000000\0", 108);
  put("0000000\0", 116);
  put(`${data.length.toString(8).padStart(11, "0")}\0`, 124);
  put("00000000000\0", 136);
  put("        ", 148);
  put("0", 156);
  put("ustar\0", 257);
  put("00", 263);
  let sum = 0;
  for (const b of header) sum += b;
  put(`${sum.toString(8).padStart(6, "0")}\0 `, 148);
  const out = new Uint8Array(512 + data.length + 1024);
  out.set(header, 0);
  out.set(data, 512);
  return out;
})();
const layer = Bun.gzipSync(layerTar, { level: 1 });
const config = new TextEncoder().encode(
  JSON.stringify({ architecture: "amd64", os: "linux", config: {}, rootfs: { type: "layers", diff_ids: [digestOf(layerTar)] } }),
);
const layerDesc = { mediaType: MediaType.ociLayerGzip, digest: digestOf(layer), size: layer.length };
const configDesc = { mediaType: MediaType.ociConfig, digest: digestOf(config), size: config.length };
const manifest = new TextEncoder().encode(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociManifest, config: configDesc, layers: [layerDesc] }));

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "berth-stall-"));
  server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(req) {
      const path = new URL(req.url).pathname;
      if (path === "/v2/") return new Response("{}");
      if (path === "/v2/stall/img/manifests/v1") return new Response(manifest, { headers: { "content-type": MediaType.ociManifest } });
      if (path === `/v2/stall/img/blobs/${configDesc.digest}`) return new Response(config);
      if (path !== `/v2/stall/img/blobs/${layerDesc.digest}`) return new Response("{}", { status: 404 });
      const n = layerRequests.length;
      const range = req.headers.get("range") ?? "";
      layerRequests.push(range);
      const from = Number(/^bytes=(\d+)-$/.exec(range)?.[1] ?? 0);
      const rest = layer.subarray(from);
      const headers: Record<string, string> = { "content-length": String(rest.length) };
      if (from > 0) headers["content-range"] = `bytes ${from}-${layer.length - 1}/${layer.length}`;
      const status = from > 0 ? 206 : 200;
      if (!stallOn.has(n)) return new Response(rest, { status, headers });
      // Half of it, then silence with the connection open.
      const half = rest.subarray(0, Math.floor(rest.length / 2));
      const body = new ReadableStream<Uint8Array>({
        start(c) {
          for (let o = 0; o < half.length; o += 16384) c.enqueue(half.slice(o, o + 16384));
        },
      });
      return new Response(body, { status, headers });
    },
  });
  host = `127.0.0.1:${server.port}`;
});

afterAll(async () => {
  await server?.stop(true);
  if (work) await rm(work, { recursive: true, force: true });
});

let n = 0;
const freshStore = async () => new LocalContentStore(await mkdtemp(join(work, `store-${n++}-`)));

describe("stall detection", () => {
  test("a layer that stalls halfway is resumed with a Range request and completes", async () => {
    layerRequests = [];
    stallOn = new Set([0]);
    const store = await freshStore();
    const events: PullProgress[] = [];
    const t0 = performance.now();
    const res = await pull(`${host}/stall/img:v1`, {
      client: new RegistryClient(),
      store,
      stallTimeoutMs: 300,
      onProgress: (p) => events.push(p),
    });
    expect(performance.now() - t0).toBeLessThan(5_000);
    expect(res.layers[0]!.digest).toBe(layerDesc.digest);
    expect(await store.read(layerDesc.digest)).toEqual(layer);
    expect(layerRequests.length).toBe(2);
    expect(layerRequests[0]).toBe("");
    const resumedAt = Number(/^bytes=(\d+)-$/.exec(layerRequests[1]!)?.[1]);
    expect(resumedAt).toBeGreaterThan(0);
    expect(resumedAt).toBeLessThanOrEqual(Math.floor(layer.length / 2));
    const stalled = events.filter((e) => e.status === "stalled");
    expect(stalled.length).toBe(1);
    expect(stalled[0]!.offset).toBe(resumedAt);
    expect(await store.listStatuses()).toEqual([]);
  });

  test("a registry that always stalls: bounded retries, each resuming, then an error naming the stall", async () => {
    layerRequests = [];
    stallOn = new Set([0, 1, 2, 3, 4, 5]);
    const store = await freshStore();
    const err = (await pull(`${host}/stall/img:v1`, { client: new RegistryClient(), store, stallTimeoutMs: 200, retries: 2 }).catch((e: unknown) => e)) as BerthError;
    expect(err).toBeInstanceOf(BerthError);
    expect(err.code).toBe("Unavailable");
    expect(err.message).toContain(`pulling layer ${layerDesc.digest}: no data for 0.2 s`);
    expect(err.message).toContain("gave up after 2 retries");
    expect(layerRequests.length).toBe(3);
    // Each retry asked for more than the one before: progress is kept across stalls.
    const offsets = layerRequests.map((r) => Number(/^bytes=(\d+)-$/.exec(r)?.[1] ?? 0));
    expect(offsets[1]!).toBeGreaterThan(0);
    expect(offsets[2]!).toBeGreaterThan(offsets[1]!);
    // What arrived is kept in the ingest for the next pull, which completes it.
    stallOn = new Set();
    layerRequests = [];
    await pull(`${host}/stall/img:v1`, { client: new RegistryClient(), store, stallTimeoutMs: 200 });
    expect(Number(/^bytes=(\d+)-$/.exec(layerRequests[0]!)?.[1])).toBe(offsets[2]! + Math.floor((layer.length - offsets[2]!) / 2));
    expect(await store.read(layerDesc.digest)).toEqual(layer);
  });

  test.if(existsSync(BERTH) && process.getuid?.() === 0)("berth pull --stall-timeout says so and resumes", async () => {
    layerRequests = [];
    stallOn = new Set([0]);
    const cli = new Cli("bt-cli-stall-");
    try {
      const r = await cli.run(["pull", "--stall-timeout", "300ms", `${host}/stall/img:v1`]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/[0-9a-f]{12}: Stalled at \d+ bytes, resuming\n/);
      expect(r.stdout).toContain("Pull complete");
      expect(layerRequests.length).toBe(2);
      const bad = await cli.run(["pull", "--stall-timeout", "soon", `${host}/stall/img:v1`]);
      expect(bad.code).toBe(125);
      expect(bad.stderr).toContain('"--stall-timeout"');
    } finally {
      expect((await cli.cleanup()).mounts).toEqual([]);
    }
  });
});
