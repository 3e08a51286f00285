// The copying snapshotter against the conformance suite, plus what only it does.
import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { Database } from "bun:sqlite";
import { MetadataDB } from "../../src/metadata/index.ts";
import { NativeSnapshotter, OverlaySnapshotter } from "../../src/snapshots/index.ts";
import { snapshotterSuite } from "./snapshots-suite.ts";

async function collectNames(sn: NativeSnapshotter): Promise<string[]> {
  const names: string[] = [];
  await sn.walk((i) => void names.push(i.name));
  return names;
}

snapshotterSuite("native", (root) => new NativeSnapshotter({ root }));

describe("native specifics", () => {
  test("every mount is a bind of the snapshot's own copy", async () => {
    const d = mkdtempSync("/tmp/bt-native-desc-");
    const sn = new NativeSnapshotter({ root: d });
    try {
      expect(await sn.prepare("a")).toEqual([{ type: "bind", source: `${d}/snapshots/1/fs`, options: ["rw", "rbind"] }]);
      await sn.commit("A", "a");
      expect(await sn.view("v", "A")).toEqual([{ type: "bind", source: `${d}/snapshots/2/fs`, options: ["ro", "rbind"] }]);
    } finally {
      await sn.close();
      rmSync(d, { recursive: true, force: true });
    }
  });

  test("records can live in the engine's meta.db beside other snapshotters", async () => {
    const d = mkdtempSync("/tmp/bt-native-db-");
    const meta = new MetadataDB(`${d}/meta.db`);
    try {
      const native = new NativeSnapshotter({ root: `${d}/native`, db: meta.db });
      const overlay = new OverlaySnapshotter({ root: `${d}/overlay`, db: meta.db });
      await native.prepare("same-key");
      await overlay.prepare("same-key");
      await native.commit("n", "same-key");
      expect((await overlay.stat("same-key")).kind).toBe("active");
      expect((await native.stat("n")).kind).toBe("committed");
      await native.close();
      await overlay.close();
      // The engine's database is still open and usable: the snapshotters did not close it.
      expect(meta.listNamespaces()).toEqual([]);
      // A scope belongs to one root: the same scope elsewhere is refused, another scope is fine.
      let refused = "";
      try {
        new NativeSnapshotter({ root: `${d}/native-elsewhere`, db: meta.db });
      } catch (e) {
        refused = (e as Error).message;
      }
      expect(refused).toContain(`belong to ${d}/native`);
      const second = new NativeSnapshotter({ root: `${d}/native-elsewhere`, db: meta.db, scope: "native-2" });
      expect(await collectNames(second)).toEqual([]);
      await second.close();
      const other = new Database(`${d}/meta.db`);
      expect((other.query("SELECT count(*) AS n FROM local_snapshots").get() as { n: number }).n).toBe(2);
      other.close();
    } finally {
      meta.close();
      rmSync(d, { recursive: true, force: true });
    }
  });
});
