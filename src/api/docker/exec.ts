// /containers/{id}/exec and /exec/{id}/*: the engine's exec sessions (engine/exec.ts). Start is
// hijacked like attach (101 UPGRADED; frames unless the session has a terminal; client bytes
// are raw stdin and a half-close is the process's EOF); the exit code is the session's record,
// which the CLI reads from /exec/{id}/json after the stream closes.
import { createExec, finishExec, inspectExec, resizeExec, startExec, type ExecSpec } from "../../engine/exec.ts";
import { ApiError, badRequest, frame, jsonBody, qInt, sendEmpty, sendJson, type Ctx } from "./http.ts";
import { hijackReply, Throttle } from "./attach.ts";
import { execInspect } from "../../docker/exec-json.ts";

interface ExecBody {
  User?: string;
  Privileged?: boolean;
  Tty?: boolean;
  ConsoleSize?: [number, number] | null;
  AttachStdin?: boolean;
  AttachStdout?: boolean;
  AttachStderr?: boolean;
  Detach?: boolean;
  DetachKeys?: string;
  Env?: string[] | null;
  WorkingDir?: string;
  Cmd?: string[] | null;
}

/** Sizes a client sent before the session started (the CLI's resize can race its start). */
const earlySize = new Map<string, { rows: number; cols: number }>();

export async function create(c: Ctx): Promise<void> {
  const b = await jsonBody<ExecBody>(c);
  if (!Array.isArray(b.Cmd) || b.Cmd.some((x) => typeof x !== "string")) throw badRequest("No exec command specified: Cmd must be a list of strings");
  const spec: ExecSpec = {
    cmd: b.Cmd,
    ...(b.Env?.length ? { env: b.Env } : {}),
    ...(b.WorkingDir ? { workdir: b.WorkingDir } : {}),
    ...(b.User ? { user: b.User } : {}),
    ...(b.Privileged ? { privileged: true } : {}),
    tty: b.Tty === true,
    stdin: b.AttachStdin === true,
    ...(b.DetachKeys ? { detachKeys: b.DetachKeys } : {}),
    attachStdout: b.AttachStdout === true,
    attachStderr: b.AttachStderr === true,
  };
  const x = await createExec(c.e, c.params.id!, spec);
  sendJson(c, 201, { Id: x.id });
}

export async function start(c: Ctx): Promise<void> {
  const b = await jsonBody<{ Detach?: boolean; Tty?: boolean; ConsoleSize?: [number, number] | null }>(c).catch(() => ({}) as { Detach?: boolean });
  const rec = inspectExec(c.e, c.params.id!);
  if (rec.state !== "created") throw new ApiError(409, `exec ${rec.id} has already been started`);
  const cs = (b as { ConsoleSize?: [number, number] | null }).ConsoleSize;
  const size = cs && cs[0] > 0 && cs[1] > 0 ? { rows: cs[0], cols: cs[1] } : earlySize.get(rec.id);
  earlySize.delete(rec.id);
  if (b.Detach) {
    await startExec(c.e, rec.id, size ? { size } : {});
    sendEmpty(c, 200);
    return;
  }
  // Hijacked (the CLI), or a plain reply whose body is the stream (dockerode without hijack),
  // as dockerd allows; stdin only on a hijacked connection.
  const h = c.hijack;
  const out = h ? h.socket : c.res!;
  const tty = rec.spec.tty ?? false;
  // A slow client pauses the session's monitor, as for attach (attach.ts: Throttle).
  const t = new Throttle();
  const send = (stream: 1 | 2, d: Uint8Array) => {
    if (out.destroyed || out.writableEnded) return;
    t.write(out, tty ? d : frame(stream, d));
  };
  // The 101 first, as dockerd: a command that cannot run is reported in the stream, and its
  // exit code (126/127) is the session's record, which the CLI reads next.
  if (h) hijackReply(h.socket, tty);
  else c.res!.writeHead(200, { "Content-Type": tty ? "application/vnd.docker.raw-stream" : "application/vnd.docker.multiplexed-stream" });
  const stdin = !!h && (rec.spec.stdin ?? false);
  let s;
  try {
    s = await startExec(c.e, rec.id, {
      attach: { stdin, stdout: true, stderr: true, handlers: { onStdout: (d) => send(1, d), onStderr: (d) => send(2, d) } },
      ...(size ? { size } : {}),
    });
  } catch (err) {
    send(1, new TextEncoder().encode(`${(err as Error).message}\r\n`));
    out.end();
    return;
  }
  const client = s.attach!;
  t.bind(client);
  if (h && stdin) {
    if (h.head.length) client.write(new Uint8Array(h.head));
    h.socket.on("data", (d: Buffer) => client.write(new Uint8Array(d)));
    h.socket.once("end", () => client.closeStdin());
  }
  await finishExec(c.e, s);
  out.end();
}

export async function resize(c: Ctx): Promise<void> {
  const rows = qInt(c, "h"), cols = qInt(c, "w");
  if (rows === undefined || cols === undefined || rows < 0 || cols < 0) throw badRequest("resize needs h and w (rows and columns)");
  const rec = inspectExec(c.e, c.params.id!);
  if (rec.state === "created") earlySize.set(rec.id, { rows, cols });
  else await resizeExec(c.e, rec.id, rows, cols);
  sendEmpty(c, 200);
}

export async function inspect(c: Ctx): Promise<void> {
  sendJson(c, 200, execInspect(inspectExec(c.e, c.params.id!)));
}
