// `berth run --rm busybox true` vs `podman run --rm busybox true` (podman with runc: crun refuses
// this machine's hybrid cgroups), the same busybox OCI layout imported into both, interleaved.
// Prints both medians and the ratio berth/podman (goal: ≤ 0.2 on --network none, the engine-core
// issue's; ≤ 0.3 on each engine's default bridge network). Run as root after set-up:
//   node_modules/bun/bin/bun.exe bench/cli-run.ts [rounds] [none|bridge]
// podman runs daemonless with its storage in a temp dir (tests/helpers/podman.ts); with
// `bridge`, on its default network (netavark, podman0 10.88.0.0/16) and berth on its default
// bridge; both put the container's cgroup under a cgroup of their own and clean up.
// BENCH_BERTH_BASELINE=/path/to/other/build/berth adds a third contestant, interleaved with the
// two (an earlier build: before/after at the same load on a shared machine).
import { mkdtempSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { buildBusyboxImage, writeOciLayout } from "../src/image/builtin-busybox.ts";
import { startPodman } from "../tests/helpers/podman.ts";
import { removeNetavarkLeftovers, snapshotNetavark } from "../tests/helpers/netavark.ts";
import { mustRun } from "../tests/helpers/run-command.ts";

const top = resolve(import.meta.dir, "..");
const rounds = Number(process.argv[2] ?? 30);
const network = process.argv[3] ?? "none";
if (network !== "none" && network !== "bridge") throw new Error(`network ${network}: use none or bridge`);
const berth = join(top, "build/berth");
const runc = "/usr/sbin/runc";

const dir = mkdtempSync("/tmp/bt-bench-cli-");
// netavark keeps its chains and IPAM database after its last container: given back at the end.
const netavark = await snapshotNetavark();
const podman = await startPodman({ runtimes: [{ binary: runc, defaultRoot: "/run/runc" }] });
const baseline = process.env.BENCH_BERTH_BASELINE;
const times: Record<string, number[]> = { berth: [], podman: [], ...(baseline ? { baseline: [] } : {}) };
try {
  // One layout, lowercase (podman names the image after the directory).
  const layout = join(podman.dir, "bbbench");
  await writeOciLayout(layout, await buildBusyboxImage());
  const berthFlags = ["--root", join(dir, "root"), "--runroot", join(dir, "run")];
  await mustRun([berth, ...berthFlags, "import", layout, "busybox:latest"]);
  const baseFlags = ["--root", join(dir, "base-root"), "--runroot", join(dir, "base-run")];
  if (baseline) await mustRun([baseline, ...baseFlags, "import", layout, "busybox:latest"]);
  await podman.podman(runc, ["pull", "-q", `oci:${layout}:latest`]).then((r) => {
    if (r.code !== 0) throw new Error(`podman pull: ${r.stderr}`);
  });
  const podmanImage = `localhost${layout}:latest`;
  const cmds: Record<string, () => Promise<{ code: number; stderr: string }>> = {
    berth: async () => {
      const p = Bun.spawn([berth, ...berthFlags, "run", "--rm", "--network", network, "busybox", "true"], { stdio: ["ignore", "ignore", "pipe"] });
      const [stderr, code] = await Promise.all([new Response(p.stderr).text(), p.exited]);
      return { code, stderr };
    },
    baseline: async () => {
      const p = Bun.spawn([baseline!, ...baseFlags, "run", "--rm", "--network", network, "busybox", "true"], { stdio: ["ignore", "ignore", "pipe"] });
      const [stderr, code] = await Promise.all([new Response(p.stderr).text(), p.exited]);
      return { code, stderr };
    },
    podman: () => podman.podman(runc, ["run", "--rm", ...(network === "none" ? podman.runFlags() : podman.runFlags().filter((f, i, a) => f !== "--network" && a[i - 1] !== "--network")), podmanImage, "true"]),
  };
  const order = baseline ? ["berth", "podman", "baseline"] : ["berth", "podman"];
  for (let i = 0; i < rounds + 2; i++) {
    for (const name of i % 2 ? [...order].reverse() : order) {
      const t0 = performance.now();
      const r = await cmds[name]!();
      const ms = performance.now() - t0;
      if (r.code !== 0) throw new Error(`${name} run failed (${r.code}): ${r.stderr}`);
      if (i >= 2) times[name]!.push(ms); // the first rounds unpack the image and warm caches
    }
  }
} finally {
  await mustRun([berth, "--root", join(dir, "root"), "--runroot", join(dir, "run"), "system", "reset", "-f"]).catch(() => {});
  if (baseline) await mustRun([baseline, ...["--root", join(dir, "base-root"), "--runroot", join(dir, "base-run")], "system", "reset", "-f"]).catch(() => {});
  const left = await podman.stop();
  if (left.containers.length || left.mounts.length) console.error("podman left:", left);
  // podman0 and its rules only when no other podman user had netavark chains before the bench.
  if (network === "bridge" && !netavark.chains.length) await removeNetavarkLeftovers(netavark, { subnets: ["10.88.0.0/16"], bridges: ["podman0"] });
  rmSync(dir, { recursive: true, force: true });
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const m = { berth: median(times.berth!), podman: median(times.podman!) };
for (const n of ["berth", "podman"] as const) console.log(`${n.padEnd(7)} run --rm busybox true: median ${m[n].toFixed(1)} ms over ${times[n]!.length} runs`);
if (baseline) console.log(`baseline (${baseline}) run --rm busybox true: median ${median(times.baseline!).toFixed(1)} ms over ${times.baseline!.length} runs; ratio baseline/podman: ${(median(times.baseline!) / m.podman).toFixed(2)}`);
console.log(`network ${network}; ratio berth/podman: ${(m.berth / m.podman).toFixed(2)} (goal ≤ ${network === "none" ? "0.20" : "0.30"})`);
