// `docker run --rm busybox true` (the real docker CLI) against berthd vs `podman run --rm
// busybox true` (podman with runc: crun refuses this machine's hybrid cgroups), the same
// busybox OCI layout in both, interleaved. Prints both medians and the ratio berthd/podman
// (goal ≤ 0.3). With `ps`, also `docker ps -a` and `docker inspect` latency with 100 created
// containers against `podman ps -a` / `podman inspect`. Run as root after set-up:
//   node_modules/bun/bin/bun.exe bench/docker-run.ts [rounds] [none|bridge] [ps]
// berthd runs on a private --root and socket in a temp dir and is stopped by its pid.
import { mkdtempSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { buildBusyboxImage, writeOciLayout } from "../src/image/builtin-busybox.ts";
import { startPodman } from "../tests/helpers/podman.ts";
import { removeNetavarkLeftovers, snapshotNetavark } from "../tests/helpers/netavark.ts";
import { mustRun } from "../tests/helpers/run-command.ts";

const top = resolve(import.meta.dir, "..");
const rounds = Number(process.argv[2] ?? 30);
const network = process.argv[3] ?? "none";
const withPs = process.argv[4] === "ps";
if (network !== "none" && network !== "bridge") throw new Error(`network ${network}: use none or bridge`);
const berth = join(top, "build/berth");
const runc = "/usr/sbin/runc";
const docker = Bun.which("docker");
if (!docker) throw new Error("the docker CLI is not on PATH");

const dir = mkdtempSync("/tmp/bt-bench-docker-");
const sock = join(dir, "docker.sock");
const berthFlags = ["--root", join(dir, "root"), "--runroot", join(dir, "run")];
const env = { ...process.env, DOCKER_HOST: `unix://${sock}`, DOCKER_CONFIG: join(dir, "docker-config") };
const netavark = await snapshotNetavark();
const podman = await startPodman({ runtimes: [{ binary: runc, defaultRoot: "/run/runc" }] });
const daemon = Bun.spawn([berth, ...berthFlags, "daemon", "-H", `unix://${sock}`], { stdio: ["ignore", "ignore", "pipe"] });
const times: Record<string, number[]> = {};
const run = async (argv: string[], e?: Record<string, string | undefined>) => {
  const p = Bun.spawn(argv, { stdio: ["ignore", "ignore", "pipe"], ...(e ? { env: e } : {}) });
  const [stderr, code] = await Promise.all([new Response(p.stderr).text(), p.exited]);
  if (code !== 0) throw new Error(`${argv.join(" ")} failed (${code}): ${stderr}`);
};
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
async function interleave(cmds: Record<string, () => Promise<void>>, n: number, warm = 2): Promise<void> {
  const order = Object.keys(cmds);
  for (let i = 0; i < n + warm; i++) {
    for (const name of i % 2 ? [...order].reverse() : order) {
      const t0 = performance.now();
      await cmds[name]!();
      if (i >= warm) (times[name] ??= []).push(performance.now() - t0);
    }
  }
}
try {
  for (let i = 0; i < 200; i++) {
    if (await fetch("http://b/_ping", { unix: sock } as RequestInit).then((r) => r.ok).catch(() => false)) break;
    await Bun.sleep(25);
  }
  const layout = join(podman.dir, "bbbench");
  await writeOciLayout(layout, await buildBusyboxImage());
  await mustRun([berth, ...berthFlags, "import", layout, "busybox:latest"]);
  await podman.podman(runc, ["pull", "-q", `oci:${layout}:latest`]).then((r) => {
    if (r.code !== 0) throw new Error(`podman pull: ${r.stderr}`);
  });
  const podmanImage = `localhost${layout}:latest`;
  const podmanNet = network === "none" ? podman.runFlags() : podman.runFlags().filter((f, i, a) => f !== "--network" && a[i - 1] !== "--network");
  await interleave({
    "docker→berthd run": () => run([docker, "run", "--rm", "--network", network, "busybox", "true"], env),
    "podman run": async () => {
      const r = await podman.podman(runc, ["run", "--rm", ...podmanNet, podmanImage, "true"]);
      if (r.code !== 0) throw new Error(`podman run: ${r.stderr}`);
    },
  }, rounds);
  if (withPs) {
    for (let i = 0; i < 100; i++) {
      await run([docker, "create", "--network", "none", "--name", `b${i}`, "busybox", "true"], env);
      const r = await podman.podman(runc, ["create", ...podman.runFlags(), "--name", `p${i}`, podmanImage, "true"]);
      if (r.code !== 0) throw new Error(`podman create: ${r.stderr}`);
    }
    await interleave({
      "docker→berthd ps -a": () => run([docker, "ps", "-a"], env),
      "podman ps -a": async () => void (await podman.podman(runc, ["ps", "-a"])),
      "docker→berthd inspect": () => run([docker, "inspect", "b50"], env),
      "podman inspect": async () => void (await podman.podman(runc, ["inspect", "p50"])),
    }, Math.min(rounds, 20));
    await podman.podman(runc, ["rm", "-f", ...Array.from({ length: 100 }, (_, i) => `p${i}`)]);
  }
} finally {
  await mustRun([berth, ...berthFlags, "system", "reset", "-f"]).catch(() => {});
  daemon.kill("SIGTERM");
  await daemon.exited;
  const left = await podman.stop();
  if (left.containers.length || left.mounts.length) console.error("podman left:", left);
  if (network === "bridge" && !netavark.chains.length) await removeNetavarkLeftovers(netavark, { subnets: ["10.88.0.0/16"], bridges: ["podman0"] });
  rmSync(dir, { recursive: true, force: true });
}
const m = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)]));
for (const [k, v] of Object.entries(m)) console.log(`${k.padEnd(24)} median ${v.toFixed(1)} ms over ${times[k]!.length} runs`);
const ratio = (a: string, b: string) => (m[a]! / m[b]!).toFixed(2);
console.log(`network ${network}; run --rm busybox true, berthd/podman: ${ratio("docker→berthd run", "podman run")} (goal ≤ 0.30)`);
if (withPs) console.log(`ps -a with 100 containers: ${ratio("docker→berthd ps -a", "podman ps -a")}; inspect: ${ratio("docker→berthd inspect", "podman inspect")}`);
