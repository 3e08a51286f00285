// The overlay snapshotter against the conformance suite, plus what only overlay does.
import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { OverlaySnapshotter, overlaySupported } from "../../src/snapshots/index.ts";
import { isRoot, snapshotterSuite } from "./snapshots-suite.ts";

snapshotterSuite("overlay", (root) => new OverlaySnapshotter({ root }));

describe("overlay specifics", () => {
  test.if(isRoot)("overlaySupported says yes on this machine's /tmp", async () => {
    const d = mkdtempSync("/tmp/bt-ovl-check-");
    try {
      expect(await overlaySupported(d)).toEqual({ ok: true });
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });

  test("mount descriptions: bind for a base, overlay with nearest lower first", async () => {
    const d = mkdtempSync("/tmp/bt-ovl-desc-");
    const sn = new OverlaySnapshotter({ root: d });
    try {
      const base = await sn.prepare("b");
      expect(base).toEqual([{ type: "bind", source: `${d}/snapshots/1/fs`, options: ["rw", "rbind"] }]);
      await sn.commit("B", "b");
      await sn.prepare("c");
      await sn.commit("C", "c");
      expect(await sn.view("v1", "B")).toEqual([{ type: "bind", source: `${d}/snapshots/1/fs`, options: ["ro", "rbind"] }]);
      await sn.prepare("x", "B");
      await sn.commit("X", "x");
      const [m] = await sn.prepare("top", "X");
      expect(m!.type).toBe("overlay");
      expect(m!.options).toContain(`upperdir=${d}/snapshots/5/fs`);
      expect(m!.options).toContain(`workdir=${d}/snapshots/5/work`);
      expect(m!.options).toContain(`lowerdir=${d}/snapshots/4/fs:${d}/snapshots/1/fs`);
      const [v] = await sn.view("v2", "X");
      expect(v!.options).toContain("ro");
      expect(v!.options.some((o) => o.startsWith("upperdir="))).toBe(false);
    } finally {
      await sn.close();
      rmSync(d, { recursive: true, force: true });
    }
  });
});
