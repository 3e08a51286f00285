// The shape of one verb: its flags, its help, and a thin run() over the runtime library.
import { invalidArgument } from "../../sys/errdefs.ts";
import { parseFlags, usage, type FlagTable, type Parsed } from "../args.ts";
import type { Globals, Logger } from "../main.ts";

export interface Command {
  readonly summary: string;
  help(): string;
  run(argv: string[], g: Globals, log: Logger): Promise<number>;
}

export function command(
  name: string,
  summary: string,
  args: string,
  flags: FlagTable,
  run: (p: Parsed, g: Globals, log: Logger) => Promise<number> | number,
  /** Flags end at the first argument (exec: the command's own flags follow the id). */
  stopAtPositional = false,
): Command {
  const all: FlagTable = { ...flags, help: { kind: "bool", alias: "h", help: "show help" } };
  const help = () => `berth-runtime ${name} — ${summary}\n\nusage: berth-runtime ${name} [command options] ${args}\n${Object.keys(flags).length ? `\noptions:\n${usage(flags)}` : ""}`;
  return {
    summary,
    help,
    async run(argv, g, log) {
      const p = parseFlags(argv, all, stopAtPositional, name);
      if (p.flags.help) {
        console.log(help());
        return 0;
      }
      return run(p, g, log);
    },
  };
}

/** The one positional argument most verbs take. */
export function containerId(p: Parsed, name: string, max = 1): string {
  const id = p.rest[0];
  if (!id) throw invalidArgument(`${name}: container id is missing: berth-runtime ${name} <container-id>`, "container-id");
  if (p.rest.length > max) throw invalidArgument(`${name}: unexpected arguments ${p.rest.slice(max).join(" ")}`, "arguments");
  return id;
}
