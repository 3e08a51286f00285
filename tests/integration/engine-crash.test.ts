// Many berth processes at once and berth processes killed mid-way, as users hit them: nothing
// fails that should not, names stay unique, and the next command finds a clean state — no
// monitor, mount, cgroup, netns, lease or unpack mount left of what was interrupted.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { Cli, BERTH, containerCgroups } from "./cli-helpers.ts";
import { mountsUnder, pidsWithArg, isAlive, settled } from "../helpers/leftovers.ts";
import { makeBusyboxOciLayout } from "../helpers/busybox-oci-image.ts";
import { mustRun } from "../helpers/run-command.ts";
import { startRegistry, type RunningRegistry } from "./registry-harness.ts";

const have = (bin: string) => Bun.spawnSync(["sh", "-c", `command -v ${bin}`]).exitCode === 0;
const ready = process.getuid?.() === 0 && existsSync(BERTH) && existsSync("/bin/busybox");
let cli: Cli;

beforeAll(async () => {
  cli = new Cli("bt-crash-");
  if (ready) await cli.ok(["run", "--rm", "--network", "none", "busybox", "true"]);
});

afterAll(async () => {
  const left = await cli.cleanup();
  expect(left.mounts).toEqual([]);
  expect(left.cgroups).toEqual([]);
});

const ls = (d: string) => {
  try {
    return readdirSync(d);
  } catch {
    return [];
  }
};

/** Nothing of this root runs, is mounted or is in a cgroup (besides what `keep` names). */
async function expectClean(ids: string[]): Promise<void> {
  for (let i = 0; i < 100 && pidsWithArg(cli.dir).filter(isAlive).length; i++) await Bun.sleep(50);
  expect(pidsWithArg(cli.dir).filter(isAlive)).toEqual([]);
  expect(mountsUnder(cli.runroot)).toEqual([]);
  expect(mountsUnder(join(cli.root, "tmp"))).toEqual([]);
  expect(containerCgroups().filter((c) => ids.some((id) => c.endsWith(id)))).toEqual([]);
  expect(ls(join(cli.runroot, "containers"))).toEqual([]);
  expect(ls(join(cli.runroot, "netns"))).toEqual([]);
  expect(ls(join(cli.runroot, "runtime")).filter((n) => !n.startsWith("."))).toEqual([]);
}

async function createdIds(): Promise<string[]> {
  return (await cli.ok(["events", "--since", "1h", "--until", "0s", "--filter", "event=create", "--format", "{{.Actor.ID}}"])).split("\n").filter(Boolean);
}

describe.if(ready)("concurrency", () => {
  test("20 run --rm and 10 run -d at once: all succeed; nothing is left after rm", async () => {
    const runs = Array.from({ length: 20 }, () => cli.run(["run", "--rm", "--network", "none", "busybox", "true"]));
    const ds = Array.from({ length: 10 }, (_, i) => cli.run(["run", "-d", "--network", "none", "--name", `d${i}`, "busybox", "sleep", "60"]));
    const results = await Promise.all([...runs, ...ds]);
    for (const r of results) expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    expect((await cli.ok(["ps", "-q"])).split("\n").filter(Boolean).length).toBe(10);
    expect(await cli.ok(["ps", "-a", "-q"])).toBe(await cli.ok(["ps", "-q"]));
    const ids = (await cli.ok(["ps", "-q", "--no-trunc"])).split("\n").filter(Boolean);
    const rm = await Promise.all(ids.map((id) => cli.run(["rm", "-f", id])));
    for (const r of rm) expect(r.code).toBe(0);
    expect(await cli.ok(["ps", "-a", "-q"])).toBe("");
    await expectClean(await createdIds());
  });

  test("the same --name from 8 processes at once: exactly one gets it", async () => {
    const rs = await Promise.all(Array.from({ length: 8 }, () => cli.run(["create", "--network", "none", "--name", "only", "busybox", "true"])));
    expect(rs.filter((r) => r.code === 0).length).toBe(1);
    for (const r of rs.filter((x) => x.code !== 0)) {
      expect(r.code).toBe(125);
      expect(r.stderr).toContain('the container name "/only" is already in use');
    }
    await cli.ok(["rm", "only"]);
    // No snapshot of the losers is left: only the image's layer and its init layer.
    const snaps = ls(join(cli.root, "snapshots/overlay/snapshots"));
    expect(snaps.length).toBe(2);
    const keys = (JSON.parse(await cli.ok(["snapshots", "ls", "--format", "json"])) as { key: string }[]).map((x) => x.key).sort();
    expect(keys).toEqual([keys[0]!, `${keys[0]}-init`]);
  });

  test("stop, kill and rm of one container from several processes at once", async () => {
    await cli.ok(["run", "-d", "--network", "none", "--name", "contended", "busybox", "sleep", "60"]);
    const rs = await Promise.all([cli.run(["stop", "-t", "1", "contended"]), cli.run(["kill", "contended"]), cli.run(["stop", "contended"]), cli.run(["rm", "-f", "contended"])]);
    expect(rs.find((r) => r.code !== 0 && !/is not running|No such container/.test(r.stderr))).toBeUndefined();
    expect(await cli.ok(["ps", "-a", "-q", "--filter", "name=contended"])).toBe("");
    await expectClean(await createdIds());
  });
});

