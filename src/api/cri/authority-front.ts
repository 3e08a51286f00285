// The CRI socket's front door. grpc-go before kubernetes#112597 — crictl 1.26 among them — sends
// the unix socket's path as the HTTP/2 `:authority` ("/run/berth/cri.sock"), which is not an
// authority (RFC 3986 §3.2): Bun's HTTP/2 server, like nghttp2 and hyperium/h2, answers such a
// request with RST_STREAM PROTOCOL_ERROR. So berthd listens on the socket itself and hands each
// connection to grpc-js's HTTP/2 server in the same process (its connection injector) as a
// Duplex whose incoming bytes have their request header blocks rewritten: each is decoded
// (HPACK, RFC 7541, with the client's dynamic table mirrored by hpack.js), an `:authority` that
// is not one becomes "localhost" (what kubelet sends since 1.26), and the block is re-encoded as
// literals that never touch the server's dynamic table. Every other frame, and everything the
// server sends, passes byte for byte. (An earlier version relayed to grpc-js on a second socket:
// that hop cost 0.5–1 ms per RPC, a third of a status poll.)
import { createServer, type Server, type Socket } from "node:net";
import { Duplex } from "node:stream";
import { chmodSync, rmSync } from "node:fs";

const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
const HEADERS = 0x1;
const CONTINUATION = 0x9;
const END_STREAM = 0x1;
const END_HEADERS = 0x4;
const PADDED = 0x8;
const PRIORITY = 0x20;
/** The frame size every HTTP/2 peer accepts before SETTINGS say more (RFC 9113 §4.2). */
const MAX_FRAME = 16384;
const VALID_AUTHORITY = /^[A-Za-z0-9._~%!$&'()*+,;=:@\[\]-]+$/;

interface HpackHeader {
  name: string;
  value: string;
}
interface Decompressor {
  write(b: Buffer): void;
  execute(): void;
  read(): HpackHeader | null;
  on(ev: "error", f: (e: Error) => void): void;
}

/** HPACK integer with an N-bit prefix (RFC 7541 §5.1). */
function hpackInt(first: number, prefixBits: number, v: number, out: number[]): void {
  const max = (1 << prefixBits) - 1;
  if (v < max) {
    out.push(first | v);
    return;
  }
  out.push(first | max);
  v -= max;
  while (v >= 128) {
    out.push((v % 128) + 128);
    v = Math.floor(v / 128);
  }
  out.push(v);
}

/**
 * "Literal header field without indexing — new name" for every field (§6.2.2), no Huffman:
 * hand-written because it is a dozen lines and needs no table, which a full compressor keeps.
 */
function encodeLiterals(headers: HpackHeader[]): Buffer {
  const out: number[] = [];
  for (const h of headers) {
    const n = Buffer.from(h.name, "latin1");
    const v = Buffer.from(h.value, "latin1");
    out.push(0x00);
    hpackInt(0, 7, n.length, out);
    for (const b of n) out.push(b);
    hpackInt(0, 7, v.length, out);
    for (const b of v) out.push(b);
  }
  return Buffer.from(out);
}

function frame(type: number, flags: number, stream: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(stream & 0x7fffffff, 5);
  return Buffer.concat([h, payload]);
}

/** One client connection's request direction: frames in, frames out. */
export class RequestRewriter {
  private buf: Buffer = Buffer.alloc(0);
  private preface = false;
  private block: { stream: number; flags: number; parts: Buffer[] } | undefined;
  private readonly hpack: Decompressor;

  constructor(createDecompressor: (o: { table: { size: number } }) => Decompressor) {
    // 4096: the table size the server's SETTINGS allow unless they say otherwise (RFC 7541 §4.2);
    // the client announces any change with a size update, which the decoder follows.
    this.hpack = createDecompressor({ table: { size: 4096 } });
    this.hpack.on("error", () => {});
  }

  /** Bytes from the client → bytes for the server. Throws on a malformed stream. */
  push(chunk: Buffer): Buffer {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out: Buffer[] = [];
    if (!this.preface) {
      if (this.buf.length < PREFACE.length) return Buffer.alloc(0);
      if (!this.buf.subarray(0, PREFACE.length).equals(PREFACE)) throw new Error("not an HTTP/2 connection preface");
      out.push(PREFACE);
      this.buf = this.buf.subarray(PREFACE.length);
      this.preface = true;
    }
    while (this.buf.length >= 9) {
      const len = this.buf.readUIntBE(0, 3);
      if (this.buf.length < 9 + len) break;
      const type = this.buf[3]!;
      const flags = this.buf[4]!;
      const stream = this.buf.readUInt32BE(5) & 0x7fffffff;
      const whole = this.buf.subarray(0, 9 + len);
      const payload = whole.subarray(9);
      this.buf = this.buf.subarray(9 + len);
      if (type === HEADERS) {
        let p = payload;
        if (flags & PADDED) p = p.subarray(1, p.length - payload[0]!);
        if (flags & PRIORITY) p = p.subarray(5);
        this.block = { stream, flags, parts: [Buffer.from(p)] };
      } else if (type === CONTINUATION && this.block) {
        this.block.parts.push(Buffer.from(payload));
      } else {
        out.push(Buffer.from(whole));
        continue;
      }
      if (flags & END_HEADERS) out.push(this.rewrite());
    }
    return out.length === 1 ? out[0]! : Buffer.concat(out);
  }

  private rewrite(): Buffer {
    const b = this.block!;
    this.block = undefined;
    this.hpack.write(Buffer.concat(b.parts));
    this.hpack.execute();
    const headers: HpackHeader[] = [];
    for (let h = this.hpack.read(); h; h = this.hpack.read()) headers.push({ name: h.name, value: h.value });
    for (const h of headers) if (h.name === ":authority" && !VALID_AUTHORITY.test(h.value)) h.value = "localhost";
    const enc = encodeLiterals(headers);
    const frames: Buffer[] = [];
    for (let off = 0; off < enc.length || off === 0; off += MAX_FRAME) {
      const part = enc.subarray(off, off + MAX_FRAME);
      const last = off + MAX_FRAME >= enc.length;
      const first = off === 0;
      frames.push(frame(first ? HEADERS : CONTINUATION, (first ? b.flags & END_STREAM : 0) | (last ? END_HEADERS : 0), b.stream, part));
      if (last) break;
    }
    return Buffer.concat(frames);
  }
}

/**
 * Listen on `publicPath` and hand each connection, its request headers rewritten, to `inject`
 * (grpc-js's connection injector: its HTTP/2 server in this process), as a Duplex: no second
 * socket, no relay hop. What the server writes goes to the client as it is.
 */
export async function startAuthorityFront(publicPath: string, inject: (d: Duplex) => void): Promise<{ close(): Promise<void> }> {
  const hpack = (await import("hpack.js")).default as { decompressor: { create(o: { table: { size: number } }): Decompressor } };
  const conns = new Set<Socket>();
  const server: Server = createServer((client) => {
    conns.add(client);
    const rw = new RequestRewriter((o) => hpack.decompressor.create(o));
    const d = new Duplex({
      read: () => void client.resume(),
      write: (chunk: Buffer, _enc, cb) => void client.write(chunk, (err) => cb(err ?? null)),
      final: (cb) => {
        client.end();
        cb();
      },
      destroy: (err, cb) => {
        client.destroy();
        cb(err);
      },
    });
    client.on("data", (b: Buffer) => {
      let out: Buffer;
      try {
        out = rw.push(b);
      } catch {
        client.destroy();
        return;
      }
      if (out.length && !d.push(out)) client.pause();
    });
    client.on("end", () => d.push(null));
    client.on("close", () => {
      conns.delete(client);
      d.destroy();
    });
    client.on("error", () => d.destroy());
    inject(d);
  });
  rmSync(publicPath, { force: true });
  await new Promise<void>((res, rej) => {
    server.once("error", rej);
    server.listen(publicPath, () => res());
  });
  chmodSync(publicPath, 0o660);
  return {
    close: () =>
      new Promise<void>((res) => {
        for (const c of conns) c.destroy();
        server.close(() => res());
        rmSync(publicPath, { force: true });
      }),
  };
}
