import { command, args } from "../command.ts";
import { UsageError } from "../flags.ts";
import { humanSize } from "../format.ts";

export default command({
  name: "system",
  usage: "prune",
  summary: "Manage berth's storage: `prune` removes content and snapshots that no image, container or pull in progress references",
  flags: {
    force: { kind: "bool", short: "f", help: "accepted for docker compatibility; berth does not prompt (prune never removes images or containers)" },
  },
  async run(p, e) {
    const [sub] = args(p, this, 1);
    if (sub !== "prune") throw new UsageError(`"berth system ${sub}": unknown command; use "berth system prune"`, "command");
    const { collectEngineGarbage } = await import("../gc.ts");
    const r = await collectEngineGarbage(e);
    const out: string[] = [];
    if (r.blobs.length) out.push("Deleted Content:", ...r.blobs, "");
    if (r.snapshots.length) out.push("Deleted Snapshots:", ...r.snapshots, "");
    out.push(`Total reclaimed space: ${humanSize(r.reclaimed)}`);
    process.stdout.write(`${out.join("\n")}\n`);
    return 0;
  },
});
