// The kubelet-style pod cycle through the real crictl (cri-tools 1.26.1): runp → create → start →
// stop → rm → stopp → rmp of one busybox container, against berthd (`berth daemon --cri-socket`)
// and Debian's containerd 1.6 with its CRI plugin (runc, its own CNI bridge), the same pod and
// container config, the same pause image (berth's built-in one, imported into containerd's k8s.io
// namespace) and busybox, interleaved. Prints both medians and the ratio berth/containerd
// (goal ≤ 0.5). Then kubelet-style status polling of `pods` (50) running pods (ListPodSandbox,
// ListContainers, one PodSandboxStatus and ContainerStatus per pod, as one crictl round each):
// the median of a round. Run as root after set-up:
//   node_modules/bun/bin/bun.exe bench/cri-cycle.ts [rounds] [pods]
// Everything each side makes (pods, containers, netns, bridge, IPAM, cgroups, daemons) goes at the end.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { buildBusyboxImage, writeOciLayout } from "../src/image/builtin-busybox.ts";
import { buildPauseImage } from "../src/image/builtin-pause.ts";
import { ociArchive } from "../tests/helpers/busybox-oci-image.ts";
import { mustRun, runCommand } from "../tests/helpers/run-command.ts";
import { removeCgroupTree, removeRootNetworkLeftovers, stopPid, unmountUnder } from "../tests/helpers/leftovers.ts";

const top = resolve(import.meta.dir, "..");
const rounds = Number(process.argv[2] ?? 10);
const podCount = Number(process.argv[3] ?? 50);
const berth = join(top, "build/berth");
const crictl = resolve(top, "../shared/tools/crictl");
if (!existsSync(crictl)) throw new Error(`${crictl} is missing (see ../shared/tools/README.md)`);

const dir = mkdtempSync("/tmp/bt-bench-cri-");
const CTRD_BRIDGE = "btbenchctrd";
const CTRD_CGROUP = "berth-test-bench-ctrd";
const procs: Bun.Subprocess[] = [];
const ipForward = readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8");

const crictlFor = (sock: string) => async (args: string[]): Promise<string> => {
  const r = await runCommand([crictl, "--config", "/dev/null", "--timeout", "60s", "--runtime-endpoint", `unix://${sock}`, "--image-endpoint", `unix://${sock}`, ...args], { timeoutMs: 120_000 });
  if (r.code !== 0) throw new Error(`crictl ${args.join(" ")}: ${r.stderr}`);
  return r.stdout.trim();
};

async function waitSocket(sock: string, p: Bun.Subprocess, what: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (p.exitCode !== null) throw new Error(`${what} exited ${p.exitCode}`);
    if (existsSync(sock) && (await runCommand([crictl, "--config", "/dev/null", "--runtime-endpoint", `unix://${sock}`, "version"], { timeoutMs: 5_000 })).code === 0) return;
    await Bun.sleep(50);
  }
  throw new Error(`${what} did not answer on ${sock}`);
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

// ---- berthd ----
const bRoot = join(dir, "berth-root");
const bRun = join(dir, "berth-run");
const bSock = join(dir, "berth-cri.sock");
const bFlags = ["--root", bRoot, "--runroot", bRun];
// ---- containerd ----
const cDir = join(dir, "containerd");
const cSock = join(cDir, "containerd.sock");

