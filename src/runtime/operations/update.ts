// `update`: change a live container's limits, from flags or a LinuxResources JSON (`-r FILE`,
// `-r -` for stdin: containerd's shim calls `update --resources - ID`). As runc 1.1 (update.go),
// only these settings change: memory limit/reservation/swap, cpu shares/quota/period/realtime/
// cpus/mems, blkio weight, pids limit and `unified`; 0 (or absent) leaves a setting as it is; kernel
// memory is ignored with a warning; devices never change.
import { invalidArgument } from "../../sys/errdefs.ts";
import type { LinuxResources } from "../../cgroups/resources.ts";
import { loadContainer, notRunning } from "./container-status.ts";

export const KERNEL_MEMORY_WARNING = "Kernel memory settings are ignored and will be removed";

/** The verb's flags with runc's names (`cpu-share`; berth also takes `cpu-shares`). */
export interface UpdateFlags {
  "blkio-weight"?: number;
  "cpu-period"?: string;
  "cpu-quota"?: string;
  "cpu-share"?: string;
  "cpu-rt-period"?: string;
  "cpu-rt-runtime"?: string;
  "cpuset-cpus"?: string;
  "cpuset-mems"?: string;
  "kernel-memory"?: string;
  "kernel-memory-tcp"?: string;
  memory?: string;
  "memory-reservation"?: string;
  "memory-swap"?: string;
  "pids-limit"?: number;
  "l3-cache-schema"?: string;
  "mem-bw-schema"?: string;
}

export interface ResourceUpdate {
  readonly resources: LinuxResources;
  readonly warnings: string[];
}

const BINARY: Record<string, number> = { k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };
/** docker/go-units' sizeRegex: a number, an optional space, k/m/g/t/p, an optional i and b. */
const SIZE = /^(\d+(\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$/;

/**
 * A memory size as runc reads it (go-units RAMInBytes): "64m", "1.5g", "512KiB", "100" bytes;
 * units are binary and case-insensitive, fractions are truncated to whole bytes.
 */
export function ramInBytes(text: string): number {
  const m = SIZE.exec(text);
  if (!m || (m[2] !== undefined && m[1]!.split(".").length > 2)) throw invalidArgument(`invalid size: '${text}'`);
  const n = Math.trunc(Number(m[1]) * (BINARY[(m[3] ?? "").toLowerCase()] ?? 1));
  if (!Number.isSafeInteger(n)) throw invalidArgument(`invalid size: '${text}' is too large`);
  return n;
}

/** A memory flag: -1 (unlimited) or a size. */
export function memoryFlag(name: string, text: string): number {
  if (text === "-1") return -1;
  try {
    return ramInBytes(text);
  } catch (e) {
    throw invalidArgument(`invalid value for ${name}: ${(e as Error).message} (use bytes or a size like 64m, 1g; -1 for unlimited)`, `--${name}`);
  }
}

function uintFlag(name: string, text: string): number {
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) {
    throw invalidArgument(`invalid value for ${name}: "${text}" is not an unsigned integer`, `--${name}`);
  }
  return Number(text);
}

function intFlag(name: string, text: string): number {
  if (!/^[+-]?\d+$/.test(text) || !Number.isSafeInteger(Number(text))) {
    throw invalidArgument(`invalid value for ${name}: "${text}" is not an integer`, `--${name}`);
  }
  return Number(text);
}

/** Flags → the resources to change (runc update.go, the branch without --resources). */
export function resourcesFromFlags(f: UpdateFlags): ResourceUpdate {
  if (f["l3-cache-schema"]) throw invalidArgument("Intel RDT/CAT: l3 cache schema is not enabled (berth has no Intel RDT support)", "--l3-cache-schema");
  if (f["mem-bw-schema"]) throw invalidArgument("Intel RDT/MBA: memory bandwidth schema is not enabled (berth has no Intel RDT support)", "--mem-bw-schema");
  const set = (s: string | undefined) => s !== undefined && s !== "";
  const cpu = {
    ...(set(f["cpu-period"]) ? { period: uintFlag("cpu-period", f["cpu-period"]!) } : {}),
    ...(set(f["cpu-rt-period"]) ? { realtimePeriod: uintFlag("cpu-rt-period", f["cpu-rt-period"]!) } : {}),
    ...(set(f["cpu-share"]) ? { shares: uintFlag("cpu-share", f["cpu-share"]!) } : {}),
    ...(set(f["cpu-quota"]) ? { quota: intFlag("cpu-quota", f["cpu-quota"]!) } : {}),
    ...(set(f["cpu-rt-runtime"]) ? { realtimeRuntime: intFlag("cpu-rt-runtime", f["cpu-rt-runtime"]!) } : {}),
    ...(set(f["cpuset-cpus"]) ? { cpus: f["cpuset-cpus"]! } : {}),
    ...(set(f["cpuset-mems"]) ? { mems: f["cpuset-mems"]! } : {}),
  };
  const mem = (name: keyof UpdateFlags) => (set(f[name] as string | undefined) ? memoryFlag(name, f[name] as string) : 0);
  const memory = { limit: mem("memory"), swap: mem("memory-swap"), reservation: mem("memory-reservation") };
  const kernel = mem("kernel-memory") !== 0 || mem("kernel-memory-tcp") !== 0;
  return select({
    memory,
    cpu,
    ...(f["blkio-weight"] ? { blockIO: { weight: f["blkio-weight"] } } : {}),
    ...(f["pids-limit"] ? { pids: { limit: f["pids-limit"] } } : {}),
  }, kernel);
}

/** A LinuxResources JSON document (config-linux.md) → the resources to change. */
export function resourcesFromJson(text: string, source: string): ResourceUpdate {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw invalidArgument(`cannot read resources from ${source}: ${(e as Error).message}; expected a LinuxResources JSON object like {"memory":{"limit":67108864}}`, "--resources");
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) {
    throw invalidArgument(`cannot read resources from ${source}: expected a JSON object (LinuxResources), got ${Array.isArray(doc) ? "an array" : JSON.stringify(doc)}`, "--resources");
  }
  const r = doc as LinuxResources;
  for (const k of ["memory", "cpu", "blockIO", "pids", "unified"] as const) {
    const v = r[k];
    if (v !== undefined && v !== null && (typeof v !== "object" || Array.isArray(v))) {
      throw invalidArgument(`cannot read resources from ${source}: "${k}" must be an object`, `linux.resources.${k}`);
    }
  }
  const kernel = (r.memory?.kernel ?? 0) !== 0 || (r.memory?.kernelTCP ?? 0) !== 0;
  return select(r, kernel);
}

