// SandboxRunOptions → a checked, complete description of one run, with every default filled in.
// Every error names the option ("limits.cpuMs", "binds[1].target") and says what to do; nothing
// here touches the kernel, so unit tests check it as data.
import { existsSync, readFileSync, statSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import { invalidArgument } from "../sys/errdefs.ts";
import type { Seccomp } from "../runtime/spec/types.ts";
import type { SandboxBind, SandboxLimits, SandboxRunOptions } from "./types.ts";

const MiB = 1024 * 1024;

/** The defaults of SandboxLimits (documented there and in the README). */
export const DEFAULT_LIMITS: Required<SandboxLimits> = {
  cpuMs: 5000,
  wallMs: 10000,
  memoryBytes: 256 * MiB,
  pids: 64,
  outputBytes: MiB,
  fileSizeBytes: 64 * MiB,
  openFiles: 256,
  stackBytes: 8 * MiB,
};
export const DEFAULT_TMPFS_BYTES = 64 * MiB;
export const DEFAULT_ENV: Readonly<Record<string, string>> = { PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" };
/** nobody/nogroup on Debian: owns nothing on the host. */
export const DEFAULT_ID = 65534;

export interface ResolvedRun {
  /** The read-only lower directories, top first (one for `rootfs`). */
  readonly lowers: readonly string[];
  readonly argv: readonly string[];
  /** NAME=value, in a stable order. */
  readonly env: readonly string[];
  readonly cwd: string;
  readonly stdin: { kind: "none" } | { kind: "bytes"; bytes: Uint8Array } | { kind: "file"; path: string };
  readonly binds: readonly Required<SandboxBind>[];
  readonly limits: Required<SandboxLimits>;
  readonly network: boolean;
  readonly readOnly: boolean;
  readonly tmpfsBytes: number;
  readonly seccomp: "default" | "strict" | Seccomp;
  readonly uid: number;
  readonly gid: number;
  readonly hostname: string;
}

function need(cond: unknown, field: string, msg: string): asserts cond {
  if (!cond) throw invalidArgument(`${field}: ${msg}`, field);
}
const isCount = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v > 0;

/**
 * Paths go into overlayfs and tmpfs option strings (comma-separated, lowerdir colon-separated)
 * and into the plan as C strings: refuse the characters that would split them.
 */
function plainPath(p: string, field: string): string {
  need(typeof p === "string" && p !== "", field, "must be a path (relative ones are taken from the working directory)");
  const abs = resolve(p);
  need(!/[,:\n\0]/.test(abs), field, `${JSON.stringify(abs)} contains ',', ':', a newline or NUL, which overlayfs options cannot carry: use another directory`);
  return abs;
}

function directory(p: string, field: string): string {
  const abs = plainPath(p, field);
  let ok = false;
  try {
    ok = statSync(abs).isDirectory();
  } catch {
    throw invalidArgument(`${field}: ${abs} does not exist`, field);
  }
  need(ok, field, `${abs} is not a directory`);
  return abs;
}

/** Hard limits of this process (/proc/self/limits): a run cannot get more without CAP_SYS_RESOURCE. */
export function ownHardLimits(text = readFileSync("/proc/self/limits", "utf8")): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n").slice(1)) {
    const m = /^(.+?)\s{2,}(\S+)\s+(\S+)/.exec(line);
    if (m) out.set(m[1]!.trim(), m[3] === "unlimited" ? Infinity : Number(m[3]));
  }
  return out;
}

function limits(l: SandboxLimits | undefined, hard: Map<string, number>): Required<SandboxLimits> {
  const out = { ...DEFAULT_LIMITS };
  for (const [k, v] of Object.entries(l ?? {})) {
    const field = `limits.${k}`;
    need(k in DEFAULT_LIMITS, field, `unknown limit: use ${Object.keys(DEFAULT_LIMITS).join(", ")}`);
    if (v === undefined) continue;
    // 0: no limit, for the two a host may lack the controller for (docker's --memory 0).
    const zeroOk = k === "memoryBytes" || k === "pids";
    need(isCount(v) || (zeroOk && v === 0), field, `must be a positive integer${zeroOk ? " (or 0: no limit)" : ""}, not ${JSON.stringify(v)}`);
    (out as Record<string, number>)[k] = v;
  }
  // The rlimits the run gets must fit under ours: raising a hard limit needs CAP_SYS_RESOURCE.
  for (const [k, name] of [["openFiles", "Max open files"], ["fileSizeBytes", "Max file size"], ["stackBytes", "Max stack size"]] as const) {
    const max = hard.get(name) ?? Infinity;
    need(out[k] <= max, `limits.${k}`, `${out[k]} is above this process's hard limit ${max} (${name}); raising it needs CAP_SYS_RESOURCE: ask for at most ${max}`);
  }
  return out;
}

