// CNI config lists, plugin stdin, aardvark-dns files, docker's inspect shape and the network
// records (create's validation) as data, on an in-memory metadata database.
import { describe, expect, test } from "bun:test";
import { MetadataDB } from "../../src/metadata/db.ts";
import { aardvarkNetworkFile, udpSockets } from "../../src/network/aardvark.ts";
import { bridgeConfList, pluginStdin, pluginTypes } from "../../src/network/cni/conflist.ts";
import { containerSide } from "../../src/network/cni/types.ts";
import { dockerInspect, dockerListRow } from "../../src/network/inspect.ts";
import { masqueradeChain, addedRules } from "../../src/network/iptables.ts";
import { NetworkManager, hostVethName } from "../../src/network/manager.ts";
import { isBerthError } from "../../src/sys/errdefs.ts";
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";

const O = { ipamDir: "/var/lib/berth/networks/ipam", ports: true };

describe("CNI config lists", () => {
  test("a user network: bridge with host-local and the default route (masquerade is the network's rule, not the plugin's); portmap for published ports", () => {
    const l = bridgeConfList({ name: "web", bridge: "bt-0123456789ab", subnets: [{ subnet: "10.89.0.0/24", gateway: "10.89.0.1", ipRange: "10.89.0.128/25" }], internal: false, mtu: 1400 }, O);
    expect(l).toEqual({
      cniVersion: "1.0.0",
      name: "web",
      plugins: [
        {
          type: "bridge", bridge: "bt-0123456789ab", isGateway: true, ipMasq: false, hairpinMode: true, mtu: 1400,
          capabilities: { ips: true, mac: true },
          ipam: {
            type: "host-local", dataDir: O.ipamDir,
            ranges: [[{ subnet: "10.89.0.0/24", gateway: "10.89.0.1", rangeStart: "10.89.0.129", rangeEnd: "10.89.0.254" }]],
            routes: [{ dst: "0.0.0.0/0" }],
          },
        },
        { type: "portmap", capabilities: { portMappings: true }, snat: true },
      ],
    });
    expect(pluginTypes(l)).toEqual(["bridge", "host-local", "portmap"]);
    // No published ports: portmap would have nothing to do and is not in the list.
    const bare = bridgeConfList({ name: "web", bridge: "bt-0123456789ab", subnets: [{ subnet: "10.89.0.0/24", gateway: "10.89.0.1" }], internal: false }, { ipamDir: O.ipamDir });
    expect(pluginTypes(bare)).toEqual(["bridge", "host-local"]);
  });
  test("--internal: no default route, no masquerade", () => {
    const b = bridgeConfList({ name: "in", bridge: "bt-x", subnets: [{ subnet: "10.9.0.0/24", gateway: "10.9.0.1" }], internal: true }, O).plugins[0]!;
    expect(b.ipMasq).toBe(false);
    expect((b.ipam as { routes: unknown[] }).routes).toEqual([]);
  });
  test("capability args reach only the plugins that declare them; prevResult is chained", () => {
    const l = bridgeConfList({ name: "n", bridge: "bt-x", subnets: [{ subnet: "10.9.0.0/24", gateway: "10.9.0.1" }], internal: false }, O);
    const caps = { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: "tcp" }], ips: ["10.9.0.5/24"], mac: "02:42:0a:09:00:05" };
    const b = pluginStdin(l, 0, caps);
    expect(b.runtimeConfig).toEqual({ ips: ["10.9.0.5/24"], mac: "02:42:0a:09:00:05" });
    expect(b.prevResult).toBeUndefined();
    const prev = { cniVersion: "1.0.0", ips: [{ address: "10.9.0.5/24" }] };
    const p = pluginStdin(l, 1, caps, prev);
    expect(p).toMatchObject({ cniVersion: "1.0.0", name: "n", type: "portmap", runtimeConfig: { portMappings: caps.portMappings }, prevResult: prev });
    expect(pluginStdin(l, 1, { portMappings: [] }, prev).runtimeConfig).toBeUndefined();
  });
  test("the container side of a bridge result", () => {
    const r = {
      cniVersion: "1.0.0",
      interfaces: [{ name: "bt-x", mac: "aa" }, { name: "veth1", mac: "bb" }, { name: "eth0", mac: "cc", sandbox: "/run/netns/x" }],
      ips: [{ address: "10.9.0.2/24", gateway: "10.9.0.1", interface: 2 }],
    };
    expect(containerSide(r, "eth0")).toEqual({ index: 2, iface: r.interfaces[2]!, ip: r.ips[0]! });
  });
  test("names the plugins and berth derive: veth ≤ 15 chars, the bridge plugin's NAT chain (28)", () => {
    expect(hostVethName("a".repeat(64), "eth0")).toMatch(/^btv[0-9a-f]{12}$/);
    expect(hostVethName("a".repeat(64), "eth0")).not.toBe(hostVethName("a".repeat(64), "eth1"));
    // The value the plugin printed for this network and id in a real run (iptables-save).
    expect(masqueradeChain("t197d5a", `${"a".repeat(60)}197d`)).toBe("CNI-ba040c83f6af250fa772e5b3");
  });
  test("iptables-save diff: new chains and rules with their table", () => {
    const before = "*nat\n:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -j X\nCOMMIT\n";
    const after = "*nat\n:POSTROUTING ACCEPT [0:0]\n:CNI-1 - [0:0]\n-A POSTROUTING -j X\n-A POSTROUTING -s 10.0.0.2/32 -j CNI-1\nCOMMIT\n";
    expect(addedRules(before, after)).toEqual(["nat: -N CNI-1", "nat: -A POSTROUTING -s 10.0.0.2/32 -j CNI-1"]);
  });
});

