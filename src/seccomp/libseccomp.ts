// libseccomp through bun:ffi. The library is opened on first use, never at import: the runtime's
// start path is timed and most configs have no seccomp. Only the filter-building half of the API
// is bound; loading happens in berth-init (seccomp(2) with the exported program), so
// seccomp_load(3) is deliberately absent.

import * as fs from "node:fs";
import { dlopen, FFIType, ptr, toArrayBuffer, type Pointer } from "bun:ffi";
import { internal, failedPrecondition } from "../sys/errdefs.ts";

/** Filter attributes (enum scmp_filter_attr in seccomp.h; seccomp_attr_set(3)). */
export const SCMP_FLTATR = {
  ACT_DEFAULT: 1,
  ACT_BADARCH: 2,
  CTL_NNP: 3,
  CTL_TSYNC: 4,
  API_TSKIP: 5,
  CTL_LOG: 6,
  CTL_SSB: 7,
  CTL_OPTIMIZE: 8,
  API_SYSRAWRC: 9,
} as const;

/** Comparison operators (enum scmp_compare; seccomp_rule_add(3)). */
export const SCMP_CMP = { NE: 1, LT: 2, LE: 3, EQ: 4, GE: 5, GT: 6, MASKED_EQ: 7 } as const;

/** Action values (seccomp.h): the low 16 bits of ERRNO/TRACE carry the errno / tracer message. */
export const SCMP_ACT = {
  KILL_PROCESS: 0x80000000,
  KILL_THREAD: 0x00000000,
  TRAP: 0x00030000,
  NOTIFY: 0x7fc00000,
  LOG: 0x7ffc0000,
  ALLOW: 0x7fff0000,
  errno: (e: number) => (0x00050000 | (e & 0xffff)) >>> 0,
  trace: (m: number) => (0x7ff00000 | (m & 0xffff)) >>> 0,
} as const;

/** seccomp_syscall_resolve_name(3) returns this for a name no architecture knows. */
export const NR_SCMP_ERROR = -1;

/** One `struct scmp_arg_cmp`: { unsigned int arg; enum scmp_compare op; u64 datum_a, datum_b }. */
export interface ArgCmp {
  arg: number;
  op: number;
  datumA: bigint;
  datumB: bigint;
}
const ARG_CMP_SIZE = 24;

type Symbols = {
  seccomp_init: (defAction: number) => Pointer | null;
  seccomp_release: (ctx: Pointer) => void;
  seccomp_api_get: () => number;
  seccomp_version: () => Pointer | null;
  seccomp_arch_native: () => number;
  seccomp_arch_add: (ctx: Pointer, arch: number) => number;
  seccomp_arch_remove: (ctx: Pointer, arch: number) => number;
  seccomp_attr_set: (ctx: Pointer, attr: number, value: number) => number;
  seccomp_syscall_resolve_name: (name: Pointer) => number;
  seccomp_syscall_resolve_name_arch: (arch: number, name: Pointer) => number;
  seccomp_rule_add_array: (ctx: Pointer, action: number, syscall: number, count: number, args: Pointer | null) => number;
  seccomp_export_bpf: (ctx: Pointer, fd: number) => number;
  memfd_create: (name: Pointer, flags: number) => number;
};

let lib: Symbols | undefined;

/** Opens libseccomp (and libc for memfd_create) once; throws FailedPrecondition when absent. */
export function loadLibseccomp(): Symbols {
  if (lib) return lib;
  let s;
  try {
    s = dlopen("libseccomp.so.2", {
      seccomp_init: { args: [FFIType.u32], returns: FFIType.ptr },
      seccomp_release: { args: [FFIType.ptr], returns: FFIType.void },
      seccomp_api_get: { args: [], returns: FFIType.u32 },
      seccomp_version: { args: [], returns: FFIType.ptr },
      seccomp_arch_native: { args: [], returns: FFIType.u32 },
      seccomp_arch_add: { args: [FFIType.ptr, FFIType.u32], returns: FFIType.i32 },
      seccomp_arch_remove: { args: [FFIType.ptr, FFIType.u32], returns: FFIType.i32 },
      seccomp_attr_set: { args: [FFIType.ptr, FFIType.u32, FFIType.u32], returns: FFIType.i32 },
      seccomp_syscall_resolve_name: { args: [FFIType.ptr], returns: FFIType.i32 },
      seccomp_syscall_resolve_name_arch: { args: [FFIType.u32, FFIType.ptr], returns: FFIType.i32 },
      seccomp_rule_add_array: { args: [FFIType.ptr, FFIType.u32, FFIType.i32, FFIType.u32, FFIType.ptr], returns: FFIType.i32 },
      seccomp_export_bpf: { args: [FFIType.ptr, FFIType.i32], returns: FFIType.i32 },
    }).symbols;
  } catch (e) {
    throw failedPrecondition(
      `linux.seccomp: cannot load libseccomp.so.2 (${(e as Error).message}); install libseccomp2 or remove linux.seccomp`,
      "linux.seccomp",
    );
  }
  // memfd_create(2) is in glibc ≥ 2.27; already mapped into this process, so this is cheap.
  const libc = dlopen("libc.so.6", { memfd_create: { args: [FFIType.ptr, FFIType.u32], returns: FFIType.i32 } }).symbols;
  lib = { ...(s as unknown as Omit<Symbols, "memfd_create">), memfd_create: libc.memfd_create as Symbols["memfd_create"] };
  return lib;
}

