// `berth sandbox run` and `berth sandbox bench` (build/berth, a private --root and --runroot):
// the verdict as text and JSON, exit statuses that mirror it, --image from the store (the
// built-in busybox), flags that name themselves when wrong, and nothing left behind.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Cli } from "./cli-helpers.ts";
import { BUSYBOX_ROOTFS, buildAttack, mountsUnder, runCgroups } from "../helpers/sandbox.ts";

const cli = new Cli("bt-cli-sandbox-");
let bin: string;
let before: string[];

beforeAll(async () => {
  bin = join(cli.dir, "bin");
  mkdirSync(bin, { recursive: true });
  await buildAttack(bin);
  before = runCgroups("berth-sandbox-");
});
afterEach(() => {
  // Each command's sandbox is gone when it exits: its state directory, cgroups and mounts.
  const state = join(cli.runroot, "sandbox");
  expect(readdirSync(state).filter((n) => n !== "seccomp-cache")).toEqual([]);
  expect(runCgroups("berth-sandbox-").filter((d) => !before.includes(d))).toEqual([]);
  expect(mountsUnder(cli.dir)).toEqual([]);
});
afterAll(async () => {
  // (cleanup also lists berth-<id> container cgroups machine-wide: this file makes none, and other
  // agents' tests may have some at the same moment, so only the mounts are ours to check.)
  expect((await cli.cleanup()).mounts).toEqual([]);
});

const run = (args: string[]) => cli.run(["sandbox", "run", ...args]);
const json = (stdout: string) => JSON.parse(stdout) as Record<string, unknown>;

