// The shape of one verb: its flags, its help, and a thin run() over the engine libraries.
import { flagUsage, parseFlags, UsageError, type FlagTable, type Parsed } from "./flags.ts";
import type { Engine } from "../engine/engine.ts";
import { stdout } from "./stdio.ts";

export interface Command {
  readonly name: string;
  readonly summary: string;
  readonly usage: string;
  readonly flags: FlagTable;
  /** Flags end at the first positional argument (run: the command has its own flags). */
  readonly stopAtPositional?: boolean;
  /** Errors of this verb exit 125 (run), as docker's do; others exit 1. */
  readonly ownErrorStatus?: number;
  run(p: Parsed, e: Engine): Promise<number>;
}

export function command(c: Command): Command {
  return c;
}

export function help(c: Command): string {
  return `\nUsage:  berth ${c.name} ${c.usage}\n\n${c.summary}\n${Object.keys(c.flags).length ? `\nOptions:\n${flagUsage(c.flags)}\n` : ""}`;
}

export function parseVerb(c: Command, argv: string[]): Parsed {
  return parseFlags(argv, { ...c.flags, help: { kind: "bool", help: "print usage" } }, { stopAtPositional: c.stopAtPositional ?? false, what: `berth ${c.name}` });
}

/** Exactly `min`..`max` positional arguments, or a usage error naming the verb's usage. */
export function args(p: Parsed, c: Command, min: number, max = min): string[] {
  if (p.rest.length < min || p.rest.length > max) {
    const want = min === max ? `exactly ${min} argument${min === 1 ? "" : "s"}` : max === Infinity ? `at least ${min} argument${min === 1 ? "" : "s"}` : `${min} to ${max} arguments`;
    throw new UsageError(`"berth ${c.name}" requires ${want}.\nSee 'berth ${c.name} --help'.\n\nUsage:  berth ${c.name} ${c.usage}`, "arguments");
  }
  return p.rest;
}

/**
 * A command group (docker's `container …`, `image …`, `volume …`): the first argument names a
 * subcommand, loaded on demand, which parses the rest itself.
 */
export function group(name: string, summary: string, subs: Record<string, [summary: string, load: () => Promise<{ default: Command }>]>): Command {
  const usage = `COMMAND\n\nCommands:\n${Object.entries(subs).filter(([, [s]]) => s !== "").map(([n, [s]]) => `  ${n.padEnd(10)}${s}`).join("\n")}`;
  return {
    name,
    summary,
    usage,
    flags: {},
    stopAtPositional: true,
    async run(p, e) {
      const [sub, ...rest] = p.rest;
      const entry = sub !== undefined ? subs[sub] : undefined;
      if (!entry) {
        throw new UsageError(sub === undefined ? `"berth ${name}" requires a subcommand.\nSee 'berth ${name} --help'.\n\nUsage:  berth ${name} ${usage}` : `unknown command "${sub}" for "berth ${name}"\nSee 'berth ${name} --help'.`, "command");
      }
      const cmd = (await entry[1]()).default;
      const named = { ...cmd, name: `${name} ${sub}` };
      const sp = parseVerb(named, rest);
      if (sp.flags.help) {
        stdout.write(help(named));
        return 0;
      }
      return cmd.run.call(named, sp, e);
    },
  };
}
