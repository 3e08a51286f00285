// berthd's Docker Engine API: node:http on a unix socket (mode 0660), a route table over the
// engine core, and nothing else: no container state lives here (every request reads and changes
// the engine's records), so a killed server loses nothing and a new one carries on.
// Every /vX.Y prefix is accepted (the CLI pins whatever DOCKER_API_VERSION says); /_ping is the
// one unversioned path and advertises API_VERSION, which the CLI negotiates down from 1.50.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { chmodSync, existsSync, lstatSync, mkdirSync, unlinkSync } from "node:fs";
import { dirname } from "node:path";
import type { Duplex } from "node:stream";
import type { Engine } from "../../engine/engine.ts";
import { invalidArgument } from "../../sys/errdefs.ts";
import { errorReply, type Ctx } from "./http.ts";
import { routes, type Route } from "./routes.ts";
import { ContainerWatch } from "./attach.ts";

import { API_VERSION } from "./version.ts";
export { API_VERSION, MIN_API_VERSION } from "./version.ts";

export interface DockerApiOptions {
  engine: Engine;
  /** unix:///path/docker.sock (or a bare path). */
  host: string;
  /** Called with one line per request (method, path, status, ms) when set (--debug). */
  log?: (line: string) => void;
}

export interface DockerApiServer {
  readonly socket: string;
  /** Stop accepting, finish requests in flight (streams end), then resolve. */
  close(): Promise<void>;
}

/** -H: unix://PATH only; tcp:// needs TLS, which berthd does not serve yet. */
export function socketPathOf(host: string): string {
  if (host.startsWith("unix://")) {
    const p = host.slice("unix://".length);
    if (!p.startsWith("/")) throw invalidArgument(`-H ${host}: the socket path must be absolute (unix:///run/berth/docker.sock)`, "-H");
    return p;
  }
  if (host.startsWith("/")) return host;
  if (/^(tcp|http|https|fd|npipe):\/\//.test(host)) {
    throw invalidArgument(`-H ${host}: berthd serves the Docker API on a unix socket only; TCP would need TLS (--tlsverify with certificates), which berthd does not support yet. Use -H unix:///path/docker.sock`, "-H");
  }
  throw invalidArgument(`-H ${host}: not an address (use unix:///path/docker.sock)`, "-H");
}

interface Compiled {
  method: string;
  re: RegExp;
  names: string[];
  route: Route;
}

function compile(rs: Route[]): Compiled[] {
  return rs.map((route) => {
    const names: string[] = [];
    const src = route.path.replace(/:(\w+)(\*)?/g, (_m, n: string, star?: string) => {
      names.push(n);
      return star ? "(.+?)" : "([^/]+)";
    });
    return { method: route.method, re: new RegExp(`^${src}$`), names, route };
  });
}

const VERSIONED = /^\/v(\d+\.\d+)(\/.*)$/;

