// The CNI result cache, libcni's idea (it keeps /var/lib/cni/results/<net>-<id>-<ifname>): what
// was run for each container, network and interface — the exact config list, the capability
// arguments, the netns, and the result — so DEL can run with the same configuration and the
// prevResult the spec requires, even after the process that ran ADD died.
//
// Unlike libcni, the entry is written *before* the first plugin runs and updated after each one
// ("started"), so a process killed in the middle of ADD leaves a record of which plugins may
// have allocated something (a lease, a veth, a rule), and the next command can DEL exactly those.
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { CapabilityArgs, CniResult, NetworkConfList } from "./types.ts";

export interface CacheEntry {
  kind: "berth-cni-cache-v1";
  containerId: string;
  networkId: string;
  networkName: string;
  ifName: string;
  netns: string;
  confList: NetworkConfList;
  capabilityArgs: CapabilityArgs;
  /** How many plugins of the list have been started by ADD (the last one may not have finished). */
  started: number;
  /** The result after the last plugin that finished; absent before the first finished. */
  result?: CniResult;
  /** Every plugin's ADD finished. */
  complete: boolean;
  createdAt: string;
}

export class CniCache {
  constructor(readonly dir: string) {}

  private containerDir(id: string): string {
    return join(this.dir, id);
  }
  private path(id: string, networkId: string, ifName: string): string {
    return join(this.containerDir(id), `${networkId}-${ifName}.json`);
  }

  write(e: CacheEntry): void {
    const dir = this.containerDir(e.containerId);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const p = this.path(e.containerId, e.networkId, e.ifName);
    const tmp = `${p}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(e), { mode: 0o600 });
    renameSync(tmp, p);
  }

  remove(e: Pick<CacheEntry, "containerId" | "networkId" | "ifName">): void {
    rmSync(this.path(e.containerId, e.networkId, e.ifName), { force: true });
    try {
      if (readdirSync(this.containerDir(e.containerId)).length === 0) rmSync(this.containerDir(e.containerId), { recursive: true, force: true });
    } catch {
      // already gone
    }
  }

  /** Entries of one container, in the order they were created (the order of its networks). */
  entries(id: string): CacheEntry[] {
    let names: string[];
    try {
      names = readdirSync(this.containerDir(id));
    } catch {
      return [];
    }
    const out: CacheEntry[] = [];
    for (const n of names) {
      if (!n.endsWith(".json")) continue;
      try {
        const e = JSON.parse(readFileSync(join(this.containerDir(id), n), "utf8")) as CacheEntry;
        if (e.kind === "berth-cni-cache-v1") out.push(e);
      } catch {
        // a torn temp file cannot be read; the rename makes entries whole
      }
    }
    return out.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  /** Every container that has an entry. */
  containers(): string[] {
    try {
      return readdirSync(this.dir).filter((n) => !n.startsWith("."));
    } catch {
      return [];
    }
  }
}
