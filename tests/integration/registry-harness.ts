// Test harness: a real Debian `docker-registry` on 127.0.0.1 with a free port, and small OCI
// images built in the test from the host's busybox. Everything it makes is removed by stop().

import { spawn, type Subprocess } from "bun";
import { mkdtemp, mkdir, rm, writeFile, copyFile, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { digestOf, writeBytes, type Descriptor, type Store } from "../../src/content/index.ts";
import { MediaType } from "../../src/image/media-types.ts";

export interface RunningRegistry {
  host: string; // 127.0.0.1:PORT
  dir: string; // storage root
  proc: Subprocess;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const s = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = s.port;
  s.stop(true);
  return port;
}

export async function startRegistry(extraConfig = ""): Promise<RunningRegistry> {
  const dir = await mkdtemp(join(tmpdir(), "berth-registry-"));
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const host = `127.0.0.1:${port}`;
    const config = join(dir, "config.yml");
    await writeFile(
      config,
      [
        "version: 0.1",
        "log:",
        "  level: error",
        "http:",
        `  addr: ${host}`,
        "storage:",
        "  filesystem:",
        `    rootdirectory: ${join(dir, "data")}`,
        "  delete:",
        "    enabled: true",
        extraConfig,
      ].join("\n"),
    );
    const proc = spawn(["docker-registry", "serve", config], { stdout: "ignore", stderr: "pipe" });
    const stop = async () => {
      proc.kill();
      await proc.exited;
      await rm(dir, { recursive: true, force: true });
    };
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && proc.exitCode === null) {
      try {
        const r = await fetch(`http://${host}/v2/`);
        await r.body?.cancel();
        if (r.status === 200 || r.status === 401) return { host, dir, proc, stop };
      } catch {
        // not listening yet
      }
      await Bun.sleep(50);
    }
    const err = proc.exitCode !== null ? await new Response(proc.stderr).text() : "timeout";
    proc.kill();
    await proc.exited;
    if (attempt >= 2) {
      await rm(dir, { recursive: true, force: true });
      throw new Error(`docker-registry did not start: ${err}`);
    }
  }
}

export interface TestImage {
  manifest: Descriptor;
  config: Descriptor;
  layers: Descriptor[];
}

/** gzip a tar of `files` made with GNU tar (a real tar, not our own writer). */
async function tarGz(build: (root: string) => Promise<void>): Promise<Uint8Array<ArrayBuffer>> {
  const dir = await mkdtemp(join(tmpdir(), "berth-layer-"));
  try {
    const root = join(dir, "root");
    await mkdir(root);
    await build(root);
    const p = spawn(["tar", "--numeric-owner", "--sort=name", "--mtime=@0", "-C", root, "-cf", "-", "."], { stdout: "pipe" });
    const tar = new Uint8Array(await new Response(p.stdout).arrayBuffer());
    if ((await p.exited) !== 0) throw new Error("tar failed");
    return tar;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * A busybox image: layer 1 = /bin/busybox and /bin/sh; layer 2 = `bigBytes` of random data
 * (incompressible, so transfers are long enough to interrupt). Written into `store`.
 */
export async function buildBusyboxImage(
  store: Store,
  opts: { bigBytes?: number; architecture?: string; label?: string; mediaType?: string } = {},
): Promise<TestImage> {
  const arch = opts.architecture ?? "amd64";
  const tars = [
    await tarGz(async (root) => {
      await mkdir(join(root, "bin"));
      await copyFile("/bin/busybox", join(root, "bin", "busybox"));
      await symlink("busybox", join(root, "bin", "sh"));
    }),
    await tarGz(async (root) => {
      const data = new Uint8Array(opts.bigBytes ?? 64 * 1024);
      for (let i = 0; i < data.length; i += 65536) crypto.getRandomValues(data.subarray(i, Math.min(data.length, i + 65536)));
      await writeFile(join(root, "random.bin"), data);
      await writeFile(join(root, "label"), opts.label ?? arch);
    }),
  ];
  const layers: Descriptor[] = [];
  for (const t of tars) layers.push(await writeBytes(store, Bun.gzipSync(t, { level: 1 }), MediaType.ociLayerGzip));
  const config = await writeBytes(
    store,
    JSON.stringify({
      architecture: arch,
      os: "linux",
      config: { Cmd: ["/bin/sh"], Env: ["PATH=/bin"] },
      rootfs: { type: "layers", diff_ids: tars.map((t) => digestOf(t)) },
      history: tars.map(() => ({ created_by: "berth test" })),
    }),
    MediaType.ociConfig,
  );
  const mediaType = opts.mediaType ?? MediaType.ociManifest;
  const manifest = await writeBytes(store, JSON.stringify({ schemaVersion: 2, mediaType, config, layers }), mediaType);
  return { manifest, config, layers };
}

/** Path of a blob inside the registry's filesystem storage. */
export function registryBlobPath(reg: RunningRegistry, digest: string): string {
  const hex = digest.slice("sha256:".length);
  return join(reg.dir, "data", "docker", "registry", "v2", "blobs", "sha256", hex.slice(0, 2), hex, "data");
}
