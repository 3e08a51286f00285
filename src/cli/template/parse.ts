// The parser of Go's text/template: the same tree (text/template/parse/node.go) and the same
// error texts (parse.go), e.g. `template: :1: function "foo" not defined`.
import { lex, type Item, type ItemType } from "./lex.ts";

export type Node =
  | { t: "list"; pos: number; nodes: Node[] }
  | { t: "text"; pos: number; text: string }
  | { t: "comment"; pos: number }
  | { t: "action"; pos: number; line: number; pipe: Pipe }
  | { t: "if" | "with" | "range"; pos: number; line: number; pipe: Pipe; list: Node & { t: "list" }; elseList?: Node & { t: "list" } }
  | { t: "break" | "continue"; pos: number; line: number }
  | { t: "template"; pos: number; line: number; name: string; pipe?: Pipe }
  | Pipe
  | Command
  | Arg;

export interface Pipe {
  t: "pipe";
  pos: number;
  line: number;
  isAssign: boolean;
  decl: { t: "variable"; pos: number; ident: string[] }[];
  cmds: Command[];
}
export interface Command {
  t: "command";
  pos: number;
  args: Arg[];
}
export type Arg =
  | { t: "field"; pos: number; ident: string[] }
  | { t: "variable"; pos: number; ident: string[] }
  | { t: "chain"; pos: number; node: Arg; field: string[] }
  | { t: "identifier"; pos: number; ident: string }
  | { t: "dot"; pos: number }
  | { t: "nil"; pos: number }
  | { t: "bool"; pos: number; value: boolean }
  | { t: "number"; pos: number; text: string; isInt: boolean; isFloat: boolean; int: number; float: number }
  | { t: "string"; pos: number; quoted: string; text: string }
  | Pipe;

/** A template that failed to parse or to execute; the message is Go's, e.g. "template: :1: unclosed action". */
export class TemplateError extends Error {
  constructor(
    message: string,
    readonly phase: "parse" | "exec",
    /** What an execution wrote before it failed (Go's Execute writes as it goes). */
    readonly partial = "",
  ) {
    super(message);
    this.name = "TemplateError";
  }
}

/** Go's Node.String(): the source form of a node, used in "executing … at <…>" messages. */
export function nodeString(n: Node): string {
  switch (n.t) {
    case "field":
      return n.ident.map((i) => `.${i}`).join("");
    case "variable":
      return n.ident.join(".");
    case "chain":
      return `${n.node.t === "pipe" ? `(${nodeString(n.node)})` : nodeString(n.node)}${n.field.map((f) => `.${f}`).join("")}`;
    case "identifier":
      return n.ident;
    case "dot":
      return ".";
    case "nil":
      return "nil";
    case "bool":
      return String(n.value);
    case "number":
      return n.text;
    case "string":
      return n.quoted;
    case "command":
      return n.args.map((a) => (a.t === "pipe" ? `(${nodeString(a)})` : nodeString(a))).join(" ");
    case "pipe": {
      const decl = n.decl.length ? `${n.decl.map((d) => d.ident.join(".")).join(", ")} ${n.isAssign ? "=" : ":="} ` : "";
      return decl + n.cmds.map(nodeString).join(" | ");
    }
    case "action":
      return `{{${nodeString(n.pipe)}}}`;
    case "text":
      return n.text;
    case "list":
      return n.nodes.map(nodeString).join("");
    case "if":
    case "with":
    case "range":
      return `{{${n.t} ${nodeString(n.pipe)}}}${nodeString(n.list)}${n.elseList ? `{{else}}${nodeString(n.elseList)}` : ""}{{end}}`;
    case "break":
    case "continue":
      return `{{${n.t}}}`;
    case "template":
      return `{{template ${goQuote(n.name)}${n.pipe ? ` ${nodeString(n.pipe)}` : ""}}}`;
    case "comment":
      return "{{/* */}}";
  }
}

