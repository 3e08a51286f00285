// Pull of a ~50 MB image in six layers from a local docker-registry: `berth pull` vs
// `ctr pull --plain-http` (a private containerd) vs `podman pull --tls-verify=false`,
// interleaved, each from an empty store (the image is removed between rounds). Prints medians and
// the ratios berth/ctr and berth/podman (goal: ≤ 0.7). Run as root after set-up:
//   node_modules/bun/bin/bun.exe bench/pull.ts [rounds]
// All three unpack the layers while pulling (berth unpacks each layer into its snapshot as soon
// as it and the layers below it are in), so each pull leaves a runnable image; "berth+run" adds
// berth's first `run --rm … true` on top.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, copyFileSync, symlinkSync } from "node:fs";
import { join, resolve } from "node:path";
import { startRegistry } from "../tests/integration/registry-harness.ts";
import { startContainerd } from "../tests/helpers/containerd.ts";
import { startPodman } from "../tests/helpers/podman.ts";
import { mustRun, runCommand } from "../tests/helpers/run-command.ts";

const top = resolve(import.meta.dir, "..");
const rounds = Number(process.argv[2] ?? 5);
const berth = join(top, "build/berth");
const runc = "/usr/sbin/runc";
const dir = mkdtempSync("/tmp/bt-bench-pull-");

const registry = await startRegistry();
const ctrd = await startContainerd();
const podman = await startPodman({ runtimes: [{ binary: runc, defaultRoot: "/run/runc" }] });
const times: Record<string, number[]> = { berth: [], "berth+run": [], ctr: [], podman: [] };
try {
  // The image: busybox, then five layers of 10 MB of random (incompressible) data, built with
  // umoci and pushed by skopeo.
  const layout = join(dir, "big");
  const image = `${layout}:latest`;
  await mustRun(["umoci", "init", "--layout", layout]);
  await mustRun(["umoci", "new", "--image", image]);
  const bundle = join(dir, "bundle");
  await mustRun(["umoci", "unpack", "--image", image, bundle]);
  const rootfs = join(bundle, "rootfs");
  mkdirSync(join(rootfs, "bin"), { recursive: true });
  copyFileSync("/bin/busybox", join(rootfs, "bin/busybox"));
  symlinkSync("busybox", join(rootfs, "bin/sh"));
  symlinkSync("busybox", join(rootfs, "bin/true"));
  await mustRun(["umoci", "repack", "--image", image, bundle]);
  for (let i = 0; i < 5; i++) {
    const data = new Uint8Array(10 << 20);
    for (let o = 0; o < data.length; o += 65536) crypto.getRandomValues(data.subarray(o, o + 65536));
    writeFileSync(join(rootfs, `data-${i}.bin`), data);
    await mustRun(["umoci", "repack", "--image", image, bundle]);
  }
  await mustRun(["umoci", "config", "--image", image, "--config.cmd", "true", "--config.env", "PATH=/bin"]);
  const ref = `${registry.host}/bench/big:1`;
  await mustRun(["skopeo", "copy", "--dest-tls-verify=false", `oci:${image}`, `docker://${ref}`]);

  const berthRoot = join(dir, "berth");
  const berthArgs = () => [berth, "--root", join(berthRoot, "root"), "--runroot", join(berthRoot, "run")];
  const ok = (r: { code: number; stderr: string }, what: string) => {
    if (r.code !== 0) throw new Error(`${what} failed (${r.code}): ${r.stderr}`);
  };
  const peers: Record<string, { pull: () => Promise<void>; reset: () => Promise<void> }> = {
    berth: {
      pull: async () => ok(await runCommand([...berthArgs(), "pull", "-q", ref], { timeoutMs: 120_000 }), "berth pull"),
      reset: async () => rmSync(berthRoot, { recursive: true, force: true }),
    },
    "berth+run": {
      pull: async () => {
        ok(await runCommand([...berthArgs(), "pull", "-q", ref], { timeoutMs: 120_000 }), "berth pull");
        ok(await runCommand([...berthArgs(), "run", "--rm", ref, "true"], { timeoutMs: 120_000 }), "berth run");
      },
      reset: async () => rmSync(berthRoot, { recursive: true, force: true }),
    },
    ctr: {
      pull: async () => ok(await ctrd.ctr(["images", "pull", "--plain-http", ref], { timeoutMs: 120_000 }), "ctr pull"),
      reset: async () => ok(await ctrd.ctr(["images", "rm", "--sync", ref]), "ctr images rm"),
    },
    podman: {
      pull: async () => ok(await podman.podman(runc, ["pull", "-q", "--tls-verify=false", ref], { timeoutMs: 120_000 }), "podman pull"),
      reset: async () => ok(await podman.podman(runc, ["rmi", "-f", ref]), "podman rmi"),
    },
  };
  const order = Object.keys(peers);
  for (let i = 0; i < rounds + 1; i++) {
    for (const name of i % 2 ? [...order].reverse() : order) {
      const t0 = performance.now();
      await peers[name]!.pull();
      const ms = performance.now() - t0;
      await peers[name]!.reset();
      if (i >= 1) times[name]!.push(ms);
    }
  }
} finally {
  await podman.stop();
  await ctrd.stop();
  await registry.stop();
  rmSync(dir, { recursive: true, force: true });
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const m = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)])) as Record<string, number>;
for (const [k, v] of Object.entries(m)) console.log(`${k.padEnd(10)} pull 50 MB / 6 layers: median ${v.toFixed(0)} ms over ${times[k]!.length} runs`);
console.log(`ratio berth/ctr: ${(m.berth! / m.ctr!).toFixed(2)}, berth/podman: ${(m.berth! / m.podman!).toFixed(2)} (goal ≤ 0.70)`);
console.log(`pull + first run: berth/ctr ${(m["berth+run"]! / m.ctr!).toFixed(2)}, berth/podman ${(m["berth+run"]! / m.podman!).toFixed(2)}`);
