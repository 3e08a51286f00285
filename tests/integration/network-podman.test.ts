// berth beside rootful podman on the same machine, each on its default bridge network: the same
// shape of network inside the container (lo and eth0, an address on eth0 in the network's subnet,
// a default route through the gateway on eth0, resolv.conf with the host's upstream servers and
// never 127.0.0.x) and a published port reachable from the host on 127.0.0.1.
//
// podman runs daemonless in a temp dir (tests/helpers/podman.ts). Its default network `podman`
// is given by a file in that private network config dir (netavark reads a network named as the
// default from there before it makes its built-in one), so that its bridge is a bt* link with a
// random subnet, not the host-wide podman0/10.88.0.0/16 another podman user may have. What
// netavark leaves on the host after its last container — its iptables chains, ip_forward — is
// removed here when this test made it.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Cli, BERTH } from "./cli-helpers.ts";
import { hex, randomSubnet, run } from "./network-helpers.ts";
import { startPodman, type Podman } from "../helpers/podman.ts";
import { newNetavarkChains, removeNetavarkLeftovers, snapshotNetavark, type NetavarkSnapshot } from "../helpers/netavark.ts";
import { hostResolvConf } from "../../src/network/etc-files.ts";

const RUNC = "/usr/sbin/runc";
const ready = process.getuid?.() === 0 && existsSync(BERTH) && existsSync(RUNC) && existsSync("/usr/lib/cni/bridge") && Bun.which("podman") !== null && Bun.which("netavark", { PATH: "/usr/lib/podman:/usr/libexec/podman" }) !== null;

let cli: Cli;
let podman: Podman;
const podBridge = `btpd${hex(8)}`;
const podSubnet = randomSubnet();
const podGateway = podSubnet.replace(/\.0\/24$/, ".1");
const ipForwardBefore = readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8").trim();
let netavark: NetavarkSnapshot;

beforeAll(async () => {
  if (!ready) return;
  netavark = await snapshotNetavark();
  cli = new Cli("bt-netpod-");
  podman = await startPodman({ runtimes: [{ binary: RUNC, defaultRoot: "/run/runc" }] });
  mkdirSync(join(podman.dir, "networks"), { recursive: true });
  writeFileSync(join(podman.dir, "networks", "podman.json"), JSON.stringify({
    name: "podman", id: randomBytes(32).toString("hex"), driver: "bridge", network_interface: podBridge, created: new Date().toISOString(),
    subnets: [{ subnet: podSubnet, gateway: podGateway }], ipv6_enabled: false, internal: false, dns_enabled: false, ipam_options: { driver: "host-local" },
  }));
});

