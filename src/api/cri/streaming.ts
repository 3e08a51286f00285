// The CRI streaming server: where the URLs of Exec, Attach and PortForward point (kubelet proxies
// them; crictl connects itself). HTTP/1.1 on 127.0.0.1 (a random port unless given), upgraded to
// SPDY/3.1 as Kubernetes' remotecommand and portforward clients do (spdy-transport does the
// framing and header compression):
//   /exec/<token>, /attach/<token>   protocol v4.channel.k8s.io: the client opens one stream per
//        channel (streamtype: error, stdin, stdout, stderr, resize); the server copies the
//        process's output, feeds stdin, applies resize messages ({"Width","Height"} JSON), and
//        ends with a metav1.Status on the error stream (Success, or Failure with reason
//        NonZeroExitCode and the exit code as the cause)
//   /portforward/<token>             protocol portforward.k8s.io: per connection a pair of streams
//        (streamtype error and data, with port and requestid); data is relayed to the pod's port
// A token is single-use and expires after a minute. WebSocket upgrades (newer kubectl) are
// refused with a message: not served yet.
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { randomString } from "../../sys/digest.ts";
import type { Writable } from "node:stream";
import { EventEmitter } from "node:events";
import { acceptKey, WebSocketConn } from "./websocket.ts";
import type { Engine } from "../../engine/engine.ts";
import type { Container } from "../../engine/containers.ts";
import type { Pod } from "../../engine/pods.ts";

export type StreamRequest =
  | { kind: "exec"; container: Container; cmd: string[]; tty: boolean; stdin: boolean; stdout: boolean; stderr: boolean }
  | { kind: "attach"; container: Container; tty: boolean; stdin: boolean; stdout: boolean; stderr: boolean }
  | { kind: "portforward"; pod: Pod };

interface SpdyStream {
  headers: Record<string, string>;
  respond(status: number, headers: Record<string, string>): void;
  write(b: Uint8Array | string): boolean;
  end(): void;
  on(ev: "data", f: (b: Buffer) => void): void;
  on(ev: "end" | "close" | "error", f: (err?: Error) => void): void;
  destroy(): void;
}
interface SpdyConnection {
  start(version: number): void;
  on(ev: "stream", f: (s: SpdyStream) => void): void;
  on(ev: "error" | "close", f: (err?: Error) => void): void;
  end(): void;
}
type Transport = {
  connection: { create(socket: Socket, o: { protocol: string; isServer: boolean }): SpdyConnection };
  protocol: { spdy: { parser: { create(o: { isServer: boolean }): object } } };
};

/**
 * spdy-transport is made for HTTP over SPDY and refuses a SYN_STREAM without `:method` and
 * `:path`; Kubernetes' streams (docker/spdystream) carry only their own headers (streamtype,
 * port, requestid). So berth gives such a stream placeholders before that check (one wrap of the
 * parser's header-block decoder, done once); nothing reads them.
 */
function acceptPlainStreams(t: Transport): void {
  type ParseKVs = (this: unknown, buf: unknown, cb: (err: Error | null, headers?: Record<string, string>) => void) => void;
  // The parser's class is not exported: its prototype is reached through an instance.
  const proto = Object.getPrototypeOf(t.protocol.spdy.parser.create({ isServer: true })) as { parseKVs: ParseKVs; berthPlain?: boolean };
  if (proto.berthPlain) return;
  const orig = proto.parseKVs;
  proto.parseKVs = function (buf, cb) {
    orig.call(this, buf, (err, headers) => {
      if (!err && headers) {
        headers[":method"] ??= "POST";
        headers[":path"] ??= "/";
      }
      cb(err, headers);
    });
  };
  proto.berthPlain = true;
}

type SendSide = { update(size: number, cb?: () => void): void };
type Windowed = { _spdyState: { window: { send: SendSide } } };

