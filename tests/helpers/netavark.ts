// What podman's netavark leaves on the host after its last container on a bridge network: its
// iptables chains (NETAVARK_FORWARD, NETAVARK-HOSTPORT-*) with their jumps from the built-in
// chains, rules of the network's subnet, the bridge when a container was killed, and its IPAM
// database at the fixed /run/containers/networks (podman 4.3). A test or bench snapshots the host
// before it starts podman and gives this back after: only what was not there before is removed.
import { existsSync, rmSync } from "node:fs";
import { mustRun, runCommand } from "./run-command.ts";

export interface NetavarkSnapshot {
  chains: string[];
  runContainers: boolean;
}

async function chains(): Promise<string[]> {
  const out: string[] = [];
  for (const table of ["filter", "nat"]) {
    for (const l of (await mustRun(["iptables-save", "-t", table])).stdout.split("\n")) if (/^:NETAVARK/.test(l)) out.push(`${table} ${l.slice(1).split(" ")[0]}`);
  }
  return out.sort();
}

export async function snapshotNetavark(): Promise<NetavarkSnapshot> {
  return { chains: await chains(), runContainers: existsSync("/run/containers") };
}

/**
 * Removes what netavark made since `before`: rules naming `subnets` or `bridges`, the bridges,
 * and — when there were no netavark chains before (no other podman user) — its chains and their
 * jumps. Returns what it removed.
 */
export async function removeNetavarkLeftovers(before: NetavarkSnapshot, o: { subnets: string[]; bridges: string[] }): Promise<string[]> {
  const done: string[] = [];
  for (const b of o.bridges) {
    if ((await runCommand(["ip", "link", "show", b])).code === 0) {
      await runCommand(["ip", "link", "del", b]);
      done.push(`bridge ${b}`);
    }
  }
  for (const table of ["nat", "filter"]) {
    for (const l of (await mustRun(["iptables-save", "-t", table])).stdout.split("\n")) {
      if (l.startsWith("-A ") && [...o.subnets, ...o.bridges].some((s) => l.includes(s))) {
        // iptables-save quotes as a shell does.
        await runCommand(["sh", "-c", `iptables -w -t ${table} -D ${l.slice(3)}`]);
        done.push(`rule ${table} ${l}`);
      }
    }
  }
  const made = (await chains()).filter((c) => !before.chains.includes(c));
  if (before.chains.length === 0 && made.length) {
    for (const table of ["nat", "filter"]) {
      const ours = made.filter((c) => c.startsWith(`${table} `)).map((c) => c.split(" ")[1]!);
      for (const l of (await mustRun(["iptables-save", "-t", table])).stdout.split("\n")) {
        const m = /^-A (\S+) .*-j (NETAVARK\S*)/.exec(l);
        if (m && !m[1]!.startsWith("NETAVARK") && ours.includes(m[2]!)) await runCommand(["sh", "-c", `iptables -w -t ${table} -D ${l.slice(3)}`]);
      }
      for (const c of ours) await runCommand(["iptables", "-w", "-t", table, "-F", c]);
      for (const c of ours) await runCommand(["iptables", "-w", "-t", table, "-X", c]);
      done.push(...ours.map((c) => `chain ${table} ${c}`));
    }
  }
  if (!before.runContainers && existsSync("/run/containers")) {
    rmSync("/run/containers", { recursive: true, force: true });
    done.push("/run/containers");
  }
  return done;
}

/** netavark chains that are there now and were not in `before`. */
export async function newNetavarkChains(before: NetavarkSnapshot): Promise<string[]> {
  return (await chains()).filter((c) => !before.chains.includes(c));
}
