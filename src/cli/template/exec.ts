// The executor of Go's text/template (text/template/exec.go): the same evaluation rules (field
// chains, methods, pipelines whose previous value is the last argument, variables and their
// scopes, if/with/range/else, break/continue) and the same error texts, e.g.
// `template: :1:8: executing "" at <.State.Bogus>: map has no entry for key "Bogus"`.
import { nodeString, TemplateError, type Arg, type Command, type List, type Node, type Pipe } from "./parse.ts";
import { formatValue, GoFloat, goTypeOf, isTrue, kindOf, mapKeys, typeName, type GoFunc, type ParamKind } from "./values.ts";

/** The absent final argument of a pipeline's first command (Go's missingVal). */
const MISSING = Symbol("missing");
type Value = unknown;

class Break {}
class Continue {}

export interface ExecOptions {
  /** Go's Option("missingkey=error"): a missing map key is an error instead of <no value>. */
  missingKeyError?: boolean;
}

/** Go's byte column of a UTF-16 offset: the "1:8" of an error's location. */
function location(text: string, name: string, pos: number): string {
  const before = text.slice(0, pos);
  const nl = before.lastIndexOf("\n");
  const line = 1 + (before.match(/\n/g)?.length ?? 0);
  const col = Buffer.byteLength(nl < 0 ? before : before.slice(nl + 1));
  return `${name}:${line}:${col}`;
}

/** Nested {{template}} calls deeper than this fail (Go allows 100000; JavaScript's stack is shorter). */
const MAX_DEPTH = 1000;

