import { expect, test } from "bun:test";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LocalContentStore } from "../../src/content/index.ts";
import { contentStoreSuite } from "./content-suite.ts";

contentStoreSuite("LocalContentStore", (root) => new LocalContentStore(root));

// berthd loads its CRI front as a bundle of its own (build/berth-cri.js), so one process holds two
// copies of this module; a query string gives the test such a second copy.
test("a ref held through one copy of the module is unavailable through another in the same process", async () => {
  const second = `${join(import.meta.dir, "../../src/content/local-store.ts")}?second-bundle`;
  const copy = (await import(second)) as typeof import("../../src/content/local-store.ts");
  expect(copy.LocalContentStore).not.toBe(LocalContentStore);
  const root = await mkdtemp(join(tmpdir(), "berth-content-"));
  try {
    const daemon = new LocalContentStore(root), cri = new copy.LocalContentStore(root);
    const w = await daemon.writer({ ref: "layer" });
    await w.write(new TextEncoder().encode("first writer's bytes"));
    const taken = await cri.writer({ ref: "layer" }).then(() => "taken", (e: { code?: string }) => e.code);
    expect(taken).toBe("Unavailable");
    await w.close();
    const w2 = await cri.writer({ ref: "layer" });
    expect(w2.status().offset).toBe("first writer's bytes".length);
    await w2.close();
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