describe("aardvark-dns files (its config.md)", () => {
  test("listen addresses, then ID IPV4S IPV6S NAMES; containers without an address are left out", () => {
    expect(aardvarkNetworkFile(["10.89.0.1"], [
      { containerId: "c1", ipv4: ["10.89.0.2"], names: ["web", "www", "c1short", "web"] },
      { containerId: "c2", ipv4: [], names: ["db"] },
    ])).toBe("10.89.0.1\nc1 10.89.0.2  web,www,c1short\n");
  });
  test("/proc/net/udp local addresses and inodes", () => {
    const text = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n" +
      " 1: 0100590A:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 4242 2 0 0";
    expect(udpSockets(text)).toEqual(new Map([["10.89.0.1:53", "4242"]]));
  });
});

describe("network records", () => {
  test("migration 3 adds the network tables to a database made before it", () => {
    const dir = mkdtempSync("/tmp/bt-unit-meta-");
    try {
      const path = join(dir, "meta.db");
      const first = new MetadataDB(path);
      first.db.run("DROP TABLE network_ports; DROP TABLE network_attachments; DROP TABLE networks; PRAGMA user_version = 2");
      first.close();
      const again = new MetadataDB(path);
      expect((again.db.query("PRAGMA user_version").get() as { user_version: number }).user_version).toBe(3);
      const tables = (again.db.query("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'network%'").all() as { name: string }[]).map((r) => r.name).sort();
      expect(tables).toEqual(["network_attachments", "network_ports", "networks"]);
      again.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  const mk = () => new NetworkManager({ db: new MetadataDB(":memory:").db, root: "/nonexistent-root", runroot: "/nonexistent-run", pools: ["10.250.10.0/24", "10.250.11.0/24"], defaultBridge: "btdefault0" });

  test("the default bridge, host and none exist on first use; bridge takes the first free pool", () => {
    const m = mk();
    const names = m.list().map((n) => `${n.name}/${n.driver}/${n.bridge ?? "-"}/${n.subnets.map((s) => s.subnet).join(",")}`);
    expect(names).toEqual(["bridge/bridge/btdefault0/10.250.10.0/24", "host/host/-/", "none/null/-/"]);
    expect(m.find("bridge").dns).toBe(false);
    expect(m.list().length).toBe(3);
  });
  test("create: gateway default .1, a bt- bridge name, the next free pool; docker's inspect and ls shapes", () => {
    const m = mk();
    m.ensureDefaults();
    const n = m.create({ name: "web", labels: { team: "a" }, options: { mtu: "1400" } });
    expect(n.id).toMatch(/^[0-9a-f]{64}$/);
    expect(n.bridge).toBe(`bt-${n.id.slice(0, 12)}`);
    expect(n.subnets).toEqual([{ subnet: "10.250.11.0/24", gateway: "10.250.11.1" }]);
    expect(m.find(n.id.slice(0, 6)).name).toBe("web");
    const d = dockerInspect(n, []);
    expect(d).toMatchObject({
      Name: "web", Id: n.id, Scope: "local", Driver: "bridge", EnableIPv6: false, Internal: false,
      IPAM: { Driver: "default", Config: [{ Subnet: "10.250.11.0/24", Gateway: "10.250.11.1" }] },
      Containers: {}, Options: { mtu: "1400", "com.docker.network.bridge.name": n.bridge }, Labels: { team: "a" },
    });
    expect(Object.keys(dockerListRow(n))).toEqual(["CreatedAt", "Driver", "ID", "IPv6", "Internal", "Labels", "Name", "Scope"]);
    expect(m.inspect("web").Name).toBe("web");
  });
  test("bad input is refused with the flag named, and nothing is recorded", () => {
    const m = mk();
    m.ensureDefaults();
    const refuse = (req: Parameters<NetworkManager["create"]>[0], field: string, msg: RegExp) => {
      try {
        m.create(req);
      } catch (e) {
        expect(isBerthError(e)).toBe(true);
        expect((e as { field?: string }).field).toBe(field);
        expect((e as Error).message).toMatch(msg);
        return;
      }
      throw new Error(`accepted ${JSON.stringify(req)}`);
    };
    refuse({ name: "bad name" }, "name", /invalid network name/);
    refuse({ name: "bridge" }, "name", /already exists/);
    refuse({ name: "x", driver: "macvlan" }, "--driver", /not supported/);
    refuse({ name: "x", subnet: "10.250.10.128/25" }, "--subnet", /overlaps berth network "bridge"/);
    refuse({ name: "x", subnet: "10.251.0.0/24", gateway: "10.252.0.1" }, "--gateway", /not a usable address/);
    refuse({ name: "x", subnet: "10.251.0.0/24", ipRange: "10.251.1.0/25" }, "--ip-range", /not inside/);
    refuse({ name: "x", gateway: "10.251.0.1" }, "--gateway", /need --subnet/);
    refuse({ name: "x", subnet: "10.251.0.0/24", options: { mtu: "9" } }, "-o", /MTU/);
    refuse({ name: "x", subnet: "10.251.0.0/24", options: { "com.docker.network.bridge.name": "a-name-too-long-for-linux" } }, "-o", /15/);
    refuse({ name: "x", subnet: "10.251.0.0/24", options: { foo: "1" } }, "-o", /unsupported/);
    refuse({ name: "x", subnet: "10.251.0.0/32" }, "--subnet", /too small/);
    m.create({ name: "x", subnet: "10.251.0.0/24" });
    refuse({ name: "x", subnet: "10.252.0.0/24" }, "name", /already exists/);
    expect(m.list().map((n) => n.name)).toEqual(["bridge", "host", "none", "x"]);
  });
  test("rm refuses pre-defined networks and networks with attachments, naming the containers", async () => {
    const m = mk();
    const n = m.create({ name: "busy", subnet: "10.251.5.0/24" });
    m.store.insertAttachment({ container: "c".repeat(64), network: n.id, containerName: "web1", interface: "eth0", aliases: [], createdAt: new Date() });
    await expect(m.remove("busy")).rejects.toThrow("network busy (" + n.id.slice(0, 12) + ") has active endpoints: web1");
    await expect(m.remove("bridge")).rejects.toThrow("bridge is a pre-defined network and cannot be removed");
    await expect(m.remove("nope")).rejects.toThrow("network nope not found");
    expect(m.inspect("busy").Containers).toEqual({ ["c".repeat(64)]: expect.objectContaining({ Name: "web1" }) });
  });
});
