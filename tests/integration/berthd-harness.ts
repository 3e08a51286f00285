// berthd for tests: `berth daemon` on a private --root/--runroot (the Cli harness) and a socket
// in the same temp dir, ready when /_ping answers; the real docker CLI pointed at it with a
// private DOCKER_CONFIG; stop() ends the daemon by its PID (SIGTERM, then SIGKILL) and
// cleanup() removes what the root made and reports leftovers (mounts, container cgroups).
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { Cli, type Result } from "./cli-helpers.ts";

export const DOCKER = Bun.which("docker") ?? "";

export class Berthd {
  readonly cli: Cli;
  readonly socket: string;
  readonly pidfile: string;
  proc?: Bun.Subprocess<"ignore", "ignore", "pipe">;
  private stderrText = "";

  constructor(prefix = "bt-api-") {
    this.cli = new Cli(prefix);
    mkdirSync(this.cli.dir, { recursive: true });
    this.socket = join(this.cli.dir, "docker.sock");
    this.pidfile = join(this.cli.dir, "berthd.pid");
  }

  get host(): string {
    return `unix://${this.socket}`;
  }
  get pid(): number {
    return this.proc?.pid ?? 0;
  }
  get stderr(): string {
    return this.stderrText;
  }

  async start(extra: string[] = []): Promise<void> {
    this.proc = Bun.spawn(this.cli.argv(["daemon", "-H", this.host, "--pidfile", this.pidfile, ...extra]), { stdin: "ignore", stdout: "ignore", stderr: "pipe" });
    void (async () => {
      const dec = new TextDecoder();
      for await (const ch of this.proc!.stderr) this.stderrText += dec.decode(ch);
    })();
    for (let i = 0; i < 200; i++) {
      if (this.proc.exitCode !== null) throw new Error(`berthd exited ${this.proc.exitCode}: ${this.stderrText}`);
      if (existsSync(this.socket) && (await this.ping())) return;
      await Bun.sleep(25);
    }
    throw new Error(`berthd did not answer /_ping: ${this.stderrText}`);
  }

  async ping(): Promise<boolean> {
    try {
      const r = await fetch("http://berth/_ping", { unix: this.socket, signal: AbortSignal.timeout(1000) } as RequestInit);
      return r.ok;
    } catch {
      return false;
    }
  }

  /** A request to the API (path with or without a /vX.Y prefix). */
  async api(method: string, path: string, body?: unknown): Promise<Response> {
    return fetch(`http://berth${path}`, { unix: this.socket, method, ...(body !== undefined ? { body: JSON.stringify(body), headers: { "Content-Type": "application/json" } } : {}) } as RequestInit);
  }

  env(): Record<string, string> {
    return { ...(process.env as Record<string, string>), DOCKER_HOST: this.host, DOCKER_CONFIG: join(this.cli.dir, "docker-config") };
  }

  /** The real docker CLI against this berthd. */
  async docker(args: string[], o: { stdin?: string; timeoutMs?: number } = {}): Promise<Result> {
    const p = Bun.spawn([DOCKER, ...args], {
      stdin: o.stdin !== undefined ? new TextEncoder().encode(o.stdin) : "ignore", stdout: "pipe", stderr: "pipe", env: this.env(),
    });
    const timer = setTimeout(() => p.kill("SIGKILL"), o.timeoutMs ?? 60_000);
    const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
    clearTimeout(timer);
    return { code, stdout, stderr };
  }

  async dockerOk(args: string[], o: { stdin?: string } = {}): Promise<string> {
    const r = await this.docker(args, o);
    if (r.code !== 0) throw new Error(`docker ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
    return r.stdout;
  }

  /** SIGTERM (graceful), or SIGKILL; waits for the process to end. */
  async stop(signal: "SIGTERM" | "SIGKILL" = "SIGTERM"): Promise<number | null> {
    const p = this.proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return p?.exitCode ?? null;
    process.kill(p.pid, signal);
    const t = setTimeout(() => {
      try {
        process.kill(p.pid, "SIGKILL");
      } catch {}
    }, 10_000);
    await p.exited;
    clearTimeout(t);
    return p.exitCode;
  }

  async cleanup(): Promise<{ mounts: string[]; cgroups: string[] }> {
    await this.stop();
    return this.cli.cleanup();
  }
}
