import { command, args } from "../command.ts";
import { forEach } from "../each.ts";

export default command({
  name: "restart",
  usage: "[OPTIONS] CONTAINER [CONTAINER...]",
  summary: "Restart one or more containers",
  flags: {
    time: { kind: "int", short: "t", value: "seconds", help: "seconds to wait for stop before killing the container" },
  },
  async run(p, e) {
    const { restartContainer } = await import("../../engine/containers.ts");
    return forEach(args(p, this, 1, Infinity), async (ref) => {
      await restartContainer(e, ref, p.flags.time !== undefined ? { timeoutSec: p.flags.time as number } : {});
      return ref;
    });
  },
});
