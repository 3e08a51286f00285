import { command, args } from "../command.ts";
import { CONTAINER_FLAGS, specFromFlags } from "../container-flags.ts";
import { ensureImage, parsePullPolicy } from "../ensure-image.ts";
import { DEFAULT_DETACH_KEYS, outputHandlers, parseDetachKeys, relay } from "../attach-session.ts";
import { stopReason } from "../container-view.ts";
import { stdout, stderr } from "../stdio.ts";

export default command({
  name: "run",
  usage: "[OPTIONS] IMAGE [COMMAND] [ARG...]",
  summary: "Create and run a new container from an image (in the foreground, or -d in the background)",
  stopAtPositional: true,
  ownErrorStatus: 125,
  flags: {
    ...CONTAINER_FLAGS,
    detach: { kind: "bool", short: "d", help: "run the container in the background and print its ID" },
    "detach-keys": { kind: "string", value: "keys", help: "key sequence for detaching (default ctrl-p,ctrl-q)" },
    "sig-proxy": { kind: "bool", help: "proxy received signals to the container (default true; only without a terminal)" },
  },
  async run(p, e) {
    const [image, ...cmd] = args(p, this, 1, Infinity);
    const spec = specFromFlags(p, image!, cmd, process.env);
    const detach = p.flags.detach === true;
    const detachKeys = p.flags["detach-keys"] !== undefined ? parseDetachKeys(p.flags["detach-keys"] as string) : DEFAULT_DETACH_KEYS;
    await ensureImage(e, image!, { pull: parsePullPolicy(p.flags.pull as string | undefined), quiet: p.flags.quiet === true, ...(p.flags.platform ? { platform: p.flags.platform as string } : {}) });
    const { createContainer, startContainer, cleanupContainer, killContainer, removeContainer, StartError } = await import("../../engine/containers.ts");
    const c = await createContainer(e, spec);
    const output = outputHandlers();
    let r;
    try {
      r = await startContainer(e, c.id, {
        hostEnv: process.env,
        ...(detach ? {} : { attach: { stdout: true, stderr: true, stdin: spec.stdin ?? false, takeCleanup: true, handlers: output } }),
      });
    } catch (err) {
      // docker run: the start failed (127: command not found, 126: not executable); --rm still removes.
      if (!(err instanceof StartError)) throw err;
      if (spec.autoRemove) await removeContainer(e, c.id, { force: true, volumes: true }).catch(() => {});
      stderr.write(`berth: ${err.message}\n`);
      return err.exitCode;
    }
    if (detach) {
      stdout.write(`${c.id}\n`);
      return 0;
    }
    const client = r.attach!;
    const end = await relay(client, {
      stdin: spec.stdin ?? false, tty: spec.tty ?? false, detachKeys,
      ...(p.flags["sig-proxy"] !== false ? { proxySignal: (sig: NodeJS.Signals) => void killContainer(e, c.id, sig).catch(() => {}) } : {}),
    });
    if (end.kind === "detached") {
      // The monitor takes the cleanup back when the container ends (we leave without "done").
      client.close();
      stderr.write("\n");
      return 0;
    }
    // Our cleanup: record the exit, release the runtime state, unmount; --rm removes the container.
    const after = await cleanupContainer(e, c.id);
    client.done();
    await Promise.race([client.closed, Bun.sleep(5000)]);
    const st = end.status;
    const code = st?.exitCode ?? after?.exitCode ?? 125;
    const why = stopReason({ oomKilled: st?.oomKilled ?? after?.oomKilled ?? false, error: st?.error ?? after?.error ?? "", exitCode: code, spec });
    if (why) stderr.write(`berth: ${why}\n`);
    return code;
  },
});
