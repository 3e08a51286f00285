import { expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";

// The module keeps a process-wide mode: each case loads its own copy.
const fresh = async () => (await import(`../../src/sys/remove-tree.ts?copy=${Math.random()}`)) as typeof import("../../src/sys/remove-tree.ts");

function tree(): { dir: string; outside: string } {
  const base = mkdtempSync("/tmp/bt-remove-tree-");
  const dir = join(base, "layer");
  mkdirSync(join(dir, "a/b/c"), { recursive: true });
  for (let i = 0; i < 50; i++) writeFileSync(join(dir, "a/b", `f${i}`), "x");
  const outside = join(base, "keep");
  writeFileSync(outside, "not in the tree");
  symlinkSync(outside, join(dir, "a/link")); // removed as a link, its target kept
  return { dir, outside };
}

for (const mode of ["one-shot (synchronous)", "long-lived (thread pool)"]) {
  test(`removeTree removes the whole tree and nothing outside it, ${mode}`, async () => {
    const m = await fresh();
    if (mode.startsWith("long")) m.longLived();
    const { dir, outside } = tree();
    try {
      await m.removeTree(dir);
      expect(existsSync(dir)).toBe(false);
      expect(existsSync(outside)).toBe(true);
      await m.removeTree(dir); // already gone: no error
    } finally {
      rmSync(join(dir, ".."), { recursive: true, force: true });
    }
  });
}
