// A bridge network's iptables rules as data (src/network/network-rules.ts): masquerade and
// FORWARD accepts for a network with egress, FORWARD drops for --internal, every rule with the
// network's comment; iptables-save parsed by table.
import { describe, expect, test } from "bun:test";
import { NetworkRules, parseSave } from "../../src/network/network-rules.ts";

const r = new NetworkRules({ prefix: "BERTH-ADMIN", markerDir: "/nonexistent/rules", lockPath: "/nonexistent/rules.lock" });
const net = { id: "0123456789abcdef".repeat(4), name: "web", bridge: "bt-0123456789ab", subnet: "10.89.0.0/24", internal: false };

describe("network rules", () => {
  test("egress: one masquerade rule of the subnet leaving by another link; replies, DNAT'd and outgoing traffic accepted", () => {
    const c = `-m comment --comment "berth network 0123456789ab web"`;
    expect(r.rulesOf(net)).toEqual({
      nat: [`-A BERTH-ADMIN-NAT -s 10.89.0.0/24 ! -o bt-0123456789ab ! -d 224.0.0.0/4 ${c} -j MASQUERADE`],
      filter: [
        `-A BERTH-ADMIN-FWD -o bt-0123456789ab -m conntrack --ctstate RELATED,ESTABLISHED ${c} -j ACCEPT`,
        `-A BERTH-ADMIN-FWD -o bt-0123456789ab -m conntrack --ctstate DNAT ${c} -j ACCEPT`,
        `-A BERTH-ADMIN-FWD -i bt-0123456789ab ${c} -j ACCEPT`,
      ],
    });
  });
  test("--internal: no masquerade; forwarding into and out of the bridge dropped, ahead of other networks' accepts", () => {
    const x = r.rulesOf({ ...net, internal: true });
    expect(x.nat).toEqual([]);
    expect(x.filter.map((l) => l.replace(/ -m comment .*" /, " "))).toEqual([
      "-I BERTH-ADMIN-FWD 1 -i bt-0123456789ab ! -o bt-0123456789ab -j DROP",
      "-I BERTH-ADMIN-FWD 1 -o bt-0123456789ab ! -i bt-0123456789ab -j DROP",
    ]);
  });
  test("chain names fit iptables' 28 characters; nothing verified without a marker", () => {
    expect(new NetworkRules({ prefix: "BT-ADMIN-0123abcd", markerDir: "", lockPath: "" }).fwd.length).toBeLessThanOrEqual(28);
    expect(r.verified(net)).toBe(false);
  });
  test("iptables-save by table: chains and rules", () => {
    const t = parseSave("# x\n*nat\n:POSTROUTING ACCEPT [0:0]\n:BERTH-ADMIN-NAT - [0:0]\n-A POSTROUTING -j BERTH-ADMIN-NAT\nCOMMIT\n*filter\n:FORWARD ACCEPT [0:0]\nCOMMIT\n");
    expect(t.get("nat")).toEqual([":POSTROUTING ACCEPT [0:0]", ":BERTH-ADMIN-NAT - [0:0]", "-A POSTROUTING -j BERTH-ADMIN-NAT"]);
    expect(t.get("filter")).toEqual([":FORWARD ACCEPT [0:0]"]);
  });
});
