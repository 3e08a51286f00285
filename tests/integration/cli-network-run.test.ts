// Container networking through the compiled CLI (`berth run --network/-p/--network-alias`, `rm`,
// `network rm`) on a private root: real containers of the built-in busybox on the default bridge
// and on user networks. Each test checks that what it removed left no netns, veth, iptables rule,
// IPAM lease or CNI cache entry; afterAll checks that no bridge or chain of the test's networks is
// left. Traffic goes only to 127.0.0.1 and to addresses inside namespaces this file made.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Cli, BERTH } from "./cli-helpers.ts";
import { BUN, hex, must, randomSubnet, run } from "./network-helpers.ts";
import { hostVethName } from "../../src/network/manager.ts";
import { bridgePorts, linkExists } from "../../src/network/links.ts";
import { mountPoints } from "../../src/network/netns.ts";
import { rootNetworkHash, settled } from "../helpers/leftovers.ts";

const ready = process.getuid?.() === 0 && existsSync(BERTH) && existsSync("/usr/lib/cni/bridge");
let cli: Cli;
const bridges = new Set<string>();
const pids: number[] = [];
const outsides: { netns: string; hostIf: string }[] = [];
const ipForwardBefore = readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8").trim();
// The default network's bridge and the firewall's admin chain of a non-default root (src/engine/network.ts).
let rootHash = "";

beforeAll(() => {
  cli = new Cli("bt-clinet-");
  rootHash = rootNetworkHash(cli.root);
  bridges.add(`bt0${rootHash}`);
});

afterAll(async () => {
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // gone
    }
  }
  for (const o of outsides) {
    await run(["ip", "link", "del", o.hostIf]);
    await run(["umount", o.netns]);
  }
  if (!ready) return;
  const left = await cli.cleanup();
  expect(left.mounts).toEqual([]);
  expect(left.cgroups).toEqual([]);
  // No bridge and no chain of this file's networks after `system reset` (what removes networks).
  expect([...bridges].filter(linkExists)).toEqual([]);
  const save = await must(["iptables-save"]);
  expect(save.split("\n").filter((l) => l.includes(`BT-ADMIN-${rootHash}`))).toEqual([]);
  // The last network gone restores ip_forward as it was (the host state berth recorded), unless
  // another berth root on this host holds it meanwhile (a concurrent run): then ours is no holder.
  const forward = readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8").trim();
  if (forward !== ipForwardBefore) {
    const holders: string[] = JSON.parse(readFileSync("/run/berth-host/ip_forward.json", "utf8")).holders;
    expect({ forward, ours: holders.filter((h) => h.startsWith(`${cli.root}/`)), others: holders.length > 0 }).toEqual({ forward, ours: [], others: true });
  }
});

/** What of container `id` (of this root) is still on the host. */
async function leftoversOf(id: string): Promise<string[]> {
  const left: string[] = [];
  const ns = join(cli.runroot, "netns", id);
  if (existsSync(ns)) left.push(`netns file ${ns}`);
  if (mountPoints().has(ns)) left.push(`netns mount ${ns}`);
  const veths = ["eth0", "eth1"].map((ifName) => hostVethName(id, ifName));
  for (const v of await settled(() => veths.filter(linkExists), (l) => l.length === 0)) left.push(`veth ${v}`);
  for (const line of (await must(["iptables-save"])).split("\n")) if (line.includes(id)) left.push(`iptables: ${line}`);
  const ipam = join(cli.root, "networks", "ipam");
  for (const net of existsSync(ipam) ? readdirSync(ipam) : []) {
    for (const f of readdirSync(join(ipam, net))) {
      try {
        if (readFileSync(join(ipam, net, f), "utf8").startsWith(id)) left.push(`lease ${net}/${f}`);
      } catch {
        // a lock file, or gone
      }
    }
  }
  const cache = join(cli.root, "networks", "cni-cache", id);
  if (existsSync(cache) && readdirSync(cache).length) left.push(`cni cache ${cache}`);
  return left;
}

/**
 * Veths on this root's bridges (other berth roots on this shared host have btv* links too), once
 * the kernel has deleted those of removed containers (they go with their netns, just after).
 */