/** Go's item.String(), used in "unexpected … in …" messages. */
function itemString(i: Item): string {
  if (i.type === "eof") return "EOF";
  if (i.type === "error") return i.val;
  // Keywords (Go's items after itemKeyword) print as <name>.
  if (["block", "break", "continue", "define", "else", "end", "if", "nil", "range", "template", "with", "dot"].includes(i.type)) return `<${i.val}>`;
  if ([...i.val].length > 10) return `${goQuote([...i.val].slice(0, 10).join(""))}...`;
  return goQuote(i.val);
}

/** strconv.Quote for the printable-ASCII-and-Unicode case (what error messages need). */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (ch === '"' || ch === "\\") out += `\\${ch}`;
    else if (ch === "\n") out += "\\n";
    else if (ch === "\t") out += "\\t";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\x07") out += "\\a";
    else if (ch === "\b") out += "\\b";
    else if (ch === "\f") out += "\\f";
    else if (ch === "\v") out += "\\v";
    else if (cp < 0x20 || cp === 0x7f) out += `\\x${cp.toString(16).padStart(2, "0")}`;
    else if (/[\p{L}\p{M}\p{N}\p{P}\p{S}\p{Zs}]/u.test(ch) && (cp < 0x80 || ch !== " ")) out += ch;
    else if (cp < 0x10000) out += `\\u${cp.toString(16).padStart(4, "0")}`;
    else out += `\\U${cp.toString(16).padStart(8, "0")}`;
  }
  return `${out}"`;
}

/** strconv.QuoteToASCII: non-ASCII as \u or \U escapes (fmt's %+q). */
export function goQuoteASCII(s: string): string {
  return goQuote(s).replace(/[^\x00-\x7f]/gu, (ch) => {
    const cp = ch.codePointAt(0)!;
    return cp < 0x10000 ? `\\u${cp.toString(16).padStart(4, "0")}` : `\\U${cp.toString(16).padStart(8, "0")}`;
  });
}

/** strconv.Unquote for "…", `…` and '…'. */
function unquote(q: string): string {
  if (q[0] === "`") return q.slice(1, -1).replace(/\r/g, "");
  const body = q.slice(1, -1);
  let out = "";
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c !== "\\") {
      out += c;
      continue;
    }
    const e = body[++i];
    const hex = (n: number) => {
      const h = body.slice(i + 1, i + 1 + n);
      if (!new RegExp(`^[0-9a-fA-F]{${n}}$`).test(h)) throw new Error("invalid syntax");
      i += n;
      return parseInt(h, 16);
    };
    switch (e) {
      case "a": out += "\x07"; break;
      case "b": out += "\b"; break;
      case "f": out += "\f"; break;
      case "n": out += "\n"; break;
      case "r": out += "\r"; break;
      case "t": out += "\t"; break;
      case "v": out += "\v"; break;
      case "\\": out += "\\"; break;
      case '"': out += '"'; break;
      case "'": out += "'"; break;
      case "x": out += String.fromCharCode(hex(2)); break;
      case "u": out += String.fromCodePoint(hex(4)); break;
      case "U": out += String.fromCodePoint(hex(8)); break;
      default:
        if (e !== undefined && e >= "0" && e <= "7") {
          const o = body.slice(i, i + 3);
          if (!/^[0-7]{3}$/.test(o)) throw new Error("invalid syntax");
          out += String.fromCharCode(parseInt(o, 8));
          i += 2;
        } else throw new Error("invalid syntax");
    }
  }
  return out;
}