describe.if(ready)("killed berth processes", () => {
  test("run -d killed with SIGKILL at any point: the next command collects what it made", async () => {
    for (const delay of [5, 15, 30, 45, 60, 90]) {
      const p = Bun.spawn(cli.argv(["run", "-d", "busybox", "sleep", "60"]), { stdout: "ignore", stderr: "ignore", stdin: "ignore" });
      await Bun.sleep(delay);
      p.kill("SIGKILL");
      await p.exited;
    }
    // The next commands: ps reconciles; whatever started runs, whatever did not is collected.
    await cli.ok(["ps", "-a"]);
    const ids = (await cli.ok(["ps", "-a", "-q", "--no-trunc"])).split("\n").filter(Boolean);
    for (const id of ids) await cli.ok(["rm", "-f", id]);
    // A later networking command collects the network of starts that were cut short.
    await cli.ok(["network", "prune", "-f"]);
    await expectClean(await createdIds());
    const ours = (await createdIds()).map((id) => id);
    // A container's host veth name is derived from its id: none of ours is left (the kernel
    // deletes them with their released netns, just after).
    const { hostVethName } = await import("../../src/network/index.ts");
    const left = () => ours.map((id) => hostVethName(id, "eth0")).filter((v) => existsSync(`/sys/class/net/${v}`));
    expect(await settled(left, (l) => l.length === 0)).toEqual([]);
  });

  test("a foreground run whose CLI is killed keeps running; attach, stop and rm work", async () => {
    const p = Bun.spawn(cli.argv(["run", "--name", "fg", "--network", "none", "busybox", "sh", "-c", "echo started; while true; do sleep 0.1; done"]), { stdout: "pipe", stderr: "ignore", stdin: "ignore" });
    await p.stdout.getReader().read();
    p.kill("SIGKILL");
    await p.exited;
    expect((await cli.ok(["inspect", "-f", "{{.State.Status}}", "fg"])).trim()).toBe("running");
    const att = Bun.spawn(cli.argv(["attach", "--no-stdin", "fg"]), { stdout: "pipe", stderr: "pipe" });
    await Bun.sleep(300);
    await cli.ok(["stop", "-t", "0", "fg"]);
    expect(await att.exited).toBe(137);
    expect((await cli.ok(["inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", "fg"])).trim()).toBe("exited 137");
    await cli.ok(["rm", "fg"]);
    await expectClean(await createdIds());
  });

  test.if(have("docker-registry") && have("umoci"))("a pull killed while it extracts: the next command leaves no mount and no lease, and prune reclaims the layer", async () => {
    const reg: RunningRegistry = await startRegistry();
    const other = new Cli("bt-crash-src-");
    try {
      // An image whose layer takes a while to unpack: many small files.
      const layout = join(other.dir, "many");
      await makeBusyboxOciLayout(layout, "1");
      const bundle = join(other.dir, "many.unpacked");
      await mustRun(["umoci", "unpack", "--rootless", "--image", `${layout}:1`, bundle]);
      await mustRun(["sh", "-c", `mkdir -p ${bundle}/rootfs/data && cd ${bundle}/rootfs/data && for d in $(seq 40); do mkdir $d; for f in $(seq 250); do echo $d-$f > $d/$f; done; done`]);
      await mustRun(["umoci", "repack", "--image", `${layout}:1`, bundle]);
      const name = `${reg.host}/berth/many:1`;
      await other.ok(["import", layout, name]);
      await other.ok(["push", "-q", name]);
      const p = Bun.spawn(cli.argv(["pull", name]), { stdout: "pipe", stderr: "pipe" });
      const reader = p.stdout.getReader();
      let seen = "";
      while (!seen.includes("Extracting")) {
        const { value, done } = await reader.read();
        if (done) break;
        seen += new TextDecoder().decode(value);
      }
      // Killed inside the extraction of the big layer (or just after it: either way nothing may leak).
      p.kill("SIGKILL");
      await p.exited;
      await cli.ok(["system", "prune"]);
      expect(mountsUnder(join(cli.root, "tmp"))).toEqual([]);
      expect(ls(join(cli.root, "tmp")).filter((n) => n.startsWith("apply-"))).toEqual([]);
      const { Database } = await import("bun:sqlite");
      const db = new Database(join(cli.root, "meta.db"), { readonly: true });
      const leases = db.query("SELECT id, labels FROM leases").all() as { id: string; labels: string }[];
      db.close();
      expect(leases.filter((l) => l.labels.includes("berth.pull"))).toEqual([]);
      // Pulling again works and runs.
      await cli.ok(["pull", "-q", name]);
      expect(await cli.ok(["run", "--rm", "--network", "none", name, "cat", "/data/40/250"])).toBe("40-250\n");
      await cli.ok(["rmi", name]);
    } finally {
      await reg.stop();
      await other.cleanup();
    }
  });
});
