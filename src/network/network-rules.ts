// The iptables rules of a berth bridge network — masquerade for egress and FORWARD accepts (or, on
// --internal networks, FORWARD drops) — per NETWORK, installed once when its first container is
// set up and removed with the network, as docker's bridge driver keeps them. berth writes them
// itself instead of letting CNI's bridge plugin (ipMasq) and firewall plugin add them per
// container, because that path was the long pole of `run --rm` on a bridge: measured on this
// 2-core VM (iptables-nft), the two plugins ran 9 + 8 iptables(8) executions per ADD and 3 + 4
// per DEL — bridge ADD 50 ms and firewall ADD 31 ms of a 130 ms setup, firewall DEL 35 ms and
// bridge DEL 67 ms of a 116 ms teardown — while the per-network rules below cost no exec at all
// on a container's setup once this boot has verified them (a marker under the runroot), and two
// (iptables-save, iptables-restore) the first time. Per-container rules that do depend on the
// container stay the plugins': portmap's DNAT/SNAT for published ports.
//
// Chains, named after the manager's chain prefix (BERTH-ADMIN for the default root):
//   nat    <prefix>-NAT   jumped from POSTROUTING: `-s SUBNET ! -o BRIDGE ! -d 224.0.0.0/4 -j MASQUERADE`
//   filter <prefix>-FWD   jumped from the top of FORWARD: replies and DNAT'd (published) traffic
//                         to the bridge, everything from it; on --internal networks, drops in and
//                         out of the bridge instead, inserted at the chain's top
// Every rule carries the comment `berth network <id12> <name>`, which is how it is found again.
// All changes of one call go through one `iptables-restore --noflush` (atomic), under a flock of
// the prefix so that two berth processes never declare (and so flush) a chain at the same time.
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { errno, libcSymbols, EINTR, EWOULDBLOCK, LOCK_EX, LOCK_NB, LOCK_UN } from "../sys/libc.ts";
import { BerthError } from "../sys/errdefs.ts";

export interface RulesNetwork {
  id: string;
  name: string;
  bridge: string;
  subnet: string;
  internal: boolean;
}

export interface RulesOptions {
  /** Chain name prefix (≤ 24 characters: iptables chain names have 28 at most). */
  prefix: string;
  /** Per-boot markers: <dir>/<network id> holds the boot id the rules were verified in. */
  markerDir: string;
  /** flock(2) file serialising rule changes of this prefix. */
  lockPath: string;
}

const JUMP_COMMENT = "berth networks";

async function exec(argv: string[], stdin?: string): Promise<{ status: number; out: string; err: string }> {
  const p = Bun.spawn(argv, { stdin: stdin === undefined ? "ignore" : new TextEncoder().encode(stdin), stdout: "pipe", stderr: "pipe" });
  const [out, err, status] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { status, out, err: err.trim() };
}

function bootId(): string {
  try {
    return readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
  } catch {
    return "unknown";
  }
}

/** iptables-save output → table → its lines (chains ":X …" and rules "-A …"). */
export function parseSave(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let table: string[] | undefined;
  for (const line of text.split("\n")) {
    if (line.startsWith("*")) out.set(line.slice(1), (table = []));
    else if (table && (line.startsWith(":") || line.startsWith("-A "))) table.push(line);
  }
  return out;
}

export class NetworkRules {
  readonly nat: string;
  readonly fwd: string;

  constructor(readonly o: RulesOptions) {
    this.nat = `${o.prefix}-NAT`;
    this.fwd = `${o.prefix}-FWD`;
  }

  comment(n: RulesNetwork): string {
    return `berth network ${n.id.slice(0, 12)} ${n.name}`;
  }