/** Keep what runc's update applies; drop zeros, which mean "leave as it is". */
function select(r: LinuxResources, kernel: boolean): ResourceUpdate {
  const out: LinuxResources = {};
  const pick = <T extends object>(o: T | undefined | null, keys: readonly (keyof T)[]): Partial<T> | undefined => {
    if (!o) return undefined;
    const p: Partial<T> = {};
    for (const k of keys) if (o[k] !== undefined && o[k] !== null && o[k] !== 0 && o[k] !== "") p[k] = o[k];
    return Object.keys(p).length > 0 ? p : undefined;
  };
  const memory = pick(r.memory, ["limit", "reservation", "swap"]);
  if (memory) out.memory = memory;
  const cpu = pick(r.cpu, ["shares", "quota", "period", "realtimeRuntime", "realtimePeriod", "cpus", "mems"]);
  if (cpu) out.cpu = cpu;
  const blockIO = pick(r.blockIO, ["weight"]);
  if (blockIO) out.blockIO = blockIO;
  // pids.limit: 0 leaves it, any negative is unlimited (runc writes "max").
  if (r.pids && r.pids.limit !== undefined && r.pids.limit !== null && r.pids.limit !== 0) out.pids = { limit: r.pids.limit };
  if (r.unified && Object.keys(r.unified).length > 0) out.unified = r.unified;
  return { resources: out, warnings: kernel ? [KERNEL_MEMORY_WARNING] : [] };
}

/**
 * Apply `resources` to the container's cgroup. Refused for a stopped container (runc: "container
 * not running"); created and paused ones can be updated. Returns the settings this host skipped.
 */
export function update(root: string, id: string, resources: LinuxResources): string[] {
  const c = loadContainer(root, id);
  if (c.status === "stopped") throw notRunning(id, c.status, "update");
  c.cgroup.update(resources);
  return [...c.cgroup.warnings];
}
