import { command, args } from "../command.ts";
import { UsageError } from "../flags.ts";
import { stdout } from "../stdio.ts";

function kv(list: string[], flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of list) {
    const eq = e.indexOf("=");
    if (eq === 0) throw new UsageError(`invalid argument "${e}" for "${flag}"`, flag);
    out[eq < 0 ? e : e.slice(0, eq)] = eq < 0 ? "" : e.slice(eq + 1);
  }
  return out;
}

export default command({
  name: "volume create",
  usage: "[OPTIONS] [VOLUME]",
  summary: "Create a volume",
  flags: {
    driver: { kind: "string", short: "d", help: "volume driver name (local)" },
    label: { kind: "list", help: "set metadata for a volume" },
    opt: { kind: "list", short: "o", help: "set driver specific options" },
    name: { kind: "string", help: "the volume's name" },
  },
  async run(p, e) {
    const [pos] = args(p, this, 0, 1);
    const { createVolume } = await import("../../engine/volumes.ts");
    const name = (p.flags.name as string | undefined) ?? pos;
    if (pos && p.flags.name && pos !== p.flags.name) throw new UsageError(`conflicting options: either specify --name or provide positional arg, not both`, "--name");
    const v = createVolume(e, {
      ...(name ? { name } : {}),
      ...(p.flags.driver ? { driver: p.flags.driver as string } : {}),
      labels: kv((p.flags.label as string[] | undefined) ?? [], "--label"),
      options: kv((p.flags.opt as string[] | undefined) ?? [], "--opt"),
      anonymous: false,
    });
    stdout.write(`${v.name}\n`);
    return 0;
  },
});