  /** The rules of one network as `iptables-restore` lines, by table. */
  rulesOf(n: RulesNetwork): { nat: string[]; filter: string[] } {
    const c = `-m comment --comment ${JSON.stringify(this.comment(n))}`;
    if (n.internal) {
      // At the top of the chain: before another network's accept of DNAT'd traffic (a published
      // port) could let a container of this network out through the host.
      return {
        nat: [],
        filter: [
          `-I ${this.fwd} 1 -i ${n.bridge} ! -o ${n.bridge} ${c} -j DROP`,
          `-I ${this.fwd} 1 -o ${n.bridge} ! -i ${n.bridge} ${c} -j DROP`,
        ],
      };
    }
    return {
      nat: [`-A ${this.nat} -s ${n.subnet} ! -o ${n.bridge} ! -d 224.0.0.0/4 ${c} -j MASQUERADE`],
      filter: [
        `-A ${this.fwd} -o ${n.bridge} -m conntrack --ctstate RELATED,ESTABLISHED ${c} -j ACCEPT`,
        `-A ${this.fwd} -o ${n.bridge} -m conntrack --ctstate DNAT ${c} -j ACCEPT`,
        `-A ${this.fwd} -i ${n.bridge} ${c} -j ACCEPT`,
      ],
    };
  }

  private marker(n: RulesNetwork): string {
    return join(this.o.markerDir, n.id);
  }

  /** Verified in this boot already (no exec needed)? */
  verified(n: RulesNetwork): boolean {
    try {
      return readFileSync(this.marker(n), "utf8") === `${bootId()} ${n.bridge} ${n.subnet} ${n.internal}`;
    } catch {
      return false;
    }
  }

  /**
   * Makes sure the network's rules (and berth's chains and their jumps) are in place; returns
   * the lines it added (empty when this boot verified them already).
   */
  async ensure(n: RulesNetwork, o: { force?: boolean } = {}): Promise<{ added: string[]; cached: boolean }> {
    if (!o.force && this.verified(n)) return { added: [], cached: true };
    return this.locked(async () => {
      const save = parseSave((await this.save()).out);
      const want = this.rulesOf(n);
      const script: string[] = [];
      const added: string[] = [];
      for (const [table, chain, builtin, jump] of [
        ["nat", this.nat, "POSTROUTING", `-A POSTROUTING -m comment --comment "${JUMP_COMMENT}" -j ${this.nat}`],
        ["filter", this.fwd, "FORWARD", `-I FORWARD 1 -m comment --comment "${JUMP_COMMENT}" -j ${this.fwd}`],
      ] as const) {
        const lines = save.get(table) ?? [];
        const body: string[] = [];
        if (!lines.some((l) => l.startsWith(`:${chain} `))) body.push(`:${chain} - [0:0]`);
        if (!lines.some((l) => l.startsWith(`-A ${builtin} `) && l.endsWith(`-j ${chain}`))) body.push(jump);
        // The network's rules as they are: all there (same count, as iptables-save prints them
        // back normalised) or replaced as a whole.
        const have = lines.filter((l) => l.startsWith(`-A ${chain} `) && l.includes(`"${this.comment(n)}"`));
        const rules = want[table];
        if (have.length !== rules.length) {
          for (const h of have) body.push(`-D ${h.slice(3)}`);
          body.push(...rules);
        }
        if (body.length) {
          script.push(`*${table}`, ...body, "COMMIT");
          added.push(...body.filter((l) => !l.startsWith("-D ")).map((l) => `${table}: ${l.startsWith(":") ? `-N ${l.slice(1).split(" ")[0]}` : l}`));
        }
      }
      if (script.length) await this.restore(script);
      mkdirSync(this.o.markerDir, { recursive: true, mode: 0o700 });
      writeFileSync(this.marker(n), `${bootId()} ${n.bridge} ${n.subnet} ${n.internal}`);
      return { added, cached: false };
    });
  }

  /** Drops the marker: the next ensure reads the rule set again. */
  forget(n: RulesNetwork): void {
    rmSync(this.marker(n), { force: true });
  }

