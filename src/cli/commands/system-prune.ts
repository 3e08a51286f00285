import { command, args } from "../command.ts";
import { humanSize4 } from "../units.ts";
import { stdout } from "../stdio.ts";


export default command({
  name: "system prune",
  usage: "[OPTIONS]",
  summary: "Remove stopped containers, unused images (-a), unused anonymous volumes (--volumes), and free content and snapshots nothing references",
  flags: {
    all: { kind: "bool", short: "a", help: "remove all unused images, not just dangling ones" },
    volumes: { kind: "bool", help: "prune anonymous volumes" },
    force: { kind: "bool", short: "f", help: "do not prompt for confirmation (berth never prompts)" },
    filter: { kind: "list", help: "label=key[=value], until=<timestamp>" },
  },
  async run(p, e) {
    args(p, this, 0);
    const { systemPrune } = await import("../../engine/prune.ts");
    const r = await systemPrune(e, { all: p.flags.all === true, volumes: p.flags.volumes === true, filters: (p.flags.filter as string[] | undefined) ?? [] });
    const { familiarName } = await import("../../engine/images.ts");
    const out: string[] = [];
    if (r.containers.length) out.push("Deleted Containers:", ...r.containers, "");
    if (r.volumes.length) out.push("Deleted Volumes:", ...r.volumes, "");
    if (r.images.length) out.push("Deleted Images:", ...r.images.map((n) => `untagged: ${familiarName(n)}`), "");
    if (r.blobs.length) out.push("Deleted Content:", ...r.blobs, "");
    if (r.snapshots.length) out.push("Deleted Snapshots:", ...r.snapshots, "");
    out.push(`Total reclaimed space: ${humanSize4(r.reclaimed)}`);
    stdout.write(`${out.join("\n")}\n`);
    return 0;
  },
});
