import { command, args } from "../command.ts";
import { UsageError } from "../flags.ts";
import { envFlags, readEnvFile } from "../container-flags.ts";
import { DEFAULT_DETACH_KEYS, outputHandlers, parseDetachKeys, relay } from "../attach-session.ts";
import { failedPrecondition } from "../../sys/errdefs.ts";
import { nodeStdout, stderr } from "../stdio.ts";

export default command({
  name: "exec",
  usage: "[OPTIONS] CONTAINER COMMAND [ARG...]",
  summary: "Execute a command in a running container",
  stopAtPositional: true,
  flags: {
    detach: { kind: "bool", short: "d", help: "detached mode: run command in the background" },
    "detach-keys": { kind: "string", value: "keys", help: "override the key sequence for detaching (default ctrl-p,ctrl-q)" },
    env: { kind: "list", short: "e", help: "set environment variables (NAME=value, or NAME to pass ours)" },
    "env-file": { kind: "list", help: "read in a file of environment variables" },
    interactive: { kind: "bool", short: "i", help: "keep STDIN open even if not attached" },
    privileged: { kind: "bool", help: "give extended privileges to the command" },
    tty: { kind: "bool", short: "t", help: "allocate a pseudo-TTY" },
    user: { kind: "string", short: "u", help: "username or UID (format: <name|uid>[:<group|gid>])" },
    workdir: { kind: "string", short: "w", help: "working directory inside the container" },
  },
  async run(p, e) {
    const [ref, ...cmd] = args(p, this, 2, Infinity);
    const f = p.flags;
    const detach = f.detach === true;
    const tty = f.tty === true;
    const stdin = f.interactive === true;
    const detachKeys = f["detach-keys"] !== undefined ? parseDetachKeys(f["detach-keys"] as string) : DEFAULT_DETACH_KEYS;
    if (stdin && tty && !detach && process.stdin.isTTY !== true) throw failedPrecondition("the input device is not a TTY", "--tty");
    const env = [...((f["env-file"] as string[] | undefined) ?? []).flatMap((file) => readEnvFile(file, process.env)), ...envFlags((f.env as string[] | undefined) ?? [], process.env)];
    const workdir = f.workdir as string | undefined;
    if (workdir !== undefined && workdir === "") throw new UsageError("--workdir: give a path", "--workdir");
    const { createExec, startExec, finishExec } = await import("../../engine/exec.ts");
    const { StartError } = await import("../../engine/containers.ts");
    const ex = await createExec(e, ref!, {
      cmd, env, tty, stdin, attachStdout: !detach, attachStderr: !detach,
      ...(workdir !== undefined ? { workdir } : {}),
      ...(f.user !== undefined ? { user: f.user as string } : {}),
      ...(f.privileged ? { privileged: true } : {}),
      ...(f["detach-keys"] !== undefined ? { detachKeys: f["detach-keys"] as string } : {}),
    });
    const output = outputHandlers();
    let s;
    try {
      s = await startExec(e, ex.id, {
        ...(detach ? {} : { attach: { stdin, stdout: true, stderr: true, handlers: output } }),
        ...(tty && nodeStdout().isTTY && nodeStdout().rows ? { size: { rows: nodeStdout().rows, cols: nodeStdout().columns } } : {}),
      });
    } catch (err) {
      // docker: 127 the command was not found, 126 it cannot be run.
      if (!(err instanceof StartError)) throw err;
      stderr.write(`berth: ${err.message}\n`);
      return err.exitCode;
    }
    if (detach) return 0;
    const client = s.attach!;
    const end = await relay(client, { stdin, tty, detachKeys });
    if (end.kind === "detached") {
      // The process runs on; its monitor records the exit (stdin stays open: we detached).
      client.detach();
      client.close();
      stderr.write("\n");
      return 0;
    }
    const r = await finishExec(e, s, end.status);
    if (r.error && !end.status) stderr.write(`berth: ${r.error}\n`);
    return r.exitCode;
  },
});
