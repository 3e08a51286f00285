// The CRI front: runtime.v1.RuntimeService and ImageService (k8s.io/cri-api v1) on a unix socket,
// served by grpc-js over the engine. berthd starts it for `--cri-socket PATH`; everything here
// is loaded on first use so the berth CLI never pays for it.
//   PATH                 the socket (authority-front.ts: fixes the :authority grpc-go sends for
//                        unix sockets and hands the connection to grpc-js's injector)
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { Engine, type EngineOptions } from "../../engine/engine.ts";
import { invalidArgument } from "../../sys/errdefs.ts";

export const DEFAULT_CRI_SOCKET = "/run/berth/cri.sock";

export interface CriServerOptions {
  socket?: string;
  /** The streaming server's address (Exec, Attach, PortForward URLs): 127.0.0.1 and a random port by default. */
  streamingAddress?: string;
  streamingPort?: number;
  /** One line per failed request. */
  log?: (line: string) => void;
}

export interface CriServer {
  socket: string;
  close(): Promise<void>;
}

/**
 * Serve the CRI over an Engine of its own made from `engine`'s options (berthd loads this module
 * as a separate bundle, build/berth-cri.js, whose classes are not the daemon's); a given Engine
 * is used as it is.
 */
export async function startCriServer(engine: Engine | EngineOptions, o: CriServerOptions = {}): Promise<CriServer> {
  const own = !(engine instanceof Engine);
  const e = engine instanceof Engine ? engine : new Engine(engine);
  const socket = (o.socket ?? DEFAULT_CRI_SOCKET).replace(/^unix:\/\//, "");
  if (!socket.startsWith("/")) throw invalidArgument(`--cri-socket ${socket}: give an absolute path (unix:///run/berth/cri.sock)`, "--cri-socket");
  mkdirSync(dirname(socket), { recursive: true });
  const grpc = await import("@grpc/grpc-js");
  const { criProto } = await import("./proto.ts");
  const { runtimeService } = await import("./runtime-service.ts");
  const { imageService } = await import("./image-service.ts");
  const { startAuthorityFront } = await import("./authority-front.ts");
  const proto = await criProto();
  const server = new grpc.Server({ "grpc.max_receive_message_length": 16 * 1024 * 1024, "grpc.max_send_message_length": 16 * 1024 * 1024 });
  const wrap = <T extends object>(svc: T): T => {
    if (!o.log) return svc;
    const out: Record<string, unknown> = {};
    for (const [name, h] of Object.entries(svc)) {
      out[name] = (call: { request: unknown }, cb: (err: { details?: string } | null, v?: unknown) => void) =>
        (h as (c: unknown, cb: unknown) => void)(call, (err: { details?: string } | null, v?: unknown) => {
          if (err) o.log!(`cri: ${name}: ${err.details ?? String(err)}`);
          cb(err, v);
        });
    }
    return out as T;
  };
  const { StreamingServer } = await import("./streaming.ts");
  const streaming = new StreamingServer(e, { ...(o.streamingAddress ? { address: o.streamingAddress } : {}), ...(o.streamingPort ? { port: o.streamingPort } : {}), ...(o.log ? { log: o.log } : {}) });
  await streaming.start();
  server.addService(proto.runtime.v1.RuntimeService.service, wrap(runtimeService(e, streaming)) as never);
  server.addService(proto.runtime.v1.ImageService.service, wrap(imageService(e)) as never);
  const injector = server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
  let front: Awaited<ReturnType<typeof startAuthorityFront>>;
  try {
    front = await startAuthorityFront(socket, (d) => injector.injectConnection(d));
  } catch (err) {
    await streaming.close();
    server.forceShutdown();
    throw err;
  }
  return {
    socket,
    async close() {
      await front.close();
      await streaming.close();
      await new Promise<void>((res) => server.tryShutdown(() => res()));
      if (own) await e.close();
    },
  };
}
