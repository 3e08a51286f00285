// Docker's output conventions: tables padded like text/tabwriter (min width 10, padding 3),
// sizes in decimal units with three significant digits (go-units HumanSizeWithPrecision),
// durations in words (go-units HumanDuration), 12-character IDs.

/** Columns separated by at least three spaces; the last column is not padded. */
export function table(header: string[], rows: string[][]): string {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(10, ...all.map((r) => (r[i] ?? "").length + 3)));
  return all.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join("").trimEnd()).join("\n") + "\n";
}

export { ago, humanDuration } from "../docker/status-text.ts";


export { shortId } from "../docker/ids.ts";

/** docker ps COMMAND: the command line quoted, cut to 20 characters with "…". */
export function quoteCommand(args: readonly string[], full = false): string {
  const cmd = args.join(" ");
  return JSON.stringify(full || cmd.length <= 20 ? cmd : `${cmd.slice(0, 19)}…`);
}


/**
 * A docker --format template run on one value: Go's text/template with docker's functions
 * (src/cli/template), `\t` and `\n` as tab and newline, "json" alone meaning the value as one
 * JSON document. Kept synchronous for callers that render row by row; the engine is loaded on
 * the first call only (require), so commands that print no template never load it. A template
 * that does not parse or fails on `v` throws a FormatError with Go's message (exit status 1).
 */
export function renderTemplate(tpl: string, v: unknown): string {
  if (tpl === "json") return JSON.stringify(v);
  const { ListFormat } = require("./formatter.ts") as typeof import("./formatter.ts");
  return ListFormat.plain(tpl).one(v);
}

/**
 * docker's list output for `format` (`table …`, `table`, `json`, or a template) over `rows`,
 * with the header names of docker's context (`{ Name: "NAME", CPUPerc: "CPU %" }`) and the
 * default table used for `table` alone. Throws a FormatError as renderTemplate.
 */
export function formatRows(format: string, rows: Record<string, unknown>[], spec: { header: Record<string, string>; defaultTable: string; typeName: string }): string {
  const { ListFormat } = require("./formatter.ts") as typeof import("./formatter.ts");
  const f = ListFormat.parse(format, spec);
  for (const r of rows) f.add(r);
  return f.render();
}