export function execute(
  root: List,
  text: string,
  name: string,
  funcs: Map<string, GoFunc & { builtin?: string }>,
  data: Value,
  opts: ExecOptions = {},
  defs: Map<string, List> = new Map(),
  depth = 0,
  /** The name of the template the text was parsed as (error locations name it, not a {{define}}'s). */
  parseName = name,
): string {
  let out = "";
  let at: Node | undefined;
  // iface: the value is an interface{} read out of a map or slice (Go names that type in errors).
  const vars: { name: string; value: Value; iface?: boolean }[] = [{ name: "$", value: data }];
  /** Whether dot is an element of a ranged map or slice (an interface{} in Go's reflection). */
  let dotIface = false;
  /** Whether the last field read was a struct's nil field (a typed nil pointer: printed <nil>). */
  let structNull = false;

  const fail = (msg: string): never => {
    const where = at ? `template: ${location(text, parseName, at.pos)}: executing ${JSON.stringify(name)} at <${nodeString(at)}>: ` : `template: ${name}: `;
    throw new TemplateError(where + msg, "exec", out);
  };

  const varEntry = (n: string) => {
    for (let i = vars.length - 1; i >= 0; i--) if (vars[i]!.name === n) return vars[i]!;
    return fail(`undefined variable: ${n}`);
  };
  const varValue = (n: string): Value => varEntry(n).value;
  const setVar = (n: string, v: Value, iface = false) => {
    const e = varEntry(n);
    e.value = v;
    e.iface = iface;
  };
  const setTopVar = (n: number, v: Value, iface = false) => {
    vars[vars.length - n]!.value = v;
    vars[vars.length - n]!.iface = iface;
  };

  const walk = (dot: Value, node: Node): void => {
    at = node;
    switch (node.t) {
      case "action": {
        const v = evalPipeline(dot, node.pipe);
        if (node.pipe.decl.length === 0) printValue(node, v);
        return;
      }
      case "break":
        throw new Break();
      case "continue":
        throw new Continue();
      case "comment":
        return;
      case "if":
      case "with": {
        const mark = vars.length;
        try {
          const v = evalPipeline(dot, node.pipe);
          if (kindOf(v) === "func") fail(`if/with can't use ${formatValue(v)}`);
          if (isTrue(v)) {
            if (node.t === "with") {
              const saved = dotIface;
              dotIface = false;
              try {
                walk(v, node.list);
              } finally {
                dotIface = saved;
              }
            } else walk(dot, node.list);
          } else if (node.elseList) walk(dot, node.elseList);
        } finally {
          vars.length = mark;
        }
        return;
      }
      case "list":
        for (const n of node.nodes) walk(dot, n);
        return;
      case "range":
        return walkRange(dot, node);
      case "text":
        out += node.text;
        return;
      case "template": {
        const tree = defs.get(node.name);
        if (!tree) fail(`template ${JSON.stringify(node.name)} not defined`);
        if (depth >= MAX_DEPTH) fail(`exceeded maximum template depth (${MAX_DEPTH})`);
        // The pipeline's variables persist; the called template sees only its own $ (no dynamic scoping).
        const v = node.pipe ? evalPipeline(dot, node.pipe) : undefined;
        try {
          out += execute(tree!, text, node.name, funcs, v, opts, defs, depth + 1, parseName);
        } catch (e) {
          if (e instanceof TemplateError && e.phase === "exec") throw new TemplateError(e.message, "exec", out + e.partial);
          throw e;
        }
        return;
      }
      default:
        fail(`unknown node: ${nodeString(node)}`);
    }
  };

  const walkRange = (dot: Value, r: Node & { t: "if" | "with" | "range" }) => {
    at = r;
    const mark0 = vars.length;
    try {
      const val = evalPipeline(dot, r.pipe);
      const mark = vars.length;
      const one = (index: Value, elem: Value): boolean => {
        const d = r.pipe.decl;
        if (d.length > 0) {
          if (r.pipe.isAssign) setVar(d[0]!.ident[0]!, d.length > 1 ? index : elem, d.length === 1 && elemIface);
          else setTopVar(1, elem, elemIface);
        }
        if (d.length > 1) {
          if (r.pipe.isAssign) setVar(d[1]!.ident[0]!, elem, elemIface);
          else setTopVar(2, index);
        }
        const savedIface = dotIface;
        dotIface = elemIface;
        try {
          walk(elem, r.list);
        } catch (e) {
          if (e instanceof Break) return false;
          if (!(e instanceof Continue)) throw e;
        } finally {
          vars.length = mark;
          dotIface = savedIface;
        }
        return true;
      };
      // Elements of a []interface{} or map[string]interface{} are interface values; of a struct's typed map, not.
      const elemIface = kindOf(val) === "slice" || (kindOf(val) === "map" && goTypeOf(val as object) === undefined);
      let ran = false;
      switch (kindOf(val)) {
        case "slice": {
          const a = Array.from(val as ArrayLike<unknown>);
          for (let i = 0; i < a.length; i++) {
            ran = true;
            if (!one(i, a[i])) break;
          }
          break;
        }
        case "map": {
          const m = val as Record<string, unknown>;
          for (const k of mapKeys(m)) {
            if (typeof m[k] === "function" || m[k] === undefined) continue;
            ran = true;
            if (!one(k, m[k])) break;
          }
          break;
        }
        case "int": {
          // Go 1.22: range over an integer n visits 0..n-1.
          if (r.pipe.decl.length > 1) fail(`can't use ${formatValue(val)} to iterate over more than one variable`);
          const n = Number(val);
          for (let i = 0; i < n; i++) {
            ran = true;
            if (!one(i, i)) break;
          }
          break;
        }
        case "invalid":
        case "nil":
          // A missing value or a nil slice/map ranges over nothing (docker's nil slices print so).
          break;
        default:
          fail(`range can't iterate over ${formatValue(val)}`);
      }
      if (!ran && r.elseList) walk(dot, r.elseList);
    } finally {
      vars.length = mark0;
    }
  };

  const printValue = (n: Node, v: Value) => {
    at = n;
    if (kindOf(v) === "func") fail(`can't print ${nodeString(n)} of type ${typeName(v)}`);
    out += formatValue(v);
  };

  const evalPipeline = (dot: Value, pipe: Pipe): Value => {
    at = pipe;
    let value: Value | typeof MISSING = MISSING;
    for (const cmd of pipe.cmds) {
      structNull = false;
      value = evalCommand(dot, cmd, value);
      // Go digs an interface{} result down to what it holds: a nil one is no value at all
      // (`{{.Nil}}` of a map prints <no value>); a struct's nil pointer field stays nil (<nil>).
      if (value === null && !structNull) value = undefined;
    }
    for (const d of pipe.decl) {
      if (pipe.isAssign) setVar(d.ident[0]!, value);
      else vars.push({ name: d.ident[0]!, value });
    }
    return value === MISSING ? undefined : value;
  };

  const notAFunction = (args: Arg[], final: Value) => {
    if (args.length > 1 || final !== MISSING) fail(`can't give argument to non-function ${nodeString(args[0]!)}`);
  };

  const evalCommand = (dot: Value, cmd: Command, final: Value): Value => {
    const first = cmd.args[0]!;
    switch (first.t) {
      case "field":
        at = first;
        return evalFieldChain(dot, dot, first, first.ident, cmd.args, final, dotIface);
      case "chain":
        return evalChain(dot, first, cmd.args, final);
      case "identifier":
        return evalFunction(dot, first, cmd, cmd.args, final);
      case "pipe":
        notAFunction(cmd.args, final);
        return evalPipeline(dot, first);
      case "variable":
        return evalVariable(dot, first, cmd.args, final);
    }
    at = first;
    notAFunction(cmd.args, final);
    switch (first.t) {
      case "bool":
        return first.value;
      case "dot":
        return dot;
      case "nil":
        return fail("nil is not a command");
      case "number":
        return idealConstant(first);
      case "string":
        return first.text;
    }
  };

  const idealConstant = (n: Arg & { t: "number" }): Value => {
    at = n;
    // A literal with a '.', an exponent or "p" is a float even when integral (Go's idealConstant).
    if (n.isFloat && !/^[+-]?0[xX]/.test(n.text) && !n.text.startsWith("'") && /[.eEpP]/.test(n.text)) return new GoFloat(n.float);
    if (n.isInt) return n.int;
    if (n.isFloat) return new GoFloat(n.float);
    return fail(`${n.text} overflows int`);
  };

  const evalChain = (dot: Value, chain: Arg & { t: "chain" }, args: Arg[], final: Value): Value => {
    at = chain;
    if (chain.node.t === "nil") fail(`indirection through explicit nil in ${nodeString(chain)}`);
    const pipe = evalArg(dot, "any", chain.node);
    return evalFieldChain(dot, pipe, chain, chain.field, args, final);
  };

  const evalVariable = (dot: Value, v: Arg & { t: "variable" }, args: Arg[], final: Value): Value => {
    at = v;
    const e = varEntry(v.ident[0]!);
    if (v.ident.length === 1) {
      notAFunction(args, final);
      return e.value;
    }
    return evalFieldChain(dot, e.value, v, v.ident.slice(1), args, final, e.iface === true);
  };

  const evalFieldChain = (dot: Value, receiver: Value, node: Arg, ident: string[], args: Arg[], final: Value, iface = false): Value => {
    for (let i = 0; i < ident.length - 1; i++) {
      const fromMap = kindOf(receiver) === "map";
      receiver = evalField(dot, ident[i]!, node, [], MISSING, receiver, iface);
      iface = fromMap && goTypeOf(receiver as object)?.kind !== "struct";
    }
    return evalField(dot, ident[ident.length - 1]!, node, args, final, receiver, iface);
  };

  const evalField = (dot: Value, field: string, node: Arg, args: Arg[], final: Value, receiver: Value, iface = false): Value => {
    if (receiver === undefined) {
      if (opts.missingKeyError) fail(`nil data; no entry for key ${JSON.stringify(field)}`);
      return undefined;
    }
    const k = kindOf(receiver);
    if (k === "nil") fail(`nil pointer evaluating interface {}.${field}`);
    if (k === "map" || k === "struct") {
      const t = goTypeOf(receiver as object);
      const method = t?.methods?.[field];
      if (method) return evalCall(dot, method, false, node, field, args, final);
      const obj = receiver as Record<string, unknown>;
      const own = Object.prototype.hasOwnProperty.call(obj, field) ? obj[field] : undefined;
      const hasArgs = args.length > 1 || final !== MISSING;
      if (k === "struct") {
        if (own !== undefined) {
          if (hasArgs && t?.methodFields) fail(`wrong number of args for ${field}: want 0 got ${args.length - 1 + (final !== MISSING ? 1 : 0)}`);
          if (hasArgs) fail(`${field} has arguments but cannot be invoked as function`);
          structNull = own === null;
          return own;
        }
        return fail(`can't evaluate field ${field} in type ${iface ? "interface {}" : typeName(receiver)}`);
      }
      if (hasArgs) fail(`${field} is not a method but has arguments`);
      if (own === undefined && opts.missingKeyError) fail(`map has no entry for key ${JSON.stringify(field)}`);
      return own;
    }
    return fail(`can't evaluate field ${field} in type ${iface ? "interface {}" : typeName(receiver)}`);
  };

  const evalFunction = (dot: Value, node: Arg & { t: "identifier" }, cmd: Command | Arg, args: Arg[], final: Value): Value => {
    at = node;
    const f = funcs.get(node.ident);
    if (!f) return fail(`${JSON.stringify(node.ident)} is not a defined function`);
    return evalCall(dot, f, f.builtin !== undefined, cmd, node.ident, args, final);
  };

  /** Go's validateType for a computed value passed to a parameter of `kind`. */
  const validate = (v: Value, kind: ParamKind): Value => {
    if (v === undefined) {
      if (kind === "any") return null;
      // reflect.Value parameters (the builtins) take the invalid value as it is.
      if (kind === "value") return undefined;
      return fail(`invalid value; expected ${kind}`);
    }
    if (kind === "any" || kind === "value") return v;
    const k = kindOf(v);
    if ((kind === "string" && k === "string") || (kind === "bool" && k === "bool") || (kind === "int" && k === "int" && !(v instanceof GoFloat))) return v;
    return fail(`wrong type for value; expected ${kind}; got ${typeName(v)}`);
  };

  const evalArg = (dot: Value, kind: ParamKind, n: Arg): Value => {
    at = n;
    switch (n.t) {
      case "dot":
        return validate(dot, kind);
      case "nil":
        if (kind === "any") return null;
        return fail(`cannot assign nil to ${kind === "value" ? "reflect.Value" : kind}`);
      case "field":
        return validate(evalFieldChain(dot, dot, n, n.ident, [n], MISSING), kind);
      case "variable":
        return validate(evalVariable(dot, n, [], MISSING), kind);
      case "pipe":
        return validate(evalPipeline(dot, n), kind);
      case "identifier":
        return validate(evalFunction(dot, n, n, [], MISSING), kind);
      case "chain":
        return validate(evalChain(dot, n, [], MISSING), kind);
    }
    switch (kind) {
      case "bool":
        if (n.t === "bool") return n.value;
        return fail(`expected bool; found ${nodeString(n)}`);
      case "int":
        if (n.t === "number" && n.isInt) return n.int;
        return fail(`expected integer; found ${nodeString(n)}`);
      case "string":
        if (n.t === "string") return n.text;
        return fail(`expected string; found ${nodeString(n)}`);
      default:
        switch (n.t) {
          case "bool":
            return n.value;
          case "number":
            return idealConstant(n);
          case "string":
            return n.text;
        }
    }
    return fail(`can't handle ${nodeString(n)} for arg of type ${kind}`);
  };

  const evalCall = (dot: Value, f: GoFunc & { builtin?: string }, builtin: boolean, node: Node, name: string, argNodes: Arg[], final: Value): Value => {
    const args = argNodes.slice(1);
    const numIn = args.length + (final !== MISSING ? 1 : 0);
    const numFixed = f.params.length;
    if (f.variadic !== undefined) {
      if (numIn < numFixed) fail(`wrong number of args for ${name}: want at least ${numFixed} got ${args.length}`);
    } else if (numIn !== numFixed) fail(`wrong number of args for ${name}: want ${numFixed} got ${numIn}`);
    const kindAt = (i: number): ParamKind => (i < numFixed ? f.params[i]! : f.variadic!);
    // and/or evaluate their arguments in order and stop at the first that decides (Go 1.18).
    if (builtin && (name === "and" || name === "or")) {
      let v: Value;
      for (const a of args) {
        v = evalArg(dot, "value", a);
        if (isTrue(v) === (name === "or")) return v;
      }
      if (final !== MISSING) v = validate(final, "value");
      return v;
    }
    const argv: Value[] = [];
    for (let i = 0; i < args.length; i++) argv.push(evalArg(dot, kindAt(i), args[i]!));
    if (final !== MISSING) argv.push(validate(final, kindAt(numIn - 1)));
    try {
      const r = f.fn(...argv);
      structNull = false;
      return r;
    } catch (e) {
      if (e instanceof TemplateError) throw e;
      at = node;
      return fail(`error calling ${name}: ${(e as Error).message}`);
    }
  };

  try {
    walk(data, root);
  } catch (e) {
    if (e instanceof Break || e instanceof Continue) fail("break or continue outside range");
    throw e;
  }
  return out;
}
