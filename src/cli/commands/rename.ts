import { command, args } from "../command.ts";

export default command({
  name: "rename",
  usage: "CONTAINER NEW_NAME",
  summary: "Rename a container",
  flags: {},
  async run(p, e) {
    const [ref, name] = args(p, this, 2);
    const { renameContainer } = await import("../../engine/containers.ts");
    await renameContainer(e, ref!, name!);
    return 0;
  },
});
