// Harness for the network library's integration tests: a private root/runroot in a temp dir, a
// NetworkManager whose names are unique to this run (default bridge, admin chain), random /24s
// that overlap no host route, "containers" that are real network namespaces running the host's
// busybox (nsenter), a test-made "outside" namespace joined to the host by a veth, and a cleanup
// that removes all of it and reports what was left. Processes are ended by PID only.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { MetadataDB } from "../../src/metadata/db.ts";
import { NetworkManager, type SetupResult } from "../../src/network/index.ts";
import { mountPoints } from "../../src/network/netns.ts";
import { overlaps, parseCidr } from "../../src/network/cidr.ts";
import { readHostRoutes } from "../../src/network/subnets.ts";
import { linkExists } from "../../src/network/links.ts";

export const BUN = process.execPath;
export const ready = process.getuid?.() === 0 && existsSync("/usr/lib/cni/bridge") && existsSync("/bin/busybox");

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export async function run(argv: string[], opts: { timeoutMs?: number; stdin?: string } = {}): Promise<Run> {
  const p = Bun.spawn(argv, { stdin: opts.stdin === undefined ? "ignore" : new TextEncoder().encode(opts.stdin), stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => p.kill("SIGKILL"), opts.timeoutMs ?? 20_000);
  const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  clearTimeout(timer);
  return { code, stdout, stderr };
}

export async function must(argv: string[]): Promise<string> {
  const r = await run(argv);
  if (r.code !== 0) throw new Error(`${argv.join(" ")} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

const usedSubnets = new Set<string>();

/** A random 10.x.y.0/24 (x in 64..239) that overlaps no host route and none handed out before. */
export function randomSubnet(prefix = 24): string {
  const routes = readHostRoutes();
  for (let i = 0; i < 1000; i++) {
    const s = `10.${64 + Math.floor(Math.random() * 176)}.${Math.floor(Math.random() * 256)}.0/${prefix}`;
    const c = parseCidr(s, "test", { loose: true });
    const norm = `${s.split(".").slice(0, 3).join(".")}`;
    if (usedSubnets.has(norm)) continue;
    if (routes.some((r) => overlaps(r.dst, c))) continue;
    usedSubnets.add(norm);
    return s;
  }
  throw new Error("no free random subnet");
}

export const hex = (n: number): string => randomBytes(n).toString("hex").slice(0, n);

export interface TestContainer {
  id: string;
  name: string;
  netnsPath: string;
}

export class NetHarness {
  readonly dir: string;
  readonly root: string;
  readonly runroot: string;
  readonly meta: MetadataDB;
  readonly m: NetworkManager;
  readonly suffix = hex(6);
  readonly adminChain: string;
  readonly defaultBridge: string;
  readonly ipForwardBefore = readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8").trim();
  private pids: number[] = [];
  private outside: { netns: string; hostIf: string }[] = [];

  constructor(opts: { cniPath?: string[] } = {}) {
    this.dir = mkdtempSync("/tmp/bt-net-");
    this.root = join(this.dir, "root");
    this.runroot = join(this.dir, "run");
    this.meta = new MetadataDB(join(this.root, "meta.db"));
    this.adminChain = `BERTH-T-${this.suffix}`;
    this.defaultBridge = `btd${this.suffix}`;
    this.m = this.manager(opts);
  }

  /** Another manager over the same root (a second berth process would open the same). */
  manager(opts: { cniPath?: string[] } = {}): NetworkManager {
    return new NetworkManager({
      db: this.meta.db, root: this.root, runroot: this.runroot, adminChain: this.adminChain, defaultBridge: this.defaultBridge,
      pools: [randomSubnet(), randomSubnet()], aardvark: { forward: false }, ...(opts.cniPath ? { cniPath: opts.cniPath } : {}),
    });
  }

  /** The options a child process needs to open the same manager. */
  childConfig(): Record<string, unknown> {
    return { root: this.root, runroot: this.runroot, adminChain: this.adminChain, defaultBridge: this.defaultBridge };
  }

  network(opts: { internal?: boolean; subnet?: string; ipRange?: string } = {}) {
    return this.m.create({ name: `bt-test-${hex(8)}`, subnet: opts.subnet ?? randomSubnet(), ...(opts.internal ? { internal: true } : {}), ...(opts.ipRange ? { ipRange: opts.ipRange } : {}) });
  }

  async container(name = `c${hex(6)}`): Promise<TestContainer> {
    const id = randomBytes(32).toString("hex");
    return { id, name, netnsPath: await this.m.createNetns(id) };
  }

  /** A command in the container's netns (the host's busybox, the host's files). */
  exec(c: { netnsPath: string }, argv: string[], timeoutMs = 15_000): Promise<Run> {
    return run(["nsenter", `--net=${c.netnsPath}`, "/bin/busybox", ...argv], { timeoutMs });
  }

  /**
   * A command in the netns with the container's /etc/resolv.conf and /etc/hosts bound in a
   * private mount namespace, so the resolver in it sees what the container would.
   */
  execWithEtc(c: { netnsPath: string; id: string }, r: SetupResult, argv: string[], timeoutMs = 15_000): Promise<Run> {
    const etc = join(this.dir, `etc-${c.id.slice(0, 12)}`);
    rmSync(etc, { recursive: true, force: true });
    Bun.spawnSync(["mkdir", "-p", etc]);
    writeFileSync(join(etc, "resolv.conf"), r.etc.resolvConf);
    writeFileSync(join(etc, "hosts"), r.etc.hosts);
    const script = `mount --bind ${etc}/resolv.conf /etc/resolv.conf && mount --bind ${etc}/hosts /etc/hosts && exec "$@"`;
    return run(["nsenter", `--net=${c.netnsPath}`, "unshare", "--mount", "--propagation", "private", "/bin/sh", "-c", script, "sh", "/bin/busybox", ...argv], { timeoutMs });
  }

  /** A long-running process in the netns (a server); ended by PID in cleanup. Waits for `port` to listen. */
  async serve(c: { netnsPath: string }, argv: string[], port?: number): Promise<number> {
    const p = Bun.spawn(["nsenter", `--net=${c.netnsPath}`, ...argv], { stdin: "ignore", stdout: "ignore", stderr: "ignore" });
    this.pids.push(p.pid);
    if (port !== undefined) {
      const hexPort = port.toString(16).toUpperCase().padStart(4, "0");
      for (let i = 0; i < 300; i++) {
        const r = await run(["nsenter", `--net=${c.netnsPath}`, "cat", "/proc/net/tcp", "/proc/net/tcp6"]);
        if (r.stdout.split("\n").some((l) => l.includes(`:${hexPort} `) && l.split(/\s+/)[4] === "0A")) return p.pid;
        await Bun.sleep(20);
      }
      throw new Error(`server ${argv.join(" ")} did not listen on ${port}`);
    }
    return p.pid;
  }

  /**
   * busybox wget of `url` in the container (with the container's /etc files when `r` is given),
   * bounded by busybox timeout: busybox 1.35's own `wget -T` crashes (SIGSEGV) on this machine.
   */
  wget(c: TestContainer, url: string, r?: SetupResult, seconds = 5): Promise<Run> {
    const argv = ["timeout", String(seconds), "/bin/busybox", "wget", "-q", "-O", "-", url];
    return r ? this.execWithEtc(c, r, argv) : this.exec(c, argv);
  }

  /** busybox httpd serving `body` on `port` in the container. */
  async httpd(c: TestContainer, port: number, body: string): Promise<number> {
    const www = join(this.dir, `www-${c.id.slice(0, 12)}-${port}`);
    Bun.spawnSync(["mkdir", "-p", www]);
    writeFileSync(join(www, "index.html"), body);
    return this.serve(c, ["/bin/busybox", "httpd", "-f", "-p", String(port), "-h", www], port);
  }

  kill(pid: number): void {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // gone
    }
    this.pids = this.pids.filter((p) => p !== pid);
  }

  /**
   * An "outside" network namespace joined to the host by a veth (host end bto…, 10.x.y.1/30; far
   * end 10.x.y.2/30) with a Bun HTTP server that answers with the client address it sees.
   */
  async outsideServer(): Promise<{ ip: string; hostIp: string; port: number; netns: string }> {
    const base = randomSubnet(30).split("/")[0]!.split(".").slice(0, 3).join(".");
    const hostIp = `${base}.1`;
    const ip = `${base}.2`;
    const netns = join(this.dir, `outside-${hex(4)}`);
    writeFileSync(netns, "");
    await must(["unshare", `--net=${netns}`, "true"]);
    const hostIf = `bto${this.suffix}${hex(2)}`.slice(0, 15);
    this.outside.push({ netns, hostIf });
    const far = `btp${this.suffix}${hex(2)}`.slice(0, 15);
    // Made inside the outside netns with its peer put into ours (this process's netns).
    await must(["nsenter", `--net=${netns}`, "ip", "link", "add", far, "type", "veth", "peer", "name", hostIf, "netns", String(process.pid)]);
    await must(["ip", "addr", "add", `${hostIp}/30`, "dev", hostIf]);
    await must(["ip", "link", "set", hostIf, "up"]);
    await must(["nsenter", `--net=${netns}`, "ip", "addr", "add", `${ip}/30`, "dev", far]);
    await must(["nsenter", `--net=${netns}`, "ip", "link", "set", far, "up"]);
    await must(["nsenter", `--net=${netns}`, "ip", "link", "set", "lo", "up"]);
    const port = 18000 + Math.floor(Math.random() * 1000);
    const script = `Bun.serve({ hostname: ${JSON.stringify(ip)}, port: ${port}, fetch(req, s) { return new Response(s.requestIP(req)?.address ?? "?"); } });`;
    await this.serve({ netnsPath: netns }, [BUN, "-e", script], port);
    return { ip, hostIp, port, netns };
  }

  /** What of container `id` is still on the host. */
  async leftoversOf(id: string, hostVeths: string[] = []): Promise<string[]> {
    const left: string[] = [];
    const ns = this.m.netnsPath(id);
    if (existsSync(ns)) left.push(`netns file ${ns}`);
    if (mountPoints().has(ns)) left.push(`netns mount ${ns}`);
    // A veth whose namespace was released goes with it, in the kernel's netns worker: give it a moment.
    for (let i = 0; i < 100 && hostVeths.some(linkExists); i++) await Bun.sleep(20);
    for (const v of hostVeths) if (linkExists(v)) left.push(`veth ${v}`);
    const save = await must(["iptables-save"]);
    for (const line of save.split("\n")) if (line.includes(id)) left.push(`iptables: ${line}`);
    const ipam = join(this.root, "networks", "ipam");
    for (const net of existsSync(ipam) ? readdirSync(ipam) : []) {
      for (const f of readdirSync(join(ipam, net))) {
        try {
          if (readFileSync(join(ipam, net, f), "utf8").startsWith(id)) left.push(`lease ${net}/${f}`);
        } catch {
          // lock file or gone
        }
      }
    }
    if (this.m.cache.entries(id).length) left.push("cni cache entry");
    if (this.m.store.attachmentsOf(id).length) left.push("attachment rows");
    if (this.m.store.ports(id).length) left.push("port rows");
    return left;
  }

  /** Removes everything; returns what an orderly test should not have left (bridges, chains). */
  async cleanup(): Promise<string[]> {
    for (const pid of [...this.pids]) this.kill(pid);
    const left: string[] = [];
    const c = await this.m.collectLeftovers(() => false);
    if (c.collected.length) left.push(`containers not torn down: ${c.collected.length}`);
    left.push(...c.errors);
    const bridges = this.m.store.list().map((n) => n.bridge).filter((b): b is string => !!b);
    for (const n of this.m.store.list()) await this.m.remove(n.id, { allowPredefined: true }).catch((e: Error) => left.push(e.message));
    for (const b of bridges) if (linkExists(b)) left.push(`bridge ${b}`);
    for (const o of this.outside) {
      await run(["ip", "link", "del", o.hostIf]);
      await run(["umount", o.netns]);
    }
    const save = await must(["iptables-save"]);
    if (save.includes(this.adminChain)) left.push(`chain ${this.adminChain}`);
    if (this.m.aardvark.running()) left.push("aardvark-dns still running");
    await this.m.aardvark.stop();
    const forward = readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8").trim();
    if (forward !== this.ipForwardBefore) {
      left.push(`ip_forward ${forward}, was ${this.ipForwardBefore}`);
      writeFileSync("/proc/sys/net/ipv4/ip_forward", this.ipForwardBefore);
    }
    for (const mp of mountPoints()) if (mp.startsWith(this.dir)) await run(["umount", "-l", mp]);
    this.meta.close();
    rmSync(this.dir, { recursive: true, force: true });
    return left;
  }
}
