import { command, args } from "../command.ts";
import { table } from "../format.ts";
import { stdout } from "../stdio.ts";

export default command({
  name: "top",
  usage: "CONTAINER [ps OPTIONS]",
  summary: "Display the running processes of a container (the host's ps over its processes)",
  stopAtPositional: true,
  flags: {},
  async run(p, e) {
    const [ref, ...ps] = args(p, this, 1, Infinity);
    const { topContainer } = await import("../../engine/containers.ts");
    const t = await topContainer(e, ref!, ps);
    stdout.write(table(t.titles, t.processes));
    return 0;
  },
});