let ctrd: Bun.Subprocess | undefined;
let berthd: Bun.Subprocess | undefined;
const results: Record<string, number[]> = { berth: [], containerd: [] };
const polls: Record<string, number[]> = { berth: [], containerd: [] };
const pollSteps: Record<string, Record<string, number[]>> = { berth: {}, containerd: {} };
// Each crictl call's time by verb and side: where the cycle's time goes.
const VERBS = ["runp", "create", "start", "stop", "rm", "stopp", "rmp"] as const;
const steps: Record<string, Record<string, number[]>> = { berth: {}, containerd: {} };
try {
  mkdirSync(join(cDir, "cni"), { recursive: true });
  writeFileSync(join(cDir, "cni", "10-bench.conflist"), JSON.stringify({
    cniVersion: "1.0.0", name: "berth-bench",
    plugins: [
      { type: "bridge", bridge: CTRD_BRIDGE, isGateway: true, ipMasq: true, hairpinMode: true,
        ipam: { type: "host-local", dataDir: join(cDir, "ipam"), ranges: [[{ subnet: "10.199.250.0/24" }]], routes: [{ dst: "0.0.0.0/0" }] } },
      { type: "portmap", capabilities: { portMappings: true } },
      { type: "loopback" },
    ],
  }));
  writeFileSync(join(cDir, "config.toml"), [
    "version = 2",
    '[plugins."io.containerd.grpc.v1.cri"]',
    "  disable_tcp_service = true",
    '  stream_server_address = "127.0.0.1"',
    '  stream_server_port = "0"',
    '  sandbox_image = "localhost/berth-pause:1"',
    "  restrict_oom_score_adj = true",
    "  disable_apparmor = true",
    // runc's state in the temp dir (its default is /run/containerd/runc/k8s.io).
    '  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]',
    '    runtime_type = "io.containerd.runc.v2"',
    '  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]',
    `    Root = "${join(cDir, "runc")}"`,
    '  [plugins."io.containerd.grpc.v1.cri".cni]',
    '    bin_dir = "/usr/lib/cni"',
    `    conf_dir = "${join(cDir, "cni")}"`,
    '[plugins."io.containerd.internal.v1.opt"]',
    `  path = "${join(cDir, "opt")}"`,
    "",
  ].join("\n"));
  ctrd = Bun.spawn(["containerd", "-c", join(cDir, "config.toml"), "--root", join(cDir, "root"), "--state", join(cDir, "state"), "--address", cSock],
    { stdin: "ignore", stdout: "ignore", stderr: Bun.file(join(cDir, "containerd.log")) });
  procs.push(ctrd);
  berthd = Bun.spawn([berth, ...bFlags, "daemon", "-H", `unix://${join(dir, "docker.sock")}`, "--cri-socket", bSock], { stdin: "ignore", stdout: "ignore", stderr: Bun.file(join(dir, "berthd.log")) });
  procs.push(berthd);
  await waitSocket(cSock, ctrd, "containerd");
  await waitSocket(bSock, berthd, "berthd");

  // The same images on both sides.
  const bb = await buildBusyboxImage();
  const pause = await buildPauseImage(join(top, "build/berth-pause"));
  for (const [img, name, tag] of [[bb, "docker.io/library/busybox:latest", "latest"], [pause, "localhost/berth-pause:1", "1"]] as const) {
    const layout = join(dir, `layout-${tag}`);
    await writeOciLayout(layout, img, tag);
    await ociArchive(layout, `${layout}.tar`);
    await mustRun(["ctr", "-a", cSock, "-n", "k8s.io", "images", "import", "--index-name", name, `${layout}.tar`]);
  }
  const sides = {
    // berth: the containers' cgroups under the caller's own (berth-<id>), removed with them.
    berth: { c: crictlFor(bSock), cgroupParent: "" },
    containerd: { c: crictlFor(cSock), cgroupParent: `/${CTRD_CGROUP}` },
  };
  await sides.berth.c(["pull", "busybox"]);

  const podFile = (side: string, i: number, cg: string) => {
    const f = join(dir, `pod-${side}-${i}.json`);
    writeFileSync(f, JSON.stringify({
      metadata: { name: `bench-${i}`, namespace: "bench", uid: `uid-${side}-${i}`, attempt: 0 },
      log_directory: join(dir, "logs", side, String(i)),
      linux: { ...(cg ? { cgroup_parent: cg } : {}), security_context: { namespace_options: { pid: 1 } } },
    }));
    return f;
  };
  const ctrFile = join(dir, "container.json");
  writeFileSync(ctrFile, JSON.stringify({ metadata: { name: "sleep" }, image: { image: "docker.io/library/busybox:latest" }, command: ["sleep", "3600"], log_path: "sleep.log", linux: {} }));

  const cycle = async (side: keyof typeof sides, i: number) => {
    const { c, cgroupParent } = sides[side];
    const pf = podFile(side, i, cgroupParent);
    const t0 = performance.now();
    const took: number[] = [];
    const step = async (args: string[]) => {
      const t = performance.now();
      const out = await c(args);
      took.push(performance.now() - t);
      return out;
    };
    const pod = await step(["runp", pf]);
    const ctr = await step(["create", pod, ctrFile, pf]);
    await step(["start", ctr]);
    await step(["stop", "-t", "0", ctr]);
    await step(["rm", ctr]);
    await step(["stopp", pod]);
    await step(["rmp", pod]);
    const ms = performance.now() - t0;
    if (i >= 1) VERBS.forEach((v, k) => (steps[side]![v] ??= []).push(took[k]!));
    return ms;
  };

  const order: (keyof typeof sides)[] = ["berth", "containerd"];
  for (let i = 0; i < rounds + 1; i++) {
    for (const side of i % 2 ? [...order].reverse() : order) {
      const ms = await cycle(side, i);
      if (i >= 1) results[side]!.push(ms); // the first round unpacks the images
    }
  }
  const bm = median(results.berth!);
  const cm = median(results.containerd!);
  console.log(`cri cycle (runp→create→start→stop→rm→stopp→rmp, ${rounds} rounds, interleaved): berthd ${bm.toFixed(0)} ms, containerd ${cm.toFixed(0)} ms, ratio ${(bm / cm).toFixed(2)}`);
  // A crictl call costs ~30 ms on either side before the server sees it (see `crictl version`).
  console.log(`  by call, medians (berthd / containerd, ms): ${VERBS.map((v) => `${v} ${median(steps.berth![v]!).toFixed(0)}/${median(steps.containerd![v]!).toFixed(0)}`).join(", ")}`);

  // Status polling of `podCount` running pods, one container each.
  const made: Record<string, string[]> = { berth: [], containerd: [] };
  for (const side of order) {
    const { c, cgroupParent } = sides[side];
    for (let i = 0; i < podCount; i++) {
      const pf = podFile(side, 1000 + i, cgroupParent);
      const pod = await c(["runp", pf]);
      await c(["start", await c(["create", pod, ctrFile, pf])]);
      made[side]!.push(pod);
    }
  }
  // Two rounds first, not counted: kubelet polls every second, so a daemon is warm (berthd's JIT
  // tiers; containerd's caches) when it is asked.
  for (let r = -2; r < 5; r++) {
    for (const side of r % 2 ? [...order].reverse() : order) {
      const { c } = sides[side];
      const t0 = performance.now();
      const timed = async (what: string, args: string[]) => {
        const t = performance.now();
        const out = await c(args);
        (pollSteps[side]![what] ??= []).push(performance.now() - t);
        return out;
      };
      await timed("pods", ["pods", "-q"]);
      await timed("ps -a", ["ps", "-a", "-q"]);
      await timed("inspectp", ["inspectp", ...made[side]!]);
      const running = await timed("ps", ["ps", "-q"]);
      await timed("inspect", ["inspect", ...running.split("\n")]);
      if (r < 0) for (const k of Object.keys(pollSteps[side]!)) pollSteps[side]![k]!.pop();
      else polls[side]!.push(performance.now() - t0);
    }
  }
  const bp = median(polls.berth!);
  const cp = median(polls.containerd!);
  console.log(`status polling of ${podCount} pods (pods, ps -a, inspectp all, inspect all; 5 rounds after 2 not counted): berthd ${bp.toFixed(0)} ms, containerd ${cp.toFixed(0)} ms, ratio ${(bp / cp).toFixed(2)}`);
  console.log(`  by call, medians (berthd / containerd, ms): ${Object.keys(pollSteps.berth!).map((v) => `${v} ${median(pollSteps.berth![v]!).toFixed(0)}/${median(pollSteps.containerd![v]!).toFixed(0)}`).join(", ")}`);
  for (const side of order) for (const pod of made[side]!) await sides[side].c(["rmp", "-f", pod]);
} finally {
  for (const p of procs) await stopPid(p.pid, 5_000).catch(() => {});
  const reset = await runCommand([berth, ...bFlags, "system", "reset", "-f"]);
  if (reset.code !== 0) console.error(`berth system reset -f exited ${reset.code}: ${reset.stderr}`);
  for (const left of await removeRootNetworkLeftovers(bRoot)) console.error(`berth system reset -f left ${left} (removed)`);
  // containerd's bridge plugin (isGateway) turned forwarding on; berth restores its own.
  writeFileSync("/proc/sys/net/ipv4/ip_forward", ipForward);
  await unmountUnder(dir);
  await removeCgroupTree(CTRD_CGROUP).catch((e: unknown) => console.error(`${e}`));
  await runCommand(["ip", "link", "del", CTRD_BRIDGE]);
  rmSync(dir, { recursive: true, force: true });
}
