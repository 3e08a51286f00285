import { resolve } from "node:path";
import { create } from "../../runtime/container.ts";
import { command, containerId } from "./command.ts";

export const createFlags = {
  bundle: { kind: "string", alias: "b", help: "path to the bundle directory (default: the current directory)" },
  "pid-file": { kind: "string", help: "write the container's init pid to this file" },
  "console-socket": { kind: "string", help: "unix socket to receive the pty master (SCM_RIGHTS) when process.terminal is set" },
  "no-pivot": { kind: "bool", help: "do not use pivot_root (MS_MOVE + chroot instead; for ramfs roots)" },
  "no-new-keyring": { kind: "bool", help: "do not create a new session keyring (berth never does)" },
  "preserve-fds": { kind: "int", help: "pass this many extra fds (from 3 on) into the container" },
} as const;

export default command("create", "create a container, stopped before it runs its program", "<container-id>", createFlags, async (p, g, log) => {
  const id = containerId(p, "create");
  await create({
    root: g.root, id, bundle: resolve((p.flags.bundle as string) ?? "."), mode: "create",
    ...(p.flags["pid-file"] ? { pidFile: resolve(p.flags["pid-file"] as string) } : {}),
    onWarning: (m) => log("warning", m),
    noPivot: p.flags["no-pivot"] === true, preserveFds: (p.flags["preserve-fds"] as number) ?? 0, explain: g.explain,
    ...(p.flags["console-socket"] ? { consoleSocket: resolve(p.flags["console-socket"] as string) } : {}),
  });
  return 0;
});
