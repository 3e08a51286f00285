// Memory of the per-container process that keeps a container's stdio and reaps it, for the same
// sleeping busybox container: berth-monitor vs containerd-shim-runc-v2 (Debian's containerd 1.6,
// runc) vs conmon (Debian's podman 4.3, runc). K containers per engine, started interleaved;
// each process's VmRSS (/proc/PID/status) and Pss (/proc/PID/smaps_rollup, its fair share of
// shared pages) once the containers are settled. Prints the medians and berth's ratio to each
// (goal: berth-monitor ≤ 1 MiB). Run as root after scripts/setup.sh:
//   node_modules/bun/bin/bun.exe bench/monitor-rss.ts [containers-per-engine]
// Every engine runs in a temp dir and is stopped, with what it left, at the end.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { buildBusyboxImage, writeOciLayout } from "../src/image/builtin-busybox.ts";
import { startContainerd } from "../tests/helpers/containerd.ts";
import { startPodman } from "../tests/helpers/podman.ts";
import { mustRun } from "../tests/helpers/run-command.ts";

const top = resolve(import.meta.dir, "..");
const k = Number(process.argv[2] ?? 5);
const berth = join(top, "build/berth");
const runc = "/usr/sbin/runc";
const dir = mkdtempSync("/tmp/bt-bench-rss-");
const berthFlags = ["--root", join(dir, "root"), "--runroot", join(dir, "run")];

const kib = (pid: number, file: string, key: string): number => {
  const m = new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${pid}/${file}`, "utf8"));
  if (!m) throw new Error(`/proc/${pid}/${file} has no ${key}`);
  return Number(m[1]);
};
const ppid = (pid: number) => Number(/^PPid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]);
const comm = (pid: number) => readFileSync(`/proc/${pid}/comm`, "utf8").trim();
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

const ctrd = await startContainerd({ namespace: `berth-test-rss-${process.pid}` });
const podman = await startPodman({ runtimes: [{ binary: runc, defaultRoot: "/run/runc" }] });
const pids: Record<string, number[]> = { "berth-monitor": [], "containerd-shim-runc-v2": [], conmon: [] };
const results: Record<string, { rss: number; pss: number }[]> = {};
try {
  const layout = join(podman.dir, "bbrss");
  await writeOciLayout(layout, await buildBusyboxImage());
  await mustRun([berth, ...berthFlags, "import", layout, "bench:1"]);
  await mustRun(["tar", "-C", layout, "-cf", join(dir, "layout.tar"), "."]);
  const imp = await ctrd.ctr(["images", "import", "--index-name", "docker.io/library/bench:1", join(dir, "layout.tar")]);
  if (imp.code !== 0) throw new Error(`ctr images import: ${imp.stderr}`);
  const pull = await podman.podman(runc, ["pull", "-q", `oci:${layout}:latest`]);
  if (pull.code !== 0) throw new Error(`podman pull: ${pull.stderr}`);

  const start: Record<string, (i: number) => Promise<number>> = {
    "berth-monitor": async (i) => {
      const p = Bun.spawnSync([berth, ...berthFlags, "run", "-d", "--name", `r${i}`, "--network", "none", "bench:1", "sleep", "3600"], { stderr: "pipe" });
      if (p.exitCode !== 0) throw new Error(`berth run -d: ${p.stderr.toString()}`);
      const id = p.stdout.toString().trim();
      return (JSON.parse(readFileSync(join(dir, "run", "containers", id, "status.json"), "utf8")) as { monitorPid: number }).monitorPid;
    },
    "containerd-shim-runc-v2": async (i) => {
      const r = await ctrd.run({ runtime: runc, image: "docker.io/library/bench:1", id: `r${i}`, cmd: ["sleep", "3600"], flags: ["-d"] });
      if (r.code !== 0) throw new Error(`ctr run -d: ${r.stderr}`);
      const ls = await ctrd.ctr(["task", "ls"]);
      const pid = Number(ls.stdout.split("\n").find((l) => l.startsWith(`r${i} `))!.trim().split(/\s+/)[1]);
      return ppid(pid); // the shim is the container's parent (its reaper)
    },
    conmon: async (i) => {
      const r = await podman.podman(runc, ["run", "-d", "--name", `r${i}`, ...podman.runFlags(), `localhost${layout}:latest`, "sleep", "3600"]);
      if (r.code !== 0) throw new Error(`podman run -d: ${r.stderr}`);
      const pid = Number((await podman.podman(runc, ["inspect", "-f", "{{.State.ConmonPid}}", `r${i}`])).stdout.trim());
      return pid;
    },
  };
  const names = Object.keys(start);
  for (let i = 0; i < k; i++) {
    for (const name of i % 2 ? [...names].reverse() : names) {
      const pid = await start[name]!(i);
      if (comm(pid) !== name.slice(0, 15)) throw new Error(`pid ${pid} is ${comm(pid)}, not ${name}`);
      pids[name]!.push(pid);
    }
  }
  await Bun.sleep(2000); // let every process finish its start-up work
  for (const name of names) results[name] = pids[name]!.map((pid) => ({ rss: kib(pid, "status", "VmRSS"), pss: kib(pid, "smaps_rollup", "Pss") }));
} finally {
  // Each engine removes its own containers first; the helpers' stop() then reports only leaks.
  await mustRun([berth, ...berthFlags, "system", "reset", "-f"]).catch((e) => console.error(String(e)));
  for (let i = 0; i < k; i++) {
    await podman.podman(runc, ["rm", "-f", "-t", "0", `r${i}`]);
    await ctrd.ctr(["task", "kill", "-s", "SIGKILL", `r${i}`]);
    for (let t = 0; t < 50 && (await ctrd.ctr(["task", "delete", `r${i}`])).code !== 0; t++) await Bun.sleep(20);
    await ctrd.ctr(["containers", "rm", `r${i}`]);
  }
  const c = await ctrd.stop();
  const p = await podman.stop();
  for (const [what, left] of [["containerd", c], ["podman", p]] as const) {
    const leaks = Object.entries(left).filter(([key, v]) => key !== "cgroups" && (v as unknown[]).length > 0);
    if (leaks.length) console.error(`${what} left (removed now):`, Object.fromEntries(leaks));
  }
  rmSync(dir, { recursive: true, force: true });
}

const fmt = (k: number) => (k >= 1024 ? `${(k / 1024).toFixed(2)} MiB` : `${k} KiB`);
const m: Record<string, { rss: number; pss: number }> = {};
for (const [name, rs] of Object.entries(results)) {
  m[name] = { rss: median(rs.map((r) => r.rss)), pss: median(rs.map((r) => r.pss)) };
  console.log(`${name.padEnd(24)} VmRSS median ${fmt(m[name]!.rss).padStart(10)}   Pss median ${fmt(m[name]!.pss).padStart(10)}   (${rs.length} containers)`);
}
const b = m["berth-monitor"]!;
for (const peer of ["containerd-shim-runc-v2", "conmon"]) {
  console.log(`ratio berth-monitor/${peer}: VmRSS ${(b.rss / m[peer]!.rss).toFixed(3)}, Pss ${(b.pss / m[peer]!.pss).toFixed(3)}`);
}
console.log(`berth-monitor ≤ 1 MiB: VmRSS ${b.rss <= 1024 ? "yes" : "no"} (${fmt(b.rss)}), Pss ${b.pss <= 1024 ? "yes" : "no"} (${fmt(b.pss)})`);
