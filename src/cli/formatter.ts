// docker's --format/-f handling over the Go template engine (src/cli/template), the way
// docker's CLI does it (github.com/docker/cli: cli/command/formatter, cli/command/inspect,
// templates). Loaded only when a format is given (commands import it dynamically).
//
// - List commands (ps, images, volume ls, network ls, system df, stats): `table` alone is the
//   default table; `table …` prints a header row made by running the same template on the
//   header names (SubHeaderContext: `.Names` → NAMES, `.ID` → CONTAINER ID) and aligns the
//   columns as text/tabwriter (minwidth 10, padding 3); `json` is `{{json .}}`, one object per
//   line; `\t` and `\n` written as two characters are a tab and a newline. A row is a struct:
//   an unknown field is `can't evaluate field Foo in type *formatter.ContainerContext`.
// - inspect: the template runs on each object as docker's typed struct first; when that fails
//   it runs again on the raw JSON with missingkey=error (so `{{.State.Bogus}}` fails with
//   `map has no entry for key "Bogus"`, while a missing label is `<no value>`); `json` prints
//   one compact JSON array.
// - Exit statuses as docker 28's: 64 for a template that does not parse in inspect, version,
//   info and events; 1 for the rest (docker's list commands fail with a plain error).
import { BerthError } from "../sys/errdefs.ts";
import { goMap, goNil, goOmit, goStruct, headerFuncs, tabwrite, Template, TemplateError, type GoFunc } from "./template/index.ts";

/** A bad or failing --format: the message is docker's, the exit status docker's. */
export class FormatError extends BerthError {
  constructor(
    message: string,
    readonly exitStatus: number,
    /** What the template wrote before it failed (Go's Execute writes as it goes). */
    readonly partial = "",
  ) {
    super("InvalidArgument", message, "--format");
  }
}

function parseOrFail(text: string, prefix: string, status: number, name = ""): Template {
  try {
    return Template.parse(text, { name });
  } catch (e) {
    if (e instanceof TemplateError) throw new FormatError(`${prefix}${e.message}`, status);
    throw e;
  }
}

/** Docker's Format.templateString: `table` cut, spaces trimmed, `\t` `\n` unescaped. */
function templateString(format: string): string {
  let out = format === "json" ? "{{json .}}" : format;
  if (out.startsWith("table")) out = out.slice("table".length);
  return out.replace(/^ +| +$/g, "").replace(/\\t/g, "\t").replace(/\\n/g, "\n");
}

/** docker's Label(name) of a row: the value of one label, "" when absent. */
export function labelMethod(labels: Record<string, string>): GoFunc {
  return { fn: (name: string) => labels[name] ?? "", params: ["string"] };
}

export interface ListSpec {
  /** Header names by field (docker's SubHeaderContext). */
  header: Record<string, string>;
  /** The format of plain output (docker's default `table …`). */
  defaultTable: string;
  /** The Go type of a row, for error messages: "*formatter.ContainerContext". */
  typeName: string;
}

/** One list command's output: parse once, add rows, render. */
export class ListFormat {
  private readonly rows: string[] = [];
  private constructor(
    private readonly tmpl: Template,
    readonly isTable: boolean,
    private readonly spec: ListSpec,
  ) {}

  /** `format` as given to --format ("table" alone: the default table). Throws FormatError. */
  static parse(format: string, spec: ListSpec): ListFormat {
    const f = format === "table" ? spec.defaultTable : format;
    return new ListFormat(parseOrFail(templateString(f), "template parsing error: ", 1), f.startsWith("table"), spec);
  }

  /**
   * docker ps's own check, before it lists anything: the format as given (with its `table`
   * prefix) parsed and run on an empty row; `failed to parse template: …` / `failed to execute
   * template: …`, exit 1.
   */
  static precheck(format: string, row: Record<string, unknown>, spec: ListSpec, methods: Record<string, GoFunc> = {}): void {
    if (format === "table" || format === "json") return;
    const tmpl = parseOrFail(format, "failed to parse template: ", 1);
    try {
      tmpl.execute(goStruct({ ...row }, spec.typeName, methods, undefined, true));
    } catch (e) {
      if (e instanceof TemplateError) throw new FormatError(`failed to execute template: ${e.message}`, 1);
      throw e;
    }
  }

