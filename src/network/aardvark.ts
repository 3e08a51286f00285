// Name resolution on user networks with aardvark-dns (podman's resolver; Debian package
// aardvark-dns), driven as netavark drives it: a config directory with one file per network —
// first line the addresses to listen on (the bridge's gateway), then one line per container
// "ID IPV4S IPV6S NAMES" (aardvark-dns config.md) — and SIGHUP to reload. One aardvark-dns per
// runroot: it daemonizes itself, writes aardvark.pid in the directory, answers on port 53 of each
// gateway, forwards other names to the host's resolvers and exits once no network file is left.
//
// aardvark-dns 1.4's `run` returns once the pid file is written, before its sockets are bound, and
// a reload re-binds them; so readiness is watched in /proc/net/udp (the socket's inode changes).
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BerthError, notFound } from "../sys/errdefs.ts";
import { parseIPv4 } from "./cidr.ts";

export const AARDVARK_PACKAGE = "aardvark-dns";
const CANDIDATES = ["/usr/lib/podman/aardvark-dns", "/usr/libexec/podman/aardvark-dns", "/usr/local/libexec/podman/aardvark-dns", "/usr/bin/aardvark-dns"];
const PID_FILE = "aardvark.pid";

export interface DnsRecord {
  containerId: string;
  ipv4: string[];
  /** Container name, aliases, short id. */
  names: string[];
}

/** One network's file (config.md): listen addresses, then a line per container. Pure. */
export function aardvarkNetworkFile(listen: string[], records: DnsRecord[]): string {
  const lines = [listen.join(",")];
  for (const r of records) {
    const names = [...new Set(r.names.filter(Boolean))];
    if (!r.ipv4.length || !names.length) continue;
    lines.push(`${r.containerId} ${r.ipv4.join(",")}  ${names.join(",")}`);
  }
  return `${lines.join("\n")}\n`;
}

export function findAardvark(explicit?: string): string {
  for (const p of explicit ? [explicit] : CANDIDATES) if (existsSync(p)) return p;
  throw notFound(
    `aardvark-dns is not installed (looked for ${explicit ?? CANDIDATES.join(", ")}); user networks resolve container names with it: install the Debian package ${AARDVARK_PACKAGE} (apt-get install ${AARDVARK_PACKAGE})`,
    "aardvark-dns",
  );
}

/** ip:port → socket inode, for IPv4 UDP sockets in this network namespace (proc(5) /proc/net/udp). */
export function udpSockets(text = readFileSync("/proc/net/udp", "utf8")): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10) continue;
    const [hexIp, hexPort] = f[1]!.split(":");
    if (!hexIp || !hexPort) continue;
    const n = parseInt(hexIp, 16);
    out.set(`${[n & 255, (n >>> 8) & 255, (n >>> 16) & 255, n >>> 24].join(".")}:${parseInt(hexPort, 16)}`, f[9]!);
  }
  return out;
}

export interface AardvarkOptions {
  /** The config directory (one per runroot). */
  dir: string;
  binary?: string;
  port?: number;
  /**
   * Forward names aardvark does not know to the host's resolvers (its default). False sets
   * AARDVARK_NO_PROXY: unknown names get NXDOMAIN — for tests, which must not query real resolvers.
   */
  forward?: boolean;
}

export class Aardvark {
  readonly port: number;
  constructor(readonly o: AardvarkOptions) {
    this.port = o.port ?? 53;
  }

  private pid(): number | undefined {
    try {
      const pid = Number(readFileSync(join(this.o.dir, PID_FILE), "utf8").trim());
      if (!(pid > 0)) return undefined;
      // The pid must still be our aardvark-dns (pid reuse): its command line names our directory.
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8");
      return cmdline.includes("aardvark-dns") && cmdline.includes(this.o.dir) ? pid : undefined;
    } catch {
      return undefined;
    }
  }

  /** The networks that have a file. */
  networks(): string[] {
    try {
      return readdirSync(this.o.dir).filter((n) => n !== PID_FILE && !n.endsWith(".tmp"));
    } catch {
      return [];
    }
  }