async function settledVeths(): Promise<string[]> {
  const read = async () => {
    const ids = (await cli.ok(["ps", "-a", "-q", "--no-trunc"])).split("\n").filter(Boolean);
    const live = new Set(ids.flatMap((id) => ["eth0", "eth1", "eth2"].map((i) => hostVethName(id, i))));
    const veths = [...bridges].filter(linkExists).flatMap((b) => bridgePorts(b)).sort();
    return { veths, stale: veths.filter((v) => !live.has(v)) };
  };
  return (await settled(read, (r) => r.stale.length === 0)).veths;
}

/** Everything on the host that a failed command must not have added. */
async function hostSnapshot(): Promise<Record<string, string[]>> {
  const netnsDir = join(cli.runroot, "netns");
  const ipam = join(cli.root, "networks", "ipam");
  return {
    containers: (await cli.ok(["ps", "-a", "-q", "--no-trunc"])).split("\n").filter(Boolean).sort(),
    netns: existsSync(netnsDir) ? readdirSync(netnsDir).sort() : [],
    leases: (existsSync(ipam) ? readdirSync(ipam) : []).flatMap((n) => readdirSync(join(ipam, n)).filter((f) => /^\d/.test(f)).map((f) => `${n}/${f}`)).sort(),
    // Veths on this root's bridges (other berth roots on this shared host have btv* links too).
    veths: await settledVeths(),
    networks: (await cli.ok(["network", "ls", "-q", "--no-trunc"])).split("\n").filter(Boolean).sort(),
  };
}

interface NetView {
  ip: string;
  gateway: string;
}

async function netOf(ref: string, network: string): Promise<NetView> {
  const [doc] = JSON.parse(await cli.ok(["inspect", ref])) as { NetworkSettings: { Networks: Record<string, { IPAddress: string; Gateway: string }> } }[];
  const n = doc!.NetworkSettings.Networks[network];
  if (!n) throw new Error(`${ref} is not on ${network}: ${JSON.stringify(doc!.NetworkSettings.Networks)}`);
  return { ip: n.IPAddress, gateway: n.Gateway };
}

/** The container's network namespace: its SandboxKey (CNI modes), else its process's. */
async function netnsOf(ref: string): Promise<string> {
  const [doc] = JSON.parse(await cli.ok(["inspect", ref])) as { State: { Pid: number }; NetworkSettings: { SandboxKey: string } }[];
  return doc!.NetworkSettings.SandboxKey || `/proc/${doc!.State.Pid}/ns/net`;
}

const idOf = async (ref: string) => (await cli.ok(["inspect", "-f", "{{.Id}}", ref])).trim();

/** A user network of this test (its bridge recorded for the final check). */
async function userNetwork(opts: string[] = []): Promise<{ name: string; subnet: string; gateway: string }> {
  const name = `bt-cn-${hex(6)}`;
  const subnet = randomSubnet();
  await cli.ok(["network", "create", "--subnet", subnet, ...opts, name]);
  const [doc] = JSON.parse(await cli.ok(["network", "inspect", name])) as { Options: Record<string, string>; IPAM: { Config: { Gateway: string }[] } }[];
  bridges.add(doc!.Options["com.docker.network.bridge.name"]!);
  return { name, subnet, gateway: doc!.IPAM.Config[0]!.Gateway };
}

/** A detached busybox httpd answering `body` on `port`. */
async function httpd(args: string[], port: number, body: string): Promise<string> {
  const script = `mkdir -p /www && echo -n ${JSON.stringify(body)} > /www/index.html && exec httpd -f -p ${port} -h /www`;
  const id = (await cli.ok(["run", "-d", ...args, "busybox", "sh", "-c", script])).trim();
  // Listening? (/proc/net/tcp{,6} in its netns, the inspect's SandboxKey, or its pid's: state 0A is LISTEN)
  const hexPort = port.toString(16).toUpperCase().padStart(4, "0");
  const ns = await netnsOf(id);
  for (let i = 0; i < 200; i++) {
    const r = await run(["nsenter", `--net=${ns}`, "cat", "/proc/net/tcp", "/proc/net/tcp6"]);
    if (r.stdout.split("\n").some((l) => l.includes(`:${hexPort} `) && l.trim().split(/\s+/)[3] === "0A")) return id;
    await Bun.sleep(25);
  }
  throw new Error(`httpd in ${id} did not listen on ${port}`);
}

