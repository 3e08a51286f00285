// ip_forward is one value for the host: several berth roots with networks at once hold it, and
// only the last one to go puts back what the host had (it was a per-root record, and a suite of
// many roots left ip_forward at 1). Drives HostStateFile as the network manager does, on the
// real sysctl (root only), with the boot-wide record in a temp dir; puts the sysctl back after.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const SYSCTL = "/proc/sys/net/ipv4/ip_forward";
const ready = process.getuid?.() === 0;
const dir = mkdtempSync("/tmp/bt-hoststate-");
const before = ready ? readFileSync(SYSCTL, "utf8").trim() : "0";
const set = (v: string) => writeFileSync(SYSCTL, `${v}\n`);
const now = () => readFileSync(SYSCTL, "utf8").trim();
let HostStateFile: typeof import("../../src/network/host-state.ts").HostStateFile;

beforeAll(async () => {
  process.env.BERTH_HOST_STATE_DIR = join(dir, "run-berth-host");
  ({ HostStateFile } = await import("../../src/network/host-state.ts"));
});

afterAll(() => {
  if (ready) set(before);
  delete process.env.BERTH_HOST_STATE_DIR;
  rmSync(dir, { recursive: true, force: true });
});

const root = (name: string) => new HostStateFile(join(dir, name, "networks", "host-state.json"));
// A chain name no iptables has: deactivate's chain step only says "no chain".
const CHAIN = "BT-ADMIN-hsnotthere";

describe.if(ready)("ip_forward across berth roots", () => {
  test("two roots at once: the first to go leaves it on; the last puts back the host's 0", async () => {
    set("0");
    const a = root("a"), b = root("b");
    expect(a.activate(CHAIN).state.ipForward).toBe("0");
    set("1"); // what the bridge plugin does for a's gateway bridge
    expect(b.activate(CHAIN).state.ipForward).toBe("0"); // the host's value, not the 1 a made
    expect(await a.deactivate()).not.toContainEqual(expect.stringContaining("ip_forward restored"));
    expect(now()).toBe("1"); // b's containers still route
    expect(await b.deactivate()).toContainEqual(expect.stringContaining("ip_forward restored to 0"));
    expect(now()).toBe("0");
    expect(existsSync(join(dir, "run-berth-host"))).toBe(false); // the boot-wide record goes with the last holder
  });

  test("a root deleted without system reset does not hold it forever", async () => {
    set("0");
    const gone = root("gone"), c = root("c");
    gone.activate(CHAIN);
    set("1");
    rmSync(join(dir, "gone"), { recursive: true, force: true }); // its host-state.json with it
    c.activate(CHAIN);
    expect(await c.deactivate()).toContainEqual(expect.stringContaining("ip_forward restored to 0"));
    expect(now()).toBe("0");
  });

  test("two roots whose networks come and go at once never leave it on", async () => {
    // The last holder put the value back after removing the record's directory (its lock), and a
    // root read the value before taking the lock: either way a root starting while the last one
    // went recorded the 1 it saw as the host's, and ip_forward stayed 1 once both were gone (the
    // 1 left after a CI run, with no record). Several tries: a lost race shows in one of them.
    for (let attempt = 0; attempt < 3; attempt++) {
      set("0");
      const host = join(dir, `churn-${attempt}`);
      const churn = (name: string) => Bun.spawn([process.execPath, join(import.meta.dir, "../fixtures/host-state/churn.ts"), host, join(dir, `churn-${attempt}-${name}`), "100"], { stdout: "ignore", stderr: "pipe" });
      const runs = [churn("a"), churn("b")];
      for (const p of runs) expect({ code: await p.exited, err: await new Response(p.stderr).text() }).toEqual({ code: 0, err: "" });
      expect(now()).toBe("0");
      expect(existsSync(host)).toBe(false);
    }
  });

  test("a host that had it on keeps it on", async () => {
    set("1");
    const d = root("d");
    d.activate(CHAIN);
    await d.deactivate();
    expect(now()).toBe("1");
  });
});