/**
 * Kubernetes' SPDY peer (docker/moby spdystream, in crictl, kubelet's clients and the apiserver)
 * does no SPDY flow control: it never sends WINDOW_UPDATE and leaves back-pressure to TCP (its
 * reader blocks, the socket fills). spdy-transport keeps the SPDY/3.1 send windows, so every
 * stream stalled after the initial 64 KiB (exec output cut there, or hung). So berth's side does
 * as spdystream: the connection's and each stream's send window never shrink, and a slow client
 * is felt through the socket (the stream's write() says full; runCommand's Throttle pauses).
 */
function withoutSendWindows(conn: SpdyConnection): void {
  const open = (side: SendSide) => (side.update = (_size, cb) => void (cb && process.nextTick(cb)));
  open((conn as unknown as Windowed)._spdyState.window.send);
  conn.on("stream", (s) => open((s as unknown as Windowed)._spdyState.window.send));
}

/** What berthd lets wait for a slow SPDY client, per connection, before it pauses the source. */
const SPDY_BACKLOG = 1 << 20;

/**
 * A stream's writes as the Throttle needs them: write() says full while the connection's backlog
 * (spdy-transport's frame queue plus the socket's buffer) is over SPDY_BACKLOG, and "drain" comes
 * when it is under again. The stream's own write() cannot say it: spdy-transport's scheduler
 * takes every frame at once and calls back before it is written (its "TODO: handle stream
 * backoff"), so its queue grows without bound behind a slow socket.
 */
function spdySink(conn: SpdyConnection, s: SpdyStream): Writable {
  const { socket, _spdyState } = conn as unknown as { socket: Socket; _spdyState: { framer: { readableLength: number } } };
  const backlog = () => _spdyState.framer.readableLength + socket.writableLength;
  const ev = new EventEmitter();
  let waiting = false;
  const check = () => {
    if (!waiting) return;
    if (backlog() < SPDY_BACKLOG) {
      waiting = false;
      ev.emit("drain");
    } else socket.once("drain", check);
  };
  socket.once("close", () => ev.emit("close"));
  return Object.assign(ev, {
    get destroyed() {
      return socket.destroyed;
    },
    write(d: Uint8Array) {
      s.write(Buffer.from(d));
      if (backlog() < SPDY_BACKLOG) return true;
      if (!waiting) {
        waiting = true;
        socket.once("drain", check);
      }
      return false;
    },
  }) as unknown as Writable;
}

const TOKEN_TTL_MS = 60_000;
const REMOTECOMMAND = "v4.channel.k8s.io";
const PORTFORWARD = "portforward.k8s.io";
const WS_V5 = "v5.channel.k8s.io";
/** The WebSocket subprotocols kubelet serves, for exec/attach and for port-forward; "" = none offered (binary, pre-v4). */
const WS_COMMAND = [WS_V5, "v4.channel.k8s.io", "v4.base64.channel.k8s.io", "channel.k8s.io", "base64.channel.k8s.io", ""];
const WS_PORTFORWARD = ["v4.channel.k8s.io", "v4.base64.channel.k8s.io", ""];

/** How runCommand reaches the client, over SPDY streams or WebSocket channels. */
interface CommandIo {
  /** Output of the process (fd 1 or 2), written through the throttle `t`. */
  write(fd: 1 | 2, d: Uint8Array, t: { write(s: Writable, d: Uint8Array): void }): void;
  stdin(data: (d: Uint8Array) => void, end: () => void): void;
  resize(f: (width: number, height: number) => void): void;
  /** The client went away. */
  gone(f: () => void): void;
  /** The metav1.Status at the end; then the connection closes. */
  finish(status: object): void;
}

export class StreamingServer {
  private server?: Server;
  private tokens = new Map<string, { req: StreamRequest; expires: number }>();
  private conns = new Set<Socket>();
  private base = "";

  constructor(private readonly e: Engine, private readonly o: { address?: string; port?: number; log?: (l: string) => void } = {}) {}

