// `ps`: the host PIDs in a container's cgroup (and its descendants), and runc's table view: the
// host's ps(1) run with the caller's options, keeping the header and the rows of those PIDs.
import { internal, invalidArgument } from "../../sys/errdefs.ts";
import { loadContainer } from "./container-status.ts";

/** Host PIDs of the container, sorted. A stopped container has none left (or only stragglers). */
export function processes(root: string, id: string): number[] {
  return loadContainer(root, id).cgroup.processes();
}

export const PS_FORMATS = ["table", "json"] as const;
export type PsFormat = (typeof PS_FORMATS)[number];

export function parsePsFormat(v: string): PsFormat {
  if ((PS_FORMATS as readonly string[]).includes(v)) return v as PsFormat;
  // runc's message, then what to pass instead.
  throw invalidArgument(`invalid format option "${v}": use table or json`, "--format");
}

/** runc prints the PID list with Go's encoder: an empty (nil) list is `null`. */
export function pidsJson(pids: readonly number[]): string {
  return pids.length === 0 ? "null" : JSON.stringify(pids);
}

/**
 * Keep ps(1)'s header and the rows whose PID column is one of `pids` (runc ps.go). The PID column
 * is found by name in the header, so any -o layout works as long as it has a PID column.
 */
export function filterPsTable(output: string, pids: readonly number[]): string[] {
  const lines = output.split("\n");
  const header = lines[0] ?? "";
  const at = header.trim().split(/\s+/).indexOf("PID");
  if (at < 0) throw invalidArgument(`couldn't find PID field in ps output: pass ps options that include a PID column (e.g. -o pid,comm)`, "ps options");
  const want = new Set(pids);
  const out = [header];
  for (const line of lines.slice(1)) {
    if (line.length === 0) continue;
    const field = line.trim().split(/\s+/)[at] ?? "";
    if (!/^-?\d+$/.test(field)) throw invalidArgument(`unable to parse pid: "${field}" in ps output line "${line}"`, "ps options");
    if (want.has(Number(field))) out.push(line);
  }
  return out;
}

/** Run the host's ps with `args` (default -ef) and filter its table to the container's PIDs. */
export function psTable(pids: readonly number[], args: readonly string[]): string[] {
  const argv = ["ps", ...(args.length > 0 ? args : ["-ef"])];
  let r: ReturnType<typeof Bun.spawnSync>;
  try {
    r = Bun.spawnSync(argv, { stdio: ["ignore", "pipe", "pipe"] });
  } catch (e) {
    throw internal(`cannot run ${argv.join(" ")}: ${(e as Error).message} (is procps installed?)`, "ps", e);
  }
  const stdout = r.stdout?.toString() ?? "";
  if (r.exitCode !== 0) {
    const err = (r.stderr?.toString() ?? "").trim();
    throw invalidArgument(`${argv.join(" ")} exited with status ${r.exitCode}: ${err || stdout.trim()}`, "ps options");
  }
  return filterPsTable(stdout, pids);
}
