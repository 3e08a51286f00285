// Attach (POST /containers/{id}/attach, hijacked) and start, which meet here: docker run attaches
// before it starts, and no early output may be lost, so an attach to a container that is not
// running waits here until a start arrives; the start then connects to the new monitor before
// the process runs (StartOptions.attach) and feeds every waiting session. An attach to a running
// container connects to its monitor directly.
// The server also takes over the cleanup of the containers it starts (the monitor's hand-off,
// ATTACH.cleanup), so `wait?condition=removed` answers as soon as --rm removed the container;
// when berthd is gone the monitor runs the engine's exit command instead, so this is a speed-up,
// never state that could be lost.
import type { Duplex, Writable } from "node:stream";
import type { Engine } from "../../engine/engine.ts";
import { cleanupContainer, getContainer, removeContainer, startContainer, StartError, type StartResult } from "../../engine/containers.ts";
import { ATTACH, AttachClient } from "../../monitor/attach.ts";
import { frame } from "./http.ts";

export interface AttachSession {
  /** Where output goes: the hijacked socket, or the body of a plain (not upgraded) reply. */
  socket: Writable;
  /** The client's bytes (stdin), on a hijacked connection only. */
  input?: Duplex;
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  /** The container has a terminal: raw bytes, no frames. */
  tty: boolean;
  /** Resolves when the client's side closed. */
  gone: Promise<void>;
}

export interface EndReport {
  exitCode: number;
  error?: string;
  /** --rm removed it. */
  removed: boolean;
}

export function hijackReply(socket: Duplex, tty: boolean): void {
  socket.write(
    `HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.${tty ? "raw" : "multiplexed"}-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n`,
  );
}

/**
 * A slow client: while a socket we write a monitor's output to is full (write() says so), that
 * monitor connection is paused; the monitor then stops reading the container's output and the
 * process blocks on its pipe, as under dockerd. So berthd holds little (the socket's buffer) and
 * nothing is lost. A socket that closes counts as drained: a client that goes away never keeps
 * the container blocked. One Throttle per monitor connection (several sessions may share it).
 */
export class Throttle {
  private full = new Set<Writable>();
  private client: AttachClient | undefined;

  /** The monitor connection to pause (it may arrive after the first output). */
  bind(c: AttachClient): void {
    this.client = c;
    if (this.full.size) c.pause();
  }

  /** Write `data` to `s`; pause the monitor while `s` is full. */
  write(s: Writable, data: Uint8Array): void {
    if (s.write(data) || this.full.has(s) || s.destroyed) return;
    if (this.full.size === 0) this.client?.pause();
    this.full.add(s);
    const drained = () => {
      s.off("drain", drained);
      s.off("close", drained);
      this.full.delete(s);
      if (this.full.size === 0) this.client?.resume();
    };
    s.on("drain", drained);
    s.on("close", drained);
  }
}

function send(s: AttachSession, stream: 1 | 2, data: Uint8Array, t: Throttle): void {
  if (s.socket.destroyed || s.socket.writableEnded) return;
  if (stream === 1 ? !s.stdout : !s.stderr) return;
  t.write(s.socket, s.tty ? data : frame(stream, data));
}

export class ContainerWatch {
  private pending = new Map<string, Set<AttachSession>>();
  private clients = new Set<AttachClient>();
  /** How the containers this server watched ended, for a `wait` that finds them removed (--rm). */
  private exits = new Map<string, { exitCode: number; error?: string }>();
  /** `wait` requests told when a container this server watches has ended and been cleaned up. */
  private enders = new Map<string, Set<(r: EndReport) => void>>();
  constructor(private readonly e: Engine) {}

  /** Keep the session until the container starts (or the client goes away). */
  wait(id: string, s: AttachSession): void {
    let set = this.pending.get(id);
    if (!set) this.pending.set(id, (set = new Set()));
    set.add(s);
    void s.gone.then(() => {
      set!.delete(s);
      if (set!.size === 0 && this.pending.get(id) === set) this.pending.delete(id);
    });
  }