function parseNumber(pos: number, text: string, charConst: boolean): Arg & { t: "number" } {
  const n = { t: "number" as const, pos, text, isInt: false, isFloat: false, int: 0, float: 0 };
  if (charConst) {
    const s = unquote(text);
    const cp = s.codePointAt(0);
    if (cp === undefined || [...s].length !== 1) throw new Error(`malformed character constant: ${text}`);
    return { ...n, isInt: true, isFloat: true, int: cp, float: cp };
  }
  if (text.endsWith("i")) throw new Error(`complex numbers are not supported: ${text}`);
  const clean = text.replace(/_/g, "");
  const intRe = /^[+-]?(0[xX][0-9a-fA-F]+|0[oO]?[0-7]*|0[bB][01]+|[1-9][0-9]*|0)$/;
  if (intRe.test(clean)) {
    const neg = clean.startsWith("-");
    const body = clean.replace(/^[+-]/, "");
    let v: number;
    if (/^0[xX]/.test(body)) v = parseInt(body.slice(2), 16);
    else if (/^0[bB]/.test(body)) v = parseInt(body.slice(2), 2);
    else if (/^0[oO]/.test(body)) v = parseInt(body.slice(2), 8);
    else if (/^0[0-7]+$/.test(body)) v = parseInt(body.slice(1), 8);
    else v = Number(body);
    if (neg) v = -v;
    n.isInt = true;
    n.int = v;
    n.isFloat = true;
    n.float = v;
    return n;
  }
  const f = Number(clean);
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(clean) || Number.isNaN(f)) throw new Error(`illegal number syntax: ${goQuote(text)}`);
  n.isFloat = true;
  n.float = f;
  // A float literal with an integral value is an int too (Go's NumberNode: IsInt when exact).
  if (Number.isInteger(f) && Math.abs(f) < 2 ** 63) {
    n.isInt = true;
    n.int = f;
  }
  return n;
}

/** Parses `text` into a tree; `hasFunction` says which identifiers are functions. Throws TemplateError. */
export type List = Node & { t: "list" };

/** The main tree and the trees of {{define}} and {{block}}, by name. */
export interface Parsed {
  root: List;
  defs: Map<string, List>;
}

