// berth-runtime: an OCI runtime, command-line compatible with runc 1.1.
// This file parses the global flags, sets up logging and --explain, and hands off to one thin
// file per verb in ./commands. Nothing here runs at import time except main() at the bottom.
import { appendFileSync } from "node:fs";
import { BerthError } from "../sys/errdefs.ts";
import { explain } from "../explain/channel.ts";
import { DEFAULT_ROOT } from "../runtime/state.ts";
import { parseFlags, usage, type FlagTable } from "./args.ts";
import { COMMAND_NAMES, loadCommand } from "./commands/index.ts";

export const VERSION = "0.1.0";

const GLOBAL: FlagTable = {
  root: { kind: "string", help: `root directory for container state (default "${DEFAULT_ROOT}")` },
  log: { kind: "string", help: "write errors and debug messages to this file" },
  "log-format": { kind: "string", help: "text or json (the format containerd reads)" },
  debug: { kind: "bool", help: "log debug messages" },
  "systemd-cgroup": { kind: "bool", help: "use systemd to manage cgroups (not supported)" },
  rootless: { kind: "string", help: "ignored: berth decides from the caller's uid" },
  criu: { kind: "string", help: "ignored: checkpoint/restore is not supported" },
  explain: { kind: "bool", help: "print every kernel step (clone, mounts, pivot_root, cgroup writes) with its time" },
  version: { kind: "bool", alias: "v", help: "print the version" },
  help: { kind: "bool", alias: "h", help: "show help" },
};

export interface Globals {
  root: string;
  debug: boolean;
  log?: string;
  logFormat: "text" | "json";
  explain: boolean;
}

export type Logger = (level: "debug" | "info" | "warning" | "error", msg: string) => void;

function makeLogger(g: Globals): Logger {
  return (level, msg) => {
    if (level === "debug" && !g.debug) return;
    if (g.log) {
      const line = g.logFormat === "json"
        ? JSON.stringify({ level, msg, time: new Date().toISOString() })
        : `time="${new Date().toISOString()}" level=${level} msg=${JSON.stringify(msg)}`;
      try {
        appendFileSync(g.log, line + "\n");
      } catch {
        // An unwritable log must not hide the error itself; stderr still gets it.
      }
    }
    if (level === "debug" && !g.log) process.stderr.write(`time="${new Date().toISOString()}" level=debug msg=${JSON.stringify(msg)}\n`); // logrus text, as runc
    else if (level === "error" || level === "warning") process.stderr.write(`berth-runtime: ${level === "error" ? "" : level + ": "}${msg}\n`);
  };
}

async function help(): Promise<string> {
  const commands = await Promise.all(COMMAND_NAMES.map(async (n) => [n, (await loadCommand(n))!] as const));
  return [
    "berth-runtime — an OCI runtime (runc-compatible command line)",
    "",
    "usage: berth-runtime [global options] command [command options] [arguments...]",
    "",
    "commands:",
    ...commands.map(([n, c]) => `   ${n.padEnd(10)}${c.summary}`),
    "",
    "global options:",
    usage(GLOBAL),
  ].join("\n");
}

export async function main(argv: string[]): Promise<number> {
  let g: Globals = { root: DEFAULT_ROOT, debug: false, logFormat: "text", explain: false };
  let log: Logger = makeLogger(g);
  try {
    const { flags, rest } = parseFlags(argv, GLOBAL, true, "berth-runtime");
    g = {
      root: (flags.root as string | undefined) ?? DEFAULT_ROOT,
      debug: flags.debug === true,
      ...(flags.log ? { log: flags.log as string } : {}),
      logFormat: flags["log-format"] === "json" ? "json" : "text",
      explain: flags.explain === true,
    };
    log = makeLogger(g);
    if (flags["log-format"] !== undefined && flags["log-format"] !== "json" && flags["log-format"] !== "text")
      throw new BerthError("InvalidArgument", `--log-format must be text or json, not "${flags["log-format"]}"`, "--log-format");
    if (flags.version) {
      console.log(`berth-runtime version ${VERSION}\nspec: 1.0.2-dev`);
      return 0;
    }
    if (flags["systemd-cgroup"])
      throw new BerthError("NotImplemented", "--systemd-cgroup is not supported: berth manages cgroups through cgroupfs; drop the flag (containerd: SystemdCgroup = false)", "--systemd-cgroup");
    const [verb, ...args] = rest;
    if (!verb || flags.help || verb === "help") {
      const target = verb === "help" ? args[0] : undefined;
      const cmd = target ? await loadCommand(target) : undefined;
      console.log(cmd ? cmd.help() : await help());
      return 0;
    }
    const cmd = await loadCommand(verb);
    if (!cmd) {
      // runc (urfave/cli) exits 3 for a command it does not know; callers may rely on it.
      log("error", `No help topic for '${verb}': there is no such command (see \`berth-runtime help\`)`);
      return 3;
    }
    // --debug records every kernel step in the log (containerd keeps the runtime's log.json).
    if (g.debug && !g.explain) explain.subscribe((e) => log("debug", `${e.who ?? "runtime"} ${e.step}: ${e.detail}${e.ms !== undefined ? ` (${e.ms.toFixed(3)} ms)` : ""}`));
    if (g.explain) {
      explain.subscribe((e) => {
        const ms = e.ms !== undefined ? ` ${e.ms.toFixed(3)} ms` : "";
        const what = e.who === "runtime" || e.who === undefined ? `${e.step}: ${e.detail}` : e.detail;
        process.stderr.write(`[explain] ${(e.who ?? "runtime").padEnd(7)} ${what}${ms}\n`);
      });
    }
    return await cmd.run(args, g, log);
  } catch (e) {
    if (e instanceof BerthError) {
      log("error", e.message);
      return 1;
    }
    // A system error (EACCES on a path, …) is the user's to fix: its message names the path.
    // Anything else is a bug in berth: show where.
    const err = e as Error & { code?: string };
    log("error", typeof err.code === "string" ? err.message : g.debug ? (err.stack ?? String(e)) : `internal error: ${err.message ?? String(e)} (run with --debug for the stack)`);
    return 1;
  }
}

if (import.meta.main) void main(process.argv.slice(2)).then((code) => process.exit(code));