  /** A template on plain values (maps: a missing key is <no value>): renderTemplate's. */
  static plain(format: string): { one(v: unknown): string } {
    const tmpl = parseOrFail(templateString(format), "template parsing error: ", 1);
    return {
      one(v: unknown): string {
        try {
          return tmpl.execute(v);
        } catch (e) {
          if (e instanceof TemplateError) throw new FormatError(`template parsing error: ${e.message}`, 1);
          throw e;
        }
      },
    };
  }

  /** Adds one row: its fields (methods such as Label given apart). Throws FormatError as docker does. */
  add(fields: Record<string, unknown>, methods: Record<string, GoFunc> = {}): void {
    const sorted: Record<string, unknown> = {};
    // docker marshals a row's JSON from its methods into a map: keys sorted.
    for (const k of Object.keys(fields).sort()) sorted[k] = fields[k];
    try {
      this.rows.push(`${this.tmpl.execute(goStruct(sorted, this.spec.typeName, methods, undefined, true))}\n`);
    } catch (e) {
      if (e instanceof TemplateError) throw new FormatError(`template parsing error: ${e.message}`, 1);
      throw e;
    }
  }

  /** The output: the rows, under a header row aligned as text/tabwriter for a table. */
  render(): string {
    if (!this.isTable) return this.rows.join("");
    const header = goMap({ ...this.spec.header }, "formatter.SubHeaderContext", {
      // SubHeaderContext.Label: the last dot-separated part, '-' and '_' as spaces.
      Label: { fn: (name: string) => (name.split(".").pop() ?? "").replace(/[-_]/g, " "), params: ["string"] },
    });
    let head: string;
    try {
      head = this.tmpl.execute(header, { funcs: headerFuncs() });
    } catch (e) {
      // docker ignores the header's errors and keeps what was written.
      head = e instanceof TemplateError ? e.partial : "";
    }
    return tabwrite(`${head}\n${this.rows.join("")}`);
  }
}

/** Keys whose values are maps in docker's inspect types (the rest of the objects are structs). */
const INSPECT_MAPS = new Set([
  "Labels", "ExposedPorts", "Volumes", "Ports", "Networks", "PortBindings", "Sysctls", "StorageOpt", "Tmpfs",
  "Data", "Annotations", "Attributes", "annotations", "DriverOpts", "Options", "Status", "Containers", "Peers", "LogConfig.Config",
]);

/** Slice-valued fields of docker's inspect types: a null there is a nil slice (prints []). */
const INSPECT_SLICES = new Set([
  "Args", "Binds", "Links", "Aliases", "DNSNames", "Dns", "DnsOptions", "DnsSearch", "ExtraHosts", "CapAdd", "CapDrop",
  "VolumesFrom", "ExecIDs", "SecondaryIPAddresses", "SecondaryIPv6Addresses", "Cmd", "Entrypoint", "Env", "OnBuild",
  "Shell", "Mounts", "RepoTags", "RepoDigests", "Layers", "Devices", "Ulimits", "GroupAdd", "SecurityOpt", "Log",
  "DeviceRequests", "DeviceCgroupRules", "MaskedPaths", "ReadonlyPaths", "ConsoleSize",
]);

/**
 * Fields docker's structs always have but its JSON omits when empty (`omitempty`): in the typed
 * run they are there with Go's zero value, as in docker (`{{.State.Health}}` is <nil>, not an error).
 */
const INSPECT_ZERO: Record<string, Record<string, () => unknown>> = {
  State: { Health: () => null },
  Config: {
    ExposedPorts: () => goNil("map", "nat.PortSet"), Healthcheck: () => null, StopSignal: () => "", StopTimeout: () => null,
    Shell: () => goNil("slice", "[]string"), ArgsEscaped: () => false, NetworkDisabled: () => false,
  },
};

