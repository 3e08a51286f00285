import { command, args } from "../command.ts";
import { forEach } from "../each.ts";

export default command({
  name: "stop",
  usage: "[OPTIONS] CONTAINER [CONTAINER...]",
  summary: "Stop one or more running containers (the stop signal, then SIGKILL after the timeout)",
  flags: {
    time: { kind: "int", short: "t", value: "seconds", help: "seconds to wait before killing the container (default: its --stop-timeout, else 10)" },
    signal: { kind: "string", short: "s", help: "signal to send (default: its stop signal)" },
  },
  async run(p, e) {
    const { stopContainer } = await import("../../engine/containers.ts");
    return forEach(args(p, this, 1, Infinity), async (ref) => {
      await stopContainer(e, ref, {
        ...(p.flags.time !== undefined ? { timeoutSec: p.flags.time as number } : {}),
        ...(p.flags.signal !== undefined ? { signal: p.flags.signal as string } : {}),
      });
      return ref;
    });
  },
});
