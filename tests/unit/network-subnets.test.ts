import { describe, expect, test } from "bun:test";
import { contains, formatCidr, isUsableHost, overlaps, parseCidr, parseIPv4, within } from "../../src/network/cidr.ts";
import { assertFree, defaultPools, parseProcNetRoute, pickSubnet, type TakenSubnet } from "../../src/network/subnets.ts";

const c = (s: string) => parseCidr(s, "--subnet");

describe("IPv4 prefixes", () => {
  test("parse, format, refuse host bits, IPv6 and nonsense", () => {
    expect(formatCidr(c("10.1.0.0/16"))).toBe("10.1.0.0/16");
    expect(parseIPv4("10.01.0.1")).toBeUndefined();
    expect(parseIPv4("256.0.0.1")).toBeUndefined();
    expect(() => c("10.1.2.3/16")).toThrow(/host bits are set; did you mean 10.1.0.0\/16/);
    expect(() => c("fd00::/64")).toThrow(/IPv6 subnets are not supported/);
    expect(() => c("10.1.0.0")).toThrow(/CIDR notation/);
    expect(() => c("10.1.0.0/33")).toThrow(/CIDR notation/);
  });
  test("overlap, containment, usable hosts", () => {
    expect(overlaps(c("10.0.0.0/8"), c("10.200.0.0/16"))).toBe(true);
    expect(overlaps(c("10.1.0.0/24"), c("10.1.1.0/24"))).toBe(false);
    expect(within(c("10.1.0.128/25"), c("10.1.0.0/24"))).toBe(true);
    expect(within(c("10.1.0.0/23"), c("10.1.0.0/24"))).toBe(false);
    expect(contains(c("10.1.0.0/24"), parseIPv4("10.1.0.255")!)).toBe(true);
    expect(isUsableHost(c("10.1.0.0/24"), parseIPv4("10.1.0.0")!)).toBe(false);
    expect(isUsableHost(c("10.1.0.0/24"), parseIPv4("10.1.0.255")!)).toBe(false);
    expect(isUsableHost(c("10.1.0.0/24"), parseIPv4("10.1.0.7")!)).toBe(true);
  });
});

describe("host routes and subnet choice", () => {
  const route = [
    "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT",
    "eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0",
    "eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0",
    "docker0\t000011AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0",
  ].join("\n");
  test("/proc/net/route is little-endian hex; the default route has prefix 0", () => {
    expect(parseProcNetRoute(route).map((r) => `${r.iface} ${formatCidr(r.dst)}`)).toEqual(["eth0 0.0.0.0/0", "eth0 192.0.2.0/24", "docker0 172.17.0.0/16"]);
  });
  test("the first pool free of routes and networks is chosen; a full set is refused with advice", () => {
    const taken: TakenSubnet[] = [
      { owner: "docker0", kind: "route", subnet: c("172.17.0.0/16") },
      { owner: "web", kind: "network", subnet: c("172.18.0.0/24") },
    ];
    expect(formatCidr(pickSubnet(defaultPools(), taken))).toBe("172.19.0.0/16");
    expect(() => pickSubnet([c("172.17.0.0/16")], taken)).toThrow(/no free subnet .* pass --subnet/);
  });
  test("an overlapping subnet names what it overlaps", () => {
    const taken: TakenSubnet[] = [
      { owner: "eth0", kind: "route", subnet: c("192.0.2.0/24") },
      { owner: "web", kind: "network", subnet: c("10.5.0.0/16") },
    ];
    expect(() => assertFree(c("192.0.2.128/25"), taken)).toThrow("subnet 192.0.2.128/25 overlaps the host route 192.0.2.0/24 dev eth0; choose another --subnet");
    expect(() => assertFree(c("10.0.0.0/8"), taken)).toThrow('overlaps berth network "web" (10.5.0.0/16)');
    expect(() => assertFree(c("10.6.0.0/16"), taken)).not.toThrow();
  });
});
