import { command, args } from "../command.ts";
import { renderTemplate } from "../format.ts";
import { forEach } from "../each.ts";
import { volumeJson } from "../../docker/volume-json.ts";

export default command({
  name: "volume inspect",
  usage: "[OPTIONS] VOLUME [VOLUME...]",
  summary: "Display detailed information on one or more volumes",
  flags: { format: { kind: "string", short: "f", help: "a template" } },
  async run(p, e) {
    const docs: Record<string, unknown>[] = [];
    const code = await forEach(args(p, this, 1, Infinity), async (name) => {
      docs.push(volumeJson(e.volumes.get(name)));
      return undefined;
    });
    const fmt = p.flags.format as string | undefined;
    if (fmt) for (const d of docs) process.stdout.write(`${renderTemplate(fmt, d)}\n`);
    else process.stdout.write(`${JSON.stringify(docs, null, 4)}\n`);
    return code;
  },
});
