// The overlay snapshotter against the conformance suite, plus what only overlay does.
import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { OverlaySnapshotter, overlaySupported } from "../../src/snapshots/index.ts";
import { volatileOverlays } from "../../src/snapshots/overlay.ts";
import { mountAll, unmountAll } from "../../src/snapshots/mount.ts";
import { isRoot, snapshotterSuite } from "./snapshots-suite.ts";

snapshotterSuite("overlay", (root) => new OverlaySnapshotter({ root }));

describe("overlay specifics", () => {
  test("volatileOverlays: only writable overlays get volatile; binds and read-only views are kept", () => {
    const bind = { type: "bind", source: "/x/fs", options: ["rw", "rbind"] };
    const ro = { type: "overlay", source: "overlay", options: ["ro", "lowerdir=/a:/b"] };
    const rw = { type: "overlay", source: "overlay", options: ["workdir=/nonexistent-bt/work", "upperdir=/u", "lowerdir=/a"] };
    expect(volatileOverlays([bind, ro, rw])).toEqual([bind, ro, { ...rw, options: ["volatile", ...rw.options] }]);
    expect(volatileOverlays(volatileOverlays([rw]))[0]!.options.filter((o) => o === "volatile")).toHaveLength(1);
  });

  test.if(isRoot)("a volatile overlay mounts again on its workdir (the kernel's incompat marker is removed first)", async () => {
    const d = mkdtempSync("/tmp/bt-ovl-vol-");
    const sn = new OverlaySnapshotter({ root: d });
    const target = `${d}/merged`;
    mkdirSync(target);
    try {
      await sn.prepare("base");
      await sn.commit("B", "base");
      await sn.prepare("c", "B");
      for (const round of [1, 2]) {
        mountAll(volatileOverlays(await sn.mounts("c")), target);
        try {
          writeFileSync(`${target}/f${round}`, "x");
          expect(readFileSync("/proc/self/mountinfo", "utf8").split("\n").find((l) => l.includes(target))).toContain("volatile");
        } finally {
          unmountAll(target);
        }
        // The kernel leaves work/incompat/volatile behind: without its removal round 2 fails EINVAL.
        expect(existsSync(`${d}/snapshots/2/work/work/incompat/volatile`)).toBe(true);
      }
      expect(existsSync(`${d}/snapshots/2/fs/f1`) && existsSync(`${d}/snapshots/2/fs/f2`)).toBe(true);
    } finally {
      unmountAll(target);
      await sn.close();
      rmSync(d, { recursive: true, force: true });
    }
  });

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