  async start(): Promise<void> {
    const spdy = (await import("spdy-transport")).default as unknown as Transport;
    acceptPlainStreams(spdy);
    this.server = createServer((sock) => this.accept(sock, spdy));
    await new Promise<void>((res, rej) => {
      this.server!.once("error", rej);
      this.server!.listen(this.o.port ?? 0, this.o.address ?? "127.0.0.1", () => res());
    });
    const a = this.server.address() as { address: string; port: number };
    this.base = `http://${a.address}:${a.port}`;
  }

  /** A single-use URL for the request (the RPC's answer). */
  url(req: StreamRequest): string {
    const now = Date.now();
    for (const [t, v] of this.tokens) if (v.expires < now) this.tokens.delete(t);
    const token = randomString(12, "base64url");
    this.tokens.set(token, { req, expires: now + TOKEN_TTL_MS });
    return `${this.base}/${req.kind}/${token}`;
  }

  async close(): Promise<void> {
    for (const c of this.conns) c.destroy();
    await new Promise<void>((res) => (this.server ? this.server.close(() => res()) : res()));
  }

  private accept(sock: Socket, spdy: Transport): void {
    this.conns.add(sock);
    sock.on("close", () => this.conns.delete(sock));
    sock.on("error", () => sock.destroy());
    let head = Buffer.alloc(0);
    const onData = (d: Buffer) => {
      head = Buffer.concat([head, d]);
      const end = head.indexOf("\r\n\r\n");
      if (end < 0) {
        if (head.length > 16384) sock.destroy();
        return;
      }
      sock.off("data", onData);
      const rest = head.subarray(end + 4);
      const [line, ...lines] = head.subarray(0, end).toString("latin1").split("\r\n");
      // Repeated fields (Go sends one X-Stream-Protocol-Version line per offered version) join with ",".
      const headers = new Map<string, string>();
      for (const l of lines) {
        const k = l.slice(0, l.indexOf(":")).trim().toLowerCase();
        const v = l.slice(l.indexOf(":") + 1).trim();
        headers.set(k, headers.has(k) ? `${headers.get(k)},${v}` : v);
      }
      this.route(sock, line ?? "", headers, rest, spdy);
    };
    sock.on("data", onData);
  }

  private refuse(sock: Socket, status: string, msg: string): void {
    sock.end(`HTTP/1.1 ${status}\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(msg) + 1}\r\nConnection: close\r\n\r\n${msg}\n`);
  }

