// Command-line parsing with runc's rules: global flags before the verb, verb flags after it,
// "-flag", "--flag", "--flag=value" and "--flag value" all accepted, "--" ends the flags.
// Written here because runc (urfave/cli on Go's flag package) accepts single-dash long flags,
// which node:util parseArgs rejects, and containerd/podman call runtimes that way; a CLI library
// from npm would also add start-up time to every container start.
import { invalidArgument } from "../sys/errdefs.ts";

export type FlagKind = "bool" | "string" | "int" | "list";
export type FlagTable = Record<string, { kind: FlagKind; alias?: string; help: string }>;
export type Parsed = { flags: Record<string, string | boolean | number | string[]>; rest: string[] };

export function parseFlags(argv: readonly string[], table: FlagTable, stopAtPositional: boolean, what: string): Parsed {
  const flags: Parsed["flags"] = {};
  const rest: string[] = [];
  const byAlias = new Map<string, string>();
  for (const [name, def] of Object.entries(table)) if (def.alias) byAlias.set(def.alias, name);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--") {
      rest.push(...argv.slice(i + 1));
      break;
    }
    if (!a.startsWith("-") || a === "-") {
      if (stopAtPositional) {
        rest.push(...argv.slice(i));
        break;
      }
      rest.push(a);
      continue;
    }
    const body = a.replace(/^--?/, "");
    const eq = body.indexOf("=");
    const key = eq >= 0 ? body.slice(0, eq) : body;
    const name = table[key] ? key : byAlias.get(key);
    if (!name) throw invalidArgument(`${what}: unknown flag ${a} (see \`berth-runtime ${what === "berth-runtime" ? "" : what + " "}--help\`)`, a);
    const def = table[name]!;
    if (def.kind === "bool") {
      flags[name] = eq >= 0 ? body.slice(eq + 1) !== "false" : true;
      continue;
    }
    let value: string | undefined = eq >= 0 ? body.slice(eq + 1) : argv[++i];
    if (value === undefined) throw invalidArgument(`${what}: flag ${a} needs a value`, a);
    if (def.kind === "int") {
      if (!/^-?\d+$/.test(value)) throw invalidArgument(`${what}: flag ${a} needs a number, got "${value}"`, a);
      flags[name] = Number(value);
    } else if (def.kind === "list") {
      flags[name] = [...((flags[name] as string[] | undefined) ?? []), value];
    } else flags[name] = value;
  }
  return { flags, rest };
}

export function usage(table: FlagTable): string {
  return Object.entries(table)
    .map(([n, d]) => `   --${n}${d.alias ? `, -${d.alias}` : ""}${d.kind === "bool" ? "" : " value"}`.padEnd(34) + d.help)
    .join("\n");
}
