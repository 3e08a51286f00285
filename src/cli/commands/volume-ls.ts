import { command, args } from "../command.ts";
import { UsageError } from "../flags.ts";
import { table } from "../format.ts";
import { volumeJson } from "../../docker/volume-json.ts";
import { stdout } from "../stdio.ts";

export default command({
  name: "volume ls",
  usage: "[OPTIONS]",
  summary: "List volumes",
  flags: {
    quiet: { kind: "bool", short: "q", help: "only display volume names" },
    filter: { kind: "list", short: "f", help: "dangling=true|false, driver=, label=key[=value], name=" },
    format: { kind: "string", help: "\"table\", \"json\" or a Go template such as \"table {{.Name}}\\t{{.Driver}}\"" },
  },
  async run(p, e) {
    args(p, this, 0);
    const fmt = p.flags.format as string | undefined;
    // docker's volumeContext (cli/command/formatter/volume.go).
    const listFormat = fmt && !p.flags.quiet
      ? (await import("../formatter.ts")).ListFormat.parse(fmt, {
          typeName: "*formatter.volumeContext",
          defaultTable: "table {{.Driver}}\t{{.Name}}",
          header: {
            ID: "ID", Name: "VOLUME NAME", Group: "GROUP", Driver: "DRIVER", Scope: "SCOPE", Availability: "AVAILABILITY",
            Mountpoint: "MOUNTPOINT", Labels: "LABELS", Links: "LINKS", Size: "SIZE", Status: "STATUS",
          },
        })
      : undefined;
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
      for (const v of vols) stdout.write(`${v.name}\n`);
      return 0;
    }
    if (listFormat) {
      const { labelMethod } = await import("../formatter.ts");
      for (const v of vols) {
        const j = volumeJson(v);
        const labels = j.Labels as Record<string, string>;
        listFormat.add({
          Name: j.Name, Driver: j.Driver, Scope: j.Scope, Mountpoint: j.Mountpoint,
          Labels: Object.entries(labels).map(([k, x]) => `${k}=${x}`).join(","),
          Links: "N/A", Size: "N/A", Group: "", Availability: "N/A", Status: "",
        }, { Label: labelMethod(labels) });
      }
      stdout.write(listFormat.render());
      return 0;
    }
    stdout.write(table(["DRIVER", "VOLUME NAME"], vols.map((v) => [v.driver, v.name])));
    return 0;
  },
});