/** The same for the top level of a container's, a volume's and a network's document. */
function rootZero(doc: Record<string, unknown>): Record<string, () => unknown> {
  if ("State" in doc) return { SizeRw: () => null, SizeRootFs: () => null, Node: () => null };
  if ("IPAM" in doc) return { Peers: () => goNil("slice", "[]network.PeerInfo"), Services: () => goNil("map", "map[string]network.ServiceInfo") };
  if ("Mountpoint" in doc) return { Status: () => goNil("map", "map[string]interface {}"), UsageData: () => null, ClusterVolume: () => null };
  return {};
}

/** A copy of `v` with its objects marked as docker's structs, except those under map keys. */
function typed(v: unknown, key = "", parent = "", name = "struct", depth = 0): unknown {
  if (Array.isArray(v)) return v.map((x) => typed(x, "", key, "struct", depth + 1));
  if (v === null) {
    if (INSPECT_MAPS.has(key) || INSPECT_MAPS.has(`${parent}.${key}`)) return goNil("map", "map[string]interface {}");
    if (INSPECT_SLICES.has(key)) return goNil("slice", "[]string");
    return v;
  }
  if (typeof v !== "object") return v;
  const isMap = INSPECT_MAPS.has(key) || INSPECT_MAPS.has(`${parent}.${key}`);
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[k] = isMap ? typed(x, "", "", "struct", depth + 1) : typed(x, k, key, "struct", depth + 1);
  if (isMap) return Object.values(out).every((x) => typeof x === "string") ? goMap(out, "map[string]string") : out;
  // Zero values only at the document's top and in its own State and Config.
  const zeros = depth === 0 ? rootZero(out) : depth === 1 ? (INSPECT_ZERO[key] ?? {}) : {};
  const filled: string[] = [];
  for (const [f, zero] of Object.entries(zeros)) {
    if (f in out) continue;
    out[f] = zero();
    filled.push(f);
  }
  return goOmit(goStruct(out, name), filled);
}

/** docker's inspect --format: `json`, or a template run on each object. */
export class InspectFormat {
  private constructor(private readonly tmpl: Template | "json") {}

  /** Throws FormatError (exit 64) for a template that does not parse, as docker. */
  static parse(format: string): InspectFormat {
    return new InspectFormat(format === "json" ? "json" : parseOrFail(format, "template parsing error: ", 64));
  }

  /** What docker prints for `docs`: the output and the errors of the objects that failed (exit 1). */
  render(docs: unknown[]): { out: string; errors: string[] } {
    if (this.tmpl === "json") return { out: `[${docs.map((d) => JSON.stringify(d)).join(",")}]\n`, errors: [] };
    let out = "";
    const errors: string[] = [];
    for (const d of docs) {
      try {
        out += `${this.tmpl.execute(typed(d))}\n`;
      } catch (e) {
        if (!(e instanceof TemplateError)) throw e;
        try {
          out += `${this.tmpl.execute(d, { missingKeyError: true })}\n`;
        } catch (e2) {
          if (!(e2 instanceof TemplateError)) throw e2;
          errors.push(`template parsing error: ${e2.message}`);
        }
      }
    }
    return { out: out === "" ? "\n" : out, errors };
  }
}

/**
 * A template run on one value (version, info, events): Go's template.New(name).Parse; `json` is
 * `{{json .}}`. Parse errors exit 64 with docker's `prefix`.
 */
export class ValueFormat {
  private constructor(private readonly tmpl: Template) {}
  static parse(format: string, opts: { prefix?: string; name?: string } = {}): ValueFormat {
    return new ValueFormat(parseOrFail(format === "json" ? "{{json .}}" : format, opts.prefix ?? "template parsing error: ", 64, opts.name ?? ""));
  }
  /** Throws FormatError (exit 1, with what was written before the failure) when the template fails on `v`. */
  render(v: unknown, opts: { struct?: string } = {}): string {
    try {
      return this.tmpl.execute(opts.struct ? typed(v, "", "", opts.struct) : v);
    } catch (e) {
      if (e instanceof TemplateError) throw new FormatError(e.message, 1, e.partial);
      throw e;
    }
  }
}

/** docker ps's `WARNING: …` when both --format and --quiet are given (images, volume ls and network ls just print IDs). */
export const QUIET_FORMAT_WARNING = "WARNING: Ignoring custom format, because both --format and --quiet are set.\n";
