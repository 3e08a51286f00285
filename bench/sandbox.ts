// The sandbox library beside bubblewrap (Debian's bwrap), same program, same root, interleaved:
//   1. start-to-exit of `true`, one run at a time (goal: berth ≤ 2× bwrap, which does far less:
//      no cgroup, no limits, no accounting, no verdict)
//   2. sustained runs per second of a tiny program, C runs at once (goal: berth ≥ 100/s)
// bwrap gets what it can express of the sandbox: the same read-only root, new pid, mount, ipc,
// uts, net and cgroup namespaces, /proc, /dev, a tmpfs /tmp, no capabilities, nobody, and the
// same compiled seccomp filter (its --seccomp takes the BPF program). What it cannot do — a
// cgroup with memory, pids and CPU limits, the exact CPU and peak accounting, the output cap and
// the per-run overlay — is what berth adds. Run as root after scripts/setup.sh:
//   node_modules/bun/bin/bun.exe bench/sandbox.ts [rounds] [concurrency]
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { Sandbox } from "../src/sandbox/index.ts";
import { compileSeccomp } from "../src/seccomp/compile.ts";
import { defaultProfile } from "../src/sandbox/profiles.ts";

const top = resolve(import.meta.dir, "..");
const rootfs = join(top, "build/busybox/rootfs");
const rounds = Number(process.argv[2] ?? 60);
const concurrency = Number(process.argv[3] ?? 2);
const tmp = mkdtempSync("/tmp/bt-bench-sandbox-");
const bpfFile = join(tmp, "seccomp.bpf");
writeFileSync(bpfFile, compileSeccomp(defaultProfile()).bpf);

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

const sandbox = await Sandbox.open({ stateParent: tmp });
async function berth(argv: string[]): Promise<void> {
  const r = await sandbox.run({ rootfs, argv });
  if (r.status !== "ok") throw new Error(`berth: ${r.status}: ${r.message ?? ""} ${r.stderr.toString()}`);
}
async function bwrap(argv: string[]): Promise<void> {
  const bpf = openSync(bpfFile, "r");
  try {
    const p = Bun.spawn([
      "bwrap", "--ro-bind", rootfs, "/", "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp",
      "--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL", "--uid", "65534", "--gid", "65534",
      "--hostname", "sandbox", "--seccomp", "3", "--", ...argv,
    ], { stdio: ["ignore", "pipe", "pipe", bpf] });
    const [code, err] = await Promise.all([p.exited, new Response(p.stderr).text(), new Response(p.stdout).arrayBuffer()]);
    if (code !== 0) throw new Error(`bwrap exited ${code}: ${err}`);
  } finally {
    closeSync(bpf);
  }
}
const peers: [string, (argv: string[]) => Promise<void>][] = [["berth", berth], ["bwrap", bwrap]];

try {
  // 1. start to exit, interleaved
  const times: Record<string, number[]> = { berth: [], bwrap: [] };
  for (let i = 0; i < rounds + 3; i++) {
    for (const [name, run] of i % 2 ? [...peers].reverse() : peers) {
      const t0 = performance.now();
      await run(["true"]);
      if (i >= 3) times[name]!.push(performance.now() - t0); // the first rounds warm caches, compile the filter
    }
  }
  const m = { berth: median(times.berth!), bwrap: median(times.bwrap!) };
  console.log(`start to exit of true: berth ${m.berth.toFixed(2)} ms, bwrap ${m.bwrap.toFixed(2)} ms (medians of ${rounds}); ratio berth/bwrap ${(m.berth / m.bwrap).toFixed(2)} (goal ≤ 2)`);

  // 2. sustained throughput: batches of N runs, C at a time, alternating, median batch rate
  const N = 100, batches = 5;
  const rates: Record<string, number[]> = { berth: [], bwrap: [] };
  const tiny = ["sh", "-c", "echo $((6*7)) > /dev/null"];
  for (let b = 0; b < batches * 2; b++) {
    const [name, run] = peers[b % 2]!;
    let started = 0;
    const t0 = performance.now();
    await Promise.all(Array.from({ length: concurrency }, async () => {
      while (started < N) {
        started++;
        await run(tiny);
      }
    }));
    rates[name]!.push((N / (performance.now() - t0)) * 1000);
  }
  const r = { berth: median(rates.berth!), bwrap: median(rates.bwrap!) };
  console.log(`sustained runs/s of sh -c 'echo …', ${concurrency} at once: berth ${r.berth.toFixed(0)}/s, bwrap ${r.bwrap.toFixed(0)}/s (medians of ${batches} batches of ${N}); ratio berth/bwrap ${(r.berth / r.bwrap).toFixed(2)} (goal: berth ≥ 100/s)`);
} finally {
  await sandbox.close();
  rmSync(tmp, { recursive: true, force: true });
}
