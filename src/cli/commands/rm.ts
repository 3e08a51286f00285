import { command, args } from "../command.ts";
import { forEach } from "../each.ts";

export default command({
  name: "rm",
  usage: "[OPTIONS] CONTAINER [CONTAINER...]",
  summary: "Remove one or more containers (record, snapshot, logs, runtime files)",
  flags: {
    force: { kind: "bool", short: "f", help: "force the removal of a running container (SIGKILL)" },
    volumes: { kind: "bool", short: "v", help: "remove anonymous volumes associated with the container" },
  },
  async run(p, e) {
    const { removeContainer } = await import("../../engine/containers.ts");
    return forEach(args(p, this, 1, Infinity), async (ref) => {
      await removeContainer(e, ref, { force: p.flags.force === true, volumes: p.flags.volumes === true });
      return ref;
    });
  },
});
