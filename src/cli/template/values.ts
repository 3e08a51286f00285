// How JavaScript values stand for Go values in a template, and how Go's fmt prints them.
//
// - undefined: Go's invalid reflect.Value (a missing map key): printed "<no value>" by an action.
// - null: a nil interface/pointer: "<nil>".
// - a number with an integral value: an int; any other number, or a GoFloat: a float64.
// - a plain object: a map[string]interface{} (missing key → <no value>, printed map[k:v] sorted);
//   an object marked with goStruct(): a struct (missing field → "can't evaluate field X in type T",
//   printed {v1 v2}), with optional methods the template can call (`.Label "key"`).
// - a function: a func value (a struct's method when it is found as a field).
import { goQuote, goQuoteASCII } from "./parse.ts";

/** A float64 whose value happens to be integral (the literal `1.0`, a float result). */
export class GoFloat {
  constructor(readonly v: number) {}
}

export interface GoType {
  /** Go's type name in error messages, e.g. "*formatter.ContainerContext". */
  name: string;
  kind: "struct" | "map";
  /** Methods: called with the template's arguments (Go's method values). */
  methods?: Record<string, GoFunc>;
  /** What `json` encodes instead (a struct whose JSON names differ from its Go field names). */
  json?: unknown;
  /** Its fields are methods without parameters (docker's formatter contexts): arguments are counted. */
  methodFields?: boolean;
  /** Fields that `json` leaves out (Go's `omitempty` fields holding their zero value). */
  omit?: Set<string>;
}

/** Marks fields of a struct that its JSON leaves out (omitempty, zero). */
export function goOmit<T extends object>(obj: T, fields: Iterable<string>): T {
  const t = types.get(obj);
  if (t) t.omit = new Set(fields);
  return obj;
}

/** A function a template can call: its parameter kinds decide Go's argument checks. */
export interface GoFunc {
  fn: (...args: any[]) => unknown;
  params: ParamKind[];
  /** The kind of the trailing variadic parameter, if any. */
  variadic?: ParamKind;
}
/** "any" is interface{} (a missing value becomes nil), "value" is reflect.Value (a missing value is an error). */
export type ParamKind = "any" | "value" | "string" | "int" | "bool";

const types = new WeakMap<object, GoType>();

/** Marks an object as a Go struct (or a map with methods) for field lookup and printing. */
export function goStruct<T extends object>(obj: T, name: string, methods?: Record<string, GoFunc>, json?: unknown, methodFields = false): T {
  types.set(obj, { name, kind: "struct", ...(methods ? { methods } : {}), ...(json !== undefined ? { json } : {}), ...(methodFields ? { methodFields } : {}) });
  return obj;
}
export function goMap<T extends object>(obj: T, name: string, methods?: Record<string, GoFunc>): T {
  types.set(obj, { name, kind: "map", ...(methods ? { methods } : {}) });
  return obj;
}

/** A typed nil slice or map of a Go struct's field: empty when printed or ranged, null in JSON. */
export function goNil(kind: "slice" | "map", name: string): unknown {
  const v = kind === "slice" ? [] : {};
  types.set(v, { name, kind: "map", json: null });
  return v;
}
export const goTypeOf = (obj: object): GoType | undefined => types.get(obj);

export type Kind = "invalid" | "nil" | "bool" | "int" | "float" | "string" | "slice" | "map" | "struct" | "func";

export function kindOf(v: unknown): Kind {
  if (v === undefined) return "invalid";
  if (v === null) return "nil";
  switch (typeof v) {
    case "boolean":
      return "bool";
    case "number":
      return Number.isInteger(v) && Math.abs(v) < 2 ** 63 ? "int" : "float";
    case "bigint":
      return "int";
    case "string":
      return "string";
    case "function":
      return "func";
  }
  if (v instanceof GoFloat) return "float";
  if (Array.isArray(v) || v instanceof Uint8Array) return "slice";
  return types.get(v as object)?.kind === "struct" ? "struct" : "map";
}

/** Go's type name as %T and error messages print it. */
export function typeName(v: unknown): string {
  switch (kindOf(v)) {
    case "invalid":
    case "nil":
      return "<nil>";
    case "bool":
      return "bool";
    case "int":
      return "int";
    case "float":
      return "float64";
    case "string":
      return "string";
    case "slice":
      return v instanceof Uint8Array ? "[]uint8" : "[]interface {}";
    case "func":
      return "func";
    default:
      return types.get(v as object)?.name ?? "map[string]interface {}";
  }
}

