import { command, args } from "../command.ts";
import { ago, containerStatus, quoteCommand, renderTemplate, shortId, table } from "../format.ts";
import { commandOf, statusOf } from "../containers.ts";

export default command({
  name: "ps",
  usage: "[OPTIONS]",
  summary: "List containers (running ones; -a for all)",
  flags: {
    all: { kind: "bool", short: "a", help: "show all containers (default shows just running)" },
    quiet: { kind: "bool", short: "q", help: "only display container IDs" },
    "no-trunc": { kind: "bool", help: "don't truncate output" },
    format: { kind: "string", help: "\"json\" (one object per line) or a template such as {{.ID}}" },
  },
  async run(p, e) {
    args(p, this, 0);
    const now = Date.now();
    const noTrunc = p.flags["no-trunc"] === true;
    const list = e.containers.list().filter((c) => p.flags.all || statusOf(c) === "running");
    if (p.flags.quiet) {
      for (const c of list) process.stdout.write(`${noTrunc ? c.id : shortId(c.id)}\n`);
      return 0;
    }
    const rows = list.map((c) => {
      const st = statusOf(c);
      return {
        ID: noTrunc ? c.id : shortId(c.id),
        Image: c.image,
        Command: quoteCommand(commandOf(c), noTrunc),
        CreatedAt: c.createdAt.toISOString(),
        RunningFor: ago(c.createdAt, now),
        Status: containerStatus({ ...c, status: st }, now),
        State: st,
        Ports: "",
        Names: c.name,
        ExitCode: c.exitCode ?? null,
      };
    });
    const fmt = p.flags.format as string | undefined;
    if (fmt) {
      for (const r of rows) process.stdout.write(`${renderTemplate(fmt, r)}\n`);
      return 0;
    }
    process.stdout.write(table(["CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"],
      rows.map((r) => [r.ID, r.Image, r.Command, r.RunningFor, r.Status, r.Ports, r.Names])));
    return 0;
  },
});
