// Snapshot GC: what the roots reach (and their ancestors) stays, live unpacks stay, the rest goes
// children first.
import { expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { NativeSnapshotter } from "../../src/snapshots/index.ts";
import { collectSnapshots } from "../../src/snapshots/gc.ts";

test("roots and their ancestors survive; unreferenced chains, dead unpacks go; live unpacks stay", async () => {
  const d = mkdtempSync("/tmp/bt-sngc-");
  const sn = new NativeSnapshotter({ root: d });
  try {
    const commit = async (name: string, parent?: string) => {
      const m = await sn.prepare(`${name}-active`, parent);
      writeFileSync(`${m[0]!.source}/${name}`, name.repeat(1000));
      await sn.commit(name, `${name}-active`);
    };
    await commit("a");
    await commit("b", "a");
    await commit("c", "b");
    await commit("d", "a"); // another image's top layer, no longer used
    await commit("e", "d");
    await sn.prepare("container-x", "b");
    await sn.prepare(`extract-999999999-1-x c2`, "c"); // its process is gone
    await sn.prepare(`extract-${process.pid}-1-y c3`, "c"); // this process: in progress
    const r = await collectSnapshots(sn, ["c", "container-x", "not-a-snapshot"]);
    expect(r.removed).toEqual(["extract-999999999-1-x c2", "e", "d"]);
    expect(r.reclaimed).toBeGreaterThan(0);
    const left: string[] = [];
    await sn.walk((i) => void left.push(i.name));
    expect(left.sort()).toEqual(["a", "b", "c", "container-x", `extract-${process.pid}-1-y c3`]);
    // No roots: the live unpack still holds its parents; the container's snapshot goes.
    expect((await collectSnapshots(sn, [])).removed).toEqual(["container-x"]);
    await sn.remove(`extract-${process.pid}-1-y c3`);
    expect((await collectSnapshots(sn, [])).removed).toEqual(["c", "b", "a"]);
  } finally {
    await sn.close();
    rmSync(d, { recursive: true, force: true });
  }
});
