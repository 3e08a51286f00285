import { command, args } from "../command.ts";
import { humanSize4 } from "../units.ts";
import { stdout } from "../stdio.ts";


export default command({
  name: "container prune",
  usage: "[OPTIONS]",
  summary: "Remove all stopped containers",
  flags: {
    force: { kind: "bool", short: "f", help: "do not prompt for confirmation (berth never prompts)" },
    filter: { kind: "list", help: "label=key[=value] or until=<timestamp>" },
  },
  async run(p, e) {
    args(p, this, 0);
    const { pruneContainers } = await import("../../engine/prune.ts");
    const r = await pruneContainers(e, (p.flags.filter as string[] | undefined) ?? []);
    const out = r.removed.length ? ["Deleted Containers:", ...r.removed, ""] : [];
    out.push(`Total reclaimed space: ${humanSize4(r.reclaimed)}`);
    stdout.write(`${out.join("\n")}\n`);
    return 0;
  },
});
