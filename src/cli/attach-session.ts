// The terminal side of `run` (foreground), `start -a` and `attach`: the container's output to our
// stdout/stderr, our stdin to the container (raw mode on a terminal, resizes followed), docker's
// detach keys (ctrl-p ctrl-q), and signals proxied to the container when there is no terminal
// (docker's --sig-proxy). Only the CLI touches the process's stdio and signals.
import type { AttachClient, AttachHandlers } from "../monitor/attach.ts";
import type { MonitorStatus } from "../monitor/monitor.ts";
import { UsageError } from "./flags.ts";
import { nodeStdout, stderr, stdout } from "./stdio.ts";

export interface SessionOptions {
  stdin: boolean;
  tty: boolean;
  detachKeys: number[];
  /** Forward SIGINT/SIGTERM/… to the container (no terminal). */
  proxySignal?: (signal: NodeJS.Signals) => void;
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

/** Handlers that write the container's output to ours, synchronously (stdio.ts). A write that
 * fills our pipe blocks until our reader takes it; meanwhile the monitor's socket is not read, so
 * the monitor stops reading the container's output and the process blocks, as it would under
 * docker; nothing piles up here. EPIPE (`berth attach x | head`) ends berth with 141; the monitor
 * keeps the container. */
export function outputHandlers(): AttachHandlers {
  return {
    onStdout: (d) => void stdout.write(d),
    onStderr: (d) => void stderr.write(d),
  };
}

/** Run the session until the container exits (its record) or the user detaches. */
export async function relay(client: AttachClient, o: SessionOptions): Promise<SessionEnd> {
  const cleanups: (() => void)[] = [];
  let detached: (() => void) | undefined;
  const detachedP = new Promise<SessionEnd>((r) => (detached = () => r({ kind: "detached" })));
  const stdinIsTty = process.stdin.isTTY === true;
  if (o.tty && nodeStdout().isTTY) {
    const resize = () => {
      const rows = nodeStdout().rows, cols = nodeStdout().columns;
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
