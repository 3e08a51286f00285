// Flag parsing with docker's (pflag's) rules: "--name value", "--name=value", "-n value",
// "-nvalue", "-n=value", single-letter booleans grouped ("-it"), "--" ends the flags. Verbs that
// take a command (run) stop at the first positional argument so the command keeps its own flags.
// berth-runtime's parser (src/runtime-cli/args.ts) follows runc's rules instead (single-dash long
// flags, no grouping), which docker users do not type.
import { BerthError } from "../sys/errdefs.ts";

export type FlagKind = "bool" | "string" | "int" | "list";
export interface FlagDef {
  kind: FlagKind;
  short?: string;
  help: string;
  /** Shown in help as the value's name: "--memory bytes". */
  value?: string;
}
export type FlagTable = Record<string, FlagDef>;
export type FlagValue = string | boolean | number | string[];
export interface Parsed {
  flags: Record<string, FlagValue>;
  rest: string[];
}

/** A usage error: docker exits 125 for these, whatever the verb. */
export class UsageError extends BerthError {
  constructor(message: string, field?: string) {
    super("InvalidArgument", message, field);
  }
}

export function parseFlags(argv: readonly string[], table: FlagTable, opts: { stopAtPositional?: boolean; what: string }): Parsed {
  const flags: Parsed["flags"] = {};
  const rest: string[] = [];
  const byShort = new Map<string, string>();
  for (const [name, def] of Object.entries(table)) if (def.short) byShort.set(def.short, name);
  const see = `See '${opts.what} --help'.`;

  const set = (name: string, def: FlagDef, shown: string, value: string) => {
    if (def.kind === "int") {
      if (!/^-?\d+$/.test(value)) throw new UsageError(`invalid argument "${value}" for "${shown}" flag: not a number. ${see}`, shown);
      flags[name] = Number(value);
    } else if (def.kind === "list") {
      flags[name] = [...((flags[name] as string[] | undefined) ?? []), value];
    } else flags[name] = value;
  };
  const boolValue = (v: string, shown: string): boolean => {
    if (["true", "1", "t", "T", "TRUE", "True"].includes(v)) return true;
    if (["false", "0", "f", "F", "FALSE", "False"].includes(v)) return false;
    throw new UsageError(`invalid argument "${v}" for "${shown}" flag: not a boolean. ${see}`, shown);
  };

  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--") {
      rest.push(...argv.slice(i + 1));
      break;
    }
    if (!a.startsWith("-") || a === "-") {
      if (opts.stopAtPositional) {
        rest.push(...argv.slice(i));
        break;
      }
      rest.push(a);
      continue;
    }
    if (a.startsWith("--")) {
      const body = a.slice(2);
      const eq = body.indexOf("=");
      const name = eq >= 0 ? body.slice(0, eq) : body;
      const def = table[name];
      if (!def) throw new UsageError(`unknown flag: --${name}. ${see}`, a);
      if (def.kind === "bool") {
        flags[name] = eq >= 0 ? boolValue(body.slice(eq + 1), `--${name}`) : true;
        continue;
      }
      const value = eq >= 0 ? body.slice(eq + 1) : argv[++i];
      if (value === undefined) throw new UsageError(`flag needs an argument: --${name}. ${see}`, a);
      set(name, def, `--${name}`, value);
      continue;
    }
    // Short flags: each letter a flag; the first one that takes a value eats the remainder.
    for (let j = 1; j < a.length; j++) {
      const c = a[j]!;
      const name = byShort.get(c);
      if (!name) throw new UsageError(`unknown shorthand flag: '${c}' in ${a}. ${see}`, a);
      const def = table[name]!;
      if (def.kind === "bool") {
        if (a[j + 1] === "=") {
          flags[name] = boolValue(a.slice(j + 2), `-${c}`);
          break;
        }
        flags[name] = true;
        continue;
      }
      let value: string | undefined = a.slice(j + 1);
      if (value.startsWith("=")) value = value.slice(1);
      if (value === "") value = argv[++i];
      if (value === undefined) throw new UsageError(`flag needs an argument: '${c}' in -${c}. ${see}`, a);
      set(name, def, `-${c}`, value);
      break;
    }
  }
  return { flags, rest };
}

export function flagUsage(table: FlagTable): string {
  return Object.entries(table)
    .map(([n, d]) => {
      const head = `${d.short ? `-${d.short}, ` : "    "}--${n}${d.kind === "bool" ? "" : ` ${d.value ?? (d.kind === "int" ? "int" : d.kind === "list" ? "list" : "string")}`}`;
      return `  ${head.padEnd(30)} ${d.help}`;
    })
    .join("\n");
}

/** Docker's byte sizes for --memory: "512m", "1g", "100000" (bytes), "6MiB" is refused as docker does. */
export function parseBytes(s: string, field: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([bkmgt]?)b?$/i.exec(s.trim());
  if (!m) throw new UsageError(`invalid size ${JSON.stringify(s)} for ${field}: use a number with an optional unit b, k, m, g (e.g. 64m)`, field);
  const mult = { "": 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[m[2]!.toLowerCase()]!;
  return Math.floor(Number(m[1]) * mult);
}

/** A duration flag: "1s", "500ms", "2m", "1.5s", or plain seconds; returns milliseconds. */
export function parseDuration(s: string, field: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(s.trim());
  const ms = m ? Number(m[1]) * (m[2] === "ms" ? 1 : m[2] === "m" ? 60_000 : 1000) : NaN;
  if (!(ms > 0)) throw new UsageError(`invalid duration ${JSON.stringify(s)} for ${field}: use a number with an optional unit ms, s, m (e.g. 1s, 500ms, 2m)`, field);
  return Math.round(ms);
}
