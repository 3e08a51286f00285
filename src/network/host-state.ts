// What berth changes on the host once, for all its networks, and gives back with the last one:
// net.ipv4.ip_forward (the bridge plugin turns it on for a gateway bridge; its value before the
// first berth network is recorded here, durably, before any plugin runs) and the firewall
// plugin's admin chain. "Active" means some bridge of this root's networks exists in the kernel.
import { closeSync, existsSync, fstatSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync } from "node:fs";
import { dirname, join } from "node:path";
import { removeAdminChain } from "./iptables.ts";
import { LOCK_EX, libcSymbols } from "../sys/libc.ts";

const IP_FORWARD = "/proc/sys/net/ipv4/ip_forward";

// ip_forward is one value for the whole host, and several berth roots (tests, a daemon beside
// the CLI's default root) may have networks at once: a record per root would let the first root
// to finish put back 0 under another root's containers, and the last one "restore" the 1 it saw
// when it started. So the value before the first berth network of any root is kept once per boot
// (/run is a tmpfs), with the roots holding it; the last holder to go puts it back. A holder is a
// root's host-state.json: one whose file is gone (a root deleted without `system reset`) no
// longer holds.
// (BERTH_HOST_STATE_DIR: elsewhere, for tests; read at each use.)
const hostDir = () => process.env.BERTH_HOST_STATE_DIR ?? "/run/berth-host";
const forwardRecord = () => join(hostDir(), "ip_forward.json");

interface ForwardRecord {
  original: string;
  holders: string[];
}

function withHostLock<T>(fn: () => T): T {
  // The lock is the directory itself, removed with the last holder: after taking it, check that
  // the path still names the directory we locked (a releaser may have removed it meanwhile).
  for (;;) {
    mkdirSync(hostDir(), { recursive: true, mode: 0o700 });
    let fd: number;
    try {
      fd = openSync(hostDir(), "r");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") continue;
      throw e;
    }
    try {
      libcSymbols().flock(fd, LOCK_EX); // held for a read and a rename; the kernel drops it if we die
      let same = false;
      try {
        same = statSync(hostDir()).ino === fstatSync(fd).ino;
      } catch {}
      if (same) return fn();
    } finally {
      closeSync(fd); // releases the lock
    }
  }
}

function readForward(): ForwardRecord | undefined {
  try {
    return JSON.parse(readFileSync(forwardRecord(), "utf8")) as ForwardRecord;
  } catch {
    return undefined;
  }
}

function writeForward(r: ForwardRecord): void {
  const tmp = `${forwardRecord()}.${process.pid}.tmp`;
  const fd = openSync(tmp, "w", 0o600);
  writeSync(fd, JSON.stringify(r));
  closeSync(fd);
  renameSync(tmp, forwardRecord());
}

/**
 * This root holds ip_forward from now on; the first holder of the boot records its value, read
 * here under the lock: a value read before it could be the 1 of the last holder's networks,
 * put back to 0 by that holder while we waited for the lock, and "restored" by us later.
 */
function holdForward(holder: string): string {
  return withHostLock(() => {
    const r = readForward() ?? { original: readIpForward(), holders: [] };
    if (!r.holders.includes(holder)) r.holders.push(holder);
    writeForward(r);
    return r.original;
  });
}

/** This root lets go; the last live holder puts the recorded value back. Returns what it did. */
function releaseForward(holder: string): string | undefined {
  return withHostLock(() => {
    const r = readForward();
    if (!r) return undefined;
    r.holders = r.holders.filter((h) => h !== holder && existsSync(h));
    if (r.holders.length > 0) {
      writeForward(r);
      return undefined;
    }
    // Put back before the directory (the lock) goes: once it is gone, another root can make a
    // new one, lock that and record the value it reads as the host's.
    const now = readIpForward();
    if (now !== r.original) {
      // sysctl net.ipv4.ip_forward, written as the bridge plugin wrote it.
      const fd = openSync(IP_FORWARD, "w");
      writeSync(fd, `${r.original}\n`);
      closeSync(fd);
    }
    rmSync(forwardRecord(), { force: true });
    rmSync(hostDir(), { recursive: true, force: true }); // nothing of berth's is left in /run's dir
    return now === r.original ? undefined : `ip_forward restored to ${r.original} (was ${now}; no berth network of any root is left)`;
  });
}

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
    if (existing) {
      if (!existsSync(forwardRecord())) holdForward(this.path); // e.g. after a reboot emptied /run
      return { recorded: false, state: existing };
    }
    mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 });
    const state: HostState = { ipForward: readIpForward(), adminChain, recordedAt: new Date().toISOString() };
    try {
      const fd = openSync(this.path, "wx", 0o600);
      writeSync(fd, JSON.stringify(state));
      closeSync(fd);
      state.ipForward = holdForward(this.path);
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
    const restored = releaseForward(this.path);
    if (restored) done.push(restored);
    done.push(await removeAdminChain(s.adminChain));
    rmSync(this.path, { force: true });
    return done;
  }
}
