// The snapshot forest `berth snapshots tree` draws, from parent links.
import { expect, test } from "bun:test";
import { snapshotTree, type SnapshotView } from "../../src/engine/plumbing.ts";

const snap = (name: string, parent?: string, container?: string): SnapshotView => ({
  kind: container ? "active" : "committed", name, ...(parent ? { parent } : {}), labels: {}, created: new Date(0), updated: new Date(0), ...(container ? { container } : {}),
});

test("roots are snapshots made from nothing (or whose parent is gone); children under their parent, in walk order", () => {
  const tree = snapshotTree([snap("l0"), snap("l1", "l0"), snap("c1", "l1", "c1id"), snap("c2", "l1", "c2id"), snap("other"), snap("orphan", "gone")]);
  const draw = (ns: ReturnType<typeof snapshotTree>, d = 0): string[] => ns.flatMap((n) => [`${"  ".repeat(d)}${n.info.name}`, ...draw(n.children, d + 1)]);
  expect(draw(tree)).toEqual(["l0", "  l1", "    c1", "    c2", "other", "orphan"]);
  expect(snapshotTree([])).toEqual([]);
});
