import { command, args } from "../command.ts";
import { hostname, cpus, totalmem, release } from "node:os";
import { VERSION } from "../version.ts";
import { stdout } from "../stdio.ts";

export default command({
  name: "info",
  usage: "[OPTIONS]",
  summary: "Display system-wide information",
  flags: { format: { kind: "string", short: "f", help: "json, or a Go template such as {{.NCPU}}" } },
  async run(p, e) {
    args(p, this, 0);
    const fmt = p.flags.format as string | undefined;
    const format = fmt ? (await import("../formatter.ts")).ValueFormat.parse(fmt) : undefined;
    const { listContainers } = await import("../../engine/containers.ts");
    const { readHostCgroups } = await import("../../cgroups/manager.ts");
    const cs = await listContainers(e, { all: true });
    const host = readHostCgroups({});
    const count = (s: string[]) => cs.filter((c) => s.includes(c.state)).length;
    const info = {
      ID: "", Containers: cs.length, ContainersRunning: count(["running", "restarting"]), ContainersPaused: count(["paused"]),
      ContainersStopped: count(["exited", "created", "dead"]), Images: new Set(e.images.list().map((i) => i.target.digest)).size,
      Driver: e.opts.storageDriver, DockerRootDir: e.opts.root, LoggingDriver: "json-file", CgroupDriver: "cgroupfs",
      CgroupVersion: host.layout === "v2" ? "2" : "1", KernelVersion: release(), OperatingSystem: "linux", OSType: "linux",
      Architecture: process.arch === "x64" ? "x86_64" : process.arch, NCPU: cpus().length, MemTotal: totalmem(), Name: hostname(),
      ServerVersion: VERSION, DefaultRuntime: "berth-runtime", Runtimes: { "berth-runtime": { path: "berth-runtime" } },
      SecurityOptions: ["name=seccomp,profile=builtin"],
    };
    if (format) {
      // docker writes what the template printed, a newline, then the error if it failed.
      const { FormatError } = await import("../formatter.ts");
      try {
        stdout.write(`${format.render(info, { struct: "system.Info" })}\n`);
      } catch (err) {
        if (err instanceof FormatError) stdout.write(`${err.partial}\n`);
        throw err;
      }
      return 0;
    }
    const lines = [
      "Server:",
      ` Containers: ${info.Containers}`, `  Running: ${info.ContainersRunning}`, `  Paused: ${info.ContainersPaused}`, `  Stopped: ${info.ContainersStopped}`,
      ` Images: ${info.Images}`, ` Server Version: ${info.ServerVersion} (daemonless)`, ` Storage Driver: ${info.Driver}`,
      ` Logging Driver: ${info.LoggingDriver}`, ` Cgroup Driver: ${info.CgroupDriver}`, ` Cgroup Version: ${info.CgroupVersion}${host.layout === "hybrid" ? " (hybrid: v1 controllers, empty cgroup2)" : ""}`,
      ` Default Runtime: ${info.DefaultRuntime}`, ` Kernel Version: ${info.KernelVersion}`, ` OSType: linux`, ` Architecture: ${info.Architecture}`,
      ` CPUs: ${info.NCPU}`, ` Total Memory: ${(info.MemTotal / 1024 ** 3).toFixed(2)}GiB`, ` Name: ${info.Name}`, ` Berth Root Dir: ${e.opts.root}`, ` Berth Run Dir: ${e.opts.runroot}`,
    ];
    stdout.write(`${lines.join("\n")}\n`);
    return 0;
  },
});
