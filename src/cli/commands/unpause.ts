import { command, args } from "../command.ts";
import { forEach } from "../each.ts";

export default command({
  name: "unpause",
  usage: "CONTAINER [CONTAINER...]",
  summary: "Unpause all processes within one or more containers",
  flags: {},
  async run(p, e) {
    const { unpauseContainer } = await import("../../engine/containers.ts");
    return forEach(args(p, this, 1, Infinity), async (ref) => {
      await unpauseContainer(e, ref);
      return ref;
    });
  },
});