afterAll(async () => {
  if (!ready) return;
  const left = await podman.stop();
  const berthLeft = await cli.cleanup();
  const problems: string[] = [];
  if (left.containers.length || left.processes.length || left.mounts.length || left.runtimeState.length) problems.push(`podman left ${JSON.stringify(left)}`);
  if (berthLeft.mounts.length || berthLeft.cgroups.length) problems.push(`berth left ${JSON.stringify(berthLeft)}`);
  // netavark removes the bridge with its last container; what it keeps (its chains, its IPAM
  // database) goes when this test made it. Rules of this test's subnet or bridge are leaks.
  const removed = await removeNetavarkLeftovers(netavark, { subnets: [podSubnet], bridges: [podBridge] });
  problems.push(...removed.filter((r) => r.startsWith("rule") || r.startsWith("bridge")));
  const chainsLeft = await newNetavarkChains(netavark);
  if (chainsLeft.length) problems.push(`netavark chains left: ${chainsLeft.join(", ")}`);
  if (readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8").trim() !== ipForwardBefore) writeFileSync("/proc/sys/net/ipv4/ip_forward", ipForwardBefore);
  expect(problems).toEqual([]);
});

interface Shape {
  links: string[];
  address: string;
  defaultRoute: string;
  nameservers: string[];
}

/** What the container sees: its links, eth0's IPv4 address, the default route, its nameservers. */
const PROBE = "ls /sys/class/net | tr '\\n' ' '; echo; ip -4 -o addr show eth0 | awk '{print $4}'; ip route | grep ^default; grep ^nameserver /etc/resolv.conf | awk '{print $2}' | tr '\\n' ' '";

function shape(out: string): Shape {
  const [links, address, route, ns] = out.split("\n");
  return { links: links!.trim().split(/\s+/).sort(), address: address!.trim(), defaultRoute: route!.trim(), nameservers: ns!.trim().split(/\s+/).filter(Boolean) };
}

const inSubnet = (addr: string, subnet: string) => addr.startsWith(subnet.split(".").slice(0, 3).join(".") + ".");

async function listening(netns: string, port: number): Promise<void> {
  const hexPort = port.toString(16).toUpperCase().padStart(4, "0");
  for (let i = 0; i < 200; i++) {
    const r = await run(["nsenter", `--net=${netns}`, "cat", "/proc/net/tcp", "/proc/net/tcp6"]);
    if (r.stdout.split("\n").some((l) => l.includes(`:${hexPort} `) && l.trim().split(/\s+/)[3] === "0A")) return;
    await Bun.sleep(25);
  }
  throw new Error(`nothing listens on ${port} in ${netns}`);
}

const HTTPD = "mkdir -p /www && echo -n same > /www/index.html && exec httpd -f -p 80 -h /www";

describe.if(ready)("berth and podman on their default bridges", () => {
  test("run --rm: the same shape of network inside; a published port is reachable from the host", async () => {
    const p = await podman.podman(RUNC, ["run", "--rm", "--cgroup-parent", podman.cgroupParent, podman.image, "sh", "-c", PROBE]);
    expect({ code: p.code, stderr: p.stderr }).toEqual({ code: 0, stderr: "" });
    const b = await cli.run(["run", "--rm", "busybox", "sh", "-c", PROBE]);
    expect({ code: b.code, stderr: b.stderr }).toEqual({ code: 0, stderr: "" });
    const ps = shape(p.stdout);
    const bs = shape(b.stdout);
    const [bridgeNet] = JSON.parse(await cli.ok(["network", "inspect", "bridge"])) as { IPAM: { Config: { Subnet: string; Gateway: string }[] } }[];
    const berthNet = bridgeNet!.IPAM.Config[0]!;

    expect(ps.links).toEqual(["eth0", "lo"]);
    expect(bs.links).toEqual(ps.links);
    expect(inSubnet(ps.address, podSubnet)).toBe(true);
    expect(inSubnet(bs.address, berthNet.Subnet)).toBe(true);
    expect(ps.address.split("/")[1]).toBe(podSubnet.split("/")[1]);
    expect(bs.address.split("/")[1]).toBe(berthNet.Subnet.split("/")[1]);
    expect(ps.defaultRoute).toMatch(new RegExp(`^default via ${podGateway.replace(/\./g, "\\.")} dev eth0`));
    expect(bs.defaultRoute).toMatch(new RegExp(`^default via ${berthNet.Gateway.replace(/\./g, "\\.")} dev eth0`));
    // resolv.conf from the host: the host's upstream servers, the same in both, never loopback.
    const upstream = hostResolvConf().servers;
    expect(ps.nameservers).toEqual(upstream);
    expect(bs.nameservers).toEqual(ps.nameservers);
    expect(bs.nameservers.some((s) => s.startsWith("127."))).toBe(false);

    // A published port on 127.0.0.1, each engine's own.
    const pPort = 20000 + Math.floor(Math.random() * 5000);
    const bPort = pPort + 5000;
    const pc = await podman.podman(RUNC, ["run", "-d", "--cgroup-parent", podman.cgroupParent, "-p", `127.0.0.1:${pPort}:80`, podman.image, "sh", "-c", HTTPD]);
    expect(pc.code).toBe(0);
    const pid = pc.stdout.trim();
    const bid = (await cli.ok(["run", "-d", "-p", `127.0.0.1:${bPort}:80`, "busybox", "sh", "-c", HTTPD])).trim();
    try {
      const pPid = (await podman.podman(RUNC, ["inspect", "-f", "{{.State.Pid}}", pid])).stdout.trim();
      const bPid = (await cli.ok(["inspect", "-f", "{{.State.Pid}}", bid])).trim();
      await listening(`/proc/${pPid}/ns/net`, 80);
      await listening(`/proc/${bPid}/ns/net`, 80);
      const got = await Promise.all([pPort, bPort].map(async (port) => (await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(5000) })).text()));
      expect(got).toEqual(["same", "same"]);
    } finally {
      await podman.podman(RUNC, ["rm", "-f", "-t", "0", pid]);
      await cli.ok(["rm", "-f", bid]);
    }
  });
});
