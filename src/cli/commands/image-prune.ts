import { command, args } from "../command.ts";
import { humanSize4 } from "../units.ts";
import { stdout } from "../stdio.ts";


export default command({
  name: "image prune",
  usage: "[OPTIONS]",
  summary: "Remove unused images (berth keeps no dangling images: without -a nothing is untagged), then free content and snapshots nothing references",
  flags: {
    all: { kind: "bool", short: "a", help: "remove all images not used by a container" },
    force: { kind: "bool", short: "f", help: "do not prompt for confirmation (berth never prompts)" },
    filter: { kind: "list", help: "label=key[=value], until=<timestamp>" },
  },
  async run(p, e) {
    args(p, this, 0);
    const { pruneImages } = await import("../../engine/prune.ts");
    const { collectEngineGarbage } = await import("../../engine/gc.ts");
    const { familiarName } = await import("../../engine/images.ts");
    const r = await pruneImages(e, { all: p.flags.all === true, filters: (p.flags.filter as string[] | undefined) ?? [] });
    const g = await collectEngineGarbage(e);
    const out: string[] = [];
    if (r.untagged.length || r.deleted.length) {
      out.push("Deleted Images:", ...r.untagged.map((n) => `untagged: ${familiarName(n)}`), ...r.deleted.map((d) => `deleted: ${d}`), "");
    }
    out.push(`Total reclaimed space: ${humanSize4(g.reclaimed)}`);
    stdout.write(`${out.join("\n")}\n`);
    return 0;
  },
});
