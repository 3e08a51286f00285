// One conformance suite every snapshotter passes (in the spirit of containerd's
// core/snapshots/testsuite): lifecycle rules, errors, labels, usage, walk, and the mounts
// themselves — mounted for real (needs root), checked, unmounted. Every mount a test makes is
// recorded and removed in afterEach, and a final scan of /proc/self/mountinfo proves it.

import { afterAll, afterEach, beforeEach, describe, expect, test } from "bun:test";
import {
  chmodSync, chownSync, existsSync, linkSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync,
  rmSync, statSync, symlinkSync, unlinkSync, utimesSync, writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { isBerthError } from "../../src/sys/errdefs.ts";
import { lgetxattr, lsetxattr } from "../../src/image/fs-ops.ts";
import { mountAll, unmountAll, type Mount, type Snapshotter } from "../../src/snapshots/index.ts";
import { mountsUnder } from "../helpers/leftovers.ts";

export const isRoot = process.getuid?.() === 0;

async function expectCode(p: Promise<unknown>, code: string, mentions?: string): Promise<void> {
  let err: unknown;
  try {
    await p;
  } catch (e) {
    err = e;
  }
  expect(err).toBeDefined();
  if (!isBerthError(err)) throw err;
  expect(err.code).toBe(code as never);
  if (mentions) expect(err.message).toContain(mentions);
}

export function snapshotterSuite(name: string, make: (root: string) => Snapshotter): void {
  describe(`snapshotter conformance: ${name}`, () => {
    let tmp = "";
    let sn: Snapshotter;
    let mounted: string[] = [];
    const suiteDirs: string[] = [];

    beforeEach(() => {
      tmp = mkdtempSync(`/tmp/bt-snap-${name}-`);
      suiteDirs.push(tmp);
      sn = make(join(tmp, "root"));
      mounted = [];
    });

    afterEach(async () => {
      for (const t of mounted.reverse()) {
        try {
          unmountAll(t, { detach: true });
        } catch {}
      }
      await sn.close();
      expect(mountsUnder(tmp)).toEqual([]);
      rmSync(tmp, { recursive: true, force: true });
    });

    afterAll(() => {
      // Belt and braces: nothing of ours may stay mounted even if a test died mid-way.
      for (const d of suiteDirs) {
        for (const m of mountsUnder(d)) unmountAll(m, { detach: true });
        rmSync(d, { recursive: true, force: true });
      }
    });

    let n = 0;
    /** Mount `mounts` on a fresh directory; unmounted by afterEach at the latest. */
    function mount(mounts: Mount[]): string {
      const target = join(tmp, `mnt-${n++}`);
      mkdirSync(target);
      mounted.push(target);
      mountAll(mounts, target);
      return target;
    }
    function umount(target: string): void {
      unmountAll(target);
      mounted = mounted.filter((t) => t !== target);
    }
    /** prepare → mount → fill → unmount → commit: one layer. */
    async function layer(committed: string, parent: string | undefined, fill: (dir: string) => void): Promise<void> {
      const key = `${committed}-active`;
      const t = mount(await sn.prepare(key, parent));
      try {
        fill(t);
      } finally {
        umount(t);
      }
      await sn.commit(committed, key);
    }

    describe("lifecycle", () => {
      test("prepare → active; commit → committed under the new name, the key is gone", async () => {
        const mounts = await sn.prepare("a-active", undefined, { labels: { l: "1" } });
        expect(mounts.length).toBeGreaterThan(0);
        const info = await sn.stat("a-active");
        expect(info.kind).toBe("active");
        expect(info.name).toBe("a-active");
        expect(info.parent).toBeUndefined();
        expect(info.labels).toEqual({ l: "1" });
        await sn.commit("a", "a-active");
        const c = await sn.stat("a");
        expect(c.kind).toBe("committed");
        expect(c.labels).toEqual({ l: "1" });
        await expectCode(sn.stat("a-active"), "NotFound", "a-active");
        await sn.prepare("b-active", "a");
        expect((await sn.stat("b-active")).parent).toBe("a");
        await sn.commit("b", "b-active", { labels: { at: "commit" } });
        expect((await sn.stat("b")).labels).toEqual({ at: "commit" });
        expect((await sn.stat("b")).parent).toBe("a");
      });

      test("keys are unique across kinds", async () => {
        await sn.prepare("k");
        await expectCode(sn.prepare("k"), "AlreadyExists", "\"k\"");
        await expectCode(sn.view("k"), "AlreadyExists");
        await sn.commit("c", "k");
        await expectCode(sn.prepare("c"), "AlreadyExists");
        await sn.prepare("k2");
        await expectCode(sn.commit("c", "k2"), "AlreadyExists", "\"c\"");
        await expectCode(sn.prepare(""), "InvalidArgument");
      });

      test("parents must exist and be committed", async () => {
        await expectCode(sn.prepare("x", "nope"), "NotFound", "nope");
        await sn.prepare("act");
        await expectCode(sn.prepare("x", "act"), "InvalidArgument", "act");
        await sn.view("v");
        await expectCode(sn.view("x", "v"), "InvalidArgument", "view");
        expect((await collect(sn)).map((i) => i.name).sort()).toEqual(["act", "v"]);
      });

      test("only active snapshots commit; committed snapshots have no mounts", async () => {
        await sn.view("v");
        await expectCode(sn.commit("x", "v"), "FailedPrecondition", "view");
        await expectCode(sn.commit("x", "missing"), "NotFound", "missing");
        await sn.prepare("a");
        await sn.commit("c", "a");
        await expectCode(sn.commit("d", "c"), "FailedPrecondition", "committed");
        await expectCode(sn.mounts("c"), "FailedPrecondition", "committed");
        await expectCode(sn.mounts("missing"), "NotFound");
        expect(await sn.mounts("v")).toEqual(await sn.mounts("v"));
      });

      test("remove: not while children exist; then in order; the directories go too", async () => {
        await layer("base", undefined, (d) => writeFileSync(join(d, "f"), "x"));
        await sn.prepare("child", "base");
        await sn.view("look", "base");
        await expectCode(sn.remove("base"), "FailedPrecondition", "base");
        await sn.remove("child");
        await expectCode(sn.remove("base"), "FailedPrecondition", "look");
        await sn.remove("look");
        await sn.remove("base");
        await expectCode(sn.remove("base"), "NotFound");
        expect(await collect(sn)).toEqual([]);
        expect(readdirSync(join(tmp, "root", "snapshots"))).toEqual([]);
      });

      test("a removed intermediate name can be reused only once it is gone", async () => {
        await layer("l1", undefined, () => {});
        await layer("l2", "l1", () => {});
        await expectCode(sn.remove("l1"), "FailedPrecondition");
        await sn.remove("l2");
        await sn.remove("l1");
        await layer("l1", undefined, () => {});
        expect((await sn.stat("l1")).kind).toBe("committed");
      });

      test("records survive reopening the snapshotter; operations after close fail", async () => {
        await layer("kept", undefined, (d) => writeFileSync(join(d, "f"), "persisted"));
        await sn.prepare("open", "kept");
        await sn.close();
        await sn.close(); // twice is fine
        await expectCode(sn.stat("kept"), "FailedPrecondition", "closed");
        sn = make(join(tmp, "root"));
        expect((await sn.stat("kept")).kind).toBe("committed");
        expect((await sn.stat("open")).parent).toBe("kept");
        if (isRoot) {
          const t = mount(await sn.mounts("open"));
          expect(readFileSync(join(t, "f"), "utf8")).toBe("persisted");
          umount(t);
        }
      });

      test("concurrent prepares of one key: exactly one wins", async () => {
        const results = await Promise.allSettled([sn.prepare("race"), sn.prepare("race"), sn.prepare("race")]);
        expect(results.filter((r) => r.status === "fulfilled").length).toBe(1);
        for (const r of results) if (r.status === "rejected") expect(isBerthError(r.reason, "AlreadyExists")).toBe(true);
        expect(readdirSync(join(tmp, "root", "snapshots")).length).toBe(1);
      });

      test("cleanup removes directories no record points at", async () => {
        await sn.prepare("real");
        mkdirSync(join(tmp, "root", "snapshots", "99999"));
        mkdirSync(join(tmp, "root", "staging", "new-leftover"));
        await sn.cleanup();
        expect(readdirSync(join(tmp, "root", "snapshots")).length).toBe(1);
        expect(readdirSync(join(tmp, "root", "staging"))).toEqual([]);
        expect((await sn.stat("real")).kind).toBe("active");
      });
    });

    describe("labels, stat, walk", () => {
      test("update changes labels only, by fieldpath", async () => {
        await sn.prepare("s", undefined, { labels: { a: "1", b: "2" } });
        const before = await sn.stat("s");
        const u1 = await sn.update({ name: "s", labels: { c: "3" } });
        expect(u1.labels).toEqual({ c: "3" });
        const u2 = await sn.update({ name: "s", labels: { d: "4" } }, ["labels.d", "labels.c"]);
        expect(u2.labels).toEqual({ d: "4" });
        expect(u2.created.getTime()).toBe(before.created.getTime());
        expect(u2.updated.getTime()).toBeGreaterThan(before.updated.getTime());
        await expectCode(sn.update({ name: "s" }, ["parent"]), "InvalidArgument", "parent");
        await expectCode(sn.update({ name: "nope", labels: {} }), "NotFound");
        expect(u2.kind).toBe("active");
      });

      test("walk visits every snapshot, oldest first, with filters; infos match stat", async () => {
        await layer("c1", undefined, () => {});
        await sn.prepare("a1", "c1", { labels: { role: "container" } });
        await sn.view("v1", "c1");
        const all = await collect(sn);
        expect(all.map((i) => [i.name, i.kind, i.parent ?? ""])).toEqual([
          ["c1", "committed", ""],
          ["a1", "active", "c1"],
          ["v1", "view", "c1"],
        ]);
        for (const i of all) expect(await sn.stat(i.name)).toEqual(i);
        expect((await collect(sn, (i) => i.kind === "committed")).map((i) => i.name)).toEqual(["c1"]);
        expect((await collect(sn, (i) => i.labels.role === "container")).map((i) => i.name)).toEqual(["a1"]);
      });
    });

    describe.if(isRoot)("mounts (mounted for real)", () => {
      test("a 3-layer chain with whiteouts and an opaque directory reads back right", async () => {
        await layer("L1", undefined, (d) => {
          writeFileSync(join(d, "a"), "a1");
          writeFileSync(join(d, "b"), "b1");
          mkdirSync(join(d, "dir"));
          writeFileSync(join(d, "dir", "x"), "x1");
          writeFileSync(join(d, "dir", "y"), "y1");
          mkdirSync(join(d, "gone"));
          writeFileSync(join(d, "gone", "z"), "z1");
        });
        await layer("L2", "L1", (d) => {
          expect(readFileSync(join(d, "a"), "utf8")).toBe("a1");
          writeFileSync(join(d, "a"), "a2");
          unlinkSync(join(d, "b")); // a whiteout
          writeFileSync(join(d, "c"), "c2");
          rmSync(join(d, "gone"), { recursive: true });
        });
        await layer("L3", "L2", (d) => {
          expect(existsSync(join(d, "b"))).toBe(false);
          rmSync(join(d, "dir"), { recursive: true });
          mkdirSync(join(d, "dir")); // now opaque: x and y must not come back
          writeFileSync(join(d, "dir", "new"), "n3");
          writeFileSync(join(d, "e"), "e3");
        });
        const check = (t: string) => {
          expect(readdirSync(t).sort()).toEqual(["a", "c", "dir", "e"]);
          expect(readFileSync(join(t, "a"), "utf8")).toBe("a2");
          expect(readFileSync(join(t, "c"), "utf8")).toBe("c2");
          expect(readFileSync(join(t, "e"), "utf8")).toBe("e3");
          expect(readdirSync(join(t, "dir"))).toEqual(["new"]);
        };
        const v = mount(await sn.view("top-view", "L3"));
        check(v);
        const w = mount(await sn.prepare("top-rw", "L3"));
        check(w);
        writeFileSync(join(w, "a"), "mine");
        // The container's write stays its own: the committed layers and the view are unchanged.
        expect(readFileSync(join(v, "a"), "utf8")).toBe("a2");
        umount(w);
        umount(v);
        const mid = mount(await sn.view("mid-view", "L2"));
        expect(readdirSync(mid).sort()).toEqual(["a", "c", "dir"]);
        expect(readdirSync(join(mid, "dir")).sort()).toEqual(["x", "y"]);
        umount(mid);
        const low = mount(await sn.view("low-view", "L1"));
        expect(readFileSync(join(low, "b"), "utf8")).toBe("b1");
        umount(low);
      });

      test("views are read-only with 0, 1 and 2 parents", async () => {
        await layer("p1", undefined, (d) => writeFileSync(join(d, "one"), "1"));
        await layer("p2", "p1", (d) => writeFileSync(join(d, "two"), "2"));
        for (const [key, parent] of [["v0", undefined], ["v1", "p1"], ["v2", "p2"]] as const) {
          const t = mount(await sn.view(key, parent));
          let code = "";
          try {
            writeFileSync(join(t, "new"), "x");
          } catch (e) {
            code = (e as { code?: string }).code ?? "";
          }
          expect(`${key}: ${code}`).toBe(`${key}: EROFS`);
          if (parent === "p2") expect(readFileSync(join(t, "one"), "utf8")).toBe("1");
          umount(t);
        }
      });

      test("modes, owners, xattrs, hard links, symlinks and mtimes carry through layers", async () => {
        await layer("meta", undefined, (d) => {
          writeFileSync(join(d, "suid"), "#!/bin/sh\n");
          chmodSync(join(d, "suid"), 0o4755);
          mkdirSync(join(d, "sticky"));
          chmodSync(join(d, "sticky"), 0o1777);
          writeFileSync(join(d, "owned"), "o");
          chownSync(join(d, "owned"), 1234, 5678);
          writeFileSync(join(d, "xa"), "x");
          lsetxattr(join(d, "xa"), "user.berth", new TextEncoder().encode("value"));
          writeFileSync(join(d, "h1"), "shared");
          linkSync(join(d, "h1"), join(d, "h2"));
          symlinkSync("../target/elsewhere", join(d, "link"));
          writeFileSync(join(d, "old"), "t");
          utimesSync(join(d, "old"), 1_000_000, 1_000_000);
        });
        // A child layer that touches nothing, then the container on top.
        await layer("meta2", "meta", (d) => writeFileSync(join(d, "unrelated"), "u"));
        const t = mount(await sn.prepare("c", "meta2"));
        expect(statSync(join(t, "suid")).mode & 0o7777).toBe(0o4755);
        expect(statSync(join(t, "sticky")).mode & 0o7777).toBe(0o1777);
        const o = statSync(join(t, "owned"));
        expect([o.uid, o.gid]).toEqual([1234, 5678]);
        expect(new TextDecoder().decode(lgetxattr(join(t, "xa"), "user.berth"))).toBe("value");
        expect(statSync(join(t, "h1")).ino).toBe(statSync(join(t, "h2")).ino);
        expect(statSync(join(t, "h1")).nlink).toBe(2);
        expect(readlinkSync(join(t, "link"))).toBe("../target/elsewhere");
        expect(lstatSync(join(t, "old")).mtimeMs).toBe(1_000_000_000);
        umount(t);
      });

      test("the root directory keeps its layer's mode and owner", async () => {
        await layer("r", undefined, (d) => {
          chmodSync(d, 0o750);
          chownSync(d, 42, 43);
        });
        const t = mount(await sn.prepare("rc", "r"));
        const st = statSync(t);
        expect([st.mode & 0o7777, st.uid, st.gid]).toEqual([0o750, 42, 43]);
        umount(t);
      });

      test("130 layers stack (beyond one page of overlay options)", async () => {
        let parent: string | undefined;
        for (let i = 0; i < 130; i++) {
          const name: string = `layer-${i}`;
          await layer(name, parent, (d) => writeFileSync(join(d, `f${i}`), String(i)));
          parent = name;
        }
        const t = mount(await sn.view("tall", parent));
        expect(readdirSync(t).length).toBe(130);
        expect(readFileSync(join(t, "f0"), "utf8")).toBe("0");
        expect(readFileSync(join(t, "f129"), "utf8")).toBe("129");
        umount(t);
      }, 120_000);

      test("usage: grows with writes; committed usage is what commit measured", async () => {
        const t = mount(await sn.prepare("u"));
        const empty = await sn.usage("u");
        expect(empty.inodes).toBeGreaterThanOrEqual(1);
        writeFileSync(join(t, "big"), new Uint8Array(1 << 20).fill(7));
        writeFileSync(join(t, "small"), "s");
        linkSync(join(t, "big"), join(t, "big-link")); // counted once
        const full = await sn.usage("u");
        expect(full.size - empty.size).toBeGreaterThanOrEqual(1 << 20);
        expect(full.size - empty.size).toBeLessThan(2 << 20);
        expect(full.inodes - empty.inodes).toBe(2);
        umount(t);
        await sn.commit("uc", "u");
        expect(await sn.usage("uc")).toEqual(full);
        await expectCode(sn.usage("u"), "NotFound");
        const t2 = mount(await sn.prepare("u2", "uc"));
        const before = await sn.usage("u2");
        writeFileSync(join(t2, "more"), new Uint8Array(2 << 20).fill(1));
        const after = await sn.usage("u2");
        expect(after.size - before.size).toBeGreaterThanOrEqual(2 << 20);
        umount(t2);
      });
    });
  });
}

async function collect(sn: Snapshotter, filter?: (i: Awaited<ReturnType<Snapshotter["stat"]>>) => boolean) {
  const out: Awaited<ReturnType<Snapshotter["stat"]>>[] = [];
  await sn.walk((i) => void out.push(i), filter);
  return out;
}