  private route(sock: Socket, line: string, headers: Map<string, string>, rest: Buffer, spdy: Transport): void {
    const m = /^(GET|POST) \/(exec|attach|portforward)\/([A-Za-z0-9_-]+)(\?\S*)? HTTP\/1\.1$/.exec(line);
    const entry = m ? this.tokens.get(m[3]!) : undefined;
    if (!m || !entry || entry.expires < Date.now() || entry.req.kind !== m[2]) return this.refuse(sock, "404 Not Found", "unknown or expired streaming URL: ask the runtime for a new one");
    this.tokens.delete(m[3]!);
    const upgrade = (headers.get("upgrade") ?? "").toLowerCase();
    if (upgrade === "websocket") return this.websocket(sock, entry.req, headers, new URLSearchParams(m[4]?.slice(1) ?? ""), rest);
    if (upgrade !== "spdy/3.1") return this.refuse(sock, "400 Bad Request", "this URL needs an Upgrade: SPDY/3.1 or Upgrade: websocket request");
    const want = entry.req.kind === "portforward" ? PORTFORWARD : REMOTECOMMAND;
    const offered = (headers.get("x-stream-protocol-version") ?? "").split(",").map((s) => s.trim());
    if (!offered.includes(want)) return this.refuse(sock, "403 Forbidden", `stream protocol ${want} is the one served; the client offered ${offered.join(", ") || "none"}`);
    sock.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: ${want}\r\n\r\n`);
    if (rest.length) sock.unshift(rest);
    const conn = spdy.connection.create(sock, { protocol: "spdy", isServer: true });
    conn.on("error", (err?: Error) => {
      this.o.log?.(`cri streaming: ${entry.req.kind}: ${err?.message ?? "connection error"}`);
      sock.destroy();
    });
    conn.start(3.1);
    withoutSendWindows(conn);
    const req = entry.req;
    if (req.kind === "portforward") this.portForward(conn, req.pod);
    else void this.spdyCommand(conn, req).catch((err: unknown) => this.o.log?.(`cri streaming: ${req.kind}: ${(err as Error).message}`));
  }

  /** A WebSocket upgrade (RFC 6455 §4.2): the subprotocol is the first the client offered that is served. */
  private websocket(sock: Socket, req: StreamRequest, headers: Map<string, string>, query: URLSearchParams, rest: Buffer): void {
    const key = headers.get("sec-websocket-key") ?? "";
    if (headers.get("sec-websocket-version") !== "13" || !key) return this.refuse(sock, "400 Bad Request", "a WebSocket upgrade needs Sec-WebSocket-Version: 13 and a Sec-WebSocket-Key");
    const served = req.kind === "portforward" ? WS_PORTFORWARD : WS_COMMAND;
    const offered = (headers.get("sec-websocket-protocol") ?? "").split(",").map((p) => p.trim()).filter(Boolean);
    const protocol = offered.length ? offered.find((p) => served.includes(p)) : "";
    if (protocol === undefined) return this.refuse(sock, "400 Bad Request", `WebSocket subprotocol ${offered.join(", ")} is not served for ${req.kind}; berth serves ${served.filter(Boolean).join(", ")}`);
    let ports: number[] = [];
    if (req.kind === "portforward") {
      // kubelet: the ports come as ?ports=8080,9090 (repeatable); each gets a data and an error channel.
      const raw = query.getAll("ports").flatMap((v) => v.split(","));
      if (!raw.length) return this.refuse(sock, "400 Bad Request", 'port-forward over WebSocket needs the query parameter "ports" (e.g. ?ports=8080)');
      ports = raw.map(Number);
      const bad = raw.find((p, i) => !/^\d+$/.test(p) || ports[i]! < 1 || ports[i]! > 65535);
      if (bad !== undefined) return this.refuse(sock, "400 Bad Request", `port-forward: "${bad}" in the query parameter "ports" is not a port (1-65535)`);
    }
    sock.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptKey(key)}\r\n${protocol ? `Sec-WebSocket-Protocol: ${protocol}\r\n` : ""}\r\n`);
    const ws = new WebSocketConn(sock, rest);
    if (req.kind === "portforward") this.wsPortForward(ws, protocol, req.pod, ports);
    else void this.wsCommand(ws, protocol, req).catch((err: unknown) => {
      this.o.log?.(`cri streaming: ${req.kind}: ${(err as Error).message}`);
      ws.close(1011, "internal error");
    });
  }

  /**
   * Port-forward over WebSocket, as kubelet: for the i-th port of ?ports=, channel 2i is its data
   * and 2i+1 its error; the server's first message on each starts with the port (uint16, little
   * endian). One connection to the pod per port; when all have ended the WebSocket closes.
   */
  private wsPortForward(ws: WebSocketConn, protocol: string, pod: Pod, ports: number[]): void {
    const binary = !protocol.includes("base64");
    const encode = (ch: number, d: Uint8Array): Buffer =>
      binary ? ws.frame(true, Buffer.concat([Buffer.of(ch), d])) : ws.frame(false, Buffer.from(String.fromCharCode(48 + ch) + Buffer.from(d).toString("base64")));
    const ups: (Socket | undefined)[] = [];
    let open = ports.length;
    const done = () => {
      if (--open === 0) ws.close();
    };
    ports.forEach((port, i) => {
      const le = Buffer.alloc(2);
      le.writeUInt16LE(port);
      ws.sock.write(encode(2 * i, le));
      ws.sock.write(encode(2 * i + 1, le));
      const host = pod.pod.network === "host" ? "127.0.0.1" : pod.ip;
      if (!host) {
        ws.sock.write(encode(2 * i + 1, Buffer.from(`pod ${pod.id} has no network address (is it stopped?)`)));
        return done();
      }
      let ended = false;
      const end = () => {
        if (!ended) (ended = true), done();
      };
      const up = createConnection({ host, port });
      ups[i] = up;
      up.on("error", (e) => {
        ws.sock.write(encode(2 * i + 1, Buffer.from(`error forwarding port ${port} to pod ${pod.id}: ${e.message}`)));
        end();
      });
      // A slow client pauses the pod's side: the socket to the client holds the rest.
      up.on("data", (d: Buffer) => {
        if (!ws.sock.write(encode(2 * i, d))) {
          up.pause();
          ws.sock.once("drain", () => up.resume());
        }
      });
      up.on("close", end);
    });
    ws.message((m) => {
      let ch: number, body: Buffer;
      if (binary) {
        if (!m.data.length) return;
        ch = m.data[0]!;
        body = m.data.subarray(1);
      } else {
        const text = m.data.toString("latin1");
        if (!text.length) return;
        ch = text.charCodeAt(0) - 48;
        body = Buffer.from(text.slice(1), "base64");
      }
      if (ch % 2 === 0) ups[ch / 2]?.write(body);
    });
    ws.closing(() => {
      for (const u of ups) u?.destroy();
    });
  }

  /** Collect the client's channel streams, then run the exec or attach over them. */
  private async spdyCommand(conn: SpdyConnection, req: Extract<StreamRequest, { kind: "exec" | "attach" }>): Promise<void> {
    const streams = new Map<string, SpdyStream>();
    const need = ["error", ...(req.stdin ? ["stdin"] : []), ...(req.stdout ? ["stdout"] : []), ...(req.stderr && !req.tty ? ["stderr"] : []), ...(req.tty ? ["resize"] : [])];
    const ready = new Promise<void>((res, rej) => {
      const t = setTimeout(() => rej(new Error(`the client opened ${[...streams.keys()].join(", ") || "no streams"}; expected ${need.join(", ")}`)), 30_000);
      conn.on("stream", (s) => {
        s.on("error", () => {}); // a client gone mid-write; the session ends with the connection
        s.respond(200, {});
        streams.set(s.headers.streamtype ?? "", s);
        if (need.every((n) => streams.has(n))) {
          clearTimeout(t);
          res();
        }
      });
    });
    await ready;
    const out = streams.get("stdout");
    const err = streams.get("stderr") ?? (req.tty ? out : undefined);
    const stdin = streams.get("stdin");
    const resize = streams.get("resize");
    const outs = new Map<SpdyStream, Writable>();
    const sink = (s: SpdyStream) => outs.get(s) ?? outs.set(s, spdySink(conn, s)).get(s)!;
    await this.runCommand(req, {
      write: (fd, d, t) => {
        const s = fd === 1 ? out : err;
        if (s) t.write(sink(s), d);
      },
      stdin: (data, end) => {
        stdin?.on("data", (d) => data(new Uint8Array(d)));
        stdin?.on("end", end);
      },
      resize: (f) => {
        const p = resizeParser(f);
        resize?.on("data", (d) => p(d.toString("utf8")));
      },
      gone: (f) => conn.on("close", f),
      finish: (status) => {
        streams.get("error")?.write(JSON.stringify(status));
        for (const s of streams.values()) s.end();
        setTimeout(() => conn.end(), 100);
      },
    });
  }

  /**
   * Exec or attach over WebSocket, as kubelet's streaming server: one channel per message's first
   * byte (0 stdin, 1 stdout, 2 stderr, 3 error, 4 resize); with the base64 protocols a text
   * message whose first character is the channel's digit and the rest base64. An empty message on
   * the lowest channel the server writes tells the client the session is open. v5 adds the
   * client's close signal (channel 255, then the channel it closes: stdin's end). The error
   * channel carries the metav1.Status JSON (v4, v5); the older protocols only a failure's message.
   */
  private async wsCommand(ws: WebSocketConn, protocol: string, req: Extract<StreamRequest, { kind: "exec" | "attach" }>): Promise<void> {
    const binary = !protocol.includes("base64");
    const encode = (ch: number, d: Uint8Array): Buffer =>
      binary ? ws.frame(true, Buffer.concat([Buffer.of(ch), d])) : ws.frame(false, Buffer.from(String.fromCharCode(48 + ch) + Buffer.from(d).toString("base64")));
    ws.sock.write(encode(req.stdout ? 1 : req.stderr ? 2 : 3, new Uint8Array()));
    // Stdin that comes before the process has started waits here (a client may send at once).
    const early: (Uint8Array | null)[] = [];
    let stdinData: (d: Uint8Array) => void = (d) => early.push(d);
    let stdinEnd: () => void = () => early.push(null);
    let stdinEnded = false;
    // A resize before the process has started is applied when it has (the latest one).
    let earlySize: [number, number] | undefined;
    const onResize: { f: (w: number, h: number) => void } = { f: (w, h) => void (earlySize = [w, h]) };
    const resize = resizeParser((w, h) => onResize.f(w, h));
    ws.message((m) => {
      let ch: number, body: Buffer;
      if (binary) {
        if (!m.data.length) return;
        ch = m.data[0]!;
        body = m.data.subarray(1);
      } else {
        const text = m.data.toString("latin1");
        if (!text.length) return;
        ch = text.charCodeAt(0) - 48;
        body = Buffer.from(text.slice(1), "base64");
      }
      if (ch === 255 && protocol === WS_V5) {
        if (body[0] === 0 && !stdinEnded) {
          stdinEnded = true;
          stdinEnd();
        }
      } else if (ch === 0 && req.stdin && !stdinEnded) stdinData(new Uint8Array(body));
      else if (ch === 4) resize(body.toString("utf8"));
    });
    const v4 = protocol === WS_V5 || protocol.startsWith("v4.");
    await this.runCommand(req, {
      write: (fd, d, t) => {
        if (fd === 1 ? req.stdout : req.stderr || req.tty) t.write(ws.sock, encode(fd === 2 && req.tty ? 1 : fd, d));
      },
      stdin: (data, end) => {
        for (const d of early) if (d) data(d); else end();
        stdinData = data;
        stdinEnd = end;
      },
      resize: (f) => {
        onResize.f = f;
        if (earlySize) f(...earlySize);
      },
      gone: (f) => ws.closing(f),
      finish: (status) => {
        const failed = (status as { status?: string }).status !== "Success";
        if (v4) ws.sock.write(encode(3, Buffer.from(JSON.stringify(status))));
        else if (failed) ws.sock.write(encode(3, Buffer.from((status as { message?: string }).message ?? "")));
        ws.close();
      },
    });
  }

  /**
   * The exec or attach itself, whichever transport. Output goes through a Throttle (as the Docker
   * API's attach): while the client's socket or stream is full, the exec session's or the
   * container's monitor connection is paused, so the process blocks on its pipe and berthd
   * holds no more than the socket's buffer.
   */
  private async runCommand(req: Extract<StreamRequest, { kind: "exec" | "attach" }>, io: CommandIo): Promise<void> {
    const { Throttle } = await import("../docker/attach.ts");
    const t = new Throttle();
    const handlers = { onStdout: (d: Uint8Array) => io.write(1, d, t), onStderr: (d: Uint8Array) => io.write(2, d, t) };
    if (req.kind === "exec") {
      const { createExec, startExec, finishExec, resizeExec } = await import("../../engine/exec.ts");
      let exitCode: number;
      try {
        const ex = await createExec(this.e, req.container.id, { cmd: req.cmd, tty: req.tty, stdin: req.stdin });
        const session = await startExec(this.e, ex.id, { attach: { stdin: req.stdin, stdout: req.stdout, stderr: req.stderr, handlers } });
        const client = session.attach!;
        t.bind(client);
        io.stdin((d) => client.write(d), () => client.closeStdin());
        io.resize((w, h) => void resizeExec(this.e, ex.id, h, w).catch(() => {}));
        exitCode = (await finishExec(this.e, session)).exitCode;
      } catch (e) {
        io.finish({ metadata: {}, status: "Failure", message: (e as Error).message, reason: "InternalError" });
        return;
      }
      io.finish(exitCode === 0 ? { metadata: {}, status: "Success" } : {
        metadata: {}, status: "Failure", message: `command terminated with non-zero exit code: exit status ${exitCode}`, reason: "NonZeroExitCode",
        details: { causes: [{ reason: "ExitCode", message: String(exitCode) }] },
      });
      return;
    }
    // Attach: the container's own stdio, through its monitor; the client leaving detaches.
    const { ATTACH, AttachClient } = await import("../../monitor/attach.ts");
    const flags = (req.stdout ? ATTACH.stdout : 0) | (req.stderr ? ATTACH.stderr : 0) | (req.stdin ? ATTACH.stdin : 0);
    let client: Awaited<ReturnType<typeof AttachClient.connect>>;
    try {
      client = await AttachClient.connect(this.e.containerDir(req.container.id), flags, handlers);
    } catch (e) {
      io.finish({ metadata: {}, status: "Failure", message: `container ${req.container.id} is not running: ${(e as Error).message}`, reason: "BadRequest" });
      return;
    }
    t.bind(client);
    io.stdin((d) => client.write(d), () => client.detach());
    io.resize((w, h) => client.resize(h, w));
    io.gone(() => client.close());
    await client.exit;
    client.close();
    io.finish({ metadata: {}, status: "Success" });
  }

  /** Each (error, data) pair of streams is one connection to the pod's port. */
  private portForward(conn: SpdyConnection, pod: Pod): void {
    const errors = new Map<string, SpdyStream>();
    conn.on("stream", (s) => {
      s.on("error", () => {}); // the client closed its side first
      s.respond(200, {});
      const id = s.headers.requestid ?? "";
      const port = Number(s.headers.port);
      if (s.headers.streamtype === "error") {
        errors.set(id, s);
        return;
      }
      if (s.headers.streamtype !== "data") return s.destroy();
      const fail = (msg: string) => {
        errors.get(id)?.write(msg);
        errors.get(id)?.end();
        s.end();
      };
      if (!Number.isInteger(port) || port <= 0 || port > 65535) return fail(`port ${s.headers.port}: not a port`);
      // The pod's address on its bridge (a pod on the host's network: the host's loopback).
      const host = pod.pod.network === "host" ? "127.0.0.1" : pod.ip;
      if (!host) return fail(`pod ${pod.id} has no network address (is it stopped?)`);
      const up = createConnection({ host, port });
      up.on("error", (e) => fail(`error forwarding port ${port} to pod ${pod.id}: ${e.message}`));
      up.on("data", (d) => s.write(d));
      up.on("end", () => s.end());
      s.on("data", (d) => up.write(d));
      s.on("end", () => up.end());
      s.on("close", () => up.destroy());
    });
  }
}

/** Resize messages ({"Width","Height"} JSON, one or more per chunk) to `f`. */
function resizeParser(f: (width: number, height: number) => void): (chunk: string) => void {
  let buf = "";
  return (chunk) => {
    buf += chunk;
    for (let i = buf.indexOf("}"); i >= 0; i = buf.indexOf("}")) {
      const one = buf.slice(0, i + 1);
      buf = buf.slice(i + 1);
      try {
        const m = JSON.parse(one.trim()) as { Width?: number; Height?: number };
        if (m.Width && m.Height) f(m.Width, m.Height);
      } catch {}
    }
    if (buf.length > 4096) buf = "";
  };
}
