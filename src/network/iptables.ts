// The few iptables steps no CNI plugin does, each through iptables(8) itself, plus a reader of
// iptables-save for --explain. The plugins own every rule of a container; berth only:
//  - removes the firewall plugin's admin chain (named for berth) with the last berth network —
//    the plugin creates it and its jump from CNI-FORWARD but never removes them;
//  - removes the bridge plugin's masquerade chain when its DEL left it: the plugin finds the
//    addresses to unmasquerade on the container's interface (plugins/main/bridge cmdDel), so when
//    the netns is already gone, or the address was removed inside, it skips them and they leak;
//  - snapshots the rule set around plugin calls when --explain listens, to show what each added.
// Shared CNI chains (CNI-FORWARD, CNI-HOSTPORT-*) are left alone: podman's CNI backend or another
// berth root on the same host may use them at the same time.
import { hashOf } from "../sys/digest.ts";

async function iptables(args: string[], bin = "iptables"): Promise<{ status: number; out: string; err: string }> {
  const p = Bun.spawn([bin, ...args], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const [out, err, status] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { status, out, err: err.trim() };
}

export async function iptablesSave(): Promise<string> {
  return (await iptables([], "iptables-save")).out;
}

/** Rule and chain lines of `after` that are not in `before`, with their table ("nat: -A …"). */
export function addedRules(before: string, after: string): string[] {
  const key = (text: string) => {
    const out: string[] = [];
    let table = "";
    for (const line of text.split("\n")) {
      if (line.startsWith("*")) table = line.slice(1);
      else if (line.startsWith("-A ")) out.push(`${table}: ${line}`);
      else if (line.startsWith(":")) out.push(`${table}: -N ${line.slice(1).split(" ")[0]}`);
    }
    return out;
  };
  const had = new Set(key(before));
  return key(after).filter((l) => !had.has(l));
}

/** The bridge plugin's per-container NAT chain name (pkg/utils FormatChainName: "CNI-" + sha512(name+id), 28 chars). */
export function masqueradeChain(network: string, containerId: string): string {
  return `CNI-${hashOf("sha512", network + containerId)}`.slice(0, 28);
}

/** The comment the plugins put on a container's rules (pkg/utils FormatComment). */
export const ruleComment = (network: string, containerId: string): string => `name: ${JSON.stringify(network)} id: ${JSON.stringify(containerId)}`;

export async function natChainExists(chain: string): Promise<boolean> {
  return (await iptables(["-w", "-t", "nat", "-S", chain])).status === 0;
}

/** Deletes a masquerade chain and its POSTROUTING jump as the plugin's TeardownIPMasq would. */
export async function removeMasquerade(network: string, containerId: string, ips: string[]): Promise<string[]> {
  const chain = masqueradeChain(network, containerId);
  const comment = ruleComment(network, containerId);
  const done: string[] = [];
  for (const ip of ips) {
    const r = await iptables(["-w", "-t", "nat", "-D", "POSTROUTING", "-s", ip, "-j", chain, "-m", "comment", "--comment", comment]);
    if (r.status === 0) done.push(`nat: -D POSTROUTING -s ${ip} -j ${chain}`);
  }
  if ((await iptables(["-w", "-t", "nat", "-F", chain])).status === 0 && (await iptables(["-w", "-t", "nat", "-X", chain])).status === 0) done.push(`nat: -X ${chain}`);
  return done;
}

const ADMIN_COMMENT = "CNI firewall plugin admin overrides";

/** Removes the admin chain and its jump unless an admin put rules in it. Returns what it did. */
export async function removeAdminChain(chain: string): Promise<string> {
  const list = await iptables(["-w", "-t", "filter", "-S", chain]);
  if (list.status !== 0) return `no chain ${chain}`;
  const rules = list.out.split("\n").filter((l) => l.startsWith("-A "));
  if (rules.length) return `kept ${chain}: it holds ${rules.length} rule(s) an admin added`;
  await iptables(["-w", "-t", "filter", "-D", "CNI-FORWARD", "-m", "comment", "--comment", ADMIN_COMMENT, "-j", chain]);
  const x = await iptables(["-w", "-t", "filter", "-X", chain]);
  return x.status === 0 ? `removed chain ${chain} and its jump from CNI-FORWARD` : `could not remove ${chain}: ${x.err}`;
}
