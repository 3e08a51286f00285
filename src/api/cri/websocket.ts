// The server side of RFC 6455 WebSocket on a socket the streaming server has already read the
// HTTP/1.1 request from (its own parser decides between SPDY/3.1 and WebSocket by the Upgrade
// header, after checking the single-use token): the 101 answer, frames in (masked, maybe
// fragmented; ping answered, close echoed), frames out (unmasked).
//
// Why written here: node_modules has no WebSocket server library (no `ws`), and Bun.serve's
// upgrade() belongs to Bun's own HTTP server, which cannot take over a node:net socket whose
// request this server parsed (the same port also serves SPDY upgrades, which Bun.serve cannot).
// What is needed is small (no extensions, no client side) and a new dependency would be bundled
// into build/berth-cri.js for ~150 lines.
import type { Socket } from "node:net";
import { hashOf } from "../../sys/digest.ts";

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"; // RFC 6455 §1.3
/** A message larger than this closes the connection with 1009 (too big); stdin and resize are small. */
const MAX_MESSAGE = 16 << 20;

export const OP = { continuation: 0, text: 1, binary: 2, close: 8, ping: 9, pong: 10 } as const;

/** The Sec-WebSocket-Accept value for a client's Sec-WebSocket-Key (RFC 6455 §4.2.2). */
export function acceptKey(key: string): string {
  return hashOf("sha1", key + GUID, "base64");
}

/** One frame, unmasked (server to client, RFC 6455 §5.2). */
export function encodeFrame(opcode: number, payload: Uint8Array): Buffer {
  const n = payload.length;
  const head = n < 126 ? 2 : n < 65536 ? 4 : 10;
  const b = Buffer.allocUnsafe(head + n);
  b[0] = 0x80 | opcode;
  if (n < 126) b[1] = n;
  else if (n < 65536) {
    b[1] = 126;
    b.writeUInt16BE(n, 2);
  } else {
    b[1] = 127;
    b.writeBigUInt64BE(BigInt(n), 2);
  }
  b.set(payload, head);
  return b;
}

export interface WsMessage {
  binary: boolean;
  data: Buffer;
}

/** A server-side WebSocket over `sock` after the 101 was written. */
export class WebSocketConn {
  private buf: Buffer = Buffer.alloc(0);
  private parts: Buffer[] = [];
  private partOp = 0;
  private partLen = 0;
  private closed = false;
  private onMessage: (m: WsMessage) => void = () => {};
  private onClose: () => void = () => {};

  constructor(readonly sock: Socket, rest: Buffer) {
    sock.on("data", (d: Buffer) => this.feed(d));
    sock.on("close", () => this.gone());
    if (rest.length) queueMicrotask(() => this.feed(rest));
  }

  message(f: (m: WsMessage) => void): void {
    this.onMessage = f;
  }
  closing(f: () => void): void {
    this.onClose = f;
  }

  /** Write one message; false when the socket is full (wait for its "drain"). */
  send(binary: boolean, data: Uint8Array): boolean {
    if (this.closed || this.sock.destroyed) return true;
    return this.sock.write(encodeFrame(binary ? OP.binary : OP.text, data));
  }

  /** The frame `send` would write (for a writer that throttles on the socket itself). */
  frame(binary: boolean, data: Uint8Array): Buffer {
    return encodeFrame(binary ? OP.binary : OP.text, data);
  }

  /** A close frame (1000 normal unless given), then the end of the socket. */
  close(code = 1000, reason = ""): void {
    if (this.closed) return;
    this.closed = true;
    const r = Buffer.from(reason);
    const p = Buffer.alloc(2 + r.length);
    p.writeUInt16BE(code, 0);
    r.copy(p, 2);
    if (!this.sock.destroyed) this.sock.end(encodeFrame(OP.close, p));
    this.onClose();
  }

  private gone(): void {
    if (this.closed) return;
    this.closed = true;
    this.onClose();
  }

  private feed(d: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
    while (!this.closed) {
      const b = this.buf;
      if (b.length < 2) return;
      const fin = (b[0]! & 0x80) !== 0;
      const op = b[0]! & 0x0f;
      const masked = (b[1]! & 0x80) !== 0;
      let len = b[1]! & 0x7f;
      let off = 2;
      if (len === 126) {
        if (b.length < 4) return;
        len = b.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (b.length < 10) return;
        const big = b.readBigUInt64BE(2);
        if (big > BigInt(MAX_MESSAGE)) return this.close(1009, "message too big");
        len = Number(big);
        off = 10;
      }
      // RFC 6455 §5.1: a client's frames are masked; the server closes on an unmasked one.
      if (!masked) return this.close(1002, "client frames must be masked");
      if (len > MAX_MESSAGE || this.partLen + len > MAX_MESSAGE) return this.close(1009, "message too big");
      if (b.length < off + 4 + len) return;
      const mask = b.subarray(off, off + 4);
      const payload = Buffer.from(b.subarray(off + 4, off + 4 + len));
      for (let i = 0; i < payload.length; i++) payload[i]! ^= mask[i & 3]!;
      this.buf = b.subarray(off + 4 + len);
      this.frameIn(fin, op, payload);
    }
  }

  private frameIn(fin: boolean, op: number, payload: Buffer): void {
    if (op === OP.ping) return void this.sock.write(encodeFrame(OP.pong, payload));
    if (op === OP.pong) return;
    if (op === OP.close) return this.close(); // echoed (RFC 6455 §5.5.1)
    if (op === OP.continuation) {
      if (!this.parts.length) return this.close(1002, "continuation without a first frame");
    } else if (op === OP.text || op === OP.binary) {
      if (this.parts.length) return this.close(1002, "a new message inside a fragmented one");
      this.partOp = op;
    } else return this.close(1002, `unknown opcode ${op}`);
    this.parts.push(payload);
    this.partLen += payload.length;
    if (!fin) return;
    const data = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts);
    this.parts = [];
    this.partLen = 0;
    this.onMessage({ binary: this.partOp === OP.binary, data });
  }
}
