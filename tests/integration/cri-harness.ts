// The CRI front for tests: berthd (`berth daemon --cri-socket`, the compiled build/berth) on a
// private --root/--runroot (the Cli harness's temp dir), in its own process so a test can kill -9
// it, and the real crictl (../shared/tools/crictl, cri-tools 1.26.1) pointed at its socket.
import { existsSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { Cli, TOP, type Result } from "./cli-helpers.ts";
import { killPid, pidsWithArg } from "../helpers/leftovers.ts";
import type { ServiceError } from "@grpc/grpc-js";
import type { RuntimeServiceClient } from "../../src/api/cri/generated/runtime/v1/RuntimeService.ts";
import type { ImageServiceClient } from "../../src/api/cri/generated/runtime/v1/ImageService.ts";

/** grpc-js clients of both CRI services, from the generated types, on `socket`. */
export async function grpcClients(socket: string): Promise<{ rt: RuntimeServiceClient; img: ImageServiceClient }> {
  const grpc = await import("@grpc/grpc-js");
  const { criProto } = await import("../../src/api/cri/proto.ts");
  const proto = await criProto();
  return {
    rt: new proto.runtime.v1.RuntimeService(`unix://${socket}`, grpc.credentials.createInsecure()) as unknown as RuntimeServiceClient,
    img: new proto.runtime.v1.ImageService(`unix://${socket}`, grpc.credentials.createInsecure()) as unknown as ImageServiceClient,
  };
}

/** One unary call of a grpc-js client from the generated types, as a promise. */
export function call<Req, Res>(client: object, method: string, req: Req): Promise<Res> {
  return new Promise((resolve, reject) => {
    (client as Record<string, (r: Req, cb: (e: ServiceError | null, v: Res) => void) => void>)[method]!(req, (e, v) => (e ? reject(e) : resolve(v)));
  });
}

/** The gRPC status a call fails with (a call that succeeds fails the test). */
export async function code(p: Promise<unknown>): Promise<{ code: number; details: string }> {
  try {
    await p;
  } catch (e) {
    const err = e as ServiceError;
    return { code: err.code, details: err.details };
  }
  throw new Error("the call succeeded");
}

// The workspace's build (../shared/tools, beside this checkout), else $BERTH_CRICTL, else crictl on PATH.
export const CRICTL = [resolve(TOP, "../shared/tools/crictl"), process.env.BERTH_CRICTL ?? "", Bun.which("crictl") ?? ""].find((p) => p && existsSync(p)) ?? resolve(TOP, "../shared/tools/crictl");
export const HAVE_CRICTL = existsSync(CRICTL);

export class CriServer {
  readonly cli: Cli;
  readonly socket: string;
  proc?: Bun.Subprocess<"ignore", "ignore", "pipe">;
  log = "";

  constructor(prefix = "bt-cri-") {
    this.cli = new Cli(prefix);
    Bun.spawnSync(["mkdir", "-p", this.cli.dir]);
    this.socket = join(this.cli.dir, "cri.sock");
  }

  get pid(): number {
    return this.proc?.pid ?? 0;
  }

  /** `globals`: berth's global flags before `daemon` (--explain…). */
  async start(globals: string[] = []): Promise<void> {
    this.log = "";
    this.proc = Bun.spawn(this.cli.argv([...globals, "daemon", "-H", `unix://${join(this.cli.dir, "docker.sock")}`, "--cri-socket", this.socket, "--debug"]), { stdin: "ignore", stdout: "ignore", stderr: "pipe" });
    const proc = this.proc;
    void (async () => {
      const dec = new TextDecoder();
      for await (const ch of proc.stderr) this.log += dec.decode(ch);
    })();
    for (let i = 0; i < 400; i++) {
      if (proc.exitCode !== null) throw new Error(`berthd exited ${proc.exitCode}: ${this.log}`);
      if (this.log.includes("serving the cri API")) return;
      await Bun.sleep(25);
    }
    throw new Error(`the CRI server did not start: ${this.log}`);
  }

  /** SIGTERM (or SIGKILL) and wait for it to end. */
  async stop(signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
    if (!this.proc || this.proc.exitCode !== null) return;
    this.proc.kill(signal);
    const t = setTimeout(() => this.proc?.kill("SIGKILL"), 10_000);
    await this.proc.exited;
    clearTimeout(t);
  }

  /** crictl with this server's endpoints, for commands a test drives itself. */
  crictlArgv(): string[] {
    return [CRICTL, "--config", "/dev/null", "--timeout", "30s", "--runtime-endpoint", `unix://${this.socket}`, "--image-endpoint", `unix://${this.socket}`];
  }

  async crictl(args: string[], timeoutMs = 60_000): Promise<Result> {
    const p = Bun.spawn([...this.crictlArgv(), ...args], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
    const timer = setTimeout(() => p.kill("SIGKILL"), timeoutMs);
    const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
    clearTimeout(timer);
    return { code, stdout, stderr };
  }

  /** crictl that must succeed; its stdout, trimmed. */
  async ok(args: string[]): Promise<string> {
    const r = await this.crictl(args);
    if (r.code !== 0) throw new Error(`crictl ${args.join(" ")} exited ${r.code}: ${r.stderr}\nserver: ${this.log}`);
    return r.stdout.trim();
  }

  /** Write a JSON config into the temp dir; returns its path. */
  file(name: string, v: unknown): string {
    const p = join(this.cli.dir, name);
    writeFileSync(p, JSON.stringify(v));
    return p;
  }

  /** berthd stops; what the root made goes; returns leftovers, monitors still alive among them. */
  async cleanup(): Promise<{ mounts: string[]; cgroups: string[]; processes: number[] }> {
    await this.stop();
    const left = await this.cli.cleanup();
    // A monitor (container or exec session) still running for this root is a leak: ended here.
    const processes = pidsWithArg(this.cli.dir);
    for (const pid of processes) killPid(pid);
    return { ...left, processes };
  }
}

/** berthd serving the CRI on a private root, grpc-js clients of both services, busybox pulled. */
export async function startGrpcCri(prefix: string): Promise<{ s: CriServer; rt: RuntimeServiceClient; img: ImageServiceClient }> {
  const s = new CriServer(prefix);
  await s.start();
  const { rt, img } = await grpcClients(s.socket);
  await call(img, "PullImage", { image: { image: "busybox" } });
  return { s, rt, img };
}

/** Closes the clients and stops the server; what it left behind (a test expects none). */
export async function stopGrpcCri(s: CriServer, ...clients: ({ close(): void } | undefined)[]): Promise<Awaited<ReturnType<CriServer["cleanup"]>>> {
  for (const c of clients) c?.close();
  return s.cleanup();
}
