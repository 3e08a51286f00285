import { command, args } from "../command.ts";

export default command({
  name: "container cleanup",
  usage: "CONTAINER",
  summary: "Record a container's exit and release what it held (run by its monitor)",
  flags: {
    exec: { kind: "string", value: "id", help: "record the end of this exec session of the container instead" },
  },
  async run(p, e) {
    const [ref] = args(p, this, 1);
    if (p.flags.exec !== undefined) {
      const { cleanupExec } = await import("../../engine/exec.ts");
      cleanupExec(e, p.flags.exec as string);
      return 0;
    }
    const { cleanupContainer } = await import("../../engine/containers.ts");
    await cleanupContainer(e, ref!);
    return 0;
  },
});
