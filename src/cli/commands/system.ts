import { command, args } from "../command.ts";
import { UsageError } from "../flags.ts";
import { stdout } from "../stdio.ts";

export default command({
  name: "system",
  usage: "prune|df|info|events|reset",
  summary: "Manage berth: prune (stopped containers, unused images with -a, volumes with --volumes, then free content and snapshots), df, info",
  stopAtPositional: true,
  flags: {},
  async run(p, e) {
    const [sub, ...rest] = args(p, this, 1, Infinity);
    const { parseVerb } = await import("../command.ts");
    const subs: Record<string, () => Promise<{ default: import("../command.ts").Command }>> = {
      prune: () => import("./system-prune.ts"),
      reset: () => import("./system-reset.ts"),
      df: () => import("./system-df.ts"),
      info: () => import("./info.ts"),
      events: () => import("./events.ts"),
    };
    const load = subs[sub!];
    if (!load) throw new UsageError(`"berth system ${sub}": unknown command; use prune, df, info, events or reset`, "command");
    const cmd = (await load()).default;
    const named = { ...cmd, name: `system ${sub}` };
    const sp = parseVerb(named, rest);
    if (sp.flags.help) {
      const { help } = await import("../command.ts");
      stdout.write(help(named));
      return 0;
    }
    return cmd.run.call(named, sp, e);
  },
});