/**
 * busybox wget in a new container on `network`, bounded by busybox timeout (busybox 1.35's own
 * `wget -T` crashes here) under a shell: busybox timeout execs the command in its own process
 * and kills it from a child, and as the container's PID 1 wget would ignore that SIGTERM.
 */
const wgetFrom = (network: string, url: string, extra: string[] = []) =>
  cli.run(["run", "--rm", "--network", network, ...extra, "busybox", "sh", "-c", `timeout 5 wget -q -O - ${url}; exit $?`]);

async function rmAndCheck(...refs: string[]): Promise<void> {
  const ids = await Promise.all(refs.map(idOf));
  await cli.ok(["rm", "-f", ...ids]);
  for (const id of ids) expect({ id, left: await leftoversOf(id) }).toEqual({ id, left: [] });
}

/**
 * An "outside" network namespace joined to the host by a veth (host end bto…, .1/30; far end
 * .2/30) with an HTTP server that answers with the client address it sees. Not a real address:
 * a random 10.x.y.0/30 that overlaps no host route.
 */
async function outsideServer(): Promise<{ ip: string; hostIp: string; port: number }> {
  const base = randomSubnet(30).split("/")[0]!.split(".").slice(0, 3).join(".");
  const hostIp = `${base}.1`;
  const ip = `${base}.2`;
  const netns = join(cli.dir, `outside-${hex(4)}`);
  writeFileSync(netns, "");
  await must(["unshare", `--net=${netns}`, "true"]);
  const hostIf = `bto${hex(8)}`;
  outsides.push({ netns, hostIf });
  const far = `btp${hex(8)}`;
  await must(["nsenter", `--net=${netns}`, "ip", "link", "add", far, "type", "veth", "peer", "name", hostIf, "netns", String(process.pid)]);
  await must(["ip", "addr", "add", `${hostIp}/30`, "dev", hostIf]);
  await must(["ip", "link", "set", hostIf, "up"]);
  await must(["nsenter", `--net=${netns}`, "ip", "addr", "add", `${ip}/30`, "dev", far]);
  await must(["nsenter", `--net=${netns}`, "ip", "link", "set", far, "up"]);
  await must(["nsenter", `--net=${netns}`, "ip", "link", "set", "lo", "up"]);
  const port = 18000 + Math.floor(Math.random() * 1000);
  const script = `Bun.serve({ hostname: ${JSON.stringify(ip)}, port: ${port}, fetch(req, s) { return new Response(s.requestIP(req)?.address ?? "?"); } });`;
  const p = Bun.spawn(["nsenter", `--net=${netns}`, BUN, "-e", script], { stdin: "ignore", stdout: "ignore", stderr: "ignore" });
  pids.push(p.pid);
  for (let i = 0; i < 200; i++) {
    if ((await run(["nsenter", `--net=${netns}`, "cat", "/proc/net/tcp"])).stdout.includes(`:${port.toString(16).toUpperCase()} `)) return { ip, hostIp, port };
    await Bun.sleep(25);
  }
  throw new Error("the outside server did not listen");
}

