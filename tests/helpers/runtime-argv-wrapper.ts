// A runtime wrapper that appends its argv (one line per call) to a log file and execs the real
// runtime: the exact command lines containerd's shim or podman/conmon use, for assertions and
// for reports when berth-runtime and runc differ.

import * as fs from "node:fs";

function shQuote(s: string): string {
  return `'${s.replaceAll("'", "'\\''")}'`;
}

/** Writes an executable sh script at `path` that logs to `logFile` and execs `runtime`. */
export function writeArgvWrapper(path: string, runtime: string, logFile: string): void {
  fs.writeFileSync(
    path,
    [
      "#!/bin/sh",
      `# logs argv to ${logFile}, then runs ${runtime}`,
      `printf '%s\\n' "$*" >> ${shQuote(logFile)}`,
      `exec ${shQuote(runtime)} "$@"`,
      "",
    ].join("\n"),
    { mode: 0o755 },
  );
}

/** The logged calls, one argv string per call. */
export function readArgvLog(logFile: string): string[] {
  try {
    return fs.readFileSync(logFile, "utf8").split("\n").filter(Boolean);
  } catch {
    return [];
  }
}

/** The runtime verb of a logged call: the first word after the global flags. */
export function verbOf(call: string): string | undefined {
  const words = call.split(" ");
  const withValue = new Set(["--root", "--log", "--log-format", "--criu", "--rootless"]);
  for (let i = 0; i < words.length; i++) {
    const w = words[i] ?? "";
    if (withValue.has(w)) {
      i++;
      continue;
    }
    if (w.startsWith("-")) continue;
    return w;
  }
  return undefined;
}
