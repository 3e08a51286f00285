import { command, args } from "../command.ts";
import { humanSize3 } from "../units.ts";
import { ago, formatRows, shortId, table } from "../format.ts";
import { stdout } from "../stdio.ts";

/** docker's stringutils.Ellipsis: cut to n characters, the last one "…". */
const ellipsis = (s: string, n: number) => ([...s].length <= n ? s : `${[...s].slice(0, n - 1).join("")}…`);

export default command({
  name: "history",
  usage: "[OPTIONS] IMAGE",
  summary: "Show the history of an image",
  flags: {
    human: { kind: "bool", short: "H", help: "print sizes and dates in human readable format (default true; -H=false for numbers)" },
    "no-trunc": { kind: "bool", help: "don't truncate output" },
    quiet: { kind: "bool", short: "q", help: "only show image IDs" },
    format: { kind: "string", help: "\"json\" or a template such as {{.CreatedBy}}" },
  },
  async run(p, e) {
    const [ref] = args(p, this, 1);
    const { imageHistory } = await import("../../engine/images.ts");
    const list = await imageHistory(e, ref!);
    const noTrunc = p.flags["no-trunc"] === true;
    const human = p.flags.human !== false;
    const now = Date.now();
    const rows = list.map((h) => {
      const createdBy = h.createdBy.replace(/\t/g, " ");
      return {
        ID: h.id ? (noTrunc ? h.id : shortId(h.id)) : "<missing>",
        CreatedSince: h.created ? (human ? ago(h.created, now) : h.created.toISOString().replace(/\.\d+Z$/, "Z")) : "N/A",
        CreatedAt: h.created ? h.created.toISOString().replace(/\.\d+Z$/, "Z") : "",
        CreatedBy: noTrunc ? createdBy : ellipsis(createdBy, 45),
        Size: human ? humanSize3(h.size) : String(h.size),
        Comment: h.comment,
      };
    });
    if (p.flags.quiet) {
      for (const r of rows) stdout.write(`${r.ID}\n`);
      return 0;
    }
    const fmt = p.flags.format as string | undefined;
    if (fmt) {
      // docker's historyContext (cli/command/image/formatter_history.go): its header names and table.
      stdout.write(formatRows(fmt, rows, {
        typeName: "*image.historyContext",
        defaultTable: "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}",
        header: { ID: "IMAGE", CreatedSince: "CREATED", CreatedAt: "CREATED AT", CreatedBy: "CREATED BY", Size: "SIZE", Comment: "COMMENT" },
      }));
      return 0;
    }
    stdout.write(table(["IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT"], rows.map((r) => [r.ID, r.CreatedSince, r.CreatedBy, r.Size, r.Comment])));
    return 0;
  },
});
