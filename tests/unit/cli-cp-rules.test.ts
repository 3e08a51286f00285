// docker cp's path rules as data, and the Docker API's path-stat header.
import { describe, expect, test } from "bun:test";
import { lstatSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { planCopy, rebaseName, sourceBase, splitCpArg, splitDirEntry } from "../../src/cli/cp-rules.ts";
import { goFileMode, pathStatHeader } from "../../src/engine/archive.ts";

describe("cp arguments", () => {
  test("container:path, local paths (absolute and ./ ones may hold a colon), -", () => {
    expect(splitCpArg("c1:/etc/hosts")).toEqual({ container: "c1", path: "/etc/hosts" });
    expect(splitCpArg("c1:relative")).toEqual({ container: "c1", path: "relative" });
    expect(splitCpArg("/tmp/a:b")).toEqual({ path: "/tmp/a:b" });
    expect(splitCpArg("./a:b")).toEqual({ path: "./a:b" });
    expect(splitCpArg("file")).toEqual({ path: "file" });
    expect(splitCpArg("-")).toEqual({ path: "-" });
    expect(splitCpArg("c1:")).toEqual({ container: "c1", path: "" });
  });
  test("split and base names", () => {
    expect(splitDirEntry("/a/b/")).toEqual(["/a", "b"]);
    expect(splitDirEntry("/x")).toEqual(["/", "x"]);
    expect(splitDirEntry("x")).toEqual([".", "x"]);
    expect([sourceBase("/d/."), sourceBase("d/."), sourceBase("/"), sourceBase("/d/"), sourceBase("/d/a")]).toEqual([".", ".", ".", "d", "a"]);
  });
});

describe("docker cp's rules (PrepareArchiveCopy)", () => {
  const file = { path: "/src/f", isDir: false };
  const dir = { path: "/src/d", isDir: true };
  const contents = { path: "/src/d/.", isDir: true };
  test("a file: into a directory, onto a new name, onto a file; a missing dir/ is an error", () => {
    expect(planCopy(file, { path: "/dst", exists: true, isDir: true })).toEqual({ ok: true, dir: "/dst", from: "f", to: "f" });
    expect(planCopy(file, { path: "/dst/new", exists: false, isDir: false })).toEqual({ ok: true, dir: "/dst", from: "f", to: "new" });
    expect(planCopy(file, { path: "/dst/old", exists: true, isDir: false })).toEqual({ ok: true, dir: "/dst", from: "f", to: "old" });
    expect(planCopy(file, { path: "/dst/nodir/", exists: false, isDir: false })).toEqual({ ok: false, error: "no such directory" });
  });
  test("a directory: created when missing, into an existing one, never onto a file; /. gives its contents", () => {
    expect(planCopy(dir, { path: "/dst/new", exists: false, isDir: false })).toEqual({ ok: true, dir: "/dst", from: "d", to: "new" });
    expect(planCopy(dir, { path: "/dst/new/", exists: false, isDir: false })).toEqual({ ok: true, dir: "/dst", from: "d", to: "new" });
    expect(planCopy(dir, { path: "/dst", exists: true, isDir: true })).toEqual({ ok: true, dir: "/dst", from: "d", to: "d" });
    expect(planCopy(dir, { path: "/dst/f", exists: true, isDir: false })).toEqual({ ok: false, error: "cannot copy directory" });
    expect(planCopy(contents, { path: "/dst", exists: true, isDir: true })).toEqual({ ok: true, dir: "/dst", from: ".", to: "." });
    expect(planCopy(contents, { path: "/dst/new", exists: false, isDir: false })).toEqual({ ok: true, dir: "/dst", from: ".", to: "new" });
  });
  test("-L: a link's target copied into a directory keeps the link's name", () => {
    expect(planCopy({ path: "/etc", isDir: true, rebaseName: "etclink" }, { path: "/dst", exists: true, isDir: true })).toEqual({ ok: true, dir: "/dst", from: "etc", to: "etclink" });
  });
  test("entry names follow the rename", () => {
    expect(["d/", "d/x", "d/sub/y", "dd/z"].map((n) => rebaseName(n, "d", "new"))).toEqual(["new/", "new/x", "new/sub/y", "dd/z"]);
    expect(["./", "./x", "./sub/y"].map((n) => rebaseName(n, ".", "new"))).toEqual(["new", "new/x", "new/sub/y"]);
    expect(["./", "./x"].map((n) => rebaseName(n, ".", "."))).toEqual(["./", "x"]);
    expect(rebaseName("f", "f", "renamed")).toBe("renamed");
  });
});

describe("path stat (X-Docker-Container-Path-Stat)", () => {
  test("Go's FileMode bits and the base64 JSON header", () => {
    const dir = mkdtempSync("/tmp/bt-cpstat-");
    try {
      symlinkSync("target", join(dir, "l"));
      expect(goFileMode(lstatSync(dir)) >>> 0).toBe(((1 << 31) | 0o700) >>> 0);
      expect(goFileMode(lstatSync(join(dir, "l")))).toBe((1 << 27) | 0o777);
      expect(goFileMode(lstatSync("/dev/null"))).toBe((1 << 26) | (1 << 21) | 0o666);
      const h = pathStatHeader({ name: "hosts", size: 13, mode: 420, mtime: new Date("2026-12-02T10:00:00.500Z"), linkTarget: "" });
      expect(JSON.parse(Buffer.from(h, "base64").toString())).toEqual({ name: "hosts", size: 13, mode: 420, mtime: "2026-12-02T10:00:00.5Z", linkTarget: "" });
    } finally {
      rmSync(dir, { recursive: true });
    }
  });
});
