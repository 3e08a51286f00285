import { command, args } from "../command.ts";

export default command({
  name: "container cleanup",
  usage: "CONTAINER",
  summary: "Record a container's exit and release what it held (run by its monitor)",
  flags: {},
  async run(p, e) {
    const [ref] = args(p, this, 1);
    const { cleanupContainer } = await import("../../engine/containers.ts");
    await cleanupContainer(e, ref!);
    return 0;
  },
});
