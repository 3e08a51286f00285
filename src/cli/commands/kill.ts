import { command, args } from "../command.ts";
import { forEach } from "../each.ts";

export default command({
  name: "kill",
  usage: "[OPTIONS] CONTAINER [CONTAINER...]",
  summary: "Kill one or more running containers",
  flags: {
    signal: { kind: "string", short: "s", help: "signal to send to the container (default KILL)" },
  },
  async run(p, e) {
    const { killContainer } = await import("../../engine/containers.ts");
    return forEach(args(p, this, 1, Infinity), async (ref) => {
      await killContainer(e, ref, (p.flags.signal as string | undefined) ?? "SIGKILL");
      return ref;
    });
  },
});
