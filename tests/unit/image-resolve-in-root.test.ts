// One resolver for the unpacker and for reading an image's files: links stay inside the root.
import { expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { resolveInRoot } from "../../src/image/resolve-in-root.ts";

test("links are followed inside the root; missing, loops and files-as-directories are undefined; create makes directories", () => {
  const root = mkdtempSync("/tmp/bt-resolve-");
  try {
    mkdirSync(join(root, "etc"));
    writeFileSync(join(root, "etc/passwd"), "root:x:0:0::/:/bin/sh\n");
    symlinkSync("/etc", join(root, "abs"));
    symlinkSync("../../../../etc", join(root, "up"));
    symlinkSync("loop2", join(root, "loop1"));
    symlinkSync("loop1", join(root, "loop2"));
    expect(resolveInRoot(root, "/abs/passwd")).toBe(join(root, "etc/passwd"));
    expect(resolveInRoot(root, ["up", "passwd"])).toBe(join(root, "etc/passwd"));
    expect(resolveInRoot(root, "/../../etc/./passwd")).toBe(join(root, "etc/passwd"));
    expect(resolveInRoot(root, "/nope/x")).toBeUndefined();
    expect(resolveInRoot(root, "/loop1/x")).toBeUndefined();
    expect(resolveInRoot(root, "/etc/passwd/x")).toBeUndefined();
    expect(resolveInRoot(root, ["abs", "new", "deeper"], { create: true })).toBe(join(root, "etc/new/deeper"));
    expect(existsSync(join(root, "etc/new/deeper"))).toBe(true);
    expect(() => resolveInRoot(root, ["etc", "passwd", "x"], { create: true })).toThrow(/etc\/passwd is not a directory/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
