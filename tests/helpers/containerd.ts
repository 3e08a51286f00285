// A private containerd (Debian 1.6) for one test file: its own config, root, state and socket in
// a temp dir, a `berth-test-*` namespace (its tasks' cgroups are named after the namespace), the
// runc root and IO fifos in the temp dir too. stop() ends it by PID and removes what it and its
// shims left: tasks, shim and container processes, mounts, cgroups, shim sockets, the temp dir.

import { createHash } from "node:crypto";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeBusyboxOciLayout, ociArchive } from "./busybox-oci-image.ts";
import {
  HostDirWatch,
  isAlive,
  killPid,
  pidsInCgroup,
  pidsWithArg,
  randomSuffix,
  removeCgroupTree,
  stopPid,
  unmountUnder,
} from "./leftovers.ts";
import { mustRun, runCommand, type CommandResult, type RunOptions } from "./run-command.ts";

/** What stop() found and had to remove; an orderly test leaves all of these empty. */
export interface ContainerdLeftovers {
  tasks: string[];
  shims: number[];
  containerProcesses: number[];
  mounts: string[];
  cgroups: string[];
  shimSockets: string[];
  hostDirs: string[];
}

export interface Containerd {
  dir: string;
  sock: string;
  ns: string;
  pid: number;
  /** runc-compatible state root for tasks (`ctr run --runc-root`). */
  runcRoot: string;
  startupMs: number;
  /** `ctr -a SOCK -n NS ARGS…` */
  ctr(args: string[], opts?: RunOptions): Promise<CommandResult>;
  /**
   * `ctr run --runc-binary RUNTIME --runc-root R --fifo-dir F FLAGS… IMAGE ID CMD…` (state and
   * fifos in the temp dir); the id is remembered so stop() can find its shim socket.
   */
  run(r: { runtime: string; image: string; id: string; cmd: string[]; flags?: string[] }, opts?: RunOptions): Promise<CommandResult>;
  /** Imports the host's busybox as image `name`. */
  importBusybox(name: string): Promise<void>;
  stop(): Promise<ContainerdLeftovers>;
}

// containerd 1.6 keeps shim sockets in /run/containerd/s whatever --state says, and a default
// `ctr` uses /run/containerd/fifo; both are watched so a test removes them if it created them.
const hostRunDir = "/run/containerd";
const shimSocketDir = `${hostRunDir}/s`;

/** The shim socket path containerd 1.6 derives from (address, namespace, id). */
function shimSocket(sock: string, ns: string, id: string): string {
  return join(shimSocketDir, createHash("sha256").update(join(sock, ns, id)).digest("hex"));
}