export async function startDockerApi(o: DockerApiOptions): Promise<DockerApiServer> {
  const path = socketPathOf(o.host);
  mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
  if (existsSync(path)) {
    if (!lstatSync(path).isSocket()) throw invalidArgument(`-H unix://${path}: a file that is not a socket is in the way; remove it or choose another path`, "-H");
    // A socket nobody answers on is a dead daemon's: take its place. One that answers is not ours.
    if (await answers(path)) throw invalidArgument(`-H unix://${path}: another daemon is serving this socket; stop it or choose another path`, "-H");
    unlinkSync(path);
  }
  const table = compile(routes);
  const watch = new ContainerWatch(o.engine);
  const inflight = new Set<Promise<void>>();
  const sockets = new Set<Duplex>();
  let closing = false;

  const dispatch = async (req: IncomingMessage, res: ServerResponse | undefined, hijack?: { socket: Duplex; head: Buffer }) => {
    const t0 = performance.now();
    const url = new URL(req.url ?? "/", "http://berth");
    let p = url.pathname;
    let version: string | undefined;
    const m = VERSIONED.exec(p);
    if (m) {
      version = m[1];
      p = m[2]!;
    }
    const ac = new AbortController();
    const sock = hijack?.socket ?? req.socket;
    const onClose = () => ac.abort();
    sock.once("close", onClose);
    res?.once("close", onClose);
    let status = 0;
    try {
      const method = req.method === "HEAD" && !table.some((r) => r.method === "HEAD" && r.re.test(p)) ? "GET" : req.method;
      let found: { c: Compiled; params: Record<string, string> } | undefined;
      let pathKnown = false;
      for (const c of table) {
        const mm = c.re.exec(p);
        if (!mm) continue;
        pathKnown = true;
        if (c.method !== method) continue;
        found = { c, params: Object.fromEntries(c.names.map((n, i) => [n, decodeURIComponent(mm[i + 1]!)])) };
        break;
      }
      if (!found) {
        status = pathKnown ? 405 : 404;
        const msg = pathKnown ? `method ${req.method} not allowed on ${p}` : `page not found: ${req.method} ${p}`;
        if (res) {
          res.writeHead(status, { "Content-Type": "application/json" });
          res.end(JSON.stringify({ message: msg }));
        } else hijack?.socket.end(`HTTP/1.1 ${status} Not Found\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n${JSON.stringify({ message: msg })}`);
        return;
      }
      const ctx: Ctx = { e: o.engine, req, ...(res ? { res } : {}), ...(hijack ? { hijack } : {}), params: found.params, query: url.searchParams, ...(version ? { version } : {}), signal: ac.signal, watch };
      await found.c.route.handler(ctx);
      status = res?.statusCode ?? 101;
    } catch (err) {
      const { status: s, message } = errorReply(err);
      status = s;
      if (res && !res.headersSent) {
        const body = s === 304 ? "" : JSON.stringify({ message });
        res.writeHead(s, s === 304 ? {} : { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) });
        res.end(body);
      } else if (res) {
        res.end();
      } else if (hijack && !hijack.socket.destroyed) {
        const body = JSON.stringify({ message });
        hijack.socket.end(`HTTP/1.1 ${s} Error\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
      }
      if (s >= 500) o.log?.(`error ${req.method} ${req.url}: ${(err as Error).stack ?? String(err)}`);
    } finally {
      sock.off("close", onClose);
      o.log?.(`${req.method} ${req.url} ${status} ${(performance.now() - t0).toFixed(1)}ms`);
    }
  };
  const track = (pr: Promise<void>) => {
    inflight.add(pr);
    void pr.finally(() => inflight.delete(pr));
  };

  const server = createServer((req, res) => {
    res.setHeader("Api-Version", API_VERSION);
    res.setHeader("Docker-Experimental", "false");
    res.setHeader("Ostype", "linux");
    res.setHeader("Server", `Docker/berth (linux)`);
    if (closing) res.setHeader("Connection", "close");
    track(dispatch(req, res));
  });
  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    track(dispatch(req, undefined, { socket, head }));
  });
  server.on("connection", (s: Duplex) => {
    sockets.add(s);
    s.once("close", () => sockets.delete(s));
  });
  // The socket is root's: 0660 from the start (umask), then chmod for certainty.
  const old = process.umask(0o117);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(path, () => resolve());
    });
  } finally {
    process.umask(old);
  }
  chmodSync(path, 0o660);
  return {
    socket: path,
    async close() {
      closing = true;
      await new Promise<void>((resolve) => server.close(() => resolve()));
      // In flight: short requests finish; long-held ones (wait, follow, events, attach) end
      // with the connection — the containers they watch keep running.
      await Promise.race([Promise.allSettled([...inflight]), Bun.sleep(2000)]);
      for (const s of sockets) s.destroy();
      watch.close();
      try {
        unlinkSync(path);
      } catch {}
    },
  };
}

async function answers(path: string): Promise<boolean> {
  try {
    const r = await fetch("http://berth/_ping", { unix: path, signal: AbortSignal.timeout(1000) } as RequestInit);
    return r.ok;
  } catch {
    return false;
  }
}
