// Daemonless podman (Debian 4.3 + conmon) confined to one test's temp dir: storage root, runroot,
// tmpdir, network config and containers.conf there; containers on `--network none` (no netavark
// bridge, iptables rules or ip_forward change) in a `berth-test-*` cgroup parent of their own (not
// the shared libpod_parent). The busybox image is pulled from an OCI layout in the temp dir.
//
// podman and conmon call the runtime WITHOUT --root for create/start/kill/delete, so containers'
// runtime state lands in the runtime's default root (/run/berth-runtime for berth, /run/runc for
// runc); stop() removes every entry there whose bundle is in this temp dir.

import * as fs from "node:fs";
import { join } from "node:path";
import { makeBusyboxOciLayout } from "./busybox-oci-image.ts";
import { HostDirWatch, isAlive, killPid, pidsInCgroup, pidsWithArg, randomSuffix, removeCgroupTree, stopPid, unmountUnder } from "./leftovers.ts";
import { mustRun, runCommand, type CommandResult, type RunOptions } from "./run-command.ts";

export interface PodmanLeftovers {
  containers: string[];
  processes: number[];
  mounts: string[];
  cgroups: string[];
  /** `<default root>/<id>` runtime state entries of our containers that were still there. */
  runtimeState: string[];
  hostDirs: string[];
}

export interface Podman {
  dir: string;
  /** The busybox image's name in this storage. */
  image: string;
  /** Absolute cgroup parent for `podman run --cgroup-parent` (a berth-test-* cgroup). */
  cgroupParent: string;
  /** `podman GLOBAL-FLAGS --runtime RUNTIME ARGS…` with CONTAINERS_CONF set. */
  podman(runtime: string, args: string[], opts?: RunOptions): Promise<CommandResult>;
  /** `podman run` flags every test uses: no network, our cgroup parent. */
  runFlags(): string[];
  stop(): Promise<PodmanLeftovers>;
}

export async function startPodman(opts: { runtimes: { binary: string; defaultRoot: string }[] }): Promise<Podman> {
  const suffix = randomSuffix();
  // podman names an image pulled from oci:DIR after DIR, and image names must be lowercase.
  const dir = join("/tmp", `berth-podman-${suffix}`);
  fs.mkdirSync(dir, { mode: 0o700 });
  const cgroupName = `berth-test-podman-${suffix}`;
  // netavark's run dir is fixed in podman 4.3 (/run/containers/networks), even with --network none.
  const watch = new HostDirWatch([...opts.runtimes.map((r) => r.defaultRoot), "/run/containers", "/run/containers/networks"]);
  const conf = join(dir, "containers.conf");
  fs.writeFileSync(
    conf,
    [
      "[containers]",
      // podman's defaults (nofile 1048576) are above this machine's hard limits and there is no
      // CAP_SYS_RESOURCE to raise them.
      'default_ulimits = ["nofile=20000:20000","nproc=32768:32768"]',
      "[network]",
      `network_config_dir = "${join(dir, "networks")}"`,
      "[engine]",
      `volume_path = "${join(dir, "volumes")}"`,
      "",
    ].join("\n"),
  );
  const env = { CONTAINERS_CONF: conf };
  const globalFlags = [
    "--root", join(dir, "root"),
    "--runroot", join(dir, "runroot"),
    "--tmpdir", join(dir, "tmp"),
    "--cgroup-manager", "cgroupfs",
    "--events-backend", "file",
  ];
  const podman = (runtime: string, args: string[], o?: RunOptions) =>
    runCommand(["podman", ...globalFlags, "--runtime", runtime, ...args], { ...o, env: { ...env, ...o?.env } });

  const stop = async (): Promise<PodmanLeftovers> => {
    const left: PodmanLeftovers = { containers: [], processes: [], mounts: [], cgroups: [], runtimeState: [], hostDirs: [] };
    const runtime = opts.runtimes[0]?.binary ?? "/usr/sbin/runc";
    if (fs.existsSync(join(dir, "root"))) {
      const ps = await podman(runtime, ["ps", "-a", "-q", "--no-trunc"], { timeoutMs: 10_000 });
      left.containers = ps.stdout.split("\n").filter(Boolean);
      for (const id of left.containers) await podman(runtime, ["rm", "-f", "-t", "0", id], { timeoutMs: 15_000 });
    }
    // Processes of our containers (by cgroup) and conmons (their argv carries our temp dir).
    // conmon runs podman's exit command (`podman container cleanup`) after a container ends, on
    // its own time: under load it can still be finishing when the test does. Give those a few
    // seconds to end by themselves; what is left after that is a leak.
    const ours = () => [...new Set([...pidsInCgroup(cgroupName), ...pidsWithArg(dir)])].filter(isAlive);
    for (let i = 0; i < 100 && ours().length; i++) await Bun.sleep(100);
    left.processes = ours();
    for (const pid of pidsInCgroup(cgroupName)) killPid(pid);
    for (const pid of pidsWithArg(dir)) await stopPid(pid, 1_000);
    for (const { binary, defaultRoot } of opts.runtimes) {
      for (const id of HostDirWatch.entries(defaultRoot)) {
        const st = await runCommand([binary, "state", id], { timeoutMs: 5_000 });
        let bundle = "";
        try {
          bundle = String((JSON.parse(st.stdout) as { bundle?: unknown }).bundle ?? "");
        } catch {
          continue; // not a container we can identify: not ours to touch
        }
        if (!bundle.startsWith(`${dir}/`)) continue;
        left.runtimeState.push(join(defaultRoot, id));
        await runCommand([binary, "delete", "--force", id], { timeoutMs: 5_000 });
        fs.rmSync(join(defaultRoot, id), { recursive: true, force: true });
      }
    }
    // berth-runtime keeps compiled seccomp filters (podman's default profile) in its root's
    // .seccomp-cache: ours to remove when this test made that root.
    for (const { defaultRoot } of opts.runtimes)
      if (watch.createdByTest(defaultRoot)) fs.rmSync(join(defaultRoot, ".seccomp-cache"), { recursive: true, force: true });
    // containers/storage may keep its overlay home (<root>/overlay) bind-mounted on itself after
    // the last container is gone: podman's own bookkeeping, not a leak of a test. Unmounted all the same.
    left.mounts = (await unmountUnder(dir)).filter((m) => m !== join(dir, "root", "overlay"));
    left.cgroups = await removeCgroupTree(cgroupName);
    left.hostDirs = watch.release();
    fs.rmSync(dir, { recursive: true, force: true });
    return left;
  };

  try {
    const layout = join(dir, "busybox");
    await makeBusyboxOciLayout(layout);
    await mustRun(["podman", ...globalFlags, "pull", "-q", `oci:${layout}:latest`], { env, timeoutMs: 30_000 });
  } catch (e) {
    await stop();
    throw e;
  }
  return {
    dir,
    image: `localhost${dir}/busybox:latest`,
    cgroupParent: `/${cgroupName}`,
    podman,
    runFlags: () => ["--network", "none", "--cgroup-parent", `/${cgroupName}`],
    stop,
  };
}
