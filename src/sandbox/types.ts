// What a sandbox run takes and what it returns: the library's public vocabulary.
import type { Seccomp } from "../runtime/spec/types.ts";

/**
 * Why a run ended, one word (see verdict.ts for how it is decided, in order):
 *   setup    the program could not be started (not found, not executable, a mount failed)
 *   time     CPU time (every process of the run, user + system) passed limits.cpuMs
 *   wall     real time passed limits.wallMs
 *   output   stdout or stderr passed limits.outputBytes
 *   seccomp  a syscall the seccomp profile kills for (`syscall` names it)
 *   memory   the kernel's OOM killer killed a process of the run (limits.memoryBytes)
 *   pids     a fork or clone failed because the run had limits.pids processes and threads
 *   signal   the program was killed by a signal (`signal`)
 *   exit     the program exited with a status other than 0 (`exitCode`)
 *   ok       the program exited with status 0
 */
export type SandboxStatus = "ok" | "exit" | "signal" | "time" | "wall" | "memory" | "output" | "pids" | "seccomp" | "setup";

export interface SandboxLimits {
  /** CPU time of every process of the run, user + system, in milliseconds (default 5000). */
  readonly cpuMs?: number;
  /** Real time from the program's start, in milliseconds (default 10000). */
  readonly wallMs?: number;
  /** Memory of the run's cgroup: anonymous memory, page cache and its tmpfs (default 256 MiB; 0: none). */
  readonly memoryBytes?: number;
  /** Processes and threads the program may have at once (default 64; the run's init is extra; 0: none). */
  readonly pids?: number;
  /** Bytes kept of stdout and of stderr each; more ends the run with "output" (default 1 MiB). */
  readonly outputBytes?: number;
  /** RLIMIT_FSIZE: the largest file the program may write (default 64 MiB; SIGXFSZ past it). */
  readonly fileSizeBytes?: number;
  /** RLIMIT_NOFILE (default 256). */
  readonly openFiles?: number;
  /** RLIMIT_STACK (default 8 MiB). */
  readonly stackBytes?: number;
}

/** A host path made visible inside the run. */
export interface SandboxBind {
  readonly source: string;
  /** Absolute path inside the run. */
  readonly target: string;
  /** Default true: the run can read it only. */
  readonly readOnly?: boolean;
}

/**
 * "default": Docker's default profile (src/seccomp/default-profile.ts) without ptrace and the
 * process_vm_* calls; refused syscalls fail with EPERM. "strict": the same, and the syscalls
 * that reach past a sandbox (mount, unshare, setns, ptrace, kexec_load, bpf, …, see
 * profiles.ts) end the run with status "seccomp", naming the syscall. Or any OCI profile.
 */
export type SandboxSeccomp = "default" | "strict" | Seccomp;

export interface SandboxRunOptions {
  /** The run's root: a directory, used read-only and shared by every run (or give `image`). */
  readonly rootfs?: string;
  /** An unpacked image, as its layer directories, top layer first (or give `rootfs`). */
  readonly image?: { readonly layers: readonly string[] };
  /** The program and its arguments; the program is looked up on PATH inside the run. */
  readonly argv: readonly string[];
  /** The environment (default PATH only). */
  readonly env?: Readonly<Record<string, string>>;
  /** Working directory inside the run (default "/"). */
  readonly cwd?: string;
  /** The program's stdin: bytes (a string is UTF-8), or a host file; default /dev/null. */
  readonly stdin?: Uint8Array | string | { readonly file: string };
  readonly binds?: readonly SandboxBind[];
  readonly limits?: SandboxLimits;
  /** true shares the host's network; default false: a network namespace with only a down `lo`. */
  readonly network?: boolean;
  /** Default true: "/" cannot be written; /tmp and /dev/shm always can. */
  readonly readOnly?: boolean;
  /** Size of the run's tmpfs, which holds /tmp, /dev/shm and the writes to "/" (default 64 MiB). */
  readonly tmpfsBytes?: number;
  readonly seccomp?: SandboxSeccomp;
  /** User and group the program runs as (default 65534, nobody); it has no capabilities. */
  readonly uid?: number;
  readonly gid?: number;
  /** Default "sandbox". */
  readonly hostname?: string;
}

export interface SandboxResult {
  readonly status: SandboxStatus;
  /** The program's exit status, when it exited. */
  readonly exitCode?: number;
  /** The signal that killed the program ("SIGSEGV"), also when the sandbox killed it for a limit. */
  readonly signal?: string;
  /** Status "seccomp": the syscall, by name ("mount"). */
  readonly syscall?: string;
  /** What happened, in words (always set for "setup"). */
  readonly message?: string;
  /** CPU time of every process the run made (its cgroup's), in milliseconds. */
  readonly cpuMs: number;
  /** From the program's start to its end, in milliseconds. */
  readonly wallMs: number;
  /** The cgroup's peak memory (memory.max_usage_in_bytes v1, memory.peak v2). */
  readonly peakMemoryBytes: number;
  /** At most limits.outputBytes each. */
  readonly stdout: Buffer;
  readonly stderr: Buffer;
  /** stdout or stderr was cut at limits.outputBytes. */
  readonly outputTruncated: boolean;
}
