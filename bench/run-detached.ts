// `berth run -d` of N containers, C at a time, vs `ctr run -d` with Debian's containerd (its runc
// shim, runc), the same busybox image in both, `sleep` as the command, no network for either
// (ctr run's default: a namespace with lo only; berth --network none). Rounds alternate which
// goes first; each round starts N containers and is timed from the first start to the last
// return, then removes them (untimed). Prints each engine's median containers/s, the ratio of the
// medians, and the median of each round's ratio (a round's two batches run back to back, so
// their ratio is the steadier figure on a shared machine) (goal ≥ 2). Run as root after setup:
//   node_modules/bun/bin/bun.exe bench/run-detached.ts [rounds] [containers] [concurrency]
// containerd runs privately in a temp dir (tests/helpers/containerd.ts) and is stopped, with
// everything it and its shims left, at the end; berth uses a temp --root/--runroot and resets it.
import { mkdtempSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { buildBusyboxImage, writeOciLayout } from "../src/image/builtin-busybox.ts";
import { startContainerd } from "../tests/helpers/containerd.ts";
import { mustRun } from "../tests/helpers/run-command.ts";

const top = resolve(import.meta.dir, "..");
const rounds = Number(process.argv[2] ?? 5);
const n = Number(process.argv[3] ?? 100);
const concurrency = Number(process.argv[4] ?? 10);
const berth = join(top, "build/berth");
const runc = "/usr/sbin/runc";

const dir = mkdtempSync("/tmp/bt-bench-detached-");
const berthFlags = ["--root", join(dir, "root"), "--runroot", join(dir, "run")];
const ctrd = await startContainerd({ namespace: `berth-test-bench-${process.pid}` });
const rates: Record<string, number[]> = { berth: [], ctr: [] };

/** Run `count` jobs, `c` at a time; throws on the first failure. */
async function pool(count: number, c: number, job: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: c }, async () => {
    while (next < count) await job(next++);
  }));
}
async function spawnOk(argv: string[], what: string): Promise<void> {
  const p = Bun.spawn(argv, { stdio: ["ignore", "ignore", "pipe"] });
  const [stderr, code] = await Promise.all([new Response(p.stderr).text(), p.exited]);
  if (code !== 0) throw new Error(`${what} failed (${code}): ${stderr}`);
}

try {
  const layout = join(dir, "layout");
  await writeOciLayout(layout, await buildBusyboxImage());
  await mustRun([berth, ...berthFlags, "import", layout, "bench:1"]);
  await mustRun(["tar", "-C", layout, "-cf", join(dir, "layout.tar"), "."]);
  await ctrd.ctr(["images", "import", "--index-name", "docker.io/library/bench:1", join(dir, "layout.tar")]).then((r) => {
    if (r.code !== 0) throw new Error(`ctr images import: ${r.stderr}`);
  });
  // Warm both (snapshots unpacked, caches filled): one container each, removed.
  await spawnOk([berth, ...berthFlags, "run", "-d", "--name", "warm", "--network", "none", "bench:1", "sleep", "3600"], "berth warm-up");
  await spawnOk([berth, ...berthFlags, "rm", "-f", "warm"], "berth rm");
  const ctrRun = (id: string) => ctrd.run({ runtime: runc, image: "docker.io/library/bench:1", id, cmd: ["sleep", "3600"], flags: ["-d"] });
  const ctrRm = async (id: string) => {
    await ctrd.ctr(["task", "kill", "-s", "SIGKILL", id]);
    for (let i = 0; i < 50; i++) {
      if ((await ctrd.ctr(["task", "delete", id])).code === 0) break;
      await Bun.sleep(20);
    }
    await ctrd.ctr(["containers", "rm", id]);
  };
  {
    const r = await ctrRun("warm");
    if (r.code !== 0) throw new Error(`ctr warm-up: ${r.stderr}`);
    await ctrRm("warm");
  }

  const engines: Record<string, { start(r: number, i: number): Promise<void>; clean(r: number): Promise<void> }> = {
    berth: {
      start: (r, i) => spawnOk([berth, ...berthFlags, "run", "-d", "--name", `b${r}-${i}`, "--network", "none", "bench:1", "sleep", "3600"], "berth run -d"),
      clean: async (r) => {
        const names = Array.from({ length: n }, (_, i) => `b${r}-${i}`);
        for (let i = 0; i < names.length; i += 25) await spawnOk([berth, ...berthFlags, "rm", "-f", ...names.slice(i, i + 25)], "berth rm -f");
      },
    },
    ctr: {
      start: async (r, i) => {
        const res = await ctrRun(`c${r}-${i}`);
        if (res.code !== 0) throw new Error(`ctr run -d failed (${res.code}): ${res.stderr}`);
      },
      clean: (r) => pool(n, 5, (i) => ctrRm(`c${r}-${i}`)),
    },
  };
  const order = ["berth", "ctr"];
  for (let r = 0; r < rounds; r++) {
    for (const name of r % 2 ? [...order].reverse() : order) {
      const e = engines[name]!;
      const t0 = performance.now();
      await pool(n, concurrency, (i) => e.start(r, i));
      const s = (performance.now() - t0) / 1000;
      rates[name]!.push(n / s);
      console.log(`round ${r + 1}: ${name.padEnd(5)} ${n} containers in ${s.toFixed(2)} s (${(n / s).toFixed(1)}/s)`);
      await e.clean(r);
      // Let what the removal left to the kernel (writeback of removed snapshots, dying memory
      // cgroups) and to the engines (containerd's snapshot GC) settle before the next batch.
      Bun.spawnSync(["sync"]);
      await Bun.sleep(2000);
    }
  }
} finally {
  await mustRun([berth, ...berthFlags, "system", "reset", "-f"]).catch((e) => console.error(String(e)));
  const left = await ctrd.stop();
  // containerd keeps its namespace's parent cgroup (/<namespace> in each hierarchy) after its
  // tasks are gone; the helper removes it. Anything else is a leak worth seeing.
  const leaks = Object.entries(left).filter(([k, v]) => k !== "cgroups" && (v as unknown[]).length > 0);
  if (leaks.length) console.error("containerd left (removed now):", Object.fromEntries(leaks));
  if (left.cgroups.some((c) => !/\/berth-test-bench-\d+$/.test(c))) console.error("containerd left task cgroups (removed now):", left.cgroups);
  rmSync(dir, { recursive: true, force: true });
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const m = { berth: median(rates.berth!), ctr: median(rates.ctr!) };
console.log(`berth run -d: median ${m.berth.toFixed(1)} containers/s over ${rounds} rounds of ${n}, ${concurrency} at a time`);
console.log(`ctr run -d:   median ${m.ctr.toFixed(1)} containers/s`);
const paired = median(rates.berth!.map((b, i) => b / rates.ctr![i]!));
console.log(`ratio berth/ctr: ${(m.berth / m.ctr).toFixed(2)} of the medians, ${paired.toFixed(2)} median of the rounds' ratios (goal ≥ 2)`);
