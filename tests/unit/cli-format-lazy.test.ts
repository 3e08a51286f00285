// The template engine is loaded only when a --format/-f is given: no module the CLI evaluates on
// its way to running a verb imports it statically. Start-up is measured (bench/); this keeps the
// engine out of it. Static `import … from` and `export … from` count; `import type` and dynamic
// `import()`/`require()` do not.
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const SRC = resolve(import.meta.dir, "../../src");
const LAZY = [join(SRC, "cli/template"), join(SRC, "cli/formatter.ts")];

function staticImports(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const out: string[] = [];
  for (const m of text.matchAll(/^\s*(?:import|export)\s+(?!type\b)(?:[^'"`;]*?\sfrom\s+)?["']([^"']+)["']/gm)) {
    const spec = m[1]!;
    if (!spec.startsWith(".")) continue;
    const p = resolve(dirname(file), spec);
    if (existsSync(p)) out.push(p);
  }
  return out;
}

function closure(entry: string): Set<string> {
  const seen = new Set<string>();
  const todo = [entry];
  while (todo.length) {
    const f = todo.pop()!;
    if (seen.has(f)) continue;
    seen.add(f);
    todo.push(...staticImports(f));
  }
  return seen;
}

describe("the template engine stays out of the CLI's start", () => {
  const entries = [join(SRC, "cli/main.ts"), ...readdirSync(join(SRC, "cli/commands")).filter((n) => n.endsWith(".ts")).map((n) => join(SRC, "cli/commands", n))];
  test.each(entries.map((e) => [relative(SRC, e), e]))("%s", (_name, entry) => {
    const loaded = [...closure(entry)].filter((f) => LAZY.some((l) => f === l || f.startsWith(`${l}/`)));
    expect(loaded.map((f) => relative(SRC, f))).toEqual([]);
  });
  test("the check sees a static import (the engine imports its own parts)", () => {
    expect([...closure(join(SRC, "cli/formatter.ts"))].map((f) => relative(SRC, f))).toContain("cli/template/index.ts");
  });
});
