// The network library on the real kernel and the real CNI plugins: containers are network
// namespaces running the host's busybox. Each test makes its own networks with random names and
// subnets and checks that teardown leaves nothing; afterAll checks the whole run left nothing.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { NetHarness, ready, type TestContainer } from "./network-helpers.ts";
import { parsePublish, type SetupResult } from "../../src/network/index.ts";
import { linkExists, bridgePorts } from "../../src/network/links.ts";
import { writeFileSync } from "node:fs";
import { explain, type ExplainEvent } from "../../src/explain/channel.ts";
import { join } from "node:path";
import { Harness, RUNTIME, leftoverCgroups } from "../lib/runtime.ts";

let h: NetHarness;
beforeAll(() => {
  if (ready) h = new NetHarness();
});
afterAll(async () => {
  if (ready) expect(await h.cleanup()).toEqual([]);
});

const ipOf = (r: SetupResult) => r.ips[0]!.address.split("/")[0]!;

async function up(network: string, opts: { ports?: string[]; aliases?: string[]; ip?: string; mac?: string; name?: string } = {}): Promise<{ c: TestContainer; r: SetupResult }> {
  const c = await h.container(opts.name);
  const r = await h.m.setup(c, [{ network, ...(opts.aliases ? { aliases: opts.aliases } : {}), ...(opts.ip ? { ip: opts.ip } : {}), ...(opts.mac ? { mac: opts.mac } : {}) }], (opts.ports ?? []).flatMap(parsePublish));
  return { c, r };
}

async function down(c: TestContainer, r: SetupResult): Promise<void> {
  await h.m.teardown(c.id);
  expect(await h.leftoversOf(c.id, r.interfaces.map((i) => i.hostVeth))).toEqual([]);
}