  /** Start the container with every waiting session attached, and take its cleanup over. */
  async start(ref: string, hostEnv: Record<string, string | undefined> = {}): Promise<StartResult> {
    const c = await getContainer(this.e, ref);
    const sessions = [...(this.pending.get(c.id) ?? [])];
    this.pending.delete(c.id);
    const any = (k: "stdin" | "stdout" | "stderr") => sessions.some((s) => s[k]);
    let r: StartResult;
    const t = new Throttle();
    try {
      r = await startContainer(this.e, c.id, {
        hostEnv,
        attach: {
          stdout: any("stdout"), stderr: any("stderr"), stdin: any("stdin") && (c.spec.stdin ?? false), takeCleanup: true,
          handlers: {
            onStdout: (d) => { for (const s of sessions) send(s, 1, d, t); },
            onStderr: (d) => { for (const s of sessions) send(s, 2, d, t); },
          },
        },
      });
    } catch (err) {
      for (const s of sessions) s.socket.end();
      // dockerd removes an --rm container whose start failed; the CLI waits for that (condition=removed).
      if (c.spec.autoRemove) {
        if (err instanceof StartError) this.exits.set(c.id, { exitCode: err.exitCode, error: err.message });
        await removeContainer(this.e, c.id, { force: true, volumes: true }).catch(() => {});
      }
      throw err;
    }
    if (r.alreadyRunning) {
      // Not ours to start: the sessions wait no more; attach them to the running monitor.
      for (const s of sessions) void this.attachRunning(c.id, s);
      return r;
    }
    const client = r.attach!;
    t.bind(client);
    this.clients.add(client);
    this.relayStdin(client, sessions);
    void client.exit.then(async (st) => {
      for (const s of sessions) s.socket.end();
      if (st) {
        const exit = { exitCode: st.exitCode, ...(st.error ? { error: st.error } : {}) };
        this.exits.set(c.id, exit);
        if (this.exits.size > 1000) this.exits.delete(this.exits.keys().next().value!);
        const after = await cleanupContainer(this.e, c.id).catch(() => null);
        client.done();
        if (after !== null) this.ended(c.id, { ...exit, removed: after === undefined });
      }
      client.close();
      this.clients.delete(client);
    });
    return r;
  }

  /** Call `cb` once a container this server starts has ended and its cleanup ran (a `wait`'s fast path). */
  onEnd(id: string, cb: (r: EndReport) => void): () => void {
    let set = this.enders.get(id);
    if (!set) this.enders.set(id, (set = new Set()));
    set.add(cb);
    return () => {
      set!.delete(cb);
      if (set!.size === 0 && this.enders.get(id) === set) this.enders.delete(id);
    };
  }

  private ended(id: string, r: EndReport): void {
    for (const cb of this.enders.get(id) ?? []) cb(r);
  }

  /** The exit the monitor reported to this server, if it watched the container. */
  exitOf(id: string): { exitCode: number; error?: string } | undefined {
    return this.exits.get(id);
  }

  /** An attach to a container that runs now: straight to its monitor. */
  async attachRunning(id: string, s: AttachSession): Promise<void> {
    const flags = (s.stdout ? ATTACH.stdout : 0) | (s.stderr ? ATTACH.stderr : 0) | (s.stdin ? ATTACH.stdin : 0);
    let client: AttachClient | undefined;
    const t = new Throttle();
    try {
      client = await AttachClient.connect(this.e.containerDir(id), flags, {
        onStdout: (d) => send(s, 1, d, t),
        onStderr: (d) => send(s, 2, d, t),
      });
      t.bind(client);
    } catch {
      s.socket.end();
      return;
    }
    this.clients.add(client);
    this.relayStdin(client, [s]);
    void Promise.race([client.exit, s.gone]).then(() => {
      s.socket.end();
      client.close();
      this.clients.delete(client);
    });
  }

  /** Client bytes are raw stdin in both modes; a half-close is the process's EOF. */
  private relayStdin(client: AttachClient, sessions: AttachSession[]): void {
    const readers = sessions.filter((s) => s.stdin && s.input);
    let open = readers.length;
    for (const s of readers) {
      if (!s.input) continue;
      s.input.on("data", (d: Buffer) => client.write(new Uint8Array(d)));
      let ended = false;
      const end = () => {
        if (ended) return;
        ended = true;
        if (--open === 0) client.closeStdin();
      };
      s.input.once("end", end);
    }
  }

  close(): void {
    // The monitors keep the containers; without our "done" they run the exit command themselves.
    for (const c of this.clients) c.close();
    this.clients.clear();
    for (const set of this.pending.values()) for (const s of set) s.socket.destroy();
    this.pending.clear();
  }
}
