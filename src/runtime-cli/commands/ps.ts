// `ps [--format table|json] <id> [ps options]`: flags end at the id and everything after it goes
// to ps(1) untouched (runc's SkipArgReorder), so `ps ID -o pid,comm` works.
import { command, containerId } from "./command.ts";

export default command("ps", "list the processes of a container (host PIDs)", "<container-id> [ps options]", {
  format: { kind: "string", alias: "f", help: "table (ps(1) output, default) or json (the list of host PIDs)" },
}, async (p, g) => {
  const id = containerId(p, "ps", Infinity);
  const ops = await import("../../runtime/operations/ps.ts");
  // As runc: find the container first, then judge the format.
  const pids = ops.processes(g.root, id);
  const format = ops.parsePsFormat((p.flags.format as string | undefined) ?? "table");
  console.log(format === "json" ? ops.pidsJson(pids) : ops.psTable(pids, p.rest.slice(1)).join("\n"));
  return 0;
}, true);
