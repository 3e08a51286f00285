// Network setup + teardown of one container on a bridge network with the network library, many
// times: netns creation, each CNI plugin call, the veth rename, DNS, and teardown — medians and
// each step's share of setup (users call CNI "the long pole"). Run as root after set-up:
//   node_modules/bun/bin/bun.exe bench/network-setup.ts [rounds] [--port] [--default-bridge]
// Everything it makes has names unique to this run (bridge, admin chain) and a random subnet
// that overlaps no host route; all of it is removed at the end and ip_forward is restored.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { MetadataDB } from "../src/metadata/db.ts";
import { NetworkManager, parsePublish, type Timing } from "../src/network/index.ts";
import { overlaps, parseCidr } from "../src/network/cidr.ts";
import { readHostRoutes } from "../src/network/subnets.ts";

const rounds = Number(process.argv.slice(2).find((a) => /^\d+$/.test(a)) ?? 30);
const withPort = process.argv.includes("--port");
const onDefault = process.argv.includes("--default-bridge");

function freeSubnet(): string {
  const routes = readHostRoutes();
  for (;;) {
    const s = `10.${64 + Math.floor(Math.random() * 176)}.${Math.floor(Math.random() * 256)}.0/24`;
    if (!routes.some((r) => overlaps(r.dst, parseCidr(s, "bench")))) return s;
  }
}

const ipForward = readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8").trim();
const dir = mkdtempSync("/tmp/bt-bench-net-");
const meta = new MetadataDB(join(dir, "root", "meta.db"));
const sfx = randomBytes(3).toString("hex");
const m = new NetworkManager({
  db: meta.db, root: join(dir, "root"), runroot: join(dir, "run"), adminChain: `BERTH-B-${sfx}`, defaultBridge: `btb${sfx}`,
  pools: [freeSubnet()], aardvark: { forward: false },
});
const net = onDefault ? m.find("bridge") : m.create({ name: `bench-${sfx}`, subnet: freeSubnet() });

const steps = new Map<string, number[]>();
const add = (step: string, ms: number) => steps.set(step, [...(steps.get(step) ?? []), ms]);
const totals = { netns: [] as number[], setup: [] as number[], teardown: [] as number[], all: [] as number[] };
try {
  for (let i = 0; i < rounds + 2; i++) {
    const id = randomBytes(32).toString("hex");
    const t0 = performance.now();
    const netnsPath = await m.createNetns(id);
    const t1 = performance.now();
    const r = await m.setup({ id, name: `b${i}`, netnsPath }, [{ network: net.name }], withPort ? parsePublish("80") : []);
    const t2 = performance.now();
    const td = await m.teardown(id);
    const t3 = performance.now();
    if (i < 2) continue; // warm-up: the bridge is created in the first round
    totals.netns.push(t1 - t0);
    totals.setup.push(t2 - t1);
    totals.teardown.push(t3 - t2);
    totals.all.push(t3 - t0);
    for (const t of [...r.timings, ...td.timings] as Timing[]) if (t.step !== "total") add(t.step, t.ms);
  }
} finally {
  await m.remove(net.name, { allowPredefined: true }).catch(() => {});
  await m.aardvark.stop();
  meta.close();
  rmSync(dir, { recursive: true, force: true });
  if (readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8").trim() !== ipForward) writeFileSync("/proc/sys/net/ipv4/ip_forward", ipForward);
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const setupMedian = median(totals.setup);
console.log(`network ${onDefault ? "default bridge" : "user bridge with aardvark-dns"}${withPort ? ", one published port" : ""}; ${totals.all.length} rounds`);
console.log(`createNetns (unshare + loopback plugin): median ${median(totals.netns).toFixed(1)} ms`);
console.log(`setup:    median ${setupMedian.toFixed(1)} ms`);
console.log(`teardown: median ${median(totals.teardown).toFixed(1)} ms`);
console.log(`netns + setup + teardown: median ${median(totals.all).toFixed(1)} ms`);
console.log("per step (median ms, share of the setup median for ADD steps):");
for (const [step, xs] of steps) {
  const md = median(xs);
  const share = step.endsWith("DEL") ? "" : ` ${((md / setupMedian) * 100).toFixed(0)}% of setup`;
  console.log(`  ${step.padEnd(18)} ${md.toFixed(1).padStart(7)} ms${share}`);
}
