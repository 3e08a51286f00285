// `berth-runtime run` vs `runc run` of `true` on the same busybox bundle, interleaved, many times.
// Prints each runtime's median and the ratio berth/runc (goal: ≤ 0.5). Run as root after set-up:
//   node_modules/bun/bin/bun.exe bench/run-true.ts [rounds]
// Both runtimes put the container in a cgroup under this process's own cgroup and clean up.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

const top = resolve(import.meta.dir, "..");
const rounds = Number(process.argv[2] ?? 50);
const peers: [string, string][] = [["berth", join(top, "build/berth-runtime")], ["runc", "/usr/sbin/runc"]];

const bundle = mkdtempSync("/tmp/bt-bench-");
const spec = JSON.parse(readFileSync(join(top, "build/busybox/config.json"), "utf8"));
spec.process.terminal = false;
spec.process.args = ["true"];
spec.root = { path: join(top, "build/busybox/rootfs"), readonly: true };
spec.linux.cgroupsPath = `berth-bench-${process.pid}`;
writeFileSync(join(bundle, "config.json"), JSON.stringify(spec));
const roots = Object.fromEntries(peers.map(([n]) => [n, mkdtempSync(`/tmp/bt-bench-${n}-`)]));

const times: Record<string, number[]> = Object.fromEntries(peers.map(([n]) => [n, []]));
try {
  for (let i = 0; i < rounds + 3; i++) {
    for (const [name, bin] of i % 2 ? [...peers].reverse() : peers) {
      const t0 = performance.now();
      const p = Bun.spawnSync([bin, "--root", roots[name]!, "run", "--bundle", bundle, `bench-${i}`], { stdio: ["ignore", "ignore", "pipe"] });
      const ms = performance.now() - t0;
      if (p.exitCode !== 0) throw new Error(`${name} run failed (${p.exitCode}): ${p.stderr.toString()}`);
      if (i >= 3) times[name]!.push(ms); // the first rounds warm the page cache
    }
  }
} finally {
  rmSync(bundle, { recursive: true, force: true });
  for (const r of Object.values(roots)) rmSync(r, { recursive: true, force: true });
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const m = Object.fromEntries(peers.map(([n]) => [n, median(times[n]!)]));
for (const [n] of peers) console.log(`${n.padEnd(6)} run true: median ${m[n]!.toFixed(1)} ms over ${times[n]!.length} runs`);
console.log(`ratio berth/runc: ${(m.berth! / m.runc!).toFixed(2)} (goal ≤ 0.50)`);