export function resolveRun(o: SandboxRunOptions, hard: Map<string, number> = ownHardLimits()): ResolvedRun {
  need(o && typeof o === "object", "options", "must be an object");
  need((o.rootfs === undefined) !== (o.image === undefined), "rootfs", "give exactly one of rootfs (a directory) and image (its layer directories)");
  let lowers: string[];
  if (o.rootfs !== undefined) lowers = [directory(o.rootfs, "rootfs")];
  else {
    const layers = o.image?.layers;
    need(Array.isArray(layers) && layers.length > 0, "image.layers", "must list the image's layer directories, top first");
    lowers = layers.map((d, i) => directory(d, `image.layers[${i}]`));
  }

  need(Array.isArray(o.argv) && o.argv.length > 0 && o.argv.every((a) => typeof a === "string"), "argv", "must be a non-empty list of strings: the program and its arguments");
  need(o.argv[0] !== "", "argv", "argv[0] must name the program");
  need(!o.argv.some((a) => a.includes("\0")), "argv", "arguments cannot contain NUL");

  const envMap: Record<string, string> = { ...DEFAULT_ENV, ...(o.env ?? {}) };
  const env = Object.entries(envMap).map(([k, v]) => {
    need(/^[^=\0]+$/.test(k), `env.${k}`, "a variable name cannot be empty or contain '=' or NUL");
    need(typeof v === "string" && !v.includes("\0"), `env.${k}`, "the value must be a string without NUL");
    return `${k}=${v}`;
  });

  const cwd = o.cwd ?? "/";
  need(typeof cwd === "string" && isAbsolute(cwd), "cwd", `${JSON.stringify(cwd)} must be an absolute path inside the run`);

  let stdin: ResolvedRun["stdin"] = { kind: "none" };
  if (typeof o.stdin === "string") stdin = { kind: "bytes", bytes: new TextEncoder().encode(o.stdin) };
  else if (o.stdin instanceof Uint8Array) stdin = { kind: "bytes", bytes: o.stdin };
  else if (o.stdin !== undefined) {
    const file = (o.stdin as { file?: unknown }).file;
    need(typeof file === "string" && existsSync(file) && statSync(file).isFile(), "stdin.file", `${JSON.stringify(file)} is not a file`);
    stdin = { kind: "file", path: resolve(file as string) };
  }

  const binds = (o.binds ?? []).map((b, i) => {
    const field = `binds[${i}]`;
    need(b && typeof b === "object", field, "must be {source, target, readOnly?}");
    need(typeof b.source === "string" && existsSync(b.source), `${field}.source`, `${JSON.stringify(b.source)} does not exist on the host`);
    const source = plainPath(b.source, `${field}.source`);
    need(typeof b.target === "string" && isAbsolute(b.target) && !b.target.split("/").includes(".."), `${field}.target`, `${JSON.stringify(b.target)} must be an absolute path inside the run, without ".."`);
    need(b.readOnly === undefined || typeof b.readOnly === "boolean", `${field}.readOnly`, "must be true or false");
    return { source, target: b.target, readOnly: b.readOnly ?? true };
  });

  const tmpfsBytes = o.tmpfsBytes ?? DEFAULT_TMPFS_BYTES;
  need(isCount(tmpfsBytes) && tmpfsBytes >= 1024 * 1024, "tmpfsBytes", "must be a number of bytes, at least 1 MiB");

  const seccomp = o.seccomp ?? "default";
  need(seccomp === "default" || seccomp === "strict" || (typeof seccomp === "object" && seccomp !== null && typeof seccomp.defaultAction === "string"),
    "seccomp", `must be "default", "strict" or an OCI seccomp profile (with defaultAction)`);

  const uid = o.uid ?? DEFAULT_ID;
  const gid = o.gid ?? (o.uid === undefined ? DEFAULT_ID : uid);
  for (const [k, v] of [["uid", uid], ["gid", gid]] as const) need(Number.isSafeInteger(v) && v >= 0 && v < 2 ** 32 - 1, k, `${JSON.stringify(v)} is not a user or group id`);
  const hostname = o.hostname ?? "sandbox";
  need(typeof hostname === "string" && /^[A-Za-z0-9][A-Za-z0-9.-]{0,62}$/.test(hostname), "hostname", `${JSON.stringify(hostname)} is not a host name`);
  need(o.network === undefined || typeof o.network === "boolean", "network", "must be true or false");
  need(o.readOnly === undefined || typeof o.readOnly === "boolean", "readOnly", "must be true or false");

  return {
    lowers, argv: [...o.argv], env, cwd, stdin, binds, limits: limits(o.limits, hard),
    network: o.network ?? false, readOnly: o.readOnly ?? true, tmpfsBytes, seccomp, uid, gid, hostname,
  };
}