export async function startContainerd(opts: { namespace?: string } = {}): Promise<Containerd> {
  const suffix = randomSuffix();
  const ns = opts.namespace ?? `berth-test-ctrd-${suffix}`;
  if (!ns.startsWith("berth-test-")) throw new Error(`namespace ${ns} must start with berth-test-`);
  const dir = fs.mkdtempSync(join(tmpdir(), "berth-ctrd-"));
  const sock = join(dir, "containerd.sock");
  const runcRoot = join(dir, "runc-root");
  const fifoDir = join(dir, "fifo");
  fs.mkdirSync(runcRoot);
  fs.mkdirSync(fifoDir);
  const watch = new HostDirWatch([hostRunDir, shimSocketDir, `${hostRunDir}/fifo`, `${hostRunDir}/runc`]);
  const config = join(dir, "config.toml");
  fs.writeFileSync(
    config,
    [
      "version = 2",
      // CRI is not needed for ctr and costs start-up time; its TCP streaming server must stay off anyway.
      'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
      '[plugins."io.containerd.grpc.v1.cri"]',
      "  disable_tcp_service = true",
      // Otherwise containerd creates /opt/containerd.
      '[plugins."io.containerd.internal.v1.opt"]',
      `  path = "${join(dir, "opt")}"`,
      "",
    ].join("\n"),
  );
  const started = performance.now();
  const proc = Bun.spawn(
    ["containerd", "-c", config, "--root", join(dir, "root"), "--state", join(dir, "state"), "--address", sock],
    { stdout: "ignore", stderr: Bun.file(join(dir, "containerd.log")), stdin: "ignore" },
  );
  const ids = new Set<string>();

  const ctr = (args: string[], o?: RunOptions) => runCommand(["ctr", "-a", sock, "-n", ns, ...args], o);

  const stop = async (): Promise<ContainerdLeftovers> => {
    const left: ContainerdLeftovers = { tasks: [], shims: [], containerProcesses: [], mounts: [], cgroups: [], shimSockets: [], hostDirs: [] };
    if (isAlive(proc.pid)) {
      const tasks = await ctr(["task", "ls", "-q"], { timeoutMs: 5_000 });
      left.tasks = tasks.stdout.split("\n").filter(Boolean);
      for (const id of left.tasks) {
        await ctr(["task", "kill", "-s", "SIGKILL", id], { timeoutMs: 5_000 });
        await ctr(["task", "delete", "--force", id], { timeoutMs: 5_000 });
      }
      const containers = await ctr(["containers", "ls", "-q"], { timeoutMs: 5_000 });
      for (const id of containers.stdout.split("\n").filter(Boolean)) {
        ids.add(id);
        await ctr(["containers", "rm", id], { timeoutMs: 5_000 });
      }
    }
    await stopPid(proc.pid);
    await proc.exited;
    // Container processes first (the shim is their reaper), then the shims, which carry our socket path.
    left.containerProcesses = pidsInCgroup(ns);
    for (const pid of left.containerProcesses) killPid(pid);
    left.shims = pidsWithArg(sock);
    for (const pid of left.shims) await stopPid(pid, 1_000);
    left.mounts = await unmountUnder(dir);
    left.cgroups = await removeCgroupTree(ns);
    for (const id of ids) {
      const s = shimSocket(sock, ns, id);
      if (fs.existsSync(s)) {
        left.shimSockets.push(s);
        fs.rmSync(s, { force: true });
      }
    }
    left.hostDirs = watch.release();
    fs.rmSync(dir, { recursive: true, force: true });
    return left;
  };

  const deadline = Date.now() + 15_000;
  while (!fs.existsSync(sock)) {
    if (proc.exitCode !== null || Date.now() > deadline) {
      const log = fs.existsSync(join(dir, "containerd.log")) ? fs.readFileSync(join(dir, "containerd.log"), "utf8") : "";
      await stop();
      throw new Error(`containerd did not start (exit ${proc.exitCode}): ${log.slice(-2000)}`);
    }
    await Bun.sleep(10);
  }
  // The socket appears before every service is registered: wait for a real answer.
  for (;;) {
    const v = await ctr(["version"], { timeoutMs: 5_000 });
    if (v.code === 0) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`containerd does not answer: ${v.stderr}`);
    }
    await Bun.sleep(20);
  }
  const startupMs = Math.round(performance.now() - started);

  return {
    dir,
    sock,
    ns,
    pid: proc.pid,
    runcRoot,
    startupMs,
    ctr,
    run: (r, o) => {
      ids.add(r.id);
      const flags = ["--runc-binary", r.runtime, "--runc-root", runcRoot, "--fifo-dir", fifoDir, ...(r.flags ?? [])];
      return ctr(["run", ...flags, r.image, r.id, ...r.cmd], o);
    },
    importBusybox: async (name) => {
      const layout = join(dir, "busybox-layout");
      const tar = join(dir, "busybox-oci.tar");
      if (!fs.existsSync(tar)) {
        await makeBusyboxOciLayout(layout);
        await ociArchive(layout, tar);
      }
      await mustRun(["ctr", "-a", sock, "-n", ns, "images", "import", "--index-name", name, tar]);
    },
    stop,
  };
}
