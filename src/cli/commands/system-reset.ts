import { command, args } from "../command.ts";
import { UsageError } from "../flags.ts";
import { stdout } from "../stdio.ts";

export default command({
  name: "system reset",
  usage: "[OPTIONS]",
  summary: "Remove every container, image, volume and network under --root (and the host settings berth made)",
  flags: { force: { kind: "bool", short: "f", help: "do it: berth never prompts, so this flag is required" } },
  async run(p, e) {
    args(p, this, 0);
    if (!p.flags.force) throw new UsageError(`"berth system reset" removes all containers, images, volumes and networks under ${e.opts.root}; pass -f to do it`, "--force");
    const { systemReset } = await import("../../engine/prune.ts");
    const r = await systemReset(e);
    stdout.write(`Removed ${r.containers.length} containers, ${r.images.length} images, ${r.volumes.length} volumes, ${r.networks.length} networks\n`);
    return 0;
  },
});
