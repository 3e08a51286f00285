import { command, args } from "../command.ts";
import { humanSize4 } from "../units.ts";
import { stdout } from "../stdio.ts";


export default command({
  name: "volume prune",
  usage: "[OPTIONS]",
  summary: "Remove unused volumes: anonymous ones, or all with -a",
  flags: {
    all: { kind: "bool", short: "a", help: "remove all unused volumes, not just anonymous ones" },
    force: { kind: "bool", short: "f", help: "do not prompt (berth never prompts)" },
    filter: { kind: "list", help: "label=key[=value]" },
  },
  async run(p, e) {
    args(p, this, 0);
    const { pruneVolumes } = await import("../../engine/volumes.ts");
    const labels: Record<string, string> = {};
    for (const f of (p.flags.filter as string[] | undefined) ?? []) {
      const m = /^label=([^=]+)=?(.*)$/.exec(f);
      if (m) labels[m[1]!] = m[2]!;
    }
    const r = pruneVolumes(e, { all: p.flags.all === true, ...(Object.keys(labels).length ? { labels } : {}) });
    const out = r.removed.length ? ["Deleted Volumes:", ...r.removed, ""] : [];
    out.push(`Total reclaimed space: ${humanSize4(r.reclaimed)}`);
    stdout.write(`${out.join("\n")}\n`);
    return 0;
  },
});
