// GC reaches snapshots: layer snapshots live while an image or a container uses them; rmi and
// `berth system prune` free what nothing references — blobs and snapshots alike. An image's
// snapshots are its layer and, once a container was made from it, its init layer (the mount
// points berth binds over, src/engine/init-layer.ts).
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { Cli, BERTH } from "./cli-helpers.ts";

const ready = process.getuid?.() === 0 && existsSync(BERTH) && existsSync("/bin/busybox");
const cli = new Cli("bt-cli-gc-");
const snapshots = () => readdirSync(join(cli.root, "snapshots/overlay/snapshots"));
const blobs = () => readdirSync(join(cli.root, "blobs/sha256"));

afterAll(async () => {
  const left = await cli.cleanup();
  expect(left.mounts).toEqual([]);
});

describe.if(ready)("garbage collection reaches snapshots", () => {
  test("a stopped container is pruned by system prune (as docker), with its snapshot", async () => {
    await cli.ok(["run", "--name", "stopped", "busybox", "true"]);
    expect(snapshots().length).toBe(3); // the layer, the init layer, the container's
    const pruned = await cli.ok(["system", "prune"]);
    expect(pruned).toMatch(/^Deleted Containers:\n[0-9a-f]{64}\n\nTotal reclaimed space: /);
    expect(snapshots().length).toBe(2); // the image keeps its init layer
    expect(await cli.ok(["ps", "-a", "-q"])).toBe("");
  });

  test("a container keeps its image's layer snapshots after rmi -f; prune frees them once it is gone", async () => {
    await cli.ok(["run", "-d", "--name", "keep", "busybox", "sleep", "60"]);
    expect(snapshots().length).toBe(3); // the layer, the init layer and the container's
    // Nothing unreferenced yet: a running container is not pruned.
    expect(await cli.ok(["system", "prune"])).toBe("Total reclaimed space: 0B\n");
    expect(snapshots().length).toBe(3);

    await cli.ok(["rmi", "-f", "busybox"]);
    expect(blobs()).toEqual([]);
    expect(snapshots().length).toBe(3); // the container still runs on the layers
    await cli.ok(["rm", "-f", "keep"]);
    expect(snapshots().length).toBe(2); // rm takes the container's; the layers are now garbage
    const pruned = await cli.ok(["system", "prune"]);
    // Children first: the init layer, then the layer under it.
    expect(pruned).toMatch(/^Deleted Snapshots:\n(sha256:[0-9a-f]{64})-init\n\1\n\nTotal reclaimed space: [\d.]+[kM]B\n$/);
    expect(snapshots()).toEqual([]);
  });

  test("rmi frees the layer snapshots only the removed image used", async () => {
    await cli.ok(["run", "--rm", "busybox", "true"]);
    await cli.ok(["tag", "busybox", "other:1"]);
    expect(snapshots().length).toBe(2);
    await cli.ok(["rmi", "busybox"]); // other:1 still names the image
    expect(snapshots().length).toBe(2);
    await cli.ok(["rmi", "other:1"]);
    expect(snapshots()).toEqual([]);
    expect(blobs()).toEqual([]);
    const usage = await cli.run(["system", "df"]);
    expect(usage.code).toBe(0);
    expect(usage.stdout.split("\n")[1]).toMatch(/^Images\s+0\s+0\s+0B\s+0B \(0%\)$/);
    const bad = await cli.run(["system", "frobnicate"]);
    expect(bad.code).toBe(125);
    expect(bad.stderr).toContain("unknown command");
  });
});
