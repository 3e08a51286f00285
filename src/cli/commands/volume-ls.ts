import { command, args } from "../command.ts";
import { UsageError } from "../flags.ts";
import { renderTemplate, table } from "../format.ts";
import { volumeJson } from "../../docker/volume-json.ts";

export default command({
  name: "volume ls",
  usage: "[OPTIONS]",
  summary: "List volumes",
  flags: {
    quiet: { kind: "bool", short: "q", help: "only display volume names" },
    filter: { kind: "list", short: "f", help: "dangling=true|false, driver=, label=key[=value], name=" },
    format: { kind: "string", help: "json or a template" },
  },
  async run(p, e) {
    args(p, this, 0);
    const { volumeUsers } = await import("../../engine/volumes.ts");
    let vols = e.volumes.list();
    for (const f of (p.flags.filter as string[] | undefined) ?? []) {
      const eq = f.indexOf("=");
      const k = f.slice(0, eq), v = f.slice(eq + 1);
      if (k === "dangling") vols = vols.filter((x) => (volumeUsers(e, x.name).length === 0) === (v === "true" || v === "1"));
      else if (k === "driver") vols = vols.filter((x) => x.driver === v);
      else if (k === "name") vols = vols.filter((x) => x.name.includes(v));
      else if (k === "label") {
        const i = v.indexOf("=");
        vols = vols.filter((x) => (i < 0 ? v in x.labels : x.labels[v.slice(0, i)] === v.slice(i + 1)));
      } else throw new UsageError(`invalid filter '${k}' (dangling, driver, label, name)`, "--filter");
    }
    if (p.flags.quiet) {
      for (const v of vols) process.stdout.write(`${v.name}\n`);
      return 0;
    }
    const fmt = p.flags.format as string | undefined;
    if (fmt) {
      for (const v of vols) {
        const j = volumeJson(v);
        process.stdout.write(`${renderTemplate(fmt, { ...j, Labels: Object.entries(v.labels).map(([k, x]) => `${k}=${x}`).join(",") })}\n`);
      }
      return 0;
    }
    process.stdout.write(table(["DRIVER", "VOLUME NAME"], vols.map((v) => [v.driver, v.name])));
    return 0;
  },
});
