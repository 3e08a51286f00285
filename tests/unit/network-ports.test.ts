import { describe, expect, test } from "bun:test";
import { blocks, parsePortmapDnat, parseProcNetSockets, parsePublish } from "../../src/network/ports.ts";
import { isBerthError } from "../../src/sys/errdefs.ts";

const bad = (spec: string, word: RegExp) => {
  try {
    parsePublish(spec);
  } catch (e) {
    expect(isBerthError(e, "InvalidArgument")).toBe(true);
    expect((e as Error).message).toContain(`-p ${spec}`);
    expect((e as Error).message).toMatch(word);
    return;
  }
  throw new Error(`-p ${spec} was accepted`);
};

describe("-p parsing (docker's syntax)", () => {
  test("containerPort alone: a random host port on every address", () => {
    expect(parsePublish("80")).toEqual([{ hostPort: 0, containerPort: 80, protocol: "tcp" }]);
  });
  test("hostPort:containerPort, protocols, host address, ip::containerPort", () => {
    expect(parsePublish("8080:80")).toEqual([{ hostPort: 8080, containerPort: 80, protocol: "tcp" }]);
    expect(parsePublish("127.0.0.1:8080:80/udp")).toEqual([{ hostIp: "127.0.0.1", hostPort: 8080, containerPort: 80, protocol: "udp" }]);
    expect(parsePublish("53:53/UDP")[0]!.protocol).toBe("udp");
    expect(parsePublish("9000:9000/sctp")[0]!.protocol).toBe("sctp");
    expect(parsePublish("127.0.0.1::80")).toEqual([{ hostIp: "127.0.0.1", hostPort: 0, containerPort: 80, protocol: "tcp" }]);
    expect(parsePublish("0.0.0.0:81:80")).toEqual([{ hostPort: 81, containerPort: 80, protocol: "tcp" }]);
  });
  test("equal ranges become one mapping per port; a container range alone gets random ports", () => {
    expect(parsePublish("8000-8002:80-82").map((m) => [m.hostPort, m.containerPort])).toEqual([[8000, 80], [8001, 81], [8002, 82]]);
    expect(parsePublish("80-81").map((m) => [m.hostPort, m.containerPort])).toEqual([[0, 80], [0, 81]]);
  });
  test("malformed specs name the spec and the problem", () => {
    bad("", /use \[ip:\]hostPort/);
    bad("abc", /not a port/);
    bad("0:80", /not a port/);
    bad("70000:80", /not a port/);
    bad("80:", /use \[ip:\]hostPort/);
    bad("1:2:3:4", /use \[ip:\]hostPort/);
    bad("8080:80/icmp", /protocol "icmp"/);
    bad("300.1.1.1:80:80", /not an IPv4 address/);
    bad("[::1]:80:80", /IPv6/);
    bad("8000-8001:80-82", /differ in length/);
    bad("90-80", /not a port/);
  });
});

describe("what holds a host port", () => {
  test("/proc/net/tcp: LISTEN sockets only, addresses decoded", () => {
    const text = [
      "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode",
      "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0",
      "   1: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1 0 100 0 0 10 0",
      "   2: 0100007F:A1B2 0100007F:1F90 01 00000000:00000000 00:00000000 00000000     0        0 3 1 0 100 0 0 10 0",
    ].join("\n");
    expect(parseProcNetSockets(text, "tcp")).toEqual([
      { protocol: "tcp", port: 8080, address: "127.0.0.1", by: "socket" },
      { protocol: "tcp", port: 22, address: "*", by: "socket" },
    ]);
  });
  test("/proc/net/udp: bound sockets (state 07)", () => {
    const text = "  sl  local_address rem_address   st\n  5: 0101A8C0:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000 0 0 77 2 0";
    expect(parseProcNetSockets(text, "udp")).toEqual([{ protocol: "udp", port: 53, address: "192.168.1.1", by: "socket" }]);
  });
  test("portmap's top-level DNAT chain lists published ports", () => {
    const save = [
      "*nat",
      ':CNI-HOSTPORT-DNAT - [0:0]',
      '-A CNI-HOSTPORT-DNAT -p tcp -m comment --comment "dnat name: \\"n\\" id: \\"x\\"" -m multiport --dports 8080,9000:9001 -j CNI-DN-1',
      '-A CNI-HOSTPORT-DNAT -p udp -m comment --comment "dnat" -m multiport --dports 53 -j CNI-DN-2',
      "-A POSTROUTING -s 10.0.0.2/32 -j CNI-abc",
      "COMMIT",
    ].join("\n");
    expect(parsePortmapDnat(save).map((h) => `${h.protocol}/${h.port}`)).toEqual(["tcp/8080", "tcp/9000", "tcp/9001", "udp/53"]);
  });
  test("a wildcard on either side blocks; two different addresses do not", () => {
    const h = (address: string) => ({ protocol: "tcp" as const, port: 80, address, by: "socket" as const });
    expect(blocks(h("*"), { hostIp: "127.0.0.1", hostPort: 80, protocol: "tcp" })).toBe(true);
    expect(blocks(h("127.0.0.1"), { hostPort: 80, protocol: "tcp" })).toBe(true);
    expect(blocks(h("127.0.0.1"), { hostIp: "127.0.0.2", hostPort: 80, protocol: "tcp" })).toBe(false);
    expect(blocks(h("127.0.0.1"), { hostIp: "127.0.0.1", hostPort: 80, protocol: "udp" })).toBe(false);
    expect(blocks(h("127.0.0.1"), { hostIp: "127.0.0.1", hostPort: 81, protocol: "tcp" })).toBe(false);
  });
});
