import { command, args } from "../command.ts";
import { parseBytes, UsageError } from "../flags.ts";
import { notImplemented } from "../../sys/errdefs.ts";

export default command({
  name: "run",
  usage: "[OPTIONS] IMAGE [COMMAND] [ARG...]",
  summary: "Create and run a new container from an image, in the foreground; exits with the container's status",
  stopAtPositional: true,
  ownErrorStatus: 125,
  flags: {
    rm: { kind: "bool", help: "remove the container (record, snapshot) when it exits" },
    interactive: { kind: "bool", short: "i", help: "keep STDIN attached" },
    tty: { kind: "bool", short: "t", help: "allocate a pseudo-TTY" },
    detach: { kind: "bool", short: "d", help: "run in the background (needs the daemon: not available yet)" },
    name: { kind: "string", help: "assign a name to the container" },
    env: { kind: "list", short: "e", help: "set environment variables (NAME=value, or NAME to copy it from here)" },
    workdir: { kind: "string", short: "w", help: "working directory inside the container (created if missing)" },
    user: { kind: "string", short: "u", help: "user[:group] or uid[:gid]" },
    entrypoint: { kind: "string", help: "overwrite the image's ENTRYPOINT (\"\" clears it)" },
    hostname: { kind: "string", short: "h", help: "container host name" },
    "read-only": { kind: "bool", help: "mount the container's root filesystem read-only" },
    memory: { kind: "string", short: "m", value: "bytes", help: "memory limit (e.g. 64m)" },
    "pids-limit": { kind: "int", help: "limit the number of processes (-1: unlimited)" },
    cpus: { kind: "string", value: "decimal", help: "number of CPUs (CFS quota), e.g. 0.5" },
    volume: { kind: "list", short: "v", help: "bind mount a host path: /host:/ctr[:ro]" },
    network: { kind: "string", value: "mode", help: "none (loopback only, default) or host" },
  },
  async run(p, e) {
    if (p.flags.detach) {
      throw notImplemented("detached containers (-d) need the berth daemon, which is not built yet: run in the foreground without -d", "--detach");
    }
    const [image, ...cmd] = args(p, this, 1, Infinity);
    const f = p.flags;
    let cpus: number | undefined;
    if (f.cpus !== undefined) {
      cpus = Number(f.cpus);
      if (!Number.isFinite(cpus)) throw new UsageError(`invalid argument "${String(f.cpus)}" for "--cpus" flag: not a number`, "--cpus");
    }
    const { runContainer } = await import("../run-container.ts");
    return runContainer(e, {
      image: image!,
      args: cmd,
      rm: f.rm === true,
      interactive: f.interactive === true,
      tty: f.tty === true,
      ...(f.name !== undefined ? { name: f.name as string } : {}),
      env: (f.env as string[] | undefined) ?? [],
      ...(f.workdir !== undefined ? { workdir: f.workdir as string } : {}),
      ...(f.user !== undefined ? { user: f.user as string } : {}),
      ...(f.entrypoint !== undefined ? { entrypoint: f.entrypoint as string } : {}),
      ...(f.hostname !== undefined ? { hostname: f.hostname as string } : {}),
      readOnly: f["read-only"] === true,
      ...(f.memory !== undefined ? { memory: parseBytes(f.memory as string, "--memory") } : {}),
      ...(f["pids-limit"] !== undefined ? { pidsLimit: f["pids-limit"] as number } : {}),
      ...(cpus !== undefined ? { cpus } : {}),
      binds: (f.volume as string[] | undefined) ?? [],
      network: (f.network as string | undefined) ?? "none",
    });
  },
});
