import { describe, expect, test } from "bun:test";
import { applyDnsOverrides, formatHosts, formatResolvConf, parseAddHost, parseResolvConf, upstreamDns } from "../../src/network/etc-files.ts";

describe("resolv.conf for a container", () => {
  test("the host's servers, search and options are kept", () => {
    const d = upstreamDns("# generated\nnameserver 10.0.0.53\nnameserver 10.0.0.54\nsearch corp.example lan\noptions ndots:2 edns0\n", undefined);
    expect(d).toEqual({ servers: ["10.0.0.53", "10.0.0.54"], search: ["corp.example", "lan"], options: ["ndots:2", "edns0"], source: "/etc/resolv.conf" });
  });
  test("loopback servers are never passed; a loopback-only host falls back to systemd-resolved's upstreams", () => {
    const stub = "nameserver 127.0.0.53\noptions edns0 trust-ad\nsearch home\n";
    const sd = "nameserver 192.0.2.10\nnameserver ::1\nsearch real.example\n";
    expect(upstreamDns(stub, sd)).toEqual({ servers: ["192.0.2.10"], search: ["real.example"], options: ["edns0", "trust-ad"], source: "/run/systemd/resolve/resolv.conf" });
    expect(upstreamDns("nameserver 10.1.1.1\nnameserver 127.0.0.1\nnameserver ::1\n", sd).servers).toEqual(["10.1.1.1"]);
  });
  test("nothing usable: docker's defaults", () => {
    expect(upstreamDns("nameserver 127.0.0.1\n", undefined)).toMatchObject({ servers: ["8.8.8.8", "8.8.4.4"], source: "docker's default resolvers" });
    expect(upstreamDns("", undefined).servers).toEqual(["8.8.8.8", "8.8.4.4"]);
  });
  test("--dns, --dns-search, --dns-option replace per field; --dns-search . clears", () => {
    const base = { servers: ["10.0.0.53"], search: ["a"], options: ["ndots:1"] };
    expect(applyDnsOverrides(base, { servers: ["10.9.9.9"] })).toEqual({ servers: ["10.9.9.9"], search: ["a"], options: ["ndots:1"] });
    expect(applyDnsOverrides(base, { search: ["."], options: ["ndots:5"] })).toEqual({ servers: ["10.0.0.53"], search: [], options: ["ndots:5"] });
    expect(() => applyDnsOverrides(base, { servers: ["dns.example"] })).toThrow('--dns "dns.example": not an IP address');
  });
  test("format and parse back", () => {
    const text = formatResolvConf({ servers: ["10.89.0.1"], search: ["x.example"], options: ["ndots:0"] });
    expect(text).toBe("search x.example\nnameserver 10.89.0.1\noptions ndots:0\n");
    expect(parseResolvConf(text)).toEqual({ servers: ["10.89.0.1"], search: ["x.example"], options: ["ndots:0"] });
  });
});

describe("/etc/hosts", () => {
  test("docker's order: localhost lines, --add-host, the container's own address and hostname", () => {
    expect(formatHosts({ hostname: "web", ips: ["10.89.0.2"], extraHosts: [parseAddHost("db:10.1.2.3"), parseAddHost("gw=10.1.2.1")] })).toBe(
      "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n" +
        "10.1.2.3\tdb\n10.1.2.1\tgw\n10.89.0.2\tweb\n",
    );
  });
  test("--add-host must be NAME:IP", () => {
    expect(parseAddHost("v6:[fd00::1]")).toEqual({ name: "v6", ip: "fd00::1" });
    expect(() => parseAddHost("nocolon")).toThrow(/use NAME:IP/);
    expect(() => parseAddHost("x:not-an-ip")).toThrow(/use NAME:IP/);
  });
});
