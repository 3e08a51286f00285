// `exec true` into a running container: berth-runtime vs runc, each into its own container made
// from the same busybox bundle, interleaved. Prints the medians and the ratio (goal ≤ 0.5).
//   node_modules/bun/bin/bun.exe bench/exec.ts [rounds]
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

const top = resolve(import.meta.dir, "..");
const rounds = Number(process.argv[2] ?? 50);
const peers: [string, string][] = [["berth", join(top, "build/berth-runtime")], ["runc", "/usr/sbin/runc"]];
const bundle = mkdtempSync("/tmp/bt-bench-exec-");
const spec = JSON.parse(readFileSync(join(top, "build/busybox/config.json"), "utf8"));
spec.process.terminal = false;
spec.process.args = ["sleep", "600"];
spec.root = { path: join(top, "build/busybox/rootfs"), readonly: true };
spec.linux.cgroupsPath = `berth-bench-exec-${process.pid}`;
writeFileSync(join(bundle, "config.json"), JSON.stringify(spec));
const roots = Object.fromEntries(peers.map(([n]) => [n, mkdtempSync(`/tmp/bt-bench-exec-${n}-`)]));
// stderr goes to a file: a detached container keeps the runtime's stdio open, and a pipe would
// make spawnSync wait for the container's end.
const errFile = join(bundle, "stderr");
const sh = (bin: string, args: string[]) => {
  const p = Bun.spawnSync([bin, ...args], { stdio: ["ignore", "ignore", Bun.file(errFile)] });
  if (p.exitCode !== 0) throw new Error(`${bin} ${args.join(" ")}: ${readFileSync(errFile, "utf8")}`);
};
const times: Record<string, number[]> = Object.fromEntries(peers.map(([n]) => [n, []]));
try {
  for (const [n, bin] of peers) {
    spec.linux.cgroupsPath = `berth-bench-exec-${n}-${process.pid}`;
    writeFileSync(join(bundle, "config.json"), JSON.stringify(spec));
    sh(bin, ["--root", roots[n]!, "run", "-d", "--bundle", bundle, "bench"]);
  }
  for (let i = 0; i < rounds + 3; i++) {
    for (const [n, bin] of i % 2 ? [...peers].reverse() : peers) {
      const t0 = performance.now();
      sh(bin, ["--root", roots[n]!, "exec", "bench", "true"]);
      if (i >= 3) times[n]!.push(performance.now() - t0);
    }
  }
} finally {
  for (const [n, bin] of peers) Bun.spawnSync([bin, "--root", roots[n]!, "delete", "--force", "bench"], { stdio: ["ignore", "ignore", "ignore"] });
  rmSync(bundle, { recursive: true, force: true });
  for (const r of Object.values(roots)) rmSync(r, { recursive: true, force: true });
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
for (const [n] of peers) console.log(`${n.padEnd(6)} exec true: median ${median(times[n]!).toFixed(1)} ms over ${times[n]!.length} runs`);
console.log(`ratio berth/runc: ${(median(times.berth!) / median(times.runc!)).toFixed(2)} (goal ≤ 0.50)`);
