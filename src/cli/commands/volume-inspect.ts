import { command, args } from "../command.ts";
import { forEach } from "../each.ts";
import { volumeJson } from "../../docker/volume-json.ts";
import { stdout, stderr } from "../stdio.ts";

export default command({
  name: "volume inspect",
  usage: "[OPTIONS] VOLUME [VOLUME...]",
  summary: "Display detailed information on one or more volumes",
  flags: { format: { kind: "string", short: "f", help: "\"json\" or a Go template such as {{.Mountpoint}}" } },
  async run(p, e) {
    const fmt = p.flags.format as string | undefined;
    const inspectFormat = fmt ? (await import("../formatter.ts")).InspectFormat.parse(fmt) : undefined;
    const docs: Record<string, unknown>[] = [];
    const code = await forEach(args(p, this, 1, Infinity), async (name) => {
      docs.push(volumeJson(e.volumes.get(name)));
      return undefined;
    });
    if (inspectFormat) {
      const r = inspectFormat.render(docs);
      stdout.write(r.out);
      for (const msg of r.errors) stderr.write(`berth: ${msg}\n`);
      return r.errors.length && code === 0 ? 1 : code;
    }
    stdout.write(`${JSON.stringify(docs, null, 4)}\n`);
    return code;
  },
});