export const numberOf = (v: unknown): number => (v instanceof GoFloat ? v.v : typeof v === "bigint" ? Number(v) : (v as number));

/** Go's sorted map keys (fmt and range print maps in key order; keys here are strings). */
export function mapKeys(m: object): string[] {
  return Object.keys(m).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** The elements of a map or struct as Go sees them: functions are methods, not fields. */
export function entries(v: object): [string, unknown][] {
  return Object.entries(v).filter(([, x]) => typeof x !== "function" && x !== undefined);
}

/** The exact decimal digits of |f| (a double's binary fraction ends within 100 decimal places here). */
function exactDigits(f: number): { d: string; dp: number } {
  const a = Math.abs(f);
  if (a === 0) return { d: "0", dp: 1 };
  let int: string, frac: string;
  if (a >= 1e21) [int, frac] = [BigInt(a).toString(), ""];
  else [int, frac] = a.toFixed(100).split(".") as [string, string];
  const all = (int === "0" ? "" : int) + frac;
  const lead = all.length - all.replace(/^0+/, "").length;
  const dp = int === "0" ? -lead + 0 : int.length;
  return { d: all.slice(lead).replace(/0+$/, "") || "0", dp: int === "0" ? dp : int.length };
}

/** `d` rounded to `n` digits, half to even on the exact value (strconv's decimal.Round). */
function roundDigits(x: { d: string; dp: number }, n: number): { d: string; dp: number } {
  let { d, dp } = x;
  if (n < 0) return { d: "0", dp: 1 };
  if (d.length <= n) return x;
  const next = d.charCodeAt(n) - 48;
  const rest = d.slice(n + 1).replace(/0/g, "");
  const up = next > 5 || (next === 5 && (rest !== "" || (n > 0 && (d.charCodeAt(n - 1) - 48) % 2 === 1)));
  d = d.slice(0, n);
  if (up) {
    let i = d.length - 1;
    const arr = d.split("");
    while (i >= 0 && arr[i] === "9") arr[i--] = "0";
    if (i < 0) {
      arr.unshift("1");
      dp++;
      arr.pop();
    } else arr[i] = String(Number(arr[i]) + 1);
    d = arr.join("");
    if (d === "" ) {
      d = "1";
      dp++;
    }
  }
  d = d.replace(/0+$/, "");
  return d === "" ? { d: "0", dp: 1 } : { d, dp };
}

/** Decimal digits of |f| and the position of the decimal point (strconv's decimal). */
function digitsOf(f: number, prec?: number): { d: string; dp: number } {
  if (prec === undefined) {
    // The shortest digits that read back as f: JavaScript's and Go's agree.
    const [m, x] = Math.abs(f).toExponential().split("e");
    return { d: m!.replace(".", "").replace(/0+$/, "") || "0", dp: Number(x) + 1 };
  }
  return roundDigits(exactDigits(f), prec);
}

function fmtE(neg: boolean, d: string, dp: number, prec: number, e: "e" | "E"): string {
  let s = neg ? "-" : "";
  s += d[0] ?? "0";
  if (prec > 0) s += `.${(d.slice(1) + "0".repeat(prec)).slice(0, prec)}`;
  const exp = d === "0" ? 0 : dp - 1;
  return `${s}${e}${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`;
}

function fmtF(neg: boolean, d: string, dp: number, prec: number): string {
  let s = neg ? "-" : "";
  s += dp > 0 ? (d + "0".repeat(Math.max(0, dp - d.length))).slice(0, dp) : "0";
  if (prec > 0) {
    let frac = "";
    for (let i = 0; i < prec; i++) {
      const j = dp + i;
      frac += j < 0 || j >= d.length ? "0" : d[j];
    }
    s += `.${frac}`;
  }
  return s;
}

/** strconv.FormatFloat(f, fmt, prec, 64) for 'e', 'E', 'f', 'g', 'G' (prec -1: shortest). */
export function formatFloat(f: number, fmt: "e" | "E" | "f" | "g" | "G", prec: number): string {
  if (Number.isNaN(f)) return "NaN";
  if (f === Infinity) return "+Inf";
  if (f === -Infinity) return "-Inf";
  const neg = f < 0 || Object.is(f, -0);
  const shortest = prec < 0;
  if (fmt === "f") {
    if (shortest) {
      const { d, dp } = digitsOf(f);
      return fmtF(neg, d, dp, Math.max(d.length - dp, 0));
    }
    const x = exactDigits(f);
    const r = roundDigits(x, x.dp + prec);
    return fmtF(neg, r.d, r.dp, prec);
  }
  if (fmt === "e" || fmt === "E") {
    if (shortest) {
      const { d, dp } = digitsOf(f);
      return fmtE(neg, d, dp, d.length - 1, fmt);
    }
    const { d, dp } = digitsOf(f, prec + 1);
    return fmtE(neg, d, dp, prec, fmt);
  }
  // 'g': %e for exponents < -4 or >= the precision (6 when shortest), else %f.
  let p = prec;
  const { d, dp } = shortest ? digitsOf(f) : digitsOf(f, p === 0 ? 1 : p);
  if (shortest) p = d.length;
  else if (p === 0) p = 1;
  let eprec = p;
  if (eprec > d.length && d.length >= dp) eprec = d.length;
  if (shortest) eprec = 6;
  const exp = f === 0 ? 0 : dp - 1;
  if (exp < -4 || exp >= eprec) {
    if (p > d.length) p = d.length;
    return fmtE(neg, d, dp, p - 1, fmt === "g" ? "e" : "E");
  }
  if (p > dp) p = d.length;
  return fmtF(neg, d, dp, Math.max(p - dp, 0));
}

function formatInt(v: unknown): string {
  if (typeof v === "bigint") return v.toString();
  const n = numberOf(v);
  return Math.abs(n) < 1e21 ? BigInt(n).toString() : String(n);
}

/** fmt's %v: how print, println and an action print a value. */
export function formatValue(v: unknown, plus = false, depth = 0): string {
  switch (kindOf(v)) {
    case "invalid":
      return depth === 0 ? "<no value>" : "<nil>";
    case "nil":
      return "<nil>";
    case "bool":
      return String(v);
    case "int":
      return formatInt(v);
    case "float":
      return formatFloat(numberOf(v), "g", -1);
    case "string":
      return v as string;
    case "func":
      return "0x1";
    case "slice":
      return `[${[...(v as unknown[])].map((x) => formatValue(x, plus, depth + 1)).join(" ")}]`;
    case "map":
      return `map[${mapKeys(v as object).filter((k) => typeof (v as Record<string, unknown>)[k] !== "function").map((k) => `${k}:${formatValue((v as Record<string, unknown>)[k], plus, depth + 1)}`).join(" ")}]`;
    case "struct":
      // fmt prints a pointer to a struct as &{…} when it is the operand itself (an action
      // indirects it first: depth 0); deeper, Go prints its address, which berth cannot.
      return `${depth === 1 && types.get(v as object)?.name.startsWith("*") ? "&" : ""}{${entries(v as object).map(([k, x]) => (plus ? `${k}:` : "") + formatValue(x, plus, depth + 1)).join(" ")}}`;
  }
}

/** fmt.Sprint: spaces between operands when neither side is a string. */
export function sprint(args: unknown[]): string {
  let out = "";
  args.forEach((a, i) => {
    if (i > 0 && kindOf(a) !== "string" && kindOf(args[i - 1]) !== "string") out += " ";
    out += formatValue(a, false, 1);
  });
  return out;
}

export const sprintln = (args: unknown[]): string => `${args.map((a) => formatValue(a, false, 1)).join(" ")}\n`;

const utf8 = new TextEncoder();

/** fmt.Sprintf for the verbs templates use: %v %+v %s %q %d %x %X %o %b %c %e %f %g %t %T %%. */
export function sprintf(format: string, args: unknown[]): string {
  let out = "";
  let argi = 0;
  for (let i = 0; i < format.length; i++) {
    const c = format[i]!;
    if (c !== "%") {
      out += c;
      continue;
    }
    let minus = false, plus = false, sharp = false, space = false, zero = false;
    for (i++; i < format.length; i++) {
      const f = format[i];
      if (f === "-") minus = true;
      else if (f === "+") plus = true;
      else if (f === "#") sharp = true;
      else if (f === " ") space = true;
      else if (f === "0") zero = true;
      else break;
    }
    let width: number | undefined;
    let prec: number | undefined;
    // An explicit argument index, %[n]d: the verb (or a *) takes argument n (1-based).
    const argIndex = () => {
      const m = /^\[(\d+)\]/.exec(format.slice(i));
      if (m) {
        argi = Number(m[1]) - 1;
        i += m[0].length;
      }
    };
    const num = (): number | undefined => {
      argIndex();
      if (format[i] === "*") {
        i++;
        const a = args[argi++];
        return kindOf(a) === "int" ? numberOf(a) : undefined;
      }
      let s = "";
      while (i < format.length && format[i]! >= "0" && format[i]! <= "9") s += format[i++];
      return s ? Number(s) : undefined;
    };
    width = num();
    if (width !== undefined && width < 0) {
      minus = true;
      width = -width;
    }
    if (format[i] === ".") {
      i++;
      prec = num() ?? 0;
    }
    argIndex();
    const verb = format[i];
    if (verb === undefined) {
      out += "%!(NOVERB)";
      break;
    }
    if (verb === "%") {
      out += "%";
      continue;
    }
    if (verb === "[") {
      out += "%!(BADINDEX)";
      continue;
    }
    if (argi >= args.length) {
      out += `%!${verb}(MISSING)`;
      continue;
    }
    const one = (a: unknown, nested = false): string => {
    const k = kindOf(a);
    // Go applies the verb to each element of a slice, map or struct.
    if (verb !== "T" && (k === "slice" || k === "map" || k === "struct") && !(verb === "v" && sharp)) {
      if (k === "slice") return `[${Array.from(a as ArrayLike<unknown>).map((x) => one(x, true)).join(" ")}]`;
      if (k === "map") return `map[${mapKeys(a as object).filter((key) => typeof (a as Record<string, unknown>)[key] !== "function" && (a as Record<string, unknown>)[key] !== undefined).map((key) => `${one(key, true)}:${one((a as Record<string, unknown>)[key], true)}`).join(" ")}]`;
      const amp = !nested && types.get(a as object)?.name.startsWith("*") ? "&" : "";
      return `${amp}{${entries(a as object).map(([key, x]) => (plus && verb === "v" ? `${key}:` : "") + one(x, true)).join(" ")}}`;
    }
    if ((k === "nil" || k === "invalid") && verb !== "v" && verb !== "T") return `%!${verb}(<nil>)`;
    const bad = () => `%!${verb}(${typeName(a)}=${formatValue(a, false, 1)})`;
    let s: string;
    let numeric = false;
    switch (verb) {
      case "v":
        s = sharp && k === "string" ? goQuote(a as string) : formatValue(a, plus, 1);
        numeric = k === "int" || k === "float";
        break;
      case "s":
        if (k === "string") s = prec !== undefined ? [...(a as string)].slice(0, prec).join("") : (a as string);
        else if (k === "slice" || k === "map" || k === "struct") s = formatValue(a, plus, 1);
        else s = bad();
        break;
      case "q":
        if (k === "string") s = sharp && !(a as string).includes("`") ? `\`${a}\`` : plus ? goQuoteASCII(a as string) : goQuote(a as string);
        else if (k === "int") s = `'${String.fromCodePoint(numberOf(a))}'`;
        else s = bad();
        break;
      case "d":
      case "x":
      case "X":
      case "o":
      case "b":
      case "c":
      case "U": {
        if (k === "string" && (verb === "x" || verb === "X")) {
          s = [...utf8.encode(a as string)].map((b) => b.toString(16).padStart(2, "0")).join(space ? " " : "");
          if (verb === "X") s = s.toUpperCase();
          break;
        }
        if (k === "float" && (verb === "x" || verb === "X")) {
          s = bad();
          break;
        }
        if (k !== "int") {
          s = bad();
          break;
        }
        const n = BigInt(formatInt(a));
        const neg = n < 0n;
        const abs = neg ? -n : n;
        if (verb === "c") {
          s = String.fromCodePoint(Number(abs));
          break;
        }
        if (verb === "U") {
          s = `U+${abs.toString(16).toUpperCase().padStart(4, "0")}`;
          if (sharp && /[\p{L}\p{N}\p{P}\p{S}]/u.test(String.fromCodePoint(Number(abs)))) s += ` '${String.fromCodePoint(Number(abs))}'`;
          break;
        }
        const base = verb === "d" ? 10 : verb === "o" ? 8 : verb === "b" ? 2 : 16;
        let digits = abs.toString(base);
        if (verb === "X") digits = digits.toUpperCase();
        if (prec !== undefined) digits = prec === 0 && abs === 0n ? "" : digits.padStart(prec, "0");
        if (sharp) digits = (verb === "x" ? "0x" : verb === "X" ? "0X" : verb === "o" ? "0" : verb === "b" ? "0b" : "") + digits;
        s = (neg ? "-" : plus ? "+" : space ? " " : "") + digits;
        numeric = true;
        break;
      }
      case "e":
      case "E":
      case "f":
      case "F":
      case "g":
      case "G": {
        if (k !== "float" && k !== "int") {
          s = bad();
          break;
        }
        if (k === "int") {
          s = bad();
          break;
        }
        const f = numberOf(a);
        const fv = verb === "F" ? "f" : (verb as "e" | "E" | "f" | "g" | "G");
        s = formatFloat(f, fv, prec ?? (fv === "g" || fv === "G" ? -1 : 6));
        if (plus && f >= 0) s = `+${s}`;
        else if (space && f >= 0) s = ` ${s}`;
        numeric = true;
        break;
      }
      case "t":
        s = k === "bool" ? String(a) : bad();
        break;
      case "T":
        s = typeName(a);
        break;
      default:
        s = `%!${verb}(${typeName(a)}=${formatValue(a, false, 1)})`;
    }
    if (width !== undefined) {
      const len = [...s].length;
      if (len < width) {
        if (minus) s += " ".repeat(width - len);
        else if (zero && (numeric || k === "string")) {
          const sign = /^[+\- ]/.test(s) ? s[0]! : "";
          s = sign + "0".repeat(width - len) + s.slice(sign.length);
        } else s = " ".repeat(width - len) + s;
      }
    }
    return s;
    };
    out += one(args[argi++]);
  }
  if (argi < args.length && !/%[^%]*\[\d+\]/.test(format)) out += `%!(EXTRA ${args.slice(argi).map((a) => `${typeName(a)}=${formatValue(a, false, 1)}`).join(", ")})`;
  return out;
}

/** Go's truth: false, 0, nil, an empty string/slice/map, or a missing value. */
export function isTrue(v: unknown): boolean {
  switch (kindOf(v)) {
    case "invalid":
    case "nil":
      return false;
    case "bool":
      return v as boolean;
    case "int":
    case "float":
      return numberOf(v) !== 0;
    case "string":
      return (v as string).length > 0;
    case "slice":
      return (v as unknown[]).length > 0;
    case "map":
      return entries(v as object).length > 0;
    default:
      return true;
  }
}

/**
 * encoding/json with SetEscapeHTML(false), as docker's `json` function: maps with sorted keys,
 * structs in field order, missing and nil values as null.
 */
export function goJson(v: unknown): string {
  if (v !== null && typeof v === "object") {
    const t = types.get(v);
    if (t && t.json !== undefined) return goJson(t.json);
  }
  switch (kindOf(v)) {
    case "invalid":
    case "nil":
    case "func":
      return "null";
    case "bool":
      return String(v);
    case "int":
      return formatInt(v);
    case "float": {
      const f = numberOf(v);
      if (!Number.isFinite(f)) throw new Error(`json: unsupported value: ${formatFloat(f, "g", -1)}`);
      // encoding/json: %f unless the exponent is < -6 or >= 21, then %e with a short exponent.
      const abs = Math.abs(f);
      if (abs !== 0 && (abs < 1e-6 || abs >= 1e21)) return formatFloat(f, "e", -1).replace(/e([+-])0(\d)$/, "e$1$2");
      return formatFloat(f, "f", -1);
    }
    case "string":
      return JSON.stringify(v).replace(/\u2028/g, "\\u2028").replace(/\u2029/g, "\\u2029");
    case "slice":
      if (v instanceof Uint8Array) return JSON.stringify(Buffer.from(v).toString("base64"));
      return `[${(v as unknown[]).map(goJson).join(",")}]`;
    case "map":
      return `{${mapKeys(v as object).filter((k) => typeof (v as Record<string, unknown>)[k] !== "function" && (v as Record<string, unknown>)[k] !== undefined).map((k) => `${goJson(k)}:${goJson((v as Record<string, unknown>)[k])}`).join(",")}}`;
    case "struct": {
      const omit = types.get(v as object)?.omit;
      return `{${entries(v as object).filter(([k]) => !omit?.has(k)).map(([k, x]) => `${goJson(k)}:${goJson(x)}`).join(",")}}`;
    }
  }
}
