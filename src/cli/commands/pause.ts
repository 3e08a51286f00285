import { command, args } from "../command.ts";
import { forEach } from "../each.ts";

export default command({
  name: "pause",
  usage: "CONTAINER [CONTAINER...]",
  summary: "Pause all processes within one or more containers (cgroup freezer)",
  flags: {},
  async run(p, e) {
    const { pauseContainer } = await import("../../engine/containers.ts");
    return forEach(args(p, this, 1, Infinity), async (ref) => {
      await pauseContainer(e, ref);
      return ref;
    });
  },
});
