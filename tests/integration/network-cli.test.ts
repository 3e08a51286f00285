// `berth network create|ls|inspect|rm|prune` through the compiled CLI on a private root: docker's
// output shapes, exit 125 with the input named on bad input, and nothing created then.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { Cli, BERTH } from "./cli-helpers.ts";
import { randomSubnet, hex } from "./network-helpers.ts";

const ready = process.getuid?.() === 0 && existsSync(BERTH);
let cli: Cli;
beforeAll(() => {
  cli = new Cli("bt-netcli-");
});
afterAll(async () => {
  const left = await cli.cleanup();
  expect(left.mounts).toEqual([]);
});

const names = async () => (await cli.ok(["network", "ls", "--format", "{{.Name}}"])).split("\n").filter(Boolean).sort();

describe.if(ready)("berth network", () => {
  test("create prints the id; inspect and ls show docker's shapes", async () => {
    const name = `bt-cli-${hex(6)}`;
    const subnet = randomSubnet();
    const base = subnet.split(".").slice(0, 3).join(".");
    const id = (await cli.ok(["network", "create", "--subnet", subnet, "--gateway", `${base}.254`, "--ip-range", `${base}.128/25`, "--label", "team=a", "-o", "mtu=1400", name])).trim();
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    const [doc] = JSON.parse(await cli.ok(["network", "inspect", name])) as Record<string, unknown>[];
    expect(doc).toMatchObject({
      Name: name, Id: id, Scope: "local", Driver: "bridge", EnableIPv6: false, Internal: false,
      IPAM: { Driver: "default", Config: [{ Subnet: subnet, Gateway: `${base}.254`, IPRange: `${base}.128/25` }] },
      Containers: {}, Labels: { team: "a" }, Options: { mtu: "1400", "com.docker.network.bridge.name": `bt-${id.slice(0, 12)}` },
    });
    expect(await cli.ok(["network", "inspect", "-f", "{{.Driver}} {{.Internal}}", id.slice(0, 10)])).toBe("bridge false\n");
    const table = await cli.ok(["network", "ls"]);
    const lines = table.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^NETWORK ID\s{3,}NAME\s{3,}DRIVER\s{3,}SCOPE$/);
    expect(lines.some((l) => new RegExp(`^${id.slice(0, 12)}\\s+${name}\\s+bridge\\s+local$`).test(l))).toBe(true);
    // docker's pre-defined networks are there too.
    expect(await names()).toEqual(["bridge", "host", name, "none"].sort());
    const rows = (await cli.ok(["network", "ls", "--format", "json", "--filter", `name=${name}`])).trim().split("\n").map((l) => JSON.parse(l) as Record<string, string>);
    expect(rows).toEqual([{ CreatedAt: expect.stringMatching(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ \+0000 UTC$/), Driver: "bridge", ID: id.slice(0, 12), IPv4: "true", IPv6: "false", Internal: "false", Labels: "team=a", Name: name, Scope: "local" }]);
    expect((await cli.ok(["network", "ls", "-q", "--no-trunc", "--filter", "label=team=a"])).trim()).toBe(id);
    expect(await cli.ok(["network", "rm", name])).toBe(`${name}\n`);
    expect(await names()).toEqual(["bridge", "host", "none"]);
  });

  test("bad input exits 125 naming the input, and creates nothing", async () => {
    const name = `bt-cli-${hex(6)}`;
    const subnet = randomSubnet();
    await cli.ok(["network", "create", "--subnet", subnet, name]);
    const before = await names();
    const cases: [string[], RegExp][] = [
      [["network", "create", "--subnet", subnet, `x${hex(4)}`], new RegExp(`subnet ${subnet.replace(/\./g, "\\.")} overlaps berth network "${name}"`)],
      [["network", "create", "--subnet", "10.1.2.3/16", `x${hex(4)}`], /host bits are set/],
      [["network", "create", "--subnet", randomSubnet(), "-o", "foo=1", `x${hex(4)}`], /-o foo: unsupported bridge network option/],
      [["network", "create", "--subnet", randomSubnet(), name], /already exists/],
      [["network", "create", "--gateway", "10.9.9.9", `x${hex(4)}`], /need --subnet/],
      [["network", "create", "--ipv6", `x${hex(4)}`], /IPv6/],
      [["network", "create"], /requires exactly 1 argument/],
      [["network", "frobnicate"], /unknown command/],
      [["network", "rm", `nope${hex(4)}`], /network nope.* not found/],
      [["network", "rm", "bridge"], /bridge is a pre-defined network and cannot be removed/],
      [["network", "inspect", `nope${hex(4)}`], /not found/],
    ];
    for (const [argv, msg] of cases) {
      const r = await cli.run(argv);
      expect({ argv, code: r.code }).toEqual({ argv, code: 125 });
      expect(r.stderr).toMatch(msg);
    }
    expect(await names()).toEqual(before);
    expect((await cli.run(["network", "rm", "-f", `nope${hex(4)}`])).code).toBe(0);
  });

  test("prune removes the networks no container uses and says which", async () => {
    const a = `bt-cli-${hex(6)}`;
    const b = `bt-cli-${hex(6)}`;
    await cli.ok(["network", "create", "--subnet", randomSubnet(), a]);
    await cli.ok(["network", "create", "--subnet", randomSubnet(), b]);
    const out = await cli.ok(["network", "prune", "-f"]);
    expect(out.split("\n")[0]).toBe("Deleted Networks:");
    expect(out).toContain(`${a}\n`);
    expect(out).toContain(`${b}\n`);
    expect(await names()).toEqual(["bridge", "host", "none"]);
    expect(await cli.ok(["network", "prune"])).toBe("");
  });
});