export function parse(text: string, name: string, hasFunction: (n: string) => boolean): Parsed {
  const defs = new Map<string, List>();
  const items = lex(text);
  let i = 0;
  let token: Item = items[0]!;
  let vars: string[] = ["$"];
  let rangeDepth = 0;
  let actionLine = 0;

  const fail = (msg: string): never => {
    throw new TemplateError(`template: ${name}:${token.line}: ${msg}`, "parse");
  };
  const next = (): Item => {
    token = items[Math.min(i, items.length - 1)]!;
    i++;
    return token;
  };
  const backup = (n = 1) => {
    i -= n;
  };
  const peek = (): Item => items[Math.min(i, items.length - 1)]!;
  const nextNonSpace = (): Item => {
    let t = next();
    while (t.type === "space") t = next();
    return t;
  };
  const peekNonSpace = (): Item => {
    const t = nextNonSpace();
    backup();
    return t;
  };
  const unexpected = (t: Item, context: string): never => {
    if (t.type === "error") {
      let extra = "";
      if (actionLine !== 0 && actionLine !== t.line) {
        extra = ` in action started at ${name}:${actionLine}`;
        if (t.val.endsWith(" action")) extra = extra.slice(" in action".length);
      }
      return fail(`${t.val}${extra}`);
    }
    return fail(`unexpected ${itemString(t)} in ${context}`);
  };
  const expect = (want: ItemType, context: string): Item => {
    const t = nextNonSpace();
    if (t.type !== want) unexpected(t, context);
    return t;
  };
  const list = (pos: number): Node & { t: "list" } => ({ t: "list", pos, nodes: [] });

  type Control = Node | { t: "end"; pos: number } | { t: "else"; pos: number; line: number };

  const itemList = (): [Node & { t: "list" }, Control] => {
    const l = list(peekNonSpace().pos);
    while (peekNonSpace().type !== "eof") {
      const n = textOrAction();
      if (n.t === "end" || n.t === "else") return [l, n];
      l.nodes.push(n as Node);
    }
    return fail("unexpected EOF");
  };

  const textOrAction = (): Control => {
    const t = nextNonSpace();
    switch (t.type) {
      case "text":
        return { t: "text", pos: t.pos, text: t.val };
      case "leftDelim": {
        const saved = actionLine;
        actionLine = t.line;
        try {
          return action();
        } finally {
          actionLine = saved;
        }
      }
      case "comment":
        return { t: "comment", pos: t.pos };
      default:
        return unexpected(t, "input");
    }
  };

  const action = (): Control => {
    const t = nextNonSpace();
    switch (t.type) {
      case "template": {
        const context = "template clause";
        const tok = nextNonSpace();
        const tname = templateName(tok, context);
        let pipe: Pipe | undefined;
        if (nextNonSpace().type !== "rightDelim") {
          backup();
          pipe = pipeline(context, "rightDelim");
        }
        return { t: "template", pos: tok.pos, line: tok.line, name: tname, ...(pipe ? { pipe } : {}) };
      }
      case "block": {
        const context = "block clause";
        const tok = nextNonSpace();
        const tname = templateName(tok, context);
        const pipe = pipeline(context, "rightDelim");
        const saved = vars;
        vars = ["$"];
        try {
          const [body, end] = itemList();
          if (end.t !== "end") fail(`unexpected {{else}} in ${context}`);
          defs.set(tname, body);
        } finally {
          vars = saved;
        }
        return { t: "template", pos: tok.pos, line: tok.line, name: tname, pipe };
      }
      case "break":
      case "continue": {
        const r = nextNonSpace();
        if (r.type !== "rightDelim") unexpected(r, `{{${t.type}}}`);
        if (rangeDepth === 0) fail(`{{${t.type}}} outside {{range}}`);
        return { t: t.type, pos: t.pos, line: t.line };
      }
      case "else":
        return elseControl();
      case "end":
        return { t: "end", pos: expect("rightDelim", "end").pos };
      case "if":
      case "range":
      case "with":
        return control(t.type);
    }
    backup();
    const p = peek();
    return { t: "action", pos: p.pos, line: p.line, pipe: pipeline("command", "rightDelim") };
  };

  const elseControl = (): Control => {
    const p = peekNonSpace();
    if (p.type === "if" || p.type === "with") return { t: "else", pos: p.pos, line: p.line };
    const t = expect("rightDelim", "else");
    return { t: "else", pos: t.pos, line: t.line };
  };

  const control = (context: "if" | "range" | "with"): Node => {
    const mark = vars.length;
    try {
      const pipe = pipeline(context, "rightDelim");
      if (context === "range") rangeDepth++;
      const [body, nextNode] = itemList();
      if (context === "range") rangeDepth--;
      let elseList: (Node & { t: "list" }) | undefined;
      if (nextNode.t === "else") {
        if ((context === "if" && peek().type === "if") || (context === "with" && peek().type === "with")) {
          next();
          const el = list(nextNode.pos);
          el.nodes.push(control(context));
          elseList = el;
        } else {
          const [el, end] = itemList();
          if (end.t !== "end") fail(`expected end; found ${end.t === "else" ? "{{else}}" : "node"}`);
          elseList = el;
        }
      }
      return { t: context, pos: pipe.pos, line: pipe.line, pipe, list: body, ...(elseList ? { elseList } : {}) };
    } finally {
      vars = vars.slice(0, mark);
    }
  };

  const pipeline = (context: string, end: ItemType): Pipe => {
    const first = peekNonSpace();
    const pipe: Pipe = { t: "pipe", pos: first.pos, line: first.line, isAssign: false, decl: [], cmds: [] };
    decls: for (;;) {
      const v = peekNonSpace();
      if (v.type !== "variable") break;
      nextNonSpace();
      const after = peek();
      const nx = peekNonSpace();
      if (nx.type === "assign" || nx.type === "declare") {
        pipe.isAssign = nx.type === "assign";
        nextNonSpace();
        pipe.decl.push({ t: "variable", pos: v.pos, ident: [v.val] });
        vars.push(v.val);
      } else if (nx.type === "char" && nx.val === ",") {
        nextNonSpace();
        pipe.decl.push({ t: "variable", pos: v.pos, ident: [v.val] });
        vars.push(v.val);
        if (context === "range" && pipe.decl.length < 2) {
          const p = peekNonSpace().type;
          if (p === "variable" || p === "rightDelim" || p === "rightParen") continue decls;
          fail("range can only initialize variables");
        }
        fail(`too many declarations in ${context}`);
      } else if (after.type === "space") {
        // "$x foo": $x is an argument, not a declaration.
        i = items.indexOf(v);
      } else {
        i = items.indexOf(v);
      }
      break;
    }
    for (;;) {
      const t = nextNonSpace();
      if (t.type === end) {
        if (pipe.cmds.length === 0) fail(`missing value for ${context}`);
        pipe.cmds.slice(1).forEach((c, k) => {
          if (["bool", "dot", "nil", "number", "string"].includes(c.args[0]!.t)) fail(`non executable command in pipeline stage ${k + 2}`);
        });
        return pipe;
      }
      switch (t.type) {
        case "bool": case "charConstant": case "dot": case "field": case "identifier": case "number":
        case "nil": case "rawString": case "string": case "variable": case "leftParen":
          backup();
          pipe.cmds.push(command());
          break;
        default:
          unexpected(t, context);
      }
    }
  };

  const command = (): Command => {
    const cmd: Command = { t: "command", pos: peekNonSpace().pos, args: [] };
    for (;;) {
      peekNonSpace();
      const op = operand();
      if (op) cmd.args.push(op);
      const t = next();
      if (t.type === "space") continue;
      if (t.type === "rightDelim" || t.type === "rightParen") backup();
      else if (t.type !== "pipe") unexpected(t, "operand");
      break;
    }
    if (cmd.args.length === 0) fail("empty command");
    return cmd;
  };

  const operand = (): Arg | undefined => {
    const node = term();
    if (!node) return undefined;
    if (peek().type === "field") {
      const pos = peek().pos;
      const fields: string[] = [];
      while (peek().type === "field") fields.push(next().val.slice(1));
      switch (node.t) {
        case "field":
          return { t: "field", pos, ident: [...node.ident, ...fields] };
        case "variable":
          return { t: "variable", pos, ident: [...node.ident, ...fields] };
        case "bool": case "string": case "number": case "nil": case "dot":
          return fail(`unexpected . after term ${goQuote(nodeString(node))}`);
        default:
          return { t: "chain", pos, node, field: fields };
      }
    }
    return node;
  };

  const term = (): Arg | undefined => {
    const t = nextNonSpace();
    switch (t.type) {
      case "identifier":
        if (!hasFunction(t.val)) fail(`function ${goQuote(t.val)} not defined`);
        return { t: "identifier", pos: t.pos, ident: t.val };
      case "dot":
        return { t: "dot", pos: t.pos };
      case "nil":
        return { t: "nil", pos: t.pos };
      case "variable": {
        const ident = t.val.split(".");
        if (!vars.includes(ident[0]!)) fail(`undefined variable ${goQuote(ident[0]!)}`);
        return { t: "variable", pos: t.pos, ident };
      }
      case "field":
        return { t: "field", pos: t.pos, ident: [t.val.slice(1)] };
      case "bool":
        return { t: "bool", pos: t.pos, value: t.val === "true" };
      case "charConstant":
      case "number":
        try {
          return parseNumber(t.pos, t.val, t.type === "charConstant");
        } catch (e) {
          return fail((e as Error).message);
        }
      case "leftParen":
        return pipeline("parenthesized pipeline", "rightParen");
      case "string":
      case "rawString":
        try {
          return { t: "string", pos: t.pos, quoted: t.val, text: unquote(t.val) };
        } catch {
          return fail("invalid syntax");
        }
    }
    backup();
    return undefined;
  };

  const templateName = (tok: Item, context: string): string => {
    if (tok.type !== "string" && tok.type !== "rawString") return unexpected(tok, context);
    return unquote(tok.val);
  };

  /** {{define "name"}} … {{end}} at the top level: a tree of its own, with only $ defined. */
  const definition = () => {
    const context = "define clause";
    const tok = nextNonSpace();
    const dname = templateName(tok, context);
    expect("rightDelim", context);
    const saved = vars;
    vars = ["$"];
    try {
      const [body, end] = itemList();
      if (end.t !== "end") fail(`unexpected {{else}} in ${context}`);
      defs.set(dname, body);
    } finally {
      vars = saved;
    }
  };

  const root = list(peek().pos);
  while (peek().type !== "eof") {
    if (peek().type === "leftDelim") {
      const at = i;
      next();
      if (nextNonSpace().type === "define") {
        definition();
        continue;
      }
      i = at;
    }
    const n = textOrAction();
    if (n.t === "end") fail("unexpected {{end}}");
    if (n.t === "else") fail("unexpected {{else}}");
    root.nodes.push(n as Node);
  }
  return { root, defs };
}
