// Crash safety and bad input: a process SIGKILLed in the middle of setup (and one killed after
// it) leaves a lease, a veth, rules and a netns that collectLeftovers releases from the cache;
// every bad input is refused with an error that names it, and nothing is created.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, rmSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { NetHarness, ready, BUN, hex, randomSubnet } from "./network-helpers.ts";
import { CniPluginError, parsePublish } from "../../src/network/index.ts";
import { bridgePorts } from "../../src/network/links.ts";
import { settled } from "../helpers/leftovers.ts";
import { isBerthError } from "../../src/sys/errdefs.ts";
import { randomBytes } from "node:crypto";

let h: NetHarness;
beforeAll(() => {
  if (ready) h = new NetHarness();
});
afterAll(async () => {
  if (ready) expect(await h.cleanup()).toEqual([]);
});

async function crashAt(network: string, stopAt: string, ports: string[] = []): Promise<string> {
  const id = randomBytes(32).toString("hex");
  const child = Bun.spawn([BUN, join(import.meta.dir, "network-crash-child.ts"), JSON.stringify({ ...h.childConfig(), network, id, stopAt, ports })], { stdout: "pipe", stderr: "pipe" });
  const reader = child.stdout.getReader();
  let out = "";
  const deadline = Date.now() + 30_000;
  while (!out.includes("STOPPED") && Date.now() < deadline) {
    const { value, done } = await reader.read();
    if (done) break;
    out += new TextDecoder().decode(value);
  }
  expect(out).toContain(`STOPPED ${stopAt}`);
  child.kill("SIGKILL");
  await child.exited;
  return id;
}

describe.if(ready)("crash safety", () => {
  test("SIGKILL after the bridge plugin, before portmap: collectLeftovers releases the lease, veth, port rows and netns", async () => {
    const net = h.network();
    const id = await crashAt(net.name, "veth", ["80"]);
    // The kill left real things behind: a veth on the bridge, a lease, the netns, rows (no
    // iptables rule: masquerade is the network's, and portmap never ran).
    expect(bridgePorts(net.bridge!)).toHaveLength(1);
    const left = await h.leftoversOf(id);
    expect(left.some((l) => l.startsWith("lease"))).toBe(true);
    expect(left).toContain(`netns mount ${h.m.netnsPath(id)}`);
    expect(left).toContain("cni cache entry");
    expect(left).toContain("port rows");
    const r = await h.m.collectLeftovers(() => false);
    expect(r).toEqual({ collected: [id], errors: [] });
    expect(await h.leftoversOf(id)).toEqual([]);
    expect(await settled(() => bridgePorts(net.bridge!), (p) => p.length === 0)).toEqual([]);
    await h.m.remove(net.name);
  });

  test("SIGKILL after a complete setup with a published port and DNS: everything is collected; living containers are not touched", async () => {
    const net = h.network();
    const alive = await h.container();
    const ar = await h.m.setup(alive, [{ network: net.name }]);
    const id = await crashAt(net.name, "done", ["80"]);
    const before = await h.leftoversOf(id);
    expect(before.filter((l) => l.includes("CNI-DN") || l.includes("dnat")).length).toBeGreaterThan(0);
    expect(h.m.aardvark.networks()).toContain(net.name);
    const r = await h.m.collectLeftovers((cid) => cid === alive.id);
    expect(r.collected).toEqual([id]);
    expect(await h.leftoversOf(id)).toEqual([]);
    // The living one still has its address, rows and DNS entry.
    expect(h.m.store.attachmentsOf(alive.id)).toHaveLength(1);
    expect((await h.exec(alive, ["ip", "-4", "-o", "addr", "show", "eth0"])).stdout).toContain(ar.ips[0]!.address);
    await h.m.teardown(alive.id);
    expect(await h.leftoversOf(alive.id, ar.interfaces.map((i) => i.hostVeth))).toEqual([]);
    await h.m.remove(net.name);
  });

  test("teardown works from the cache alone when the netns is already gone", async () => {
    const net = h.network();
    const c = await h.container();
    const r = await h.m.setup(c, [{ network: net.name }]);
    await h.m.removeNetns(c.id); // the veth dies with the netns; the lease and the cache stay
    const left = await h.leftoversOf(c.id);
    expect(left.some((l) => l.startsWith("lease"))).toBe(true);
    expect(left).toContain("cni cache entry");
    await h.m.teardown(c.id);
    expect(await h.leftoversOf(c.id, r.interfaces.map((i) => i.hostVeth))).toEqual([]);
    await h.m.remove(net.name);
  });
});

