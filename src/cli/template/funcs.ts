// The functions of a template: Go's builtins (text/template "Functions") and the ones docker's
// CLI adds (github.com/docker/cli/templates: json, split, join, title, lower, upper, pad,
// truncate), plus the header variants docker uses to print a table's header row.
import { goJson, goTypeOf, isTrue, kindOf, mapKeys, numberOf, sprint, sprintf, sprintln, typeName, entries, type GoFunc } from "./values.ts";

export type FuncMap = Map<string, GoFunc & { builtin?: string }>;

const utf8 = new TextEncoder();
const bytesOf = (s: string) => utf8.encode(s);

type Basic = "bool" | "int" | "float" | "string";
function basicKind(v: unknown): Basic | undefined {
  const k = kindOf(v);
  return k === "bool" || k === "int" || k === "float" || k === "string" ? k : undefined;
}

function eq(a: unknown, ...rest: unknown[]): boolean {
  if (rest.length === 0) throw new Error("missing argument for comparison");
  const nonComparable = (x: unknown) => new Error(`non-comparable type ${sprintf("%s", [x])}: ${typeName(x)}`);
  const k1 = basicKind(a);
  for (const b of rest) {
    const k2 = basicKind(b);
    const nilA = a === undefined || a === null, nilB = b === undefined || b === null;
    if (k1 !== k2) {
      if (k1 === undefined || k2 === undefined) {
        if (nilA || nilB) {
          if (nilA && nilB) return true;
          if (k1 === undefined && k2 === undefined) throw new Error(`non-comparable types ${typeName(a)}, ${typeName(b)}`);
          continue;
        }
        if (k1 === undefined) throw nonComparable(a);
        throw nonComparable(b);
      }
      throw new Error("incompatible types for comparison");
    }
    if (k1 === undefined) {
      if (nilA || nilB) {
        if (nilA && nilB) return true;
        continue;
      }
      if (kindOf(b) === "slice" || kindOf(b) === "map" || kindOf(b) === "func") throw nonComparable(b);
      if (a === b) return true;
      continue;
    }
    if (k1 === "int" || k1 === "float" ? numberOf(a) === numberOf(b) : a === b) return true;
  }
  return false;
}

function lt(a: unknown, b: unknown): boolean {
  const k1 = basicKind(a), k2 = basicKind(b);
  if (!k1 || !k2) throw new Error("invalid type for comparison");
  if (k1 !== k2) throw new Error("incompatible types for comparison");
  if (k1 === "bool") throw new Error("invalid type for comparison");
  return k1 === "string" ? (a as string) < (b as string) : numberOf(a) < numberOf(b);
}

function indexArg(i: unknown, cap: number, inclusive: boolean): number {
  const k = kindOf(i);
  if (k === "invalid" || k === "nil") throw new Error("cannot index slice/array with nil");
  if (k !== "int") throw new Error(`cannot index slice/array with type ${typeName(i)}`);
  const x = numberOf(i);
  if (x < 0 || (inclusive ? x > cap : x >= cap)) throw new Error(`index out of range: ${x}`);
  return x;
}

function index(item: unknown, ...indexes: unknown[]): unknown {
  if (item === undefined || item === null) throw new Error("index of untyped nil");
  let cur: unknown = item;
  for (const i of indexes) {
    if (cur === null || cur === undefined) throw new Error("index of nil pointer");
    const k = kindOf(cur);
    if (k === "string") {
      const b = bytesOf(cur as string);
      cur = b[indexArg(i, b.length, false)];
    } else if (k === "slice") {
      const a = cur as unknown[];
      cur = a[indexArg(i, a.length, false)];
    } else if (k === "map") {
      if (kindOf(i) !== "string") throw new Error(`value has type ${typeName(i)}; should be string`);
      const m = cur as Record<string, unknown>;
      if (Object.prototype.hasOwnProperty.call(m, i as string) && m[i as string] !== undefined) cur = m[i as string];
      else {
        // A missing key gives the zero value of the map's element type: "" for docker's
        // map[string]string (labels, options), nil for a map[string]interface{} of raw JSON.
        cur = goTypeOf(m)?.name === "map[string]string" ? "" : null;
      }
    } else throw new Error(`can't index item of type ${typeName(cur)}`);
  }
  return cur;
}