const cstr = (s: string) => ptr(new TextEncoder().encode(`${s}\0`));

/** API level (seccomp_api_get(3)): 3 = LOG/KILL_PROCESS, 4 = SSB flag, 5 = NOTIFY, 6 = NOTIFY+TSYNC. */
export function apiLevel(): number {
  return loadLibseccomp().seccomp_api_get();
}

/** libseccomp's own version as "major.minor.micro" (struct scmp_version is three unsigned ints). */
export function libraryVersion(): string {
  const v = loadLibseccomp().seccomp_version();
  if (v === null) return "unknown";
  const u = new Uint32Array(toArrayBuffer(v, 0, 12));
  return `${u[0]}.${u[1]}.${u[2]}`;
}

/** The native architecture token (SCMP_ARCH_*, equal to the kernel's AUDIT_ARCH_* value). */
export function nativeArch(): number {
  return loadLibseccomp().seccomp_arch_native() >>> 0;
}

/**
 * The syscall number of `name` on `arch` (0 = native), or a negative value: NR_SCMP_ERROR for a
 * name libseccomp does not know at all, or a libseccomp pseudo-number (< -1) for a syscall that
 * exists on some other architecture only (seccomp_syscall_resolve_name(3)).
 */
export function resolveSyscall(name: string, arch = 0): number {
  const l = loadLibseccomp();
  return arch === 0 ? l.seccomp_syscall_resolve_name(cstr(name)) : l.seccomp_syscall_resolve_name_arch(arch, cstr(name));
}

/** Thrown by SeccompFilter methods: `rc` is the negative errno libseccomp returned. */
export class LibseccompError extends Error {
  constructor(
    readonly call: string,
    readonly rc: number,
  ) {
    super(`${call} failed: ${rc}`);
  }
}

/** A libseccomp filter context. Always `release()` it (try/finally): it is C memory. */
export class SeccompFilter {
  #ctx: Pointer | null;
  readonly #l: Symbols;

  constructor(defaultAction: number) {
    this.#l = loadLibseccomp();
    this.#ctx = this.#l.seccomp_init(defaultAction >>> 0);
    if (this.#ctx === null) throw internal(`seccomp_init(${defaultAction.toString(16)}) failed`, "linux.seccomp.defaultAction");
  }

  get #c(): Pointer {
    if (this.#ctx === null) throw internal("seccomp filter used after release");
    return this.#ctx;
  }

  /** seccomp_arch_add(3); an architecture already present (-EEXIST) is not an error. */
  addArch(token: number): void {
    const rc = this.#l.seccomp_arch_add(this.#c, token >>> 0);
    if (rc < 0 && rc !== -17) throw new LibseccompError("seccomp_arch_add", rc);
  }

  removeArch(token: number): void {
    const rc = this.#l.seccomp_arch_remove(this.#c, token >>> 0);
    if (rc < 0) throw new LibseccompError("seccomp_arch_remove", rc);
  }

  setAttr(attr: number, value: number): void {
    const rc = this.#l.seccomp_attr_set(this.#c, attr, value >>> 0);
    if (rc < 0) throw new LibseccompError("seccomp_attr_set", rc);
  }

  /** seccomp_rule_add_array(3): all comparisons of one call must hold together (logical AND). */
  addRule(action: number, syscall: number, cmps: readonly ArgCmp[]): void {
    let arr: Pointer | null = null;
    let keep: Uint8Array | undefined;
    if (cmps.length > 0) {
      keep = new Uint8Array(ARG_CMP_SIZE * cmps.length);
      const dv = new DataView(keep.buffer);
      cmps.forEach((c, i) => {
        const o = i * ARG_CMP_SIZE;
        dv.setUint32(o, c.arg, true);
        dv.setUint32(o + 4, c.op, true);
        dv.setBigUint64(o + 8, c.datumA, true);
        dv.setBigUint64(o + 16, c.datumB, true);
      });
      arr = ptr(keep);
    }
    const rc = this.#l.seccomp_rule_add_array(this.#c, action >>> 0, syscall, cmps.length, arr);
    void keep; // the buffer must stay alive across the call
    if (rc < 0) throw new LibseccompError("seccomp_rule_add_array", rc);
  }

  /**
   * The filter as raw `struct sock_filter[]` in host byte order (seccomp_export_bpf(3) writes to
   * an fd; a memfd keeps it off disk and needs no reader thread, unlike a pipe).
   */
  exportBpf(): Uint8Array {
    const fd = this.#l.memfd_create(cstr("berth-seccomp"), 1 /* MFD_CLOEXEC */);
    if (fd < 0) throw internal("memfd_create for the seccomp export failed");
    try {
      const rc = this.#l.seccomp_export_bpf(this.#c, fd);
      if (rc < 0) throw new LibseccompError("seccomp_export_bpf", rc);
      const size = fs.fstatSync(fd).size;
      const out = new Uint8Array(size);
      let got = 0;
      while (got < size) {
        const n = fs.readSync(fd, out, got, size - got, got);
        if (n <= 0) break;
        got += n;
      }
      return out.subarray(0, got);
    } finally {
      fs.closeSync(fd);
    }
  }

  release(): void {
    if (this.#ctx !== null) this.#l.seccomp_release(this.#ctx);
    this.#ctx = null;
  }
}