describe.if(ready)("berth run on bridge networks", () => {
  test("two containers on a user network reach each other by IP, by name and by alias; names follow stop and start", async () => {
    const net = await userNetwork();
    const a = await httpd(["--name", `alpha-${hex(4)}`, "--network", net.name, "--network-alias", "db"], 8080, "hello from alpha");
    const name = (await cli.ok(["inspect", "-f", "{{.Name}}", a])).trim().replace(/^\//, "");
    const { ip, gateway } = await netOf(a, net.name);
    expect(gateway).toBe(net.gateway);
    for (const host of [ip, name, "db", a.slice(0, 12)]) {
      const r = await wgetFrom(net.name, `http://${host}:8080/`);
      expect({ host, out: r.stdout, code: r.code }).toEqual({ host, out: "hello from alpha", code: 0 });
    }
    // The resolver is the network's (aardvark-dns on the gateway), never the host's.
    expect(await cli.ok(["run", "--rm", "--network", net.name, "busybox", "cat", "/etc/resolv.conf"])).toContain(`nameserver ${net.gateway}`);
    // A second container sees the first, and the first sees the second by its name.
    const b = (await cli.ok(["run", "-d", "--name", `beta-${hex(4)}`, "--network", net.name, "busybox", "sleep", "600"])).trim();
    const bName = (await cli.ok(["inspect", "-f", "{{.Name}}", b])).trim().replace(/^\//, "");
    const bIp = (await netOf(b, net.name)).ip;
    const lookup = () => cli.run(["run", "--rm", "--network", net.name, "busybox", "nslookup", bName]);
    expect((await lookup()).stdout).toContain(bIp);
    // Stopped: its name is gone from the network's DNS; started again: back.
    await cli.ok(["stop", "-t", "0", b]);
    const gone = await lookup();
    expect(gone.code).not.toBe(0);
    expect(gone.stdout).not.toContain(bIp);
    await cli.ok(["start", b]);
    expect((await lookup()).stdout).toContain((await netOf(b, net.name)).ip);
    await rmAndCheck(a, b);
    await cli.ok(["network", "rm", net.name]);
  });

  test("a published port: reached from the host on 127.0.0.1 and from containers through the host port (hairpin)", async () => {
    const srv = await httpd(["-p", "80"], 80, "published");
    const [mapping] = (await cli.ok(["port", srv, "80/tcp"])).trim().split("\n");
    const hostPort = Number(mapping!.split(":").pop());
    expect(hostPort).toBeGreaterThan(1024);
    const res = await fetch(`http://127.0.0.1:${hostPort}/`, { signal: AbortSignal.timeout(5000) });
    expect(await res.text()).toBe("published");
    // Another container on the default bridge, through the host (its gateway) and the host port.
    const { gateway } = await netOf(srv, "bridge");
    const hair = await wgetFrom("bridge", `http://${gateway}:${hostPort}/`);
    expect({ out: hair.stdout, code: hair.code }).toEqual({ out: "published", code: 0 });
    // A container on a user network (another bridge), routed through the host.
    const net = await userNetwork();
    const routed = await wgetFrom(net.name, `http://${net.gateway}:${hostPort}/`);
    expect({ out: routed.stdout, code: routed.code }).toEqual({ out: "published", code: 0 });
    // The server's own container, back in through the host port (hairpin on its bridge port).
    // (berth has no exec yet: the host's busybox in the container's netns.)
    const self = await run(["nsenter", `--net=${await netnsOf(srv)}`, "/bin/busybox", "timeout", "5", "/bin/busybox", "wget", "-q", "-O", "-", `http://${gateway}:${hostPort}/`]);
    expect(self.stdout).toBe("published");
    // A fixed host port on 127.0.0.1.
    const fixed = 20000 + Math.floor(Math.random() * 10000);
    const srv2 = await httpd(["-p", `127.0.0.1:${fixed}:8000`], 8000, "fixed");
    expect(await (await fetch(`http://127.0.0.1:${fixed}/`, { signal: AbortSignal.timeout(5000) })).text()).toBe("fixed");
    await rmAndCheck(srv, srv2);
    // The DNAT rules went with the container: nothing answers on the host port any more.
    expect((await fetch(`http://127.0.0.1:${hostPort}/`, { signal: AbortSignal.timeout(3000) }).catch((e: Error) => e)) instanceof Error).toBe(true);
    await cli.ok(["network", "rm", net.name]);
  });

  test("egress is masqueraded to a server in a test-made outside netns; an --internal network has no egress", async () => {
    const out = await outsideServer();
    const seen = await wgetFrom("bridge", `http://${out.ip}:${out.port}/`);
    // The outside server sees the host's address on its link, not the container's: NAT happened.
    expect({ out: seen.stdout, code: seen.code }).toEqual({ out: out.hostIp, code: 0 });
    const user = await userNetwork();
    expect((await wgetFrom(user.name, `http://${out.ip}:${out.port}/`)).stdout).toBe(out.hostIp);
    const internal = await userNetwork(["--internal"]);
    const routes = await cli.ok(["run", "--rm", "--network", internal.name, "busybox", "ip", "route"]);
    expect(routes).not.toContain("default");
    const blocked = await wgetFrom(internal.name, `http://${out.ip}:${out.port}/`);
    expect(blocked.code).not.toBe(0);
    expect(blocked.stdout).toBe("");
    // ...while inside it the gateway answers.
    expect((await cli.run(["run", "--rm", "--network", internal.name, "busybox", "ping", "-c", "1", "-W", "3", internal.gateway])).code).toBe(0);
    // Nor does a published port of another network let it out: the host's DNAT would forward
    // it to the other bridge (where the user network's container gets through).
    const srv = await httpd(["-p", "80"], 80, "published");
    const hostPort = Number((await cli.ok(["port", srv, "80/tcp"])).trim().split(":").pop());
    expect((await wgetFrom(user.name, `http://${user.gateway}:${hostPort}/`)).stdout).toBe("published");
    const escaped = await wgetFrom(internal.name, `http://${internal.gateway}:${hostPort}/`);
    expect({ code: escaped.code === 0, out: escaped.stdout }).toEqual({ code: false, out: "" });
    await rmAndCheck(srv);
    await cli.ok(["network", "rm", user.name, internal.name]);
  });

  test("runs at once on new networks: distinct addresses, each network's rules written once", async () => {
    const nets = [await userNetwork(), await userNetwork()];
    // Four first setups at once, two per network: both networks' rules are missing at the start.
    const ids = (await Promise.all([0, 1, 2, 3].map((i) => cli.ok(["run", "-d", "--network", nets[i % 2]!.name, "busybox", "sleep", "600"])))).map((x) => x.trim());
    const ips = await Promise.all(ids.map((id, i) => netOf(id, nets[i % 2]!.name).then((n) => n.ip)));
    expect(new Set(ips).size).toBe(4);
    const save = await must(["iptables-save"]);
    for (const n of nets) {
      const [doc] = JSON.parse(await cli.ok(["network", "inspect", n.name])) as { Id: string }[];
      const mine = save.split("\n").filter((l) => l.includes(`"berth network ${doc!.Id.slice(0, 12)} `));
      // One masquerade rule and three FORWARD accepts, not duplicated by the racing setups.
      expect(mine.filter((l) => l.includes("MASQUERADE"))).toHaveLength(1);
      expect(mine.filter((l) => l.endsWith("-j ACCEPT"))).toHaveLength(3);
    }
    expect(save.split("\n").filter((l) => l.startsWith("-A FORWARD ") && l.endsWith(`-j BT-ADMIN-${rootHash}-FWD`))).toHaveLength(1);
    await rmAndCheck(...ids);
    await cli.ok(["network", "rm", ...nets.map((n) => n.name)]);
  });

  test("--network container:<id> shares the other container's network namespace", async () => {
    const a = await httpd([], 8080, "same netns");
    const { ip } = await netOf(a, "bridge");
    const shared = await cli.run(["run", "--rm", "--network", `container:${a}`, "busybox", "sh", "-c", "ip -4 -o addr show eth0; timeout 5 wget -q -O - http://127.0.0.1:8080/"]);
    expect(shared.code).toBe(0);
    expect(shared.stdout).toContain(`inet ${ip}/`);
    expect(shared.stdout).toContain("same netns");
    const pid = Number((await cli.ok(["inspect", "-f", "{{.State.Pid}}", a])).trim());
    const theirs = await cli.ok(["run", "--rm", "--network", `container:${a.slice(0, 12)}`, "busybox", "readlink", "/proc/self/ns/net"]);
    expect(theirs.trim()).toBe(readlinkSync(`/proc/${pid}/ns/net`));
    await rmAndCheck(a);
  });

  test("a SIGKILLed `berth run` in the middle of its network setup: the next networking command releases what it left", async () => {
    // A plugin directory whose bridge runs the real plugin and then holds its stdout open (the
    // caller waits for it): the kill lands after the bridge ADD (lease, veth, netns, cache
    // written) and before the container exists.
    const dir = mkdtempSync("/tmp/bt-cni-slow-");
    const pidFile = join(dir, "held.pid");
    const bridge = `bt0${rootHash}`;
    const portsBefore = linkExists(bridge) ? bridgePorts(bridge).length : 0;
    try {
      for (const p of readdirSync("/usr/lib/cni")) if (p !== "bridge") symlinkSync(join("/usr/lib/cni", p), join(dir, p));
      writeFileSync(join(dir, "bridge"), `#!/bin/sh\n/usr/lib/cni/bridge; s=$?\n[ "$CNI_COMMAND" = ADD ] && echo $$ > ${pidFile} && exec sleep 60\nexit $s\n`, { mode: 0o755 });
      const p = Bun.spawn(cli.argv(["run", "--rm", "busybox", "sleep", "600"]), { stdin: "ignore", stdout: "ignore", stderr: "ignore", env: { ...process.env, BERTH_CNI_PATH: dir } });
      for (let i = 0; i < 1000 && !existsSync(pidFile); i++) await Bun.sleep(10);
      p.kill("SIGKILL");
      await p.exited;
      const held = Number(readFileSync(pidFile, "utf8"));
      process.kill(held, "SIGKILL");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const ids = (await cli.ok(["ps", "-a", "-q", "--no-trunc", "--filter", "status=created"])).split("\n").filter(Boolean);
    expect(ids).toHaveLength(1);
    const id = ids[0]!;
    // The kill left real things behind.
    const left = await leftoversOf(id);
    expect(left).toContain(`netns mount ${join(cli.runroot, "netns", id)}`);
    expect(left.some((l) => l.startsWith("lease bridge/"))).toBe(true);
    // The veth is still under the plugin's name (berth renames it after the ADD returns).
    expect(bridgePorts(bridge)).toHaveLength(portsBefore + 1);
    expect(left).toContain(`cni cache ${join(cli.root, "networks", "cni-cache", id)}`);
    // One later command that touches networking (the next run on a bridge) collects them.
    await cli.ok(["run", "--rm", "busybox", "true"]);
    expect(await leftoversOf(id)).toEqual([]);
    expect((await settled(() => bridgePorts(bridge), (p) => p.length === portsBefore)).length).toBe(portsBefore);
    await cli.ok(["rm", "-f", id]);
    expect(await leftoversOf(id)).toEqual([]);
  });
});

describe.if(ready)("bad input: a clear error naming it, exit 125, nothing created", () => {
  test("overlapping subnet, port already published, network in use, unknown network, --ip outside, malformed -p", async () => {
    const net = await userNetwork();
    const holder = (await cli.ok(["run", "-d", "--network", net.name, "-p", "127.0.0.1::80", "busybox", "sleep", "600"])).trim();
    const taken = Number((await cli.ok(["port", holder, "80/tcp"])).trim().split(":").pop());
    const before = await hostSnapshot();
    const overlapping = `${net.subnet.split(".").slice(0, 3).join(".")}.0/25`;
    const cases: [string[], RegExp][] = [
      [["network", "create", "--subnet", overlapping, `x${hex(4)}`], new RegExp(`subnet ${overlapping.replace(/\./g, "\\.").replace("/", "\\/")} overlaps berth network "${net.name}"`)],
      [["run", "--rm", "-p", `127.0.0.1:${taken}:80`, "busybox", "true"], new RegExp(`host port 127\\.0\\.0\\.1:${taken}/tcp is not available: it is already published`)],
      [["run", "--rm", "-p", `${taken}:80`, "busybox", "true"], new RegExp(`host port 0\\.0\\.0\\.0:${taken}/tcp is not available`)],
      [["network", "rm", net.name], new RegExp(`network ${net.name} .*has active endpoints`)],
      [["run", "--rm", "--network", `nope-${hex(4)}`, "busybox", "true"], /network nope-[0-9a-f]+ not found/],
      [["run", "--rm", "--network", net.name, "--ip", "192.0.2.9", "busybox", "true"], new RegExp(`--ip 192\\.0\\.2\\.9 is outside network ${net.name}'s subnet`)],
      [["run", "--rm", "-p", "80:80:80", "busybox", "true"], /invalid port mapping -p 80:80:80/],
      [["run", "--rm", "-p", "abc", "busybox", "true"], /invalid port mapping -p abc: container port "abc"/],
      [["run", "--rm", "-p", "70000:80", "busybox", "true"], /invalid port mapping -p 70000:80: host port "70000" is not a port/],
      [["run", "--rm", "--network", "none", "-p", "80", "busybox", "true"], /published ports \(-p, -P\) need a bridge network; --network none/],
    ];
    for (const [argv, msg] of cases) {
      const r = await cli.run(argv);
      expect({ argv, code: r.code, stderr: r.stderr }).toEqual({ argv, code: 125, stderr: expect.stringMatching(msg) });
      expect(await hostSnapshot()).toEqual(before);
    }
    await rmAndCheck(holder);
    await cli.ok(["network", "rm", net.name]);
  });

  test("a missing plugin binary names the plugin and the package; nothing is created", async () => {
    const dir = mkdtempSync("/tmp/bt-cni-");
    try {
      for (const p of readdirSync("/usr/lib/cni")) if (p !== "host-local") symlinkSync(join("/usr/lib/cni", p), join(dir, p));
      const before = await hostSnapshot();
      const r = await cli.run(["run", "--rm", "busybox", "true"], { env: { BERTH_CNI_PATH: dir } });
      expect(r.code).toBe(125);
      expect(r.stderr).toContain(`CNI plugin "host-local" is not installed: no executable host-local in ${dir}; install the Debian package containernetworking-plugins`);
      expect(await hostSnapshot()).toEqual(before);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe.if(ready)("--explain shows the seed's steps (seed 002: bridge, veth pair, address, default route)", () => {
  test("berth --explain run --rm busybox ip addr", async () => {
    const r = await cli.run(["--explain", "run", "--rm", "busybox", "ip", "addr"]);
    expect(r.code).toBe(0);
    const lines = r.stderr.split("\n").filter((l) => l.startsWith("[explain] network"));
    const ms = String.raw` [\d.]+ ms$`;
    const find = (re: string) => lines.find((l) => new RegExp(`^\\[explain\\] network ${re}`).test(l));
    const bridge = `bt0${rootHash}`;
    const addr = /inet (\d+\.\d+\.\d+\.\d+\/\d+) .*eth0/.exec(r.stdout)?.[1];
    expect(addr).toBeDefined();
    const expected: Record<string, string> = {
      netns: `berth-init: unshare\\(CLONE_NEWNET\\); lo up; mount --bind /proc/self/ns/net ${cli.runroot}/netns/[0-9a-f]{64}: new network namespace bind-mounted on .*, lo up${ms}`,
      "bridge plugin": `bridge ADD on network bridge${ms}`,
      bridge: `(created|reused) bridge ${bridge} with gateway \\d+\\.\\d+\\.\\d+\\.1/\\d+`,
      veth: `veth pair btv[0-9a-f]{12} \\(host, port of ${bridge}, hairpin on\\) <-> eth0 \\(in ${cli.runroot}/netns/[0-9a-f]{64}, mac [0-9a-f:]{17}\\)`,
      address: `${addr!.replace(/\./g, "\\.")} on eth0 \\(host-local IPAM`,
      route: `default via \\d+\\.\\d+\\.\\d+\\.1 dev eth0`,
      // The network's masquerade and FORWARD rules: added with its first container, verified
      // (without an iptables call) for the later ones of this boot.
      "iptables rules": `(rules of network bridge: iptables-save, then \\d+ line\\(s\\) in one iptables-restore --noflush .*${ms}|rules of network bridge \\(masquerade, FORWARD accepts\\) in place: verified earlier this boot)`,
      portmap: `portmap not run: no published ports`,
      done: `setup of [0-9a-f]{12} done: ${addr!.replace(/\./g, "\\.")} on bridge${ms}`,
      "bridge DEL": `bridge DEL on network bridge .*, no netns given: the kernel deletes the interface with the namespace${ms}`,
      "netns released": `umount .*; unlink: network namespace released${ms}`,
    };
    for (const [what, re] of Object.entries(expected)) expect({ what, line: find(re) }).toEqual({ what, line: expect.any(String) });
    // In the seed's order: namespace, bridge, veth, address, route, then the container runs.
    const order = ["netns", "iptables rules", "bridge", "veth", "address", "route", "done", "bridge DEL"].map((k) => lines.indexOf(find(expected[k]!)!));
    expect(order).toEqual([...order].sort((x, y) => x - y));
    // The container is cloned into the namespace while the plugins still configure it; its
    // process runs only once they are done (the engine waits for CNI ADD before start).
    const at = (re: RegExp) => r.stderr.search(re);
    expect(at(/wait for CNI ADD/)).toBeGreaterThan(-1);
    expect(at(/unshare\(CLONE_NEWNET\)/)).toBeLessThan(at(/clone3?\(/));
    expect(at(/setup of [0-9a-f]{12} done/)).toBeLessThan(at(/wait for CNI ADD/));
    expect(at(/clone3?\(/)).toBeLessThan(at(/wait for CNI ADD/));
  });
});