  private listenAddresses(): string[] {
    const out: string[] = [];
    for (const n of this.networks()) {
      try {
        const first = readFileSync(join(this.o.dir, n), "utf8").split("\n")[0] ?? "";
        out.push(...first.split(" ")[0]!.split(",").filter((a) => parseIPv4(a) !== undefined));
      } catch {
        // removed meanwhile
      }
    }
    return out;
  }

  /**
   * Writes (or with `content` undefined removes) one network's file and makes the server follow:
   * started if needed, else SIGHUP. Synchronous so that callers can run it inside the database
   * transaction that serialises writers; returns a promise-maker that waits until it answers.
   */
  apply(network: string, content: string | undefined): { ready: () => Promise<void>; action: string } {
    mkdirSync(this.o.dir, { recursive: true, mode: 0o755 });
    const previous = this.listenAddresses();
    const file = join(this.o.dir, network);
    if (content === undefined) rmSync(file, { force: true });
    else {
      writeFileSync(`${file}.${process.pid}.tmp`, content);
      renameSync(`${file}.${process.pid}.tmp`, file);
    }
    const before = udpSockets();
    const listen = this.listenAddresses();
    const pid = this.pid();
    let action: string;
    if (pid !== undefined) {
      // SIGHUP kills a process that has not installed its handler yet: a server started a moment
      // ago by another berth process installs it before binding, so wait for its sockets first.
      const bound = previous.map((a) => `${a}:${this.port}`);
      for (let i = 0; i < 200 && !bound.every((k) => udpSockets().has(k)); i++) Bun.sleepSync(10);
      process.kill(pid, "SIGHUP");
      action = listen.length ? `SIGHUP to aardvark-dns (pid ${pid}): reload ${this.o.dir}` : `SIGHUP to aardvark-dns (pid ${pid}): no network left, it exits`;
    } else if (listen.length) {
      const bin = findAardvark(this.o.binary);
      const r = Bun.spawnSync([bin, "--config", this.o.dir, "-p", String(this.port), "run"], {
        env: { ...process.env, ...(this.o.forward === false ? { AARDVARK_NO_PROXY: "1" } : {}) },
        stdin: "ignore", stdout: "pipe", stderr: "pipe",
      });
      if (r.exitCode !== 0) throw new BerthError("Internal", `starting aardvark-dns failed (status ${r.exitCode}): ${r.stderr.toString().trim()}`, "aardvark-dns");
      action = `started aardvark-dns --config ${this.o.dir} -p ${this.port} run (pid ${this.pid() ?? "?"})`;
    } else {
      return { ready: async () => {}, action: "no aardvark-dns needed" };
    }
    const ready = async () => {
      if (!listen.length) {
        // It exits by itself on an empty configuration; wait for that so nothing outlives the last network.
        for (let i = 0; i < 300 && this.pid() !== undefined; i++) await Bun.sleep(10);
        const left = this.pid();
        if (left !== undefined) process.kill(left, "SIGTERM");
        return;
      }
      const want = listen.map((a) => `${a}:${this.port}`);
      for (let i = 0; i < 500; i++) {
        const now = udpSockets();
        if (want.every((k) => now.has(k) && now.get(k) !== before.get(k))) return;
        // A reload that did not touch a socket is fine once the socket is there and the config is read.
        if (i > 100 && want.every((k) => now.has(k))) return;
        await Bun.sleep(10);
      }
      throw new BerthError("Unavailable", `aardvark-dns did not listen on ${want.join(", ")} within 5 s: is another DNS server bound to port ${this.port} there?`, "aardvark-dns");
    };
    return { ready, action };
  }

  /** Stops the server (by its pid file) and removes the directory. */
  async stop(): Promise<void> {
    const pid = this.pid();
    if (pid !== undefined) {
      process.kill(pid, "SIGTERM");
      for (let i = 0; i < 300 && this.pid() !== undefined; i++) await Bun.sleep(10);
    }
    rmSync(this.o.dir, { recursive: true, force: true });
  }

  running(): number | undefined {
    return this.pid();
  }
}
