// berth's template engine against Go's own text/template: tests/unit/go-template/corpus.json holds
// what Go printed (or its error) for each template of cases.json on one inspect-like document
// (gen.go, run with Debian 12's Go 1.19; see its header to regenerate). Where Go changed after
// 1.19, berth follows the Go that docker 28 is built with (1.24), listed in NEWER_GO.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { GoFloat, goMap, goStruct, render, TemplateError } from "../../src/cli/template/index.ts";

const dir = join(import.meta.dir, "go-template");
/**
 * JSON read as gen.go reads it: a number written with a fraction or an exponent is a float64
 * even when integral (1000000.0), which a JavaScript number cannot tell, so it becomes a GoFloat.
 */
function parseGoJson(text: string): unknown {
  let out = "";
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '"') {
      const m = /^"(?:[^"\\]|\\.)*"/.exec(text.slice(i))![0];
      out += m;
      i += m.length - 1;
    } else if (/[-0-9]/.test(c)) {
      const m = /^-?\d+(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i))![0];
      out += /[.eE]/.test(m) ? `{"$float":${m}}` : m;
      i += m.length - 1;
    } else out += c;
  }
  return JSON.parse(out, (_k, v: unknown) => {
    if (v !== null && typeof v === "object" && "$float" in v) {
      const f = (v as { $float: number }).$float;
      return Number.isInteger(f) ? new GoFloat(f) : f;
    }
    return v;
  });
}

type Case = { name: string; template: string; missingkey?: string; nodata?: boolean; row?: boolean };
const input = parseGoJson(readFileSync(join(dir, "cases.json"), "utf8")) as { data: unknown; cases: Case[] };
const corpus = JSON.parse(readFileSync(join(dir, "corpus.json"), "utf8")) as (Case & { out?: string; error?: string })[];

/** gen.go's newRow(): a *main.Row with a Label method, as docker's formatter contexts are. */
function row(): unknown {
  const labels = goMap({ "a.b-c_d": "x", tier: "front" }, "map[string]string");
  return goStruct(
    { Names: "web", Size: 3, Ratio: 0.5, Tags: ["a", "b"], Labels: labels, Inner: goStruct({ A: "x" }, "main.Inner"), Nil: null },
    "*main.Row",
    { Label: { fn: (n: string) => (labels as Record<string, string>)[n] ?? "", params: ["string"] } },
  );
}

/**
 * Go 1.22 ranges over an integer (text/template "range over int"); Go 1.20's lexer fails on a
 * stray ")" itself (the text docker 28's CLI prints, checked in tests/integration/cli-format.test.ts).
 */
const NEWER_GO: Record<string, { out?: string; error?: string }> = {};
for (const c of corpus) {
  if (c.template === "{{range .Size}}{{end}}") NEWER_GO[c.name] = { out: "" };
  if (c.template === "{{.A)}}") NEWER_GO[c.name] = { error: "template: :1: unexpected right paren" };
}

describe("the same output or error as Go's text/template", () => {
  test("the corpus was generated from these cases", () => {
    expect(corpus.map((c) => c.template)).toEqual(input.cases.map((c) => c.template));
  });
  test.each(corpus.map((c) => [c.name, c] as const))("%s", (_name, c) => {
    const want = NEWER_GO[c.name] ?? c;
    let got: { out?: string; error?: string };
    try {
      got = { out: render(c.template, c.row ? row() : c.nodata ? undefined : input.data, { missingKeyError: c.missingkey === "error" }) };
    } catch (e) {
      if (!(e instanceof TemplateError)) throw e;
      got = { error: e.message };
    }
    expect({ template: c.template, ...got }).toEqual({ template: c.template, ...(want.error !== undefined ? { error: want.error } : { out: want.out }) });
  });
});
