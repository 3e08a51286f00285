import { list } from "../../runtime/container.ts";
import { invalidArgument } from "../../sys/errdefs.ts";
import { command } from "./command.ts";

export default command("list", "list the containers under --root", "", {
  format: { kind: "string", alias: "f", help: "table or json" },
  quiet: { kind: "bool", alias: "q", help: "print only the ids" },
}, (p, g) => {
  const format = (p.flags.format as string | undefined) ?? "table";
  if (format !== "table" && format !== "json") throw invalidArgument(`list: --format must be table or json, not "${format}"`, "--format");
  const all = list(g.root);
  if (p.flags.quiet) {
    for (const s of all) console.log(s.id);
  } else if (format === "json") {
    console.log(JSON.stringify(all));
  } else {
    const rows = [["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"], ...all.map((s) => [s.id, String(s.pid ?? 0), s.status, s.bundle, s.created, s.owner || "root"])];
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    for (const r of rows) console.log(r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]! + 2))).join("").trimEnd());
  }
  return 0;
});
