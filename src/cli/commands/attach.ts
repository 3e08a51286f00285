import { command, args } from "../command.ts";
import { UsageError } from "../flags.ts";
import { DEFAULT_DETACH_KEYS, outputHandlers, parseDetachKeys, relay } from "../attach-session.ts";
import { conflict } from "../../sys/errdefs.ts";

export default command({
  name: "attach",
  usage: "[OPTIONS] CONTAINER",
  summary: "Attach local standard input, output, and error streams to a running container",
  flags: {
    "no-stdin": { kind: "bool", help: "do not attach STDIN" },
    "sig-proxy": { kind: "bool", help: "proxy received signals to the container (default true)" },
    "detach-keys": { kind: "string", value: "keys", help: "key sequence for detaching (default ctrl-p,ctrl-q)" },
  },
  async run(p, e) {
    const [ref] = args(p, this, 1);
    const { getContainer, killContainer } = await import("../../engine/containers.ts");
    const { AttachClient, ATTACH } = await import("../../monitor/attach.ts");
    const c = await getContainer(e, ref!);
    if (c.state === "paused") throw conflict(`you cannot attach to a paused container, unpause it first`, "container");
    if (c.state !== "running" && c.state !== "restarting") throw conflict(`you cannot attach to a stopped container, start it first`, "container");
    const stdin = p.flags["no-stdin"] !== true && c.spec.stdin === true;
    const output = outputHandlers();
    const client = await AttachClient.connect(e.containerDir(c.id), ATTACH.stdout | ATTACH.stderr | (stdin ? ATTACH.stdin : 0), output);
    const detachKeys = p.flags["detach-keys"] !== undefined ? parseDetachKeys(p.flags["detach-keys"] as string) : DEFAULT_DETACH_KEYS;
    if (detachKeys.length === 0 && stdin && c.spec.tty) throw new UsageError("--detach-keys must not be empty with a terminal", "--detach-keys");
    const end = await relay(client, {
      stdin, tty: c.spec.tty ?? false, detachKeys,
      ...(p.flags["sig-proxy"] !== false ? { proxySignal: (sig: NodeJS.Signals) => void killContainer(e, c.id, sig).catch(() => {}) } : {}),
    });
    client.close();
    if (end.kind === "detached") return 0;
    return end.status?.exitCode ?? 0;
  },
});
