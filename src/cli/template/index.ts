// Go's text/template for berth's --format/-f, written here rather than taken from npm: the
// packages there (@ctrl/golang-template, a regex replacer of `{{.A.B}}`; @mdfriday/text-template,
// unlicensed and without a public repository) cover neither pipelines, range/with/else,
// variables, functions nor Go's error texts, which docker users script against. The engine is
// a lexer (lex.ts), a parser to Go's tree (parse.ts), an executor (exec.ts) over JavaScript values
// standing for Go's (values.ts), Go's and docker's functions (funcs.ts) and Go's tabwriter.
// The CLI loads it lazily, only when a format is given (see src/cli/formatter.ts).
import { execute, type ExecOptions } from "./exec.ts";
import { dockerFuncs, type FuncMap } from "./funcs.ts";
import { parse, TemplateError, type Parsed } from "./parse.ts";

export { TemplateError } from "./parse.ts";
export { goStruct, goMap, goNil, goOmit, GoFloat, formatValue, sprintf, goJson, type GoFunc, type ParamKind } from "./values.ts";
export { builtinFuncs, dockerFuncs, headerFuncs, type FuncMap } from "./funcs.ts";
export { tabwrite } from "./tabwriter.ts";

/** A parsed template: parse once, execute once per item. */
export class Template {
  private constructor(
    readonly text: string,
    readonly name: string,
    private readonly tree: Parsed,
    private readonly funcs: FuncMap,
  ) {}

  /**
   * Parses `text` (Go's template.New(name).Funcs(funcs).Parse(text); docker's functions by
   * default). Throws a TemplateError whose message is Go's, e.g. `template: :1: unclosed action`.
   */
  static parse(text: string, opts: { name?: string; funcs?: FuncMap } = {}): Template {
    const funcs = opts.funcs ?? dockerFuncs();
    const name = opts.name ?? "";
    try {
      return new Template(text, name, parse(text, name, (n) => funcs.has(n)), funcs);
    } catch (e) {
      // The parser recurses per nested (…) and control block; JavaScript's stack ends first.
      if (e instanceof RangeError) throw new TemplateError(`template: ${name}:1: nesting is too deep (berth parses some thousands of nested levels)`, "parse");
      throw e;
    }
  }

  /** Runs the template on `data`; throws a TemplateError (with what was written before it) on failure. */
  execute(data: unknown, opts: ExecOptions & { funcs?: FuncMap } = {}): string {
    const funcs = opts.funcs ?? this.funcs;
    try {
      return execute(this.tree.root, this.text, this.name, funcs, data, opts, this.tree.defs);
    } catch (e) {
      if (e instanceof RangeError) throw new TemplateError(`template: ${this.name}: nesting is too deep to execute`, "exec");
      throw e;
    }
  }
}

/** Parse and execute in one step; errors as Template's. */
export function render(text: string, data: unknown, opts: ExecOptions = {}): string {
  return Template.parse(text).execute(data, opts);
}