  /** What of the network's rules, chains and jumps is missing now (reads iptables-save; for CHECK). */
  async missing(n: RulesNetwork): Promise<string[]> {
    const save = parseSave((await this.save()).out);
    const out: string[] = [];
    const want = this.rulesOf(n);
    for (const [table, chain, builtin] of [["nat", this.nat, "POSTROUTING"], ["filter", this.fwd, "FORWARD"]] as const) {
      if (!want[table].length) continue;
      const lines = save.get(table) ?? [];
      if (!lines.some((l) => l.startsWith(`-A ${builtin} `) && l.endsWith(`-j ${chain}`))) out.push(`${table}: the jump from ${builtin} to ${chain}`);
      const have = lines.filter((l) => l.startsWith(`-A ${chain} `) && l.includes(`"${this.comment(n)}"`)).length;
      if (have !== want[table].length) out.push(`${table}: ${want[table].length - have} of the network's ${want[table].length} rule(s) in ${chain}`);
    }
    return out;
  }

  /** Removes the network's rules (whatever their number); returns the lines removed. */
  async remove(n: RulesNetwork): Promise<string[]> {
    rmSync(this.marker(n), { force: true });
    return this.locked(async () => {
      const save = parseSave((await this.save()).out);
      const script: string[] = [];
      const removed: string[] = [];
      for (const table of ["nat", "filter"]) {
        const mine = (save.get(table) ?? []).filter((l) => l.startsWith("-A ") && l.includes(`"${this.comment(n)}"`));
        if (!mine.length) continue;
        script.push(`*${table}`, ...mine.map((l) => `-D ${l.slice(3)}`), "COMMIT");
        removed.push(...mine.map((l) => `${table}: ${l}`));
      }
      if (script.length) await this.restore(script);
      return removed;
    });
  }

  /** With the last network: berth's chains and their jumps, unless rules are left in them. */
  async removeChains(): Promise<string[]> {
    return this.locked(async () => {
      const save = parseSave((await this.save()).out);
      const script: string[] = [];
      const done: string[] = [];
      for (const [table, chain] of [["nat", this.nat], ["filter", this.fwd]] as const) {
        const lines = save.get(table) ?? [];
        if (!lines.some((l) => l.startsWith(`:${chain} `))) continue;
        const left = lines.filter((l) => l.startsWith(`-A ${chain} `));
        if (left.length) {
          done.push(`kept ${table} chain ${chain}: it holds ${left.length} rule(s)`);
          continue;
        }
        const jumps = lines.filter((l) => l.startsWith("-A ") && l.endsWith(`-j ${chain}`));
        script.push(`*${table}`, ...jumps.map((l) => `-D ${l.slice(3)}`), `-X ${chain}`, "COMMIT");
        done.push(`removed ${table} chain ${chain} and its jump`);
      }
      if (script.length) await this.restore(script);
      return done;
    });
  }

  private save(): Promise<{ status: number; out: string; err: string }> {
    return exec(["iptables-save"]);
  }

  private async restore(script: string[]): Promise<void> {
    const r = await exec(["iptables-restore", "--noflush", "--wait"], `${script.join("\n")}\n`);
    if (r.status !== 0) throw new BerthError("Unavailable", `iptables-restore of berth's network rules failed: ${r.err || `status ${r.status}`}`, "iptables");
  }

  private async locked<T>(f: () => Promise<T>): Promise<T> {
    mkdirSync(dirname(this.o.lockPath), { recursive: true, mode: 0o700 });
    const fd = openSync(this.o.lockPath, "a", 0o600);
    try {
      const deadline = Date.now() + 30_000;
      for (;;) {
        if (libcSymbols().flock(fd, LOCK_EX | LOCK_NB) === 0) break;
        const e = errno();
        if (e !== EWOULDBLOCK && e !== EINTR) throw new BerthError("Internal", `flock ${this.o.lockPath}: errno ${e}`, "iptables");
        if (Date.now() > deadline) throw new BerthError("Unavailable", `another berth process holds ${this.o.lockPath} for more than 30 s`, "iptables");
        await Bun.sleep(2);
      }
      try {
        return await f();
      } finally {
        libcSymbols().flock(fd, LOCK_UN);
      }
    } finally {
      closeSync(fd);
    }
  }
}