function slice(item: unknown, ...indexes: unknown[]): unknown {
  if (item === undefined || item === null) throw new Error("slice of untyped nil");
  if (indexes.length > 3) throw new Error(`too many slice indexes: ${indexes.length}`);
  const k = kindOf(item);
  let len: number;
  if (k === "string") {
    if (indexes.length === 3) throw new Error("cannot 3-index slice a string");
    len = bytesOf(item as string).length;
  } else if (k === "slice") len = (item as unknown[]).length;
  else throw new Error(`can't slice item of type ${typeName(item)}`);
  const idx = [0, len, len];
  indexes.forEach((x, i) => (idx[i] = indexArg(x, len, true)));
  if (idx[0]! > idx[1]!) throw new Error(`invalid slice index: ${idx[0]} > ${idx[1]}`);
  if (indexes.length === 3 && idx[1]! > idx[2]!) throw new Error(`invalid slice index: ${idx[1]} > ${idx[2]}`);
  if (k === "string") return Buffer.from(bytesOf(item as string).subarray(idx[0], idx[1])).toString("utf8");
  return (item as unknown[]).slice(idx[0], idx[1]);
}

function len(v: unknown): number {
  const k = kindOf(v);
  if (k === "invalid") throw new Error("reflect: call of reflect.Value.Type on zero Value");
  if (k === "nil") throw new Error("len of nil pointer");
  if (k === "string") return bytesOf(v as string).length;
  if (k === "slice") return (v as unknown[]).length;
  if (k === "map") return entries(v as object).length;
  throw new Error(`len of type ${typeName(v)}`);
}

function call(fn: unknown, ...args: unknown[]): unknown {
  if (fn === undefined || fn === null) throw new Error("call of nil");
  if (typeof fn !== "function") throw new Error(`non-function of type ${typeName(fn)}`);
  if (fn.length !== args.length) throw new Error(`wrong number of args: got ${args.length} want ${fn.length}`);
  return (fn as (...a: unknown[]) => unknown)(...args);
}

/** Go's evalArgs for html/js/urlquery: one string as is, else fmt.Sprint of all. */
const argsString = (args: unknown[]): string =>
  args.length === 1 && typeof args[0] === "string" ? args[0] : sprint(args.map((a) => (a === null || a === undefined ? "<no value>" : a)));

