// `berth pull`'s display: docker's per-layer lines with bars, redrawn in place, on a terminal
// (script(1) gives the command a pty); plain lines and no escape sequence otherwise.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { Cli, BERTH } from "./cli-helpers.ts";
import { startRegistry, type RunningRegistry } from "./registry-harness.ts";

const have = (bin: string) => Bun.spawnSync(["sh", "-c", `command -v ${bin}`]).exitCode === 0;
const ready = process.getuid?.() === 0 && existsSync(BERTH) && existsSync("/bin/busybox") && have("docker-registry") && have("script");
let a: Cli;
let b: Cli;
let reg: RunningRegistry | undefined;
let name = "";

beforeAll(async () => {
  a = new Cli("bt-cli-pa-");
  b = new Cli("bt-cli-pb-");
  if (!ready) return;
  reg = await startRegistry();
  name = `${reg.host}/berth/progress:1`;
  await a.ok(["run", "--rm", "busybox", "true"]);
  await a.ok(["tag", "busybox", name]);
  await a.ok(["push", "-q", name]);
});

afterAll(async () => {
  await reg?.stop();
  // Clean up both stores before asserting, so one failure cannot leave the other behind.
  const lefts = [await a.cleanup(), await b.cleanup()];
  for (const left of lefts) expect(left.mounts).toEqual([]);
});

const shell = (argv: string[]) => argv.map((x) => `'${x.replace(/'/g, `'\\''`)}'`).join(" ");

describe.if(ready)("berth pull progress", () => {
  test("on a terminal: bars and in-place redraws", async () => {
    const p = Bun.spawn(["script", "-qec", shell(b.argv(["pull", name])), "/dev/null"], { stdout: "pipe", stderr: "pipe", stdin: "ignore", env: { ...process.env, COLUMNS: "120" } });
    const [out, code] = await Promise.all([new Response(p.stdout).text(), p.exited]);
    expect(code).toBe(0);
    expect(out).toContain("\x1b[2K"); // erase line
    expect(out).toMatch(/\x1b\[\d+A/); // cursor up: redrawn in place
    expect(out).toMatch(/[0-9a-f]{12}: Downloading \[=*>? *\] +[\d.]+[kM]?B\/[\d.]+[kM]?B/);
    expect(out).toMatch(/[0-9a-f]{12}: Pull complete/);
    expect(out).toContain("Status: Downloaded newer image for");
    await b.ok(["rmi", name]);
  });

  test("without a terminal: docker's plain lines, no escape sequence", async () => {
    const r = await b.run(["pull", name]);
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain("\x1b");
    const lines = r.stdout.trim().split("\n");
    expect(lines[0]).toBe(`1: Pulling from ${reg!.host}/berth/progress`);
    const id = /^([0-9a-f]{12}): Pulling fs layer$/.exec(lines[1]!)?.[1];
    expect(id).toBeDefined();
    expect(lines.slice(1, -3)).toEqual([`${id}: Pulling fs layer`, `${id}: Download complete`, `${id}: Extracting`, `${id}: Pull complete`]);
    expect(lines.at(-3)).toMatch(/^Digest: sha256:[0-9a-f]{64}$/);
    expect(lines.at(-2)).toBe(`Status: Downloaded newer image for ${name}`);
    expect(lines.at(-1)).toBe(name);
    // The image is unpacked by the pull: the next pull and run find everything in place.
    const again = await b.run(["pull", name]);
    expect(again.stdout).toContain(`${id}: Already exists`);
    expect(again.stdout).toContain("Status: Image is up to date");
    expect(again.stdout).not.toContain("\x1b");
  });
});
