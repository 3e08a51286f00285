// Test harness for the berth CLI: the compiled build/berth with a private --root and --runroot
// in a temp dir, and a cleanup that fails the test file if anything is left mounted, a container
// cgroup remains, `system reset` fails or leaves the root's bridge or firewall chains, or the temp
// dir cannot go.
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { mountsUnder, removeRootNetworkLeftovers, unmountUnder } from "../helpers/leftovers.ts";

export const TOP = resolve(import.meta.dir, "../..");
export const BERTH = join(TOP, "build/berth");

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

export class Cli {
  readonly dir: string;
  readonly root: string;
  readonly runroot: string;
  constructor(prefix = "bt-cli-") {
    this.dir = mkdtempSync(`/tmp/${prefix}`);
    this.root = join(this.dir, "root");
    this.runroot = join(this.dir, "run");
  }

  argv(args: string[]): string[] {
    return [BERTH, "--root", this.root, "--runroot", this.runroot, ...args];
  }

  async run(args: string[], opts: { stdin?: string | Uint8Array; timeoutMs?: number; env?: Record<string, string> } = {}): Promise<Result> {
    const p = Bun.spawn(this.argv(args), {
      stdin: opts.stdin === undefined ? "ignore" : typeof opts.stdin === "string" ? new TextEncoder().encode(opts.stdin) : opts.stdin,
      stdout: "pipe",
      stderr: "pipe",
      env: { ...process.env, ...opts.env },
    });
    const timer = setTimeout(() => p.kill("SIGKILL"), opts.timeoutMs ?? 60_000);
    const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
    clearTimeout(timer);
    return { code, stdout, stderr };
  }

  /** Like run, but throws unless it exits 0. */
  async ok(args: string[], opts: { stdin?: string | Uint8Array } = {}): Promise<string> {
    const r = await this.run(args, opts);
    if (r.code !== 0) throw new Error(`berth ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
    return r.stdout;
  }

  /** Everything the CLI made goes; returns what had to be cleaned up (an orderly test: nothing). */
  async cleanup(): Promise<{ mounts: string[]; cgroups: string[] }> {
    // Every container this root ever made (the events log outlives the containers), so the
    // leftover check looks at ours only, not at other berth roots' on this host.
    const made = existsSync(this.root)
      ? (await this.run(["events", "--since", "1000000h", "--until", "0s", "--filter", "event=create", "--format", "{{.Actor.ID}}"])).stdout.split("\n").filter(Boolean)
      : [];
    // Containers, volumes, networks (with the default bridge's device and the host settings)
    // and images of this root.
    const reset = existsSync(this.root) ? await this.run(["system", "reset", "-f"]) : undefined;
    const mounts = mountsUnder(this.dir);
    await unmountUnder(this.dir);
    const network = await removeRootNetworkLeftovers(this.root);
    rmSync(this.dir, { recursive: true, force: true });
    // A reset that failed, or left the root's bridge or chains, fails the file (both are cleaned up above).
    if (reset && reset.code !== 0) throw new Error(`berth system reset -f exited ${reset.code}: ${reset.stderr}`);
    if (network.length) throw new Error(`berth system reset -f left ${network.join(", ")}`);
    return { mounts, cgroups: containerCgroups().filter((c) => made.some((id) => c.endsWith(`berth-${id}`))) };
  }
}

/** Container cgroups the CLI names berth-<64 hex>, anywhere under /sys/fs/cgroup. */
export function containerCgroups(): string[] {
  const out: string[] = [];
  const walk = (dir: string, depth: number) => {
    if (depth > 6) return;
    let names: string[] = [];
    try {
      names = readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
    } catch {
      return;
    }
    for (const n of names) {
      if (/^berth-[0-9a-f]{64}$/.test(n)) out.push(join(dir, n));
      else walk(join(dir, n), depth + 1);
    }
  };
  walk("/sys/fs/cgroup", 0);
  return out;
}
