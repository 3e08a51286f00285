// The plumbing verbs (content, snapshots, leases, tasks — ctr's services over berth's stores) and
// the `image` command group (docker's aliases, history, prune), through the CLI on real images
// and containers.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { BERTH, Cli } from "./cli-helpers.ts";
import { makeBusyboxOciLayout } from "../helpers/busybox-oci-image.ts";
import { MetadataDB } from "../../src/metadata/db.ts";
import { LeaseManager } from "../../src/metadata/leases.ts";

const ready = process.getuid?.() === 0 && existsSync(BERTH) && existsSync("/bin/busybox");
let cli: Cli;
let imageId = "";

beforeAll(async () => {
  cli = new Cli("bt-plumb-");
  if (!ready) return;
  const layout = join(cli.dir, "layout");
  // umoci's image: a layer (history "umoci repack") and a config change (an empty layer).
  await makeBusyboxOciLayout(layout, "1");
  await cli.ok(["import", layout, "plumb:1"]);
  imageId = (await cli.ok(["image", "inspect", "-f", "{{.Id}}", "plumb:1"])).trim();
});
afterAll(async () => {
  const left = await cli.cleanup();
  expect(left.mounts).toEqual([]);
  expect(left.cgroups).toEqual([]);
});

describe.if(ready)("content", () => {
  test("ls: every blob of the image, with size and age; -q; json; get returns the verified bytes", async () => {
    const digests = (await cli.ok(["content", "ls", "-q"])).trim().split("\n");
    expect(digests).toContain(imageId);
    expect(digests.length).toBeGreaterThanOrEqual(3); // manifest, config, layer
    const table = (await cli.ok(["content", "ls"])).trimEnd().split("\n");
    expect(table[0]).toMatch(/^DIGEST +SIZE +AGE +LABELS$/);
    expect(table.slice(1).every((l) => /^sha256:[0-9a-f]{64} +[\d.]+k?M?B +(Less than a second|\d+ seconds|About a minute) +\S+$/.test(l))).toBe(true);
    const json = JSON.parse(await cli.ok(["content", "ls", "--format", "json"])) as { digest: string; size: number }[];
    expect(json.map((j) => j.digest).sort()).toEqual([...digests].sort());
    for (const j of json) {
      const p = Bun.spawn(cli.argv(["content", "get", j.digest]), { stdout: "pipe" });
      const bytes = new Uint8Array(await new Response(p.stdout).arrayBuffer());
      expect(await p.exited).toBe(0);
      expect(bytes.length).toBe(j.size);
      expect(`sha256:${createHash("sha256").update(bytes).digest("hex")}`).toBe(j.digest);
    }
    const config = JSON.parse(await cli.ok(["content", "get", imageId.replace("sha256:", "")]));
    expect(config.rootfs.type).toBe("layers");
  });

  test("bad digests and missing blobs are errors naming them", async () => {
    let r = await cli.run(["content", "get", "sha256:nope"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('"sha256:nope"');
    r = await cli.run(["content", "rm", `sha256:${"0".repeat(64)}`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("0".repeat(64));
    expect((await cli.run(["content"])).code).toBe(125);
    expect((await cli.run(["content", "bogus"])).stderr).toContain('unknown command "bogus" for "berth content"');
  });
});

describe.if(ready)("snapshots and tasks", () => {
  test("ls, tree and usage show the image's layer and a container's root on it", async () => {
    const id = (await cli.ok(["run", "-d", "--name", "t1", "--network", "none", "plumb:1", "sleep", "120"])).trim();
    const ls = (await cli.ok(["snapshots", "ls"])).trimEnd().split("\n");
    expect(ls[0]).toMatch(/^KEY +PARENT +KIND$/);
    const rows = ls.slice(1).map((l) => l.split(/\s+/));
    const root = rows.find((r) => r[0] === `container-${id}`)!;
    expect(root).toBeDefined();
    expect(root[2]).toBe("Active");
    // Its parent is the image's init layer (the mount points berth binds over), on the layer.
    const init = rows.find((r) => r[0] === root[1])!;
    expect(init[0]).toMatch(/^sha256:[0-9a-f]{64}-init$/);
    expect(init[2]).toBe("Committed");
    const layer = rows.find((r) => r[0] === init[1])!;
    expect(layer[0]).toBe(init[0]!.slice(0, -"-init".length));
    expect(layer[layer.length - 1]).toBe("Committed");
    const json = JSON.parse(await cli.ok(["snapshots", "ls", "--format", "json"])) as { key: string; kind: string; container?: string }[];
    expect(json.find((s) => s.key === `container-${id}`)).toMatchObject({ kind: "active", container: id });

    const tree = (await cli.ok(["snapshots", "tree"])).split("\n");
    const at = tree.indexOf(` ${layer[0]}`);
    expect(at).toBeGreaterThanOrEqual(0);
    expect(tree[at + 1]).toBe(`  \\_ ${init[0]}`);
    expect(tree).toContain(`    \\_ container-${id} (container ${id.slice(0, 12)})`);
    const treeJson = JSON.parse(await cli.ok(["snapshots", "tree", "--format", "json"])) as { key: string; children: { key: string; children: { key: string }[] }[] }[];
    const initNode = treeJson.find((n) => n.key === layer[0])!.children.find((c) => c.key === init[0])!;
    expect(initNode.children.map((c) => c.key)).toContain(`container-${id}`);

    const usage = JSON.parse(await cli.ok(["snapshots", "usage", "--format", "json", layer[0]!])) as { key: string; size: number; inodes: number }[];
    // The layer holds the static busybox and a link per applet.
    expect(usage[0]!.size).toBeGreaterThan(1_000_000);
    expect(usage[0]!.inodes).toBeGreaterThan(5);
    expect((await cli.ok(["snapshots", "usage"])).split("\n")[0]).toMatch(/^KEY +SIZE +INODES$/);
    expect((await cli.run(["snapshots", "usage", "nosuch"])).stderr).toBe("berth: snapshot nosuch does not exist (berth snapshots ls lists them)\n");

    const tasks = JSON.parse(await cli.ok(["tasks", "ls", "--format", "json"])) as { id: string; pid: number; monitorPid: number; status: string }[];
    expect(tasks).toHaveLength(1);
    expect(tasks[0]).toMatchObject({ id, status: "RUNNING" });
    expect(readFileSync(`/proc/${tasks[0]!.pid}/cmdline`, "utf8").split("\0")[0]).toBe("sleep");
    expect(readFileSync(`/proc/${tasks[0]!.monitorPid}/cmdline`, "utf8").split("\0")[0]).toMatch(/berth-monitor$/);
    expect((await cli.ok(["tasks", "ls"])).split("\n")[1]).toMatch(new RegExp(`^${id} +${tasks[0]!.pid} +RUNNING +${tasks[0]!.monitorPid} +t1$`));
    await cli.ok(["pause", "t1"]);
    expect((await cli.ok(["tasks", "ls"])).split("\n")[1]).toContain(" PAUSED ");
    await cli.ok(["unpause", "t1"]);
    await cli.ok(["stop", "-t", "0", "t1"]);
    expect(await cli.ok(["tasks", "ls", "-q"])).toBe("");
    expect(JSON.parse(await cli.ok(["tasks", "ls", "--format", "json"]))).toEqual([]);
    await cli.ok(["rm", "t1"]);
  }, 30_000);

  test("leases: what holds content for a pull is listed with its labels and resources", async () => {
    const db = new MetadataDB(join(cli.root, "meta.db"));
    try {
      const m = new LeaseManager(db, "default");
      const l = m.create({ id: "bt-test-lease", labels: { purpose: "test" }, expiresInMs: 3_600_000 });
      m.addResource(l.id, { type: "content", id: imageId });
    } finally {
      db.close();
    }
    const table = (await cli.ok(["leases", "ls"])).trimEnd().split("\n");
    expect(table[0]).toMatch(/^ID +CREATED AT +LABELS +RESOURCES$/);
    expect(table[1]).toMatch(/^bt-test-lease +\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ +containerd\.io\/gc\.expire=\S+,purpose=test +1$/);
    const json = JSON.parse(await cli.ok(["leases", "ls", "--format", "json"]));
    expect(json).toEqual([{ id: "bt-test-lease", createdAt: expect.any(String), labels: { purpose: "test", "containerd.io/gc.expire": expect.any(String) }, resources: [{ type: "content", id: imageId }] }]);
    expect(await cli.ok(["leases", "ls", "-q"])).toBe("bt-test-lease\n");
    expect((await cli.run(["leases", "ls", "--format", "yaml"])).code).toBe(125);
  });
});

describe.if(ready)("the image command group", () => {
  test("ls, tag, inspect, rm, save and load as docker's aliases", async () => {
    expect(await cli.ok(["image", "ls", "--format", "{{.Repository}}:{{.Tag}}"])).toContain("plumb:1\n");
    await cli.ok(["image", "tag", "plumb:1", "plumb:2"]);
    expect(await cli.ok(["image", "inspect", "-f", "{{.Id}}", "plumb:2"])).toBe(`${imageId}\n`);
    const tar = join(cli.dir, "img.tar");
    await cli.ok(["image", "save", "-o", tar, "plumb:2"]);
    expect(await cli.ok(["image", "rm", "plumb:2"])).toBe("Untagged: plumb:2\n");
    expect(await cli.ok(["image", "load", "-i", tar])).toContain("plumb:2");
    expect(await cli.ok(["image", "list", "-q"])).toBe(`${imageId.replace("sha256:", "").slice(0, 12)}\n`);
    await cli.ok(["image", "rm", "plumb:2"]);
    // image inspect does not look at containers.
    await cli.ok(["create", "--name", "notimage", "plumb:1", "true"]);
    const r = await cli.run(["image", "inspect", "notimage"]);
    expect(r).toMatchObject({ code: 1, stdout: "[]\n", stderr: "berth: No such image: notimage\n" });
    expect((await cli.run(["image", "inspect", "--type", "container", "plumb:1"])).code).toBe(125);
    await cli.ok(["rm", "notimage"]);
  });

  test("history: newest first, the image's ID on the top entry, layer sizes unpacked", async () => {
    const lines = (await cli.ok(["image", "history", "plumb:1"])).trimEnd().split("\n");
    expect(lines[0]).toMatch(/^IMAGE +CREATED +CREATED BY +SIZE +COMMENT$/);
    expect(lines).toHaveLength(3);
    expect(lines[1]).toMatch(new RegExp(`^${imageId.slice(7, 19)} +\\S.* ago +umoci config .* +0B`));
    expect(lines[2]).toMatch(/^<missing> +\S.* ago +umoci repack .* +[\d.]+MB/);
    const json = (await cli.ok(["history", "--format", "json", "--no-trunc", "-H=false", "plumb:1"])).trim().split("\n").map((l) => JSON.parse(l));
    expect(json[0].ID).toBe(imageId);
    expect(json[0].Size).toBe("0");
    expect(Number(json[1].Size)).toBeGreaterThan(1_000_000);
    expect(json[1].CreatedSince).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(await cli.ok(["history", "-q", "plumb:1"])).toBe(`${imageId.slice(7, 19)}\n<missing>\n`);
    expect((await cli.run(["history", "nosuch"])).stderr).toMatch(/^berth: No such image: nosuch/);
  });

  test("image prune: nothing without -a; -a removes images no container uses and frees their space", async () => {
    await cli.ok(["create", "--name", "keeper", "plumb:1", "true"]);
    await cli.ok(["run", "--rm", "--network", "none", "busybox", "true"]); // the built-in image, unused after
    expect(await cli.ok(["image", "prune", "-f"])).toBe("Total reclaimed space: 0B\n");
    const out = await cli.ok(["image", "prune", "-a", "-f"]);
    expect(out).toMatch(/^Deleted Images:\nuntagged: busybox:latest\ndeleted: sha256:[0-9a-f]{64}\n\nTotal reclaimed space: [\d.]+[kM]B\n$/);
    expect(await cli.ok(["image", "ls", "--format", "{{.Repository}}"])).toBe("plumb\n");
    await cli.ok(["rm", "keeper"]);
  }, 30_000);
});