describe.if(ready)("bad input creates nothing", () => {
  async function refused(what: Promise<unknown>, code: string, msg: RegExp | string, id: string, field?: string): Promise<void> {
    const e = await what.then(() => undefined, (x: unknown) => x);
    expect(e).toBeDefined();
    expect(isBerthError(e, code as never)).toBe(true);
    expect((e as Error).message).toMatch(msg);
    if (field) expect((e as { field?: string }).field).toBe(field);
    // Nothing but the caller's own netns exists for the container.
    await h.m.removeNetns(id);
    expect(await h.leftoversOf(id)).toEqual([]);
  }

  test("unknown network, --ip outside the subnet or range, the gateway, a taken --ip, a bad MAC", async () => {
    const net = h.network({ ipRange: undefined });
    const [a, b, c3, d, e, f] = await Promise.all(Array.from({ length: 6 }, () => h.container()));
    await refused(h.m.setup(a!, [{ network: `nope-${hex(4)}` }]), "NotFound", /network nope-.* not found/, a!.id, "network");
    await refused(h.m.setup(b!, [{ network: net.name, ip: "192.0.2.9" }]), "InvalidArgument", /--ip 192.0.2.9 is outside network/, b!.id, "--ip");
    await refused(h.m.setup(c3!, [{ network: net.name, ip: net.subnets[0]!.gateway }]), "InvalidArgument", /gateway/, c3!.id, "--ip");
    await refused(h.m.setup(d!, [{ network: net.name, mac: "01:00:00:00:00:01" }]), "InvalidArgument", /--mac-address/, d!.id, "--mac-address");
    const holder = await h.container();
    const ip = net.subnets[0]!.gateway.replace(/\.1$/, ".50");
    const hr = await h.m.setup(holder, [{ network: net.name, ip }]);
    await refused(h.m.setup(e!, [{ network: net.name, ip }]), "AlreadyExists", `--ip ${ip} is in use on network ${net.name}`, e!.id, "--ip");
    await refused(h.m.setup(f!, [{ network: net.name }, { network: net.name }]), "InvalidArgument", /given twice/, f!.id);
    await h.m.teardown(holder.id);
    expect(await h.leftoversOf(holder.id, hr.interfaces.map((i) => i.hostVeth))).toEqual([]);
    const ranged = h.network({ subnet: "10.63.77.0/24", ipRange: "10.63.77.128/25" });
    const g = await h.container();
    await refused(h.m.setup(g, [{ network: ranged.name, ip: "10.63.77.5" }]), "InvalidArgument", /outside .*--ip-range 10.63.77.128\/25/, g.id, "--ip");
  });

  test("a port something listens on, or already published by berth, is refused before anything is made", async () => {
    const net = h.network();
    const listener = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    try {
      const c = await h.container();
      await refused(h.m.setup(c, [{ network: net.name }], parsePublish(`127.0.0.1:${listener.port}:80`)), "FailedPrecondition", `host port 127.0.0.1:${listener.port}/tcp is not available: a process on the host listens on it`, c.id, "-p");
      const c2 = await h.container();
      await refused(h.m.setup(c2, [{ network: net.name }], parsePublish(`${listener.port}:80`)), "FailedPrecondition", /a process on the host listens/, c2.id);
    } finally {
      listener.stop(true);
    }
    const owner = await h.container();
    const or = await h.m.setup(owner, [{ network: net.name }], parsePublish("8080"));
    const taken = or.ports[0]!.hostPort;
    const c3 = await h.container();
    await refused(h.m.setup(c3, [{ network: net.name }], parsePublish(`127.0.0.1:${taken}:80`)), "FailedPrecondition", /already published/, c3.id);
    // Two mappings of one host port in a single request are refused too.
    const c4 = await h.container();
    await refused(h.m.setup(c4, [{ network: net.name }], [...parsePublish("30999:80"), ...parsePublish("30999:81")]), "FailedPrecondition", /30999/, c4.id);
    await h.m.teardown(owner.id);
    expect(await h.leftoversOf(owner.id, or.interfaces.map((i) => i.hostVeth))).toEqual([]);
    expect(await settled(() => bridgePorts(net.bridge!), (p) => p.length === 0)).toEqual([]);
  });

  test("a missing plugin names the plugin and the Debian package; nothing is created", async () => {
    const dir = mkdtempSync("/tmp/bt-cni-");
    try {
      for (const p of readdirSync("/usr/lib/cni")) if (p !== "portmap") symlinkSync(join("/usr/lib/cni", p), join(dir, p));
      const m = h.manager({ cniPath: [dir] });
      const net = h.network();
      const c = await h.container();
      // portmap is needed by a container that publishes ports (without any it is not run).
      await refused(m.setup(c, [{ network: net.name }], parsePublish("80")), "NotFound", `CNI plugin "portmap" is not installed: no executable portmap in ${dir}; install the Debian package containernetworking-plugins`, c.id, "cni.portmap");
      expect(await settled(() => bridgePorts(net.bridge!), (p) => p.length === 0)).toEqual([]);
      // No plugin at all: the first of the network's list is named (the netns itself needs none).
      const c2 = await h.container();
      await expect(h.manager({ cniPath: ["/nonexistent"] }).setup(c2, [{ network: net.name }], [])).rejects.toThrow(/CNI plugin "bridge" is not installed: no executable bridge in \/nonexistent; install the Debian package containernetworking-plugins/);
      expect(await settled(() => bridgePorts(net.bridge!), (p) => p.length === 0)).toEqual([]);
      await h.m.teardown(c2.id); // the caller's netns (the engine releases it on a failed setup)
      expect(readdirSync(join(h.runroot, "netns")).length).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a plugin's own error is surfaced with its message and the plugin named; the partial ADD is undone", async () => {
    // A /30 has one address besides the gateway: the second container exhausts host-local.
    const net = h.network({ subnet: randomSubnet(30) });
    const first = await h.container();
    const fr = await h.m.setup(first, [{ network: net.name }]);
    const c = await h.container();
    const e = await h.m.setup(c, [{ network: net.name }]).then(() => undefined, (x: unknown) => x);
    expect(e).toBeInstanceOf(CniPluginError);
    expect((e as Error).message).toMatch(new RegExp(`^CNI plugin "bridge" ADD failed on network "${net.name}": .*no IP addresses available in range set`));
    expect((e as CniPluginError).plugin).toBe("bridge");
    expect((e as { field?: string }).field).toBe("cni.bridge");
    await h.m.removeNetns(c.id);
    expect(await h.leftoversOf(c.id)).toEqual([]);
    expect(await settled(() => bridgePorts(net.bridge!), (p) => p.length === 1)).toEqual([fr.interfaces[0]!.hostVeth]);
    await h.m.teardown(first.id);
    expect(await h.leftoversOf(first.id, fr.interfaces.map((i) => i.hostVeth))).toEqual([]);
  });
});
