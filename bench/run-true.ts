// `run` of busybox `true` under berth-runtime, runc and crun on the same bundle, interleaved, on
// both cgroup layouts:
//   hybrid   this host as it is (v1 controllers, an empty cgroup2 at /sys/fs/cgroup/unified)
//            (crun refuses this layout: "cgroups in hybrid mode not supported")
//   cgroup2  a private mount namespace whose /sys/fs/cgroup is the cgroup2 hierarchy alone (what
//            modern distributions run), made by this bench (unshare -m) and gone when it exits
// Prints each runtime's median per layout and every ratio, of wall time and of CPU time (the run's
// rusage, its reaped children included: steadier than wall time on a busy machine). As root:
//   node_modules/bun/bin/bun.exe bench/run-true.ts [rounds] [--seccomp]
// The spec has no linux.resources (crun cannot load a v2 device program here without
// CAP_SYS_RESOURCE); every runtime puts the container in a cgroup under this process's own.
import { existsSync, mkdtempSync, readFileSync, rmSync, rmdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

const top = resolve(import.meta.dir, "..");
const inner = process.argv[2] === "--inner";
const rounds = Number(process.argv[inner ? 3 : 2] ?? 40);
// --seccomp: Docker's default profile in the spec, as containerd, podman and docker pass one.
const seccomp = process.argv.includes("--seccomp");
const PEERS: [string, string][] = [["berth", join(top, "build/berth-runtime")], ["runc", "/usr/sbin/runc"], ["crun", "/usr/bin/crun"]];
const peers = PEERS.filter(([, bin]) => existsSync(bin));

type Medians = Record<string, { wall: number; p90: number; cpu: number }>;

/** One layout's run: the medians (ms) by runtime. */
async function measure(peers: [string, string][]): Promise<Medians> {
  const bundle = mkdtempSync("/tmp/bt-bench-");
  const spec = JSON.parse(readFileSync(join(top, "build/busybox/config.json"), "utf8"));
  spec.process.terminal = false;
  spec.process.args = ["true"];
  spec.root = { path: join(top, "build/busybox/rootfs"), readonly: true };
  const cgroup = `berth-bench-${process.pid}`;
  spec.linux.cgroupsPath = cgroup;
  delete spec.linux.resources;
  if (seccomp) spec.linux.seccomp = (await import("../src/seccomp/default-profile.ts")).defaultSeccomp(spec.process.capabilities.bounding);
  writeFileSync(join(bundle, "config.json"), JSON.stringify(spec));
  const roots = Object.fromEntries(peers.map(([n]) => [n, mkdtempSync(`/tmp/bt-bench-${n}-`)]));
  const times: Record<string, number[]> = Object.fromEntries(peers.map(([n]) => [n, []]));
  const cpu: Record<string, number[]> = Object.fromEntries(peers.map(([n]) => [n, []]));
  try {
    for (let i = 0; i < rounds + 3; i++) {
      // Each round runs every runtime once, in a rotating order.
      const order = peers.map((_, k) => peers[(i + k) % peers.length]!);
      for (const [name, bin] of order) {
        const t0 = performance.now();
        const p = Bun.spawnSync([bin, "--root", roots[name]!, "run", "--bundle", bundle, `bench-${i}`], { stdio: ["ignore", "ignore", "pipe"] });
        const ms = performance.now() - t0;
        if (p.exitCode !== 0) throw new Error(`${name} run failed (${p.exitCode}): ${p.stderr.toString()}`);
        if (i >= 3) {
          // the first rounds warm the page cache
          times[name]!.push(ms);
          cpu[name]!.push(Number((p.resourceUsage as unknown as { cpuTime: { total: bigint } }).cpuTime.total) / 1000);
        }
      }
    }
  } finally {
    rmSync(bundle, { recursive: true, force: true });
    for (const r of Object.values(roots)) rmSync(r, { recursive: true, force: true });
  }
  return Object.fromEntries(peers.map(([n]) => [n, { wall: median(times[n]!), p90: quantile(times[n]!, 0.9), cpu: median(cpu[n]!) }]));
}

/** The q-quantile (nearest rank): p90 shows spikes that a median hides. */
function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]!;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

if (inner) {
  // Inside the private mount namespace: the bench's own process prints its medians as JSON.
  console.log(JSON.stringify(await measure(peers)));
} else {
  const results: Record<string, Medians> = { hybrid: await measure(peers.filter(([n]) => n !== "crun")) };
  // cgroup2 alone: unmount the v1 hierarchies (in this namespace only) and mount cgroup2 there.
  const script = "umount -R /sys/fs/cgroup && mount -t cgroup2 cgroup2 /sys/fs/cgroup && exec \"$0\" \"$@\"";
  const p = Bun.spawnSync(["unshare", "-m", "--propagation", "private", "sh", "-c", script, process.execPath, import.meta.path, "--inner", String(rounds), ...(seccomp ? ["--seccomp"] : [])], { stdio: ["ignore", "pipe", "inherit"] });
  if (p.exitCode !== 0) throw new Error(`the cgroup2-only run failed (${p.exitCode})`);
  results.cgroup2 = JSON.parse(p.stdout.toString().trim().split("\n").pop()!);
  // The containers' cgroups are in the same cgroup2 hierarchy as the host's unified mount.
  const left = `/sys/fs/cgroup/unified/berth-bench-${p.pid}`;
  if (existsSync(left)) rmdirSync(left);
  for (const [layout, m] of Object.entries(results)) {
    console.log(`${layout}${seccomp ? ", Docker's seccomp profile" : ""}:`);
    const here = peers.filter(([n]) => m[n] !== undefined);
    for (const [n] of here) console.log(`  ${n.padEnd(6)} run true: median ${m[n]!.wall.toFixed(1)} ms wall (p90 ${m[n]!.p90.toFixed(1)}), ${m[n]!.cpu.toFixed(1)} ms CPU over ${rounds} runs`);
    for (const [n] of here.slice(1))
      console.log(`  ratio berth/${n}: ${(m.berth!.wall / m[n]!.wall).toFixed(2)} wall, ${(m.berth!.cpu / m[n]!.cpu).toFixed(2)} CPU${n === "runc" ? " (goal ≤ 0.50)" : " (goal < 1)"}`);
  }
}
