// The HTTP edge of the Docker Engine API: one request's context (path parameters, query with
// docker's 1/0/true/false booleans and JSON filters, the JSON body), docker's error shape
// `{"message": …}` with the status mapped from the core's error codes (here and nowhere else),
// and writes that wait for the socket to drain (back-pressure for logs, events and pulls).
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { BerthError, isBerthError, type ErrorCode } from "../../sys/errdefs.ts";
import type { Engine } from "../../engine/engine.ts";
import type { ContainerWatch } from "./attach.ts";

/** An error answered with a status of its own (docker's 304 "not modified" and the like). */
export class ApiError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

export const badRequest = (msg: string) => new ApiError(400, msg);

/** docker's statuses for the core's codes (moby errdefs → HTTP, api/server/httpstatus). */
export function statusOf(code: ErrorCode): number {
  switch (code) {
    case "NotFound": return 404;
    case "AlreadyExists":
    case "Conflict":
    case "FailedPrecondition": return 409;
    case "InvalidArgument": return 400;
    case "NotImplemented": return 501;
    case "PermissionDenied": return 403;
    case "Unauthenticated": return 401;
    case "Unavailable": return 503;
    case "DeadlineExceeded": return 504;
    default: return 500;
  }
}

/** Status and message for anything a handler threw. */
export function errorReply(err: unknown): { status: number; message: string } {
  if (err instanceof ApiError) return { status: err.status, message: err.message };
  if (isBerthError(err)) return { status: statusOf(err.code), message: err.message };
  const e = err as NodeJS.ErrnoException;
  // A system error names its path; anything else is berth's own failure, with its reason.
  return { status: 500, message: typeof e?.code === "string" ? e.message : `internal error: ${e?.message ?? String(err)}` };
}

export interface Hijack {
  socket: Duplex;
  head: Buffer;
}

export interface Ctx {
  e: Engine;
  req: IncomingMessage;
  /** Absent on a hijack (Upgrade: tcp): the handler writes the 101 itself. */
  res?: ServerResponse;
  hijack?: Hijack;
  params: Record<string, string>;
  query: URLSearchParams;
  /** The API version the client put in the path ("1.50"), or undefined. */
  version?: string;
  /** Aborted when the client goes away. */
  signal: AbortSignal;
  /** Attach sessions waiting for a start, and the cleanup of containers this server started. */
  watch: ContainerWatch;
}

export function q(c: Ctx, name: string): string | undefined {
  const v = c.query.get(name);
  return v === null ? undefined : v;
}

/** docker's booleans: 1/0/true/false (and an empty value as true, as Go's form parsing does not; we refuse it). */
export function qBool(c: Ctx, name: string, dflt = false): boolean {
  const v = q(c, name);
  if (v === undefined) return dflt;
  const l = v.toLowerCase();
  if (l === "1" || l === "true") return true;
  if (l === "0" || l === "false" || l === "") return false;
  throw badRequest(`invalid value for ${name}: ${JSON.stringify(v)} (use 1, 0, true or false)`);
}

export function qInt(c: Ctx, name: string): number | undefined {
  const v = q(c, name);
  if (v === undefined || v === "") return undefined;
  if (!/^-?\d+$/.test(v)) throw badRequest(`invalid value for ${name}: ${JSON.stringify(v)} (an integer)`);
  return Number(v);
}

/** `filters`: docker's map form {"name":{"web":true}} or the old list form {"name":["web"]}. */
export function qFilters(c: Ctx, allowed: readonly string[]): Map<string, string[]> {
  const raw = q(c, "filters");
  const out = new Map<string, string[]>();
  if (raw === undefined || raw === "") return out;
  let obj: unknown;
  try {
    obj = JSON.parse(raw);
  } catch {
    throw badRequest(`invalid filters: not JSON: ${raw}`);
  }
  if (typeof obj !== "object" || obj === null || Array.isArray(obj)) throw badRequest(`invalid filters: ${raw} (use {"key":{"value":true}})`);
  for (const [k, v] of Object.entries(obj as Record<string, unknown>)) {
    if (!allowed.includes(k)) throw badRequest(`invalid filter '${k}'`);
    const vals = Array.isArray(v) ? v.map(String) : typeof v === "object" && v !== null ? Object.entries(v).filter(([, on]) => on).map(([x]) => x) : [String(v)];
    out.set(k, vals);
  }
  return out;
}

/** The JSON body (an empty body is `{}`); malformed JSON is docker's 400. */
export async function jsonBody<T = Record<string, unknown>>(c: Ctx): Promise<T> {
  const chunks: Buffer[] = [];
  for await (const ch of c.req) chunks.push(ch as Buffer);
  const text = Buffer.concat(chunks).toString("utf8").trim();
  if (text === "") return {} as T;
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw badRequest(`invalid JSON body: ${(err as Error).message}`);
  }
}

export function sendJson(c: Ctx, status: number, body: unknown): void {
  const res = c.res!;
  const text = JSON.stringify(body);
  res.writeHead(status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(text) });
  res.end(text);
}

export function sendEmpty(c: Ctx, status: number): void {
  c.res!.writeHead(status, { "Content-Length": 0 });
  c.res!.end();
}

/** Write one piece of a stream; resolves once the socket can take more (or the client left). */
export function writeChunk(res: ServerResponse, data: string | Uint8Array, signal: AbortSignal): Promise<void> {
  if (res.write(data)) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      res.off("drain", done);
      signal.removeEventListener("abort", done);
      resolve();
    };
    res.on("drain", done);
    signal.addEventListener("abort", done);
  });
}

/** Start a chunked streaming reply, headers on the wire at once. */
export function startStream(c: Ctx, contentType: string, status = 200): ServerResponse {
  const res = c.res!;
  res.writeHead(status, { "Content-Type": contentType });
  res.flushHeaders();
  return res;
}

/** docker's multiplexed stream frame: [stream, 0, 0, 0, u32 BE length] + payload. */
export function frame(stream: 0 | 1 | 2, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + payload.length);
  out[0] = stream;
  new DataView(out.buffer).setUint32(4, payload.length, false);
  out.set(payload, 8);
  return out;
}

export { BerthError };