export function htmlEscape(s: string): string {
  return s.replace(/[&'<>"\0]/g, (c) => ({ "&": "&amp;", "'": "&#39;", "<": "&lt;", ">": "&gt;", '"': "&#34;", "\0": "\uFFFD" })[c]!);
}

export function jsEscape(s: string): string {
  let out = "";
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    switch (ch) {
      case "\\": out += "\\\\"; continue;
      case "'": out += "\\'"; continue;
      case '"': out += '\\"'; continue;
      case "<": out += "\\u003C"; continue;
      case ">": out += "\\u003E"; continue;
      case "&": out += "\\u0026"; continue;
      case "=": out += "\\u003D"; continue;
    }
    if (cp < 0x20) out += `\\u00${cp.toString(16).toUpperCase().padStart(2, "0")}`;
    else if (cp < 0x80 || /[\p{L}\p{M}\p{N}\p{P}\p{S}\p{Zs}]/u.test(ch)) out += ch;
    else out += `\\u${cp.toString(16).toUpperCase().padStart(4, "0")}`;
  }
  return out;
}

/** url.QueryEscape. */
export function queryEscape(s: string): string {
  let out = "";
  for (const b of bytesOf(s)) {
    const c = String.fromCharCode(b);
    if (/[A-Za-z0-9\-_.~]/.test(c)) out += c;
    else if (c === " ") out += "+";
    else out += `%${b.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/** strings.Title: the first letter of each word upper-cased. */
export function title(s: string): string {
  let prev = " ";
  let out = "";
  for (const ch of s) {
    const sep = /[A-Za-z0-9_]/.test(prev) ? false : prev.codePointAt(0)! < 0x80 ? true : /\p{L}|\p{N}/u.test(prev) ? false : /\s/u.test(prev);
    out += sep ? ch.toUpperCase() : ch;
    prev = ch;
  }
  return out;
}

const f = (fn: GoFunc["fn"], params: GoFunc["params"], variadic?: GoFunc["variadic"]): GoFunc => ({ fn, params, ...(variadic ? { variadic } : {}) });

const BUILTINS: [string, GoFunc][] = [
  ["and", f(() => undefined, ["value"], "value")],
  ["or", f(() => undefined, ["value"], "value")],
  ["not", f((v: unknown) => !isTrue(v), ["value"])],
  ["len", f(len, ["value"])],
  ["index", f(index, ["value"], "value")],
  ["slice", f(slice, ["value"], "value")],
  ["print", f((...a: unknown[]) => sprint(a), [], "any")],
  ["printf", f((fmt: string, ...a: unknown[]) => sprintf(fmt, a), ["string"], "any")],
  ["println", f((...a: unknown[]) => sprintln(a), [], "any")],
  ["html", f((...a: unknown[]) => htmlEscape(argsString(a)), [], "any")],
  ["js", f((...a: unknown[]) => jsEscape(argsString(a)), [], "any")],
  ["urlquery", f((...a: unknown[]) => queryEscape(argsString(a)), [], "any")],
  ["eq", f(eq, ["value"], "value")],
  ["ne", f((a: unknown, b: unknown) => !eq(a, b), ["value", "value"])],
  ["lt", f(lt, ["value", "value"])],
  ["le", f((a: unknown, b: unknown) => lt(a, b) || eq(a, b), ["value", "value"])],
  ["gt", f((a: unknown, b: unknown) => !(lt(a, b) || eq(a, b)), ["value", "value"])],
  ["ge", f((a: unknown, b: unknown) => !lt(a, b), ["value", "value"])],
  ["call", f(call, ["value"], "value")],
];

/** docker's joinElements: strings joined; other slices printed with fmt.Sprint; a map's values sorted. */
function join(elems: unknown, sep: string): string {
  if (elems === null || elems === undefined) return "";
  const k = kindOf(elems);
  if (k === "slice") return (elems as unknown[]).map((e) => sprint([e])).join(sep);
  if (k === "map") return mapKeys(elems as object).map((key) => sprint([(elems as Record<string, unknown>)[key]])).sort().join(sep);
  throw new Error(`expected slice, got ${typeName(elems)}`);
}

/** strings.Split: an empty separator splits after each UTF-8 sequence. */
const split = (s: string, sep: string): string[] => (sep === "" ? [...s] : s.split(sep));

const DOCKER: [string, GoFunc][] = [
  ["json", f((v: unknown) => goJson(v), ["any"])],
  ["split", f(split, ["string", "string"])],
  ["join", f(join, ["any", "string"])],
  ["title", f(title, ["string"])],
  ["lower", f((s: string) => s.toLowerCase(), ["string"])],
  ["upper", f((s: string) => s.toUpperCase(), ["string"])],
  ["pad", f((s: string, pre: number, suf: number) => (s === "" ? s : " ".repeat(Math.max(0, pre)) + s + " ".repeat(Math.max(0, suf))), ["string", "int", "int"])],
  ["truncate", f((s: string, n: number) => (bytesOf(s).length < n ? s : Buffer.from(bytesOf(s).subarray(0, Math.max(0, n))).toString("utf8")), ["string", "int"])],
];

/** docker's HeaderFunctions: in a table's header row these leave the header text as it is. */
const HEADER: [string, GoFunc][] = [
  ["json", f((v: string) => v, ["string"])],
  ["split", f((v: string) => v, ["string", "string"])],
  ["join", f((v: string) => v, ["string", "string"])],
  ["title", f((v: string) => v, ["string"])],
  ["lower", f((v: string) => v, ["string"])],
  ["upper", f((v: string) => v, ["string"])],
  ["truncate", f((v: string) => v, ["string", "int"])],
];

export function builtinFuncs(): FuncMap {
  return new Map(BUILTINS.map(([n, g]) => [n, { ...g, builtin: n }]));
}

/** Go's builtins and docker's functions (templates.Parse). */
export function dockerFuncs(): FuncMap {
  const m = builtinFuncs();
  for (const [n, g] of DOCKER) m.set(n, g);
  return m;
}

/** The functions of docker's table header row (tmpl.Funcs(templates.HeaderFunctions)). */
export function headerFuncs(): FuncMap {
  const m = dockerFuncs();
  for (const [n, g] of HEADER) m.set(n, g);
  return m;
}
