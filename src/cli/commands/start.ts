import { command, args } from "../command.ts";
import { UsageError } from "../flags.ts";
import { forEach } from "../each.ts";
import { DEFAULT_DETACH_KEYS, outputHandlers, parseDetachKeys, relay } from "../attach-session.ts";

export default command({
  name: "start",
  usage: "[OPTIONS] CONTAINER [CONTAINER...]",
  summary: "Start one or more stopped containers",
  flags: {
    attach: { kind: "bool", short: "a", help: "attach STDOUT/STDERR and forward signals" },
    interactive: { kind: "bool", short: "i", help: "attach the container's STDIN" },
    "detach-keys": { kind: "string", value: "keys", help: "key sequence for detaching (default ctrl-p,ctrl-q)" },
  },
  async run(p, e) {
    const refs = args(p, this, 1, Infinity);
    const { startContainer, cleanupContainer, killContainer, getContainer } = await import("../../engine/containers.ts");
    if (!p.flags.attach && !p.flags.interactive) {
      return forEach(refs, async (ref) => {
        await startContainer(e, ref, { hostEnv: process.env });
        return ref;
      });
    }
    if (refs.length > 1) throw new UsageError("you cannot start and attach multiple containers at once", "--attach");
    const c = await getContainer(e, refs[0]!);
    const stdin = p.flags.interactive === true && c.spec.stdin === true;
    const output = outputHandlers();
    const r = await startContainer(e, c.id, {
      hostEnv: process.env,
      attach: { stdout: true, stderr: true, stdin, takeCleanup: true, handlers: output },
    });
    if (!r.attach) throw new UsageError(`container ${refs[0]} is already running: use berth attach`, "container");
    const detachKeys = p.flags["detach-keys"] !== undefined ? parseDetachKeys(p.flags["detach-keys"] as string) : DEFAULT_DETACH_KEYS;
    const end = await relay(r.attach, {
      stdin, tty: c.spec.tty ?? false, detachKeys,
      proxySignal: (sig) => void killContainer(e, c.id, sig).catch(() => {}),
    });
    if (end.kind === "detached") {
      r.attach.close();
      return 0;
    }
    const after = await cleanupContainer(e, c.id);
    r.attach.done();
    await Promise.race([r.attach.closed, Bun.sleep(5000)]);
    return end.status?.exitCode ?? after?.exitCode ?? 1;
  },
});
