import { command, args } from "../command.ts";
import { forEach } from "../each.ts";

export default command({
  name: "volume rm",
  usage: "[OPTIONS] VOLUME [VOLUME...]",
  summary: "Remove one or more volumes (refused while a container uses it)",
  flags: { force: { kind: "bool", short: "f", help: "no error for a volume that does not exist" } },
  async run(p, e) {
    const { removeVolume } = await import("../../engine/volumes.ts");
    return forEach(args(p, this, 1, Infinity), async (name) => {
      removeVolume(e, name, { force: p.flags.force === true });
      return name;
    });
  },
});