describe.if(ready)("bridge networks through the CNI plugins", () => {
  test("two containers on a user network reach each other by IP, by name and by alias (aardvark-dns)", async () => {
    const net = h.network();
    const a = await up(net.name, { name: "alpha", aliases: ["db"] });
    const b = await up(net.name, { name: "beta" });
    // What setup says is what the kernel has: the address, the default route, the veth on the bridge.
    const addr = await h.exec(a.c, ["ip", "-4", "-o", "addr", "show", "eth0"]);
    expect(addr.stdout).toContain(a.r.ips[0]!.address);
    expect((await h.exec(a.c, ["ip", "route"])).stdout).toContain(`default via ${net.subnets[0]!.gateway} dev eth0`);
    expect(bridgePorts(net.bridge!).sort()).toEqual([a.r.interfaces[0]!.hostVeth, b.r.interfaces[0]!.hostVeth].sort());
    expect(a.r.interfaces[0]!.hostVeth).toMatch(/^btv[0-9a-f]{12}$/);
    expect(a.r.dns.servers).toEqual([net.subnets[0]!.gateway]);
    expect(a.r.etc.resolvConf).toContain(`nameserver ${net.subnets[0]!.gateway}`);

    await h.httpd(a.c, 8080, "hello from alpha");
    const byIp = await h.wget(b.c, `http://${ipOf(a.r)}:8080/`);
    expect(byIp.stdout).toBe("hello from alpha");
    for (const name of ["alpha", "db", a.c.id.slice(0, 12)]) {
      const byName = await h.wget(b.c, `http://${name}:8080/`, b.r);
      expect({ name, out: byName.stdout, err: byName.stderr }).toEqual({ name, out: "hello from alpha", err: "" });
    }
    const look = await h.execWithEtc(a.c, a.r, ["nslookup", "beta"]);
    expect(look.stdout).toContain(ipOf(b.r));

    // Teardown of beta removes its name; alpha still resolves.
    await down(b.c, b.r);
    const gone = await h.execWithEtc(a.c, a.r, ["nslookup", "beta"]);
    expect(gone.stdout).not.toContain(ipOf(b.r));
    expect(gone.code).not.toBe(0);
    await down(a.c, a.r);
    // No container left on the network: aardvark-dns has exited by itself.
    expect(h.m.aardvark.running()).toBeUndefined();
    await h.m.remove(net.name);
    expect(linkExists(net.bridge!)).toBe(false);
  });

  test("a published port is reached from the host on 127.0.0.1 and from containers through the host port (hairpin)", async () => {
    const net = h.network();
    const srv = await up(net.name, { ports: ["80"] });
    expect(srv.r.ports).toHaveLength(1);
    const hostPort = srv.r.ports[0]!.hostPort;
    expect(hostPort).toBeGreaterThan(1024);
    await h.httpd(srv.c, 80, "published");
    const res = await fetch(`http://127.0.0.1:${hostPort}/`, { signal: AbortSignal.timeout(5000) });
    expect(await res.text()).toBe("published");
    // Another container on the same bridge, through the host's address (its gateway) and port.
    const cli = await up(net.name);
    const hair = await h.wget(cli.c, `http://${net.subnets[0]!.gateway}:${hostPort}/`);
    expect(hair.stdout).toBe("published");
    // The server's own container, back through the host port (hairpin mode on its bridge port).
    const self = await h.wget(srv.c, `http://${net.subnets[0]!.gateway}:${hostPort}/`);
    expect(self.stdout).toBe("published");
    // A container on another network (another bridge), routed through the host.
    const other = h.network();
    const far = await up(other.name);
    const routed = await h.wget(far.c, `http://${other.subnets[0]!.gateway}:${hostPort}/`);
    expect(routed.stdout).toBe("published");
    for (const x of [cli, far, srv]) await down(x.c, x.r);
    expect((await fetch(`http://127.0.0.1:${hostPort}/`, { signal: AbortSignal.timeout(3000) }).catch((e: Error) => e)) instanceof Error).toBe(true);
  });

  test("a fixed host port on 127.0.0.1, a fixed --ip and --mac-address", async () => {
    const net = h.network();
    const gw = net.subnets[0]!.gateway;
    const ip = `${gw.split(".").slice(0, 3).join(".")}.77`;
    const hostPort = 20000 + Math.floor(Math.random() * 10000);
    const x = await up(net.name, { ports: [`127.0.0.1:${hostPort}:8000`], ip, mac: "02:42:0a:00:00:77" });
    expect(x.r.ips[0]!.address).toBe(`${ip}/24`);
    expect(x.r.interfaces[0]!.mac).toBe("02:42:0a:00:00:77");
    expect((await h.exec(x.c, ["ip", "link", "show", "eth0"])).stdout).toContain("link/ether 02:42:0a:00:00:77");
    expect(x.r.ports).toEqual([{ hostIp: "127.0.0.1", hostPort, containerPort: 8000, protocol: "tcp" }]);
    await h.httpd(x.c, 8000, "fixed");
    expect(await (await fetch(`http://127.0.0.1:${hostPort}/`, { signal: AbortSignal.timeout(5000) })).text()).toBe("fixed");
    expect(h.m.store.attachmentsOf(x.c.id)).toMatchObject([{ ip: `${ip}/24`, mac: "02:42:0a:00:00:77", interface: "eth0" }]);
    await down(x.c, x.r);
  });

  test("egress is masqueraded to a server in a test-made outside netns; --internal has no egress", async () => {
    const out = await h.outsideServer();
    const net = h.network();
    const x = await up(net.name);
    const seen = await h.wget(x.c, `http://${out.ip}:${out.port}/`);
    // The outside server sees the host's address on its link, not the container's: NAT happened.
    expect({ out: seen.stdout, err: seen.stderr }).toEqual({ out: out.hostIp, err: "" });
    expect(readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8").trim()).toBe("1");
    const internal = h.network({ internal: true });
    const y = await up(internal.name);
    expect(y.r.gateway).toBeUndefined();
    expect((await h.exec(y.c, ["ip", "route"])).stdout).not.toContain("default");
    const blocked = await h.wget(y.c, `http://${out.ip}:${out.port}/`);
    expect(blocked.code).not.toBe(0);
    expect(blocked.stdout).toBe("");
    // ...but the internal network works inside: its gateway answers on the bridge.
    expect((await h.exec(y.c, ["ping", "-c", "1", "-W", "3", internal.subnets[0]!.gateway])).code).toBe(0);
    // Masquerade is the network's rule (one for its subnet), none for the internal one, which
    // drops what would be forwarded out of its bridge instead.
    const rules = await Bun.spawn(["iptables-save"], { stdout: "pipe" }).stdout.text();
    const lines = (id: string) => rules.split("\n").filter((l) => l.includes(`"berth network ${id.slice(0, 12)} `));
    expect(lines(net.id).filter((l) => l.includes("MASQUERADE"))).toEqual([expect.stringContaining(`-s ${net.subnets[0]!.subnet} `)]);
    expect(lines(internal.id).filter((l) => l.includes("MASQUERADE"))).toEqual([]);
    expect(lines(internal.id).filter((l) => l.endsWith("-j DROP"))).toHaveLength(2);
    expect(rules).not.toContain(x.c.id);
    await down(x.c, x.r);
    await down(y.c, y.r);
  });

  test("the default bridge: created on demand, the host's upstream resolvers, no name resolution", async () => {
    const x = await up("bridge");
    const def = h.m.find("bridge");
    expect(def.bridge).toBe(h.defaultBridge);
    expect(linkExists(h.defaultBridge)).toBe(true);
    expect(x.r.dns.servers.some((s) => s.startsWith("127.") || s === "::1")).toBe(false);
    expect(x.r.dns.servers).not.toContain(def.subnets[0]!.gateway);
    expect(x.r.etc.resolvConf).toMatch(/^# from the host/);
    expect(h.m.aardvark.networks()).not.toContain("bridge");
    const bad = await h.container();
    await expect(h.m.setup(bad, [{ network: "bridge", aliases: ["x"] }])).rejects.toThrow(/only on user-defined networks/);
    await h.m.removeNetns(bad.id);
    expect(await h.leftoversOf(bad.id)).toEqual([]);
    await down(x.c, x.r);
  });

  test("connect and disconnect a second network on a running container's netns", async () => {
    const n1 = h.network();
    const n2 = h.network();
    const a = await up(n1.name, { name: "multi" });
    const peer = await up(n2.name, { name: "peer2" });
    const eth1 = await h.m.connect({ ...a.c, name: "multi" }, { network: n2.name, aliases: ["m2"] });
    expect(eth1).toMatchObject({ name: "eth1", network: n2.name });
    expect((await h.exec(a.c, ["ip", "-4", "-o", "addr", "show", "eth1"])).stdout).toContain(eth1.address!);
    const look = await h.execWithEtc(peer.c, peer.r, ["nslookup", "m2"]);
    expect(look.stdout).toContain(eth1.address!.split("/")[0]!);
    await expect(h.m.connect({ ...a.c, name: "multi" }, { network: n2.name })).rejects.toThrow(/already connected/);
    await h.m.disconnect(a.c.id, n2.name);
    expect((await h.exec(a.c, ["ip", "link", "show", "eth1"])).code).not.toBe(0);
    expect(h.m.attachmentsOf(a.c.id).map((x) => x.networkName)).toEqual([n1.name]);
    await down(a.c, a.r);
    await down(peer.c, peer.r);
  });

  test("two setups at once never get the same address (host-local's lock)", async () => {
    const net = h.network();
    const cs = await Promise.all(Array.from({ length: 6 }, () => h.container()));
    const rs = await Promise.all(cs.map((c) => h.m.setup(c, [{ network: net.name }])));
    const ips = rs.map(ipOf);
    expect(new Set(ips).size).toBe(6);
    // And a second manager (another process's view) on the same root agrees.
    expect(h.manager().store.attachments(net.id).map((a) => a.ip!.split("/")[0]).sort()).toEqual([...ips].sort());
    for (let i = 0; i < cs.length; i++) await down(cs[i]!, rs[i]!);
  });

  test("a berth-runtime container joins the netns as a path namespace and reaches a peer by name with the generated /etc files", async () => {
    const rt = new Harness(RUNTIME);
    try {
      const net = h.network();
      const peer = await up(net.name, { name: "webpeer" });
      await h.httpd(peer.c, 8080, "peer over a real container");
      const me = await h.container("client");
      const r = await h.m.setup({ ...me, hostname: "client-box" }, [{ network: net.name }], [], { extraHosts: [{ name: "extra.example", ip: "10.1.1.1" }] });
      const etcDir = rt.tmpdir();
      for (const [f, text] of [["resolv.conf", r.etc.resolvConf], ["hosts", r.etc.hosts], ["hostname", r.etc.hostname]] as const) writeFileSync(join(etcDir, f), text);
      const res = await rt.run(["sh", "-c", "wget -q -O - http://webpeer:8080/ && echo && hostname && ip -4 -o addr show eth0 && grep -c extra.example /etc/hosts"], (s) => {
        s.hostname = "client-box";
        s.linux!.namespaces = s.linux!.namespaces!.map((n) => (n.type === "network" ? { type: "network", path: me.netnsPath } : n));
        for (const f of ["resolv.conf", "hosts", "hostname"]) s.mounts!.push({ destination: `/etc/${f}`, type: "bind", source: join(etcDir, f), options: ["rbind", "ro"] });
      }, { copyRootfs: true });
      expect(res.stderr).toBe("");
      const lines = res.stdout.split("\n");
      expect(lines[0]).toBe("peer over a real container");
      expect(lines[1]).toBe("client-box");
      expect(lines[2]).toContain(r.ips[0]!.address);
      expect(lines[3]).toBe("1");
      expect(res.code).toBe(0);
      await down(me, r);
      await down(peer.c, peer.r);
    } finally {
      await rt.cleanup();
      expect(leftoverCgroups()).toEqual([]);
    }
  });

  test("--explain: each step of seed 002 as it happens — netns, bridge, veth pair, address, route, iptables rules, port mappings — with times", async () => {
    const net = h.network();
    const events: ExplainEvent[] = [];
    const off = explain.subscribe((e) => events.push(e));
    let x: { c: TestContainer; r: SetupResult };
    try {
      x = await up(net.name, { ports: ["127.0.0.1::80"] });
      await h.m.teardown(x.c.id);
    } finally {
      off();
    }
    const hostPort = x.r.ports[0]!.hostPort;
    const ip = ipOf(x.r);
    const find = (step: string, re: RegExp) => events.find((e) => e.step === step && re.test(e.detail));
    expect(events.every((e) => e.who === "network")).toBe(true);
    expect(find("netns", /^unshare --net=.* ip link set lo up: new network namespace/)?.ms).toBeGreaterThan(0);
    expect(find("cni", /^bridge ADD on network/)?.ms).toBeGreaterThan(0);
    expect(find("bridge", new RegExp(`^created bridge ${net.bridge} with gateway ${net.subnets[0]!.gateway}/24`))).toBeDefined();
    expect(find("veth", new RegExp(`^veth pair ${x.r.interfaces[0]!.hostVeth} \\(host, port of ${net.bridge}, hairpin on\\) <-> eth0 \\(in ${x.c.netnsPath}, mac ${x.r.interfaces[0]!.mac}\\)`))).toBeDefined();
    expect(find("address", new RegExp(`^${x.r.ips[0]!.address.replace(/\./g, "\\.")} on eth0`))).toBeDefined();
    expect(find("route", new RegExp(`^default via ${net.subnets[0]!.gateway} dev eth0`))).toBeDefined();
    // The network's own rules, added with its first container (later ones find them verified).
    expect(find("iptables", new RegExp(`^rules of network ${net.name}: nat: -A ${h.adminChain}-NAT -s ${net.subnets[0]!.subnet} .*-j MASQUERADE`))).toBeDefined();
    expect(find("iptables", new RegExp(`^rules of network ${net.name}: iptables-save, then \\d+ line\\(s\\) in one iptables-restore`))?.ms).toBeGreaterThan(0);
    expect(find("iptables", new RegExp(`^rules of network ${net.name}: filter: -A ${h.adminChain}-FWD -i ${net.bridge} .*-j ACCEPT`))).toBeDefined();
    expect(find("cni", new RegExp(`^portmap ADD: 127\\.0\\.0\\.1:${hostPort} -> ${ip}:80/tcp`))?.ms).toBeGreaterThan(0);
    expect(find("iptables", new RegExp(`^portmap: nat: .*DNAT --to-destination ${ip}:80`))).toBeDefined();

    expect(find("dns", /^started aardvark-dns|^SIGHUP to aardvark-dns/)).toBeDefined();
    expect(find("cni", /firewall/)).toBeUndefined();
    for (const p of ["portmap", "bridge"]) expect(find("cni", new RegExp(`^${p} DEL on network`))?.ms).toBeGreaterThan(0);
    expect(find("netns", /^umount .*; unlink/)).toBeDefined();
    expect(await h.leftoversOf(x!.c.id, x!.r.interfaces.map((i) => i.hostVeth))).toEqual([]);
  });

  test("CNI CHECK passes on what setup made and names the plugin when something is gone", async () => {
    const net = h.network();
    const x = await up(net.name, { ports: ["80"] });
    await h.m.check(x.c.id);
    // Remove the container's address behind the plugins' back: the bridge plugin's CHECK says so.
    await h.exec(x.c, ["ip", "addr", "flush", "dev", "eth0"]);
    const e = await h.m.check(x.c.id).then(() => undefined, (err: unknown) => err as Error);
    expect(e?.message).toMatch(new RegExp(`^CNI plugin "bridge" CHECK failed on network "${net.name}": `));
    await down(x.c, x.r);
    await expect(h.m.check(x.c.id)).rejects.toThrow(/has no network set up/);
  });

  test("the network's rules: verified once per boot; a rule deleted behind berth's back is named by CHECK and restored by the next setup", async () => {
    const net = h.network();
    const rn = { id: net.id, name: net.name, bridge: net.bridge!, subnet: net.subnets[0]!.subnet, internal: false };
    const a = await up(net.name);
    expect(h.m.rules.verified(rn)).toBe(true);
    expect(await h.m.rules.missing(rn)).toEqual([]);
    const save = await Bun.spawn(["iptables-save", "-t", "nat"], { stdout: "pipe" }).stdout.text();
    const masq = save.split("\n").find((l) => l.includes(`"berth network ${net.id.slice(0, 12)} `) && l.includes("MASQUERADE"))!;
    expect(masq).toBeDefined();
    expect((await Bun.spawn(["sh", "-c", `iptables -w -t nat -D ${masq.slice(3)}`]).exited)).toBe(0);
    await expect(h.m.check(a.c.id)).rejects.toThrow(new RegExp(`iptables rules of network ${net.name} are not all in place \\(missing nat: 1 of the network's 1 rule`));
    expect(h.m.rules.verified(rn)).toBe(false);
    const b = await up(net.name);
    expect(await h.m.rules.missing(rn)).toEqual([]);
    await h.m.check(a.c.id);
    await down(a.c, a.r);
    await down(b.c, b.r);
    // network rm removes them, and the last network berth's chains.
    await h.m.remove(net.name);
    const after = await Bun.spawn(["iptables-save"], { stdout: "pipe" }).stdout.text();
    expect(after).not.toContain(`"berth network ${net.id.slice(0, 12)} `);
    expect(h.m.rules.verified(rn)).toBe(false);
  });

  test("teardown is idempotent and network rm removes the bridge; the last network restores the host", async () => {
    const net = h.network();
    const x = await up(net.name);
    await down(x.c, x.r);
    await h.m.teardown(x.c.id);
    expect(await h.leftoversOf(x.c.id)).toEqual([]);
    await h.m.remove(net.name);
    expect(linkExists(net.bridge!)).toBe(false);
  });
});
