// What berth changes on the host once, for all its networks, and gives back with the last one:
// net.ipv4.ip_forward (the bridge plugin turns it on for a gateway bridge; its value before the
// first berth network is recorded here, durably, before any plugin runs) and the firewall
// plugin's admin chain. "Active" means some bridge of this root's networks exists in the kernel.
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import { removeAdminChain } from "./iptables.ts";

const IP_FORWARD = "/proc/sys/net/ipv4/ip_forward";

export interface HostState {
  /** ip_forward before berth's first network: "0" or "1". */
  ipForward: string;
  adminChain: string;
  recordedAt: string;
}

export const readIpForward = (): string => readFileSync(IP_FORWARD, "utf8").trim();

export class HostStateFile {
  constructor(readonly path: string) {}

  read(): HostState | undefined {
    try {
      return JSON.parse(readFileSync(this.path, "utf8")) as HostState;
    } catch {
      return undefined;
    }
  }

  /** Records the host's values unless they are recorded already (O_EXCL: the first process wins). */
  activate(adminChain: string): { recorded: boolean; state: HostState } {
    const existing = this.read();
    if (existing) return { recorded: false, state: existing };
    mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 });
    const state: HostState = { ipForward: readIpForward(), adminChain, recordedAt: new Date().toISOString() };
    try {
      const fd = openSync(this.path, "wx", 0o600);
      writeSync(fd, JSON.stringify(state));
      closeSync(fd);
      return { recorded: true, state };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "EEXIST") return { recorded: false, state: this.read() ?? state };
      throw e;
    }
  }

  /** Gives back what was recorded; returns the steps done. */
  async deactivate(): Promise<string[]> {
    const s = this.read();
    if (!s) return [];
    const done: string[] = [];
    const now = readIpForward();
    if (now !== s.ipForward) {
      // sysctl net.ipv4.ip_forward, written as the bridge plugin wrote it.
      const fd = openSync(IP_FORWARD, "w");
      writeSync(fd, `${s.ipForward}\n`);
      closeSync(fd);
      done.push(`ip_forward restored to ${s.ipForward} (was ${now})`);
    }
    done.push(await removeAdminChain(s.adminChain));
    rmSync(this.path, { force: true });
    return done;
  }
}
