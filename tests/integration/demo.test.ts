// The README's main job (scripts/demo.sh, which the set-up command ends with): it runs, prints
// what it says, and leaves nothing on the host. Its `berth run` is on the default bridge network of
// a throw-away store; before this test, each run left that store's bridge and firewall chains.
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { mustRun, runCommand } from "../helpers/run-command.ts";

const TOP = resolve(import.meta.dir, "../..");
const ready = process.getuid?.() === 0 && existsSync(join(TOP, "build/berth")) && existsSync("/usr/lib/cni/bridge");

const berthLinks = async () => (await mustRun(["ip", "-o", "link", "show"])).stdout.split("\n").map((l) => l.split(": ")[1]?.split("@")[0] ?? "").filter((n) => /^(bt|berth)/.test(n)).sort();
const berthChains = async () => (await mustRun(["iptables-save"])).stdout.split("\n").filter((l) => /^:(BT|BERTH)/.test(l)).map((l) => l.split(" ")[0]!).sort();
const demoDirs = () => readdirSync("/tmp").filter((n) => n.startsWith("berth-demo")).sort();

describe.if(ready)("scripts/demo.sh", () => {
  test("says hello, shows the container's own hostname and PID 1, and leaves no bridge, chain, ip_forward or temp dir behind", async () => {
    const before = { links: await berthLinks(), chains: await berthChains(), forward: readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8"), dirs: demoDirs() };
    const r = await runCommand([join(TOP, "scripts/demo.sh")], { cwd: TOP, timeoutMs: 60_000 });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("$ berth run --rm busybox echo hello\nhello\n");
    expect(r.stdout).toContain("hostname: berth-demo");
    expect(r.stdout).toMatch(/^\s*1 .*sh -c/m);
    expect(await berthLinks()).toEqual(before.links);
    expect(await berthChains()).toEqual(before.chains);
    expect(readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8")).toBe(before.forward);
    expect(demoDirs()).toEqual(before.dirs);
  }, 90_000);
});