describe("berth sandbox run", () => {
  test("text: the program's output, then the verdict on stderr; exit status 0", async () => {
    const r = await run(["--rootfs", BUSYBOX_ROOTFS, "--", "sh", "-c", "echo out; echo err >&2"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("out\n");
    expect(r.stderr).toMatch(/^err\nberth sandbox: ok: exited with status 0; cpu [\d.]+ ms, wall [\d.]+ ms, peak memory [\d.]+ MiB\n$/);
  });

  test("--json: one object; exit status mirrors the verdict", async () => {
    const exit = await run(["--json", "--rootfs", BUSYBOX_ROOTFS, "--", "sh", "-c", "echo hi; exit 3"]);
    expect(exit.code).toBe(3);
    expect(json(exit.stdout)).toMatchObject({ status: "exit", exitCode: 3, stdout: "hi\n", stderr: "", outputTruncated: false });
    const time = await run(["--json", "--cpu", "300ms", "--bind", `${bin}:/t`, "--rootfs", BUSYBOX_ROOTFS, "--", "/t/attack", "spin"]);
    expect(time.code).toBe(152);
    expect(json(time.stdout)).toMatchObject({ status: "time", signal: "SIGKILL" });
    expect(json(time.stdout).cpuMs as number).toBeGreaterThanOrEqual(300);
    const wall = await run(["--json", "--wall", "500ms", "--bind", `${bin}:/t`, "--rootfs", BUSYBOX_ROOTFS, "--", "/t/attack", "sleep", "30"]);
    expect([wall.code, json(wall.stdout).status]).toEqual([124, "wall"]);
    const mem = await run(["--json", "--memory", "32m", "--bind", `${bin}:/t`, "--rootfs", BUSYBOX_ROOTFS, "--", "/t/attack", "membomb"]);
    expect([mem.code, json(mem.stdout).status]).toEqual([137, "memory"]);
    const pids = await run(["--json", "--pids", "8", "--bind", `${bin}:/t`, "--rootfs", BUSYBOX_ROOTFS, "--", "/t/attack", "forkbomb"]);
    expect([pids.code, json(pids.stdout).status]).toEqual([254, "pids"]);
    const output = await run(["--json", "--output", "1k", "--bind", `${bin}:/t`, "--rootfs", BUSYBOX_ROOTFS, "--", "/t/attack", "flood"]);
    expect([output.code, json(output.stdout).status, (json(output.stdout).stdout as string).length]).toEqual([153, "output", 1024]);
    const sec = await run(["--json", "--seccomp", "strict", "--rootfs", BUSYBOX_ROOTFS, "--", "unshare", "-m", "true"]);
    expect([sec.code, json(sec.stdout).status, json(sec.stdout).syscall]).toEqual([159, "seccomp", "unshare"]);
    const setup = await run(["--json", "--rootfs", BUSYBOX_ROOTFS, "--", "no-such-program"]);
    expect([setup.code, json(setup.stdout).status]).toEqual([125, "setup"]);
  });

  test("--image busybox installs the built-in image in --root and runs on its layers", async () => {
    const r = await run(["--json", "--image", "busybox", "--", "sh", "-c", "ls /bin/busybox && grep -c nobody /etc/passwd"]);
    expect(r.code).toBe(0);
    expect(json(r.stdout)).toMatchObject({ status: "ok", stdout: "/bin/busybox\n1\n" });
    const images = await cli.ok(["images", "--format", "json"]);
    expect(images).toContain("busybox");
  });

  test("--stdin, --env, --workdir, --user, --writable", async () => {
    const input = join(cli.dir, "in.txt");
    writeFileSync(input, "1 2 3\n");
    const r = await run(["--json", "--stdin", input, "-e", "A=b", "-w", "/tmp", "-u", "1000:1001", "--writable", "--rootfs", BUSYBOX_ROOTFS, "--", "sh", "-c", "cat; echo $A; pwd; id -u; id -g; touch /x && echo wrote"]);
    // Writable, but "/" belongs to root: uid 1000 may not create a file there.
    expect(json(r.stdout)).toMatchObject({ status: "exit", exitCode: 1, stdout: "1 2 3\nb\n/tmp\n1000\n1001\n", stderr: "touch: /x: Permission denied\n" });
    const root = await run(["--json", "-u", "0", "--writable", "--rootfs", BUSYBOX_ROOTFS, "--", "sh", "-c", "touch /x && echo wrote"]);
    expect(json(root.stdout)).toMatchObject({ status: "ok", stdout: "wrote\n" });
  });

  test("bad input: exit 125 and a message that names the flag", async () => {
    const cases: [string[], RegExp][] = [
      [["--cpu", "fast", "--rootfs", BUSYBOX_ROOTFS, "--", "true"], /invalid duration "fast" for --cpu/],
      [["--memory", "lots", "--rootfs", BUSYBOX_ROOTFS, "--", "true"], /invalid size "lots" for --memory/],
      [["--rootfs", BUSYBOX_ROOTFS], /needs the program to run/],
      [["--", "true"], /give exactly one of --image NAME and --rootfs DIR/],
      [["--image", "nosuch:1", "--", "true"], /No such image: nosuch:1/],
      [["--rootfs", join(cli.dir, "missing"), "--", "true"], /rootfs: .* does not exist/],
      [["--bind", "/etc", "--rootfs", BUSYBOX_ROOTFS, "--", "true"], /invalid --bind "\/etc"/],
      [["--pids", "-1", "--rootfs", BUSYBOX_ROOTFS, "--", "true"], /limits\.pids: must be a positive integer/],
    ];
    for (const [args, msg] of cases) {
      const r = await run(args);
      expect([args.join(" "), r.code]).toEqual([args.join(" "), 125]);
      expect(r.stderr).toMatch(msg);
    }
    const sub = await cli.run(["sandbox", "walk"]);
    expect([sub.code, sub.stderr]).toEqual([125, expect.stringMatching(/needs run or bench/)]);
  });

  test("--help", async () => {
    const r = await run(["--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/--cpu duration[\s\S]*--seccomp profile/);
  });
});

describe("berth sandbox bench", () => {
  test("prints start-to-exit time and runs per second", async () => {
    const r = await cli.run(["sandbox", "bench", "--json", "--runs", "20", "--concurrency", "2", "--rootfs", BUSYBOX_ROOTFS]);
    expect(r.code).toBe(0);
    const b = json(r.stdout) as { startToExitMs: number; runsPerSecond: number; runs: number; concurrency: number };
    expect([b.runs, b.concurrency]).toEqual([20, 2]);
    expect(b.startToExitMs).toBeGreaterThan(0);
    expect(b.runsPerSecond).toBeGreaterThan(0);
  });
});
