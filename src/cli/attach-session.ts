// The terminal side of `run` (foreground), `start -a` and `attach`: the container's output to our
// stdout/stderr, our stdin to the container (raw mode on a terminal, resizes followed), docker's
// detach keys (ctrl-p ctrl-q), and signals proxied to the container when there is no terminal
// (docker's --sig-proxy). Only the CLI touches the process's stdio and signals.
import type { AttachClient, AttachHandlers } from "../monitor/attach.ts";
import type { MonitorStatus } from "../monitor/monitor.ts";
import { UsageError } from "./flags.ts";

export interface SessionOptions {
  stdin: boolean;
  tty: boolean;
  detachKeys: number[];
  /** Forward SIGINT/SIGTERM/… to the container (no terminal). */
  proxySignal?: (signal: NodeJS.Signals) => void;
  /** The handlers the client writes our output with (outputHandlers): paused while our output is full. */
  output?: Output;
}

export type SessionEnd = { kind: "exit"; status: MonitorStatus | undefined } | { kind: "detached" };

/** docker's --detach-keys: "ctrl-p,ctrl-q", "a", "ctrl-@"… → bytes. */
export function parseDetachKeys(s: string): number[] {
  if (s === "") return [];
  return s.split(",").map((k) => {
    if (k.length === 1) return k.charCodeAt(0);
    const m = /^ctrl-([a-z@[\\\]^_])$/.exec(k);
    if (!m) throw new UsageError(`invalid detach keys ${JSON.stringify(s)}: use comma-separated keys such as ctrl-p,ctrl-q (a letter, or ctrl-<a-z @ [ \\ ] ^ _>)`, "--detach-keys");
    const c = m[1]!;
    return c >= "a" && c <= "z" ? c.charCodeAt(0) - 96 : { "@": 0, "[": 27, "\\": 28, "]": 29, "^": 30, _: 31 }[c]!;
  });
}

export const DEFAULT_DETACH_KEYS = [16, 17]; // ctrl-p ctrl-q

/** The container's output to ours, with back-pressure: `bind` the monitor's client to it. */
export interface Output extends AttachHandlers {
  /** The client to pause while our stdout/stderr is full (it may arrive after the first output). */
  bind(client: AttachClient): void;
}

/** Handlers that write the container's output to ours. A write that fills our pipe pauses the
 * monitor's client until it drains, so the monitor stops reading the container's output and the
 * process blocks, as it would under docker; nothing piles up here. (Bun's writableLength stays 0
 * on a full pipe, so the waiting streams are tracked from write()'s result and "drain".) */
export function outputHandlers(): Output {
  const blocked = new Set<NodeJS.WriteStream>();
  let client: AttachClient | undefined;
  const write = (s: NodeJS.WriteStream, d: Uint8Array) => {
    let ok;
    try {
      ok = s.write(d);
    } catch (err) {
      // Our reader went away (`berth attach x | head`): leave; the monitor keeps the container.
      if ((err as NodeJS.ErrnoException).code === "EPIPE") process.exit(141);
      throw err;
    }
    if (ok || blocked.has(s)) return;
    if (blocked.size === 0) client?.pause();
    blocked.add(s);
    s.once("drain", () => {
      blocked.delete(s);
      if (blocked.size === 0) client?.resume();
    });
  };
  return {
    onStdout: (d) => write(process.stdout, d),
    onStderr: (d) => write(process.stderr, d),
    bind(c) {
      client = c;
      if (blocked.size) c.pause();
    },
  };
}

/** Run the session until the container exits (its record) or the user detaches. */
export async function relay(client: AttachClient, o: SessionOptions): Promise<SessionEnd> {
  const cleanups: (() => void)[] = [];
  o.output?.bind(client);
  let detached: (() => void) | undefined;
  const detachedP = new Promise<SessionEnd>((r) => (detached = () => r({ kind: "detached" })));
  const stdinIsTty = process.stdin.isTTY === true;
  if (o.tty && process.stdout.isTTY) {
    const resize = () => {
      const rows = process.stdout.rows, cols = process.stdout.columns;
      if (rows && cols) client.resize(rows, cols);
    };
    resize();
    process.on("SIGWINCH", resize);
    cleanups.push(() => process.off("SIGWINCH", resize));
  }
  if (o.stdin) {
    if (o.tty && stdinIsTty) {
      process.stdin.setRawMode(true);
      cleanups.push(() => process.stdin.setRawMode(false));
    }
    let matched = 0;
    const onData = (chunk: Buffer) => {
      const b = new Uint8Array(chunk);
      // Detach keys are only looked for on a terminal, as docker does with a tty.
      if (o.tty && o.detachKeys.length) {
        for (let i = 0; i < b.length; i++) {
          if (b[i] === o.detachKeys[matched]) {
            if (++matched === o.detachKeys.length) {
              detached!();
              return;
            }
          } else matched = b[i] === o.detachKeys[0] ? 1 : 0;
        }
      }
      client.write(b);
    };
    const onEnd = () => client.closeStdin();
    process.stdin.on("data", onData);
    process.stdin.on("end", onEnd);
    process.stdin.resume();
    cleanups.push(() => {
      process.stdin.off("data", onData);
      process.stdin.off("end", onEnd);
      process.stdin.pause();
    });
  }
  if (!o.tty && o.proxySignal) {
    for (const sig of ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2"] as const) {
      const h = () => o.proxySignal!(sig);
      process.on(sig, h);
      cleanups.push(() => process.off(sig, h));
    }
  }
  try {
    return await Promise.race([client.exit.then((status): SessionEnd => ({ kind: "exit", status })), detachedP]);
  } finally {
    for (const c of cleanups.reverse()) c();
  }
}
