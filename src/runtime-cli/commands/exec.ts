import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { invalidArgument } from "../../sys/errdefs.ts";
import { StateStore } from "../../runtime/state.ts";
import type { Process } from "../../runtime/spec/types.ts";
import type { Parsed } from "../args.ts";
import type { Globals } from "../main.ts";
import { command, containerId } from "./command.ts";

export default command("exec", "run another process in a running container", "<container-id> <command> [args...]", {
  process: { kind: "string", alias: "p", help: "path to a process.json (runtime-spec Process); replaces the flags below" },
  detach: { kind: "bool", alias: "d", help: "return once the process runs" },
  "pid-file": { kind: "string", help: "write the process's pid to this file" },
  tty: { kind: "bool", alias: "t", help: "allocate a pseudo-terminal" },
  "console-socket": { kind: "string", help: "unix socket to receive the pty master (SCM_RIGHTS)" },
  env: { kind: "list", alias: "e", help: "set an environment variable NAME=value (repeatable)" },
  cwd: { kind: "string", help: "working directory inside the container" },
  user: { kind: "string", alias: "u", help: "uid[:gid] to run as" },
  "additional-gids": { kind: "list", alias: "g", help: "another group id (repeatable)" },
  cap: { kind: "list", alias: "c", help: "add a capability (repeatable)" },
  "no-new-privs": { kind: "bool", help: "set no_new_privs for the process" },
  "preserve-fds": { kind: "int", help: "pass this many extra fds (from 3 on) into the process" },
  "process-label": { kind: "string", help: "SELinux label (ignored: SELinux is not supported)" },
  apparmor: { kind: "string", help: "AppArmor profile (ignored: AppArmor is not supported)" },
  "ignore-paused": { kind: "bool", help: "exec even if the container is paused (the process starts frozen)" },
  cgroup: { kind: "list", help: "run in a sub-cgroup of the container's: PATH, or CONTROLLER[,CONTROLLER]:PATH (repeatable)" },
}, async (p, g, log) => {
  // runc's exec exits 255 when the process could not be started (its own status otherwise).
  try {
    return await execVerb(p, g);
  } catch (e) {
    log("error", e instanceof Error ? e.message : String(e));
    return 255;
  }
}, true);

async function execVerb(p: Parsed, g: Globals): Promise<number> {
  const id = containerId(p, "exec", Infinity);
  const args = p.rest.slice(1);
  let proc: Process;
  if (p.flags.process) {
    const file = p.flags.process as string;
    try {
      proc = JSON.parse(file === "-" ? readFileSync(0, "utf8") : readFileSync(file, "utf8")) as Process;
    } catch (e) {
      throw invalidArgument(`exec: cannot read --process ${file}: ${(e as Error).message}`, "--process");
    }
    // runc decodes into Go structs, where a missing field is its zero value: accept the same.
    if (proc === null || typeof proc !== "object" || Array.isArray(proc)) throw invalidArgument(`exec: --process ${file} must hold a JSON object (a runtime-spec Process)`, "--process");
    proc.user = { ...proc.user, uid: proc.user?.uid ?? 0, gid: proc.user?.gid ?? 0 };
    proc.env ??= [];
  } else {
    // As runc: start from the container's own process and apply the flags.
    const base = new StateStore(g.root).load(id).spec?.process;
    if (!base) throw invalidArgument(`exec: container "${id}" has no recorded process to start from; pass --process`, "--process");
    if (args.length === 0) throw invalidArgument("exec: give the command to run after the container id, or --process", "arguments");
    proc = structuredClone(base);
    proc.args = args;
    proc.terminal = p.flags.tty === true;
    proc.env = [...(proc.env ?? []), ...((p.flags.env as string[] | undefined) ?? [])];
    if (p.flags.cwd) proc.cwd = p.flags.cwd as string;
    if (p.flags.user) {
      const m = /^(\d+)(?::(\d+))?$/.exec(p.flags.user as string);
      if (!m) throw invalidArgument(`exec: --user must be uid[:gid] in numbers, not "${p.flags.user}"`, "--user");
      proc.user = { ...proc.user, uid: Number(m[1]), gid: m[2] !== undefined ? Number(m[2]) : proc.user.gid };
    }
    const gids = (p.flags["additional-gids"] as string[] | undefined) ?? [];
    if (gids.length) {
      if (!gids.every((x) => /^\d+$/.test(x))) throw invalidArgument("exec: --additional-gids takes numbers", "--additional-gids");
      proc.user = { ...proc.user, additionalGids: gids.map(Number) };
    }
    const caps = (p.flags.cap as string[] | undefined) ?? [];
    if (caps.length) {
      const c = proc.capabilities ?? {};
      for (const set of ["bounding", "effective", "permitted"] as const) c[set] = [...(c[set] ?? []), ...caps];
      proc.capabilities = c;
    }
    if (p.flags["no-new-privs"]) proc.noNewPrivileges = true;
  }
  const { exec } = await import("../../runtime/exec.ts");
  return exec({
    root: g.root, id, process: proc, detach: p.flags.detach === true,
    ...(p.flags["pid-file"] ? { pidFile: resolve(p.flags["pid-file"] as string) } : {}),
    preserveFds: (p.flags["preserve-fds"] as number) ?? 0,
    ...(p.flags["console-socket"] ? { consoleSocket: resolve(p.flags["console-socket"] as string) } : {}),
    ignorePaused: p.flags["ignore-paused"] === true,
    cgroups: (p.flags.cgroup as string[] | undefined) ?? [],
  });
}
