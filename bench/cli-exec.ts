// `berth exec C true` vs `podman exec C true` (podman with runc and conmon: crun refuses this
// machine's hybrid cgroups) into a running busybox container each, the same OCI layout imported
// into both, interleaved. Both start a monitor per exec (berth-monitor, conmon). Prints both
// medians and the ratio berth/podman. Run as root after set-up:
//   node_modules/bun/bin/bun.exe bench/cli-exec.ts [rounds]
import { mkdtempSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { buildBusyboxImage, writeOciLayout } from "../src/image/builtin-busybox.ts";
import { startPodman } from "../tests/helpers/podman.ts";
import { mustRun } from "../tests/helpers/run-command.ts";

const top = resolve(import.meta.dir, "..");
const rounds = Number(process.argv[2] ?? 30);
const berth = join(top, "build/berth");
const runc = "/usr/sbin/runc";

const dir = mkdtempSync("/tmp/bt-bench-exec-cli-");
const podman = await startPodman({ runtimes: [{ binary: runc, defaultRoot: "/run/runc" }] });
const times: Record<string, number[]> = { berth: [], podman: [] };
const berthFlags = ["--root", join(dir, "root"), "--runroot", join(dir, "run")];
try {
  const layout = join(podman.dir, "bbexec");
  await writeOciLayout(layout, await buildBusyboxImage());
  await mustRun([berth, ...berthFlags, "import", layout, "busybox:latest"]);
  const pulled = await podman.podman(runc, ["pull", "-q", `oci:${layout}:latest`]);
  if (pulled.code !== 0) throw new Error(`podman pull: ${pulled.stderr}`);
  await mustRun([berth, ...berthFlags, "run", "-d", "--name", "bx", "--network", "none", "busybox", "sleep", "600"]);
  const started = await podman.podman(runc, ["run", "-d", "--name", "bx", ...podman.runFlags(), `localhost${layout}:latest`, "sleep", "600"]);
  if (started.code !== 0) throw new Error(`podman run -d: ${started.stderr}`);
  const cmds: Record<string, () => Promise<{ code: number; stderr: string }>> = {
    berth: async () => {
      const p = Bun.spawn([berth, ...berthFlags, "exec", "bx", "true"], { stdio: ["ignore", "ignore", "pipe"] });
      const [stderr, code] = await Promise.all([new Response(p.stderr).text(), p.exited]);
      return { code, stderr };
    },
    podman: () => podman.podman(runc, ["exec", "bx", "true"]),
  };
  const order = ["berth", "podman"];
  for (let i = 0; i < rounds + 2; i++) {
    for (const name of i % 2 ? [...order].reverse() : order) {
      const t0 = performance.now();
      const r = await cmds[name]!();
      const ms = performance.now() - t0;
      if (r.code !== 0) throw new Error(`${name} exec failed (${r.code}): ${r.stderr}`);
      if (i >= 2) times[name]!.push(ms);
    }
  }
} finally {
  await mustRun([berth, ...berthFlags, "system", "reset", "-f"]).catch(() => {});
  await podman.podman(runc, ["rm", "-f", "-t", "0", "bx"]).catch(() => {});
  const left = await podman.stop();
  if (left.containers.length || left.mounts.length) console.error("podman left:", left);
  rmSync(dir, { recursive: true, force: true });
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const m = { berth: median(times.berth!), podman: median(times.podman!) };
for (const n of ["berth", "podman"] as const) console.log(`${n.padEnd(7)} exec bx true: median ${m[n].toFixed(1)} ms over ${times[n]!.length} runs`);
console.log(`ratio berth/podman: ${(m.berth / m.podman).toFixed(2)}`);
