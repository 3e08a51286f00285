// Interop with containerd: `ctr pull --plain-http` (a private containerd) pulls what `berth push`
// put into a real docker-registry, and `ctr run` of it prints what berth's own run prints, with
// runc and with berth-runtime as the runtime.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { startContainerd, type Containerd } from "../helpers/containerd.ts";
import { Cli, BERTH, TOP } from "./cli-helpers.ts";
import { startRegistry, type RunningRegistry } from "./registry-harness.ts";

const runtimes = { runc: "/usr/sbin/runc", "berth-runtime": join(TOP, "build/berth-runtime") };
const have = (bin: string) => Bun.spawnSync(["sh", "-c", `command -v ${bin}`]).exitCode === 0;
const ready = process.getuid?.() === 0 && existsSync(BERTH) && existsSync(runtimes["berth-runtime"]) && existsSync(runtimes.runc) &&
  have("docker-registry") && have("containerd") && have("ctr");

let reg: RunningRegistry | undefined;
let ctrd: Containerd | undefined;
const cli = new Cli("bt-cli-ctr-");
let name = "";

beforeAll(async () => {
  if (!ready) return;
  [reg, ctrd] = await Promise.all([startRegistry(), startContainerd()]);
  name = `${reg.host}/berth/interop:1`;
  await cli.ok(["run", "--rm", "busybox", "true"]);
  await cli.ok(["tag", "busybox", name]);
  await cli.ok(["push", "-q", name]);
});

afterAll(async () => {
  const left = await ctrd?.stop();
  await reg?.stop();
  expect((await cli.cleanup()).mounts).toEqual([]);
  if (left) {
    expect(left.tasks).toEqual([]);
    expect(left.mounts).toEqual([]);
    // left.cgroups holds the namespace's parent cgroup, which containerd always makes: stop() removed it.
  }
});

describe.if(ready)("containerd pulls what berth pushed", () => {
  test("ctr pull --plain-http, then the same image digest as berth's", async () => {
    const pulled = await ctrd!.ctr(["images", "pull", "--plain-http", name], { timeoutMs: 60_000 });
    // ctr 1.6's progress display sometimes logs "active check failed … context canceled" as it
    // stops; that is its own noise, not a pull failure.
    expect(pulled.code).toBe(0);
    expect(pulled.stdout).toMatch(/^done: /m);
    const ls = await ctrd!.ctr(["images", "ls"]);
    const line = ls.stdout.split("\n").find((l) => l.startsWith(`${name} `));
    expect(line).toBeDefined();
    const berthDigest = (JSON.parse(await cli.ok(["inspect", name])) as { RepoDigests: string[] }[])[0]!.RepoDigests[0]!.split("@")[1];
    expect(line).toContain(berthDigest!);
    expect(line).toContain("linux/amd64");
  });

  for (const [rt, binary] of Object.entries(runtimes)) {
    test(`ctr run of it with ${rt} prints what berth run prints`, async () => {
      const cmd = ["sh", "-c", "echo hello from berths image; echo PATH=$PATH; ls /bin/busybox; id -u"];
      const ours = await cli.ok(["run", "--rm", name, ...cmd]);
      const r = await ctrd!.run({ runtime: binary, image: name, id: `ctr-${rt}`, flags: ["--rm"], cmd }, { timeoutMs: 60_000 });
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(ours);
      expect(r.stdout).toMatch(/^hello from berths image\nPATH=.*\/bin.*\n\/bin\/busybox\n0\n$/);
    });
  }
});
