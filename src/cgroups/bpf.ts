// Loading and attaching the cgroup v2 device program (device-filter.ts) with bpf(2), through
// bun:ffi and libc's syscall(3). libc is opened on first use, never at import: the runtime's start
// path is timed and only a v2 cgroup with device rules needs this file.
//
// bpf(2) commands used, with the union bpf_attr members they read (include/uapi/linux/bpf.h):
//   BPF_PROG_LOAD       prog_type, insn_cnt, insns, license, log_level/log_size/log_buf, prog_name
//   BPF_PROG_QUERY      target_fd, attach_type, prog_ids, prog_cnt (programs attached directly)
//   BPF_PROG_GET_FD_BY_ID prog_id
//   BPF_PROG_ATTACH     target_fd, attach_bpf_fd, attach_type, attach_flags, replace_bpf_fd
//   BPF_PROG_DETACH     target_fd, attach_bpf_fd, attach_type
// What the verifier needs for BPF_PROG_TYPE_CGROUP_DEVICE: a program that reads only the 12-byte
// context with aligned 4-byte loads, sets r0 on every path, has no back-edges and no unreachable
// instruction (check_cfg refuses those: "unreachable insn N"). The license
// only matters for GPL-only helpers; the program calls no helper, so "Apache-2.0" loads fine.

import * as fs from "node:fs";
import { explain } from "../explain/channel.ts";
import { BerthError, type ErrorCode } from "../sys/errdefs.ts";
import { errnoMessage, errnoName } from "../sys/errno.ts";
import { BPF_INSN_SIZE } from "./device-filter.ts";
import { RESOURCES_FIELD } from "./resources.ts";

const FIELD = `${RESOURCES_FIELD}.devices`;

/** __NR_bpf per architecture (arch/x86/entry/syscalls/syscall_64.tbl; asm-generic/unistd.h). */
const SYS_BPF: Record<string, number> = { x64: 321, arm64: 280 };

const CMD = { PROG_LOAD: 5, PROG_ATTACH: 8, PROG_DETACH: 9, PROG_GET_FD_BY_ID: 13, PROG_QUERY: 16 } as const;
const BPF_PROG_TYPE_CGROUP_DEVICE = 15;
const BPF_CGROUP_DEVICE = 6;
const BPF_F_ALLOW_MULTI = 2;
const BPF_F_REPLACE = 4;
/** Large enough for every member written below; the kernel accepts a shorter union than its own. */
const ATTR_SIZE = 128;
const LICENSE = "Apache-2.0";
/** BPF_OBJ_NAME_LEN is 16 with the NUL; shows in `bpftool prog` next to the program id. */
const PROG_NAME = "berth_devices";
const LOG_SIZE = 64 * 1024;

type Ffi = typeof import("bun:ffi");
let ffiModule: Ffi | undefined;
/** bun:ffi on first use too: a static import cost every berth-runtime start ~0.4 ms (measured). */
const ffi = (): Ffi => (ffiModule ??= require("bun:ffi") as Ffi);

type Libc = ReturnType<typeof openLibc>;
let libc: Libc | undefined;

function openLibc() {
  const { dlopen, FFIType } = ffi();
  return dlopen("libc.so.6", {
    syscall: { args: [FFIType.i64, FFIType.i64, FFIType.ptr, FFIType.i64], returns: FFIType.i64_fast },
    __errno_location: { args: [], returns: FFIType.ptr },
  }).symbols;
}

/** A refused bpf(2) call; `errno` is the kernel's answer. */
export class BpfError extends BerthError {
  constructor(readonly command: string, readonly errno: number, detail: string) {
    super(codeFor(command, errno), `cannot set ${FIELD}: bpf(${command}) failed: ${errnoName(errno)} (${errnoMessage(errno)})${detail}`, FIELD);
  }
}

function codeFor(command: string, errno: number): ErrorCode {
  // From BPF_PROG_LOAD, EACCES is the verifier refusing the program (a berth bug), not privilege.
  if (errno === 13 && command === "BPF_PROG_LOAD") return "Internal";
  if (errno === 1 || errno === 13) return "PermissionDenied";
  if (errno === 22) return "InvalidArgument";
  if (errno === 38 || errno === 95 || errno === 524) return "FailedPrecondition";
  return "Internal";
}

function bpf(cmd: number, attr: Uint8Array): number {
  libc ??= openLibc();
  const nr = SYS_BPF[process.arch];
  if (nr === undefined) throw new BerthError("FailedPrecondition", `${FIELD}: bpf(2) is not wired for ${process.arch}`, FIELD);
  const r = Number(libc.syscall(nr, cmd, attr, attr.byteLength));
  if (r >= 0) return r;
  const loc = libc.__errno_location();
  return -(loc === null ? 5 : new Int32Array(ffi().toArrayBuffer(loc, 0, 4))[0]!);
}

class Attr {
  readonly bytes = new Uint8Array(ATTR_SIZE);
  private readonly v = new DataView(this.bytes.buffer);
  u32(off: number, x: number): this {
    this.v.setUint32(off, x >>> 0, true);
    return this;
  }
  /** A pointer member (__aligned_u64). The buffer must stay referenced until the call returns. */
  addr(off: number, buf: Uint8Array | Uint32Array): this {
    this.v.setBigUint64(off, BigInt(ffi().ptr(buf)), true);
    return this;
  }
}

const cstr = (s: string) => new TextEncoder().encode(`${s}\0`);

function closeFd(fd: number): void {
  try {
    fs.closeSync(fd);
  } catch {
    // Nothing useful to do: the fd was ours and is gone either way.
  }
}

/** The last lines of a verifier log (the reason is at the end). */
function logTail(log: Uint8Array): string {
  const end = log.indexOf(0);
  const text = new TextDecoder().decode(end >= 0 ? log.subarray(0, end) : log).trim();
  if (text === "") return "";
  const lines = text.split("\n");
  return `; verifier log:\n${lines.slice(-20).join("\n")}`;
}

/**
 * BPF_PROG_LOAD of a BPF_PROG_TYPE_CGROUP_DEVICE program; returns its fd. Loads without a log
 * first (the common case) and, when refused, again with log_level 1 so the error carries the
 * verifier's reason.
 */
export function loadDeviceProgram(insns: Uint8Array): number {
  const license = cstr(LICENSE);
  const load = (log?: Uint8Array) => {
    const a = new Attr()
      .u32(0, BPF_PROG_TYPE_CGROUP_DEVICE)
      .u32(4, insns.byteLength / BPF_INSN_SIZE)
      .addr(8, insns)
      .addr(16, license);
    if (log) a.u32(24, 1).u32(28, log.byteLength).addr(32, log);
    a.bytes.set(new TextEncoder().encode(PROG_NAME), 48);
    return bpf(CMD.PROG_LOAD, a.bytes);
  };
  let fd = load();
  if (fd >= 0) return fd;
  if (-fd === 1) {
    throw new BpfError("BPF_PROG_LOAD", 1, " (loading a cgroup device program needs CAP_BPF or CAP_SYS_ADMIN)");
  }
  const log = new Uint8Array(LOG_SIZE);
  fd = load(log);
  if (fd >= 0) return fd; // refused once, accepted with a log: a transient error; use it
  throw new BpfError("BPF_PROG_LOAD", -fd, logTail(log));
}

/** IDs of the device programs attached directly to the cgroup (not inherited ones). */
function queryAttached(cgroupFd: number): number[] {
  const ids = new Uint32Array(64);
  const a = new Attr().u32(0, cgroupFd).u32(4, BPF_CGROUP_DEVICE).addr(16, ids).u32(24, ids.length);
  const r = bpf(CMD.PROG_QUERY, a.bytes);
  if (r < 0) throw new BpfError("BPF_PROG_QUERY", -r, "");
  const count = new DataView(a.bytes.buffer).getUint32(24, true);
  return [...ids.subarray(0, Math.min(count, ids.length))];
}

function progFdById(id: number): number {
  const r = bpf(CMD.PROG_GET_FD_BY_ID, new Attr().u32(0, id).bytes);
  if (r < 0) throw new BpfError("BPF_PROG_GET_FD_BY_ID", -r, ` (program id ${id})`);
  return r;
}

function attach(cgroupFd: number, progFd: number, replaceFd?: number): void {
  const a = new Attr().u32(0, cgroupFd).u32(4, progFd).u32(8, BPF_CGROUP_DEVICE);
  a.u32(12, BPF_F_ALLOW_MULTI | (replaceFd === undefined ? 0 : BPF_F_REPLACE));
  if (replaceFd !== undefined) a.u32(16, replaceFd);
  const r = bpf(CMD.PROG_ATTACH, a.bytes);
  if (r < 0) throw new BpfError("BPF_PROG_ATTACH", -r, "");
}

function detach(cgroupFd: number, progFd: number): void {
  const r = bpf(CMD.PROG_DETACH, new Attr().u32(0, cgroupFd).u32(4, progFd).u32(8, BPF_CGROUP_DEVICE).bytes);
  if (r < 0) throw new BpfError("BPF_PROG_DETACH", -r, "");
}

/**
 * Make `insns` the device program of the cgroup at `cgroupDir`, replacing whatever device
 * programs are attached directly to it. With one old program the swap is atomic
 * (BPF_F_REPLACE); with several, the new one is attached first and the old ones detached after,
 * so for a moment both run and the stricter answer wins — never a moment without rules.
 * Inherited programs of ancestors are not touched (they keep running: a device needs every
 * program on the path to allow it).
 */
export function setDeviceProgram(cgroupDir: string, insns: Uint8Array): void {
  const t0 = performance.now();
  let cgroupFd: number;
  try {
    cgroupFd = fs.openSync(cgroupDir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
  } catch (e) {
    throw new BerthError("FailedPrecondition", `cannot set ${FIELD}: cannot open cgroup ${cgroupDir}: ${(e as Error).message}`, FIELD, { cause: e });
  }
  const fds: number[] = [];
  try {
    const progFd = loadDeviceProgram(insns);
    fds.push(progFd);
    const old = queryAttached(cgroupFd);
    if (old.length === 1) {
      const oldFd = progFdById(old[0] as number);
      fds.push(oldFd);
      attach(cgroupFd, progFd, oldFd);
    } else {
      attach(cgroupFd, progFd);
      for (const id of old) {
        const oldFd = progFdById(id);
        fds.push(oldFd);
        detach(cgroupFd, oldFd);
      }
    }
    if (explain.enabled) {
      explain.emit({
        step: "cgroup-bpf",
        detail: `bpf(BPF_PROG_ATTACH, ${cgroupDir}, BPF_CGROUP_DEVICE, ${insns.byteLength / BPF_INSN_SIZE} insns${old.length ? `, replacing ${old.length}` : ""})`,
        ms: performance.now() - t0,
        who: "runtime",
      });
    }
  } finally {
    // The attachment holds its own reference to the program; ours can go.
    for (const fd of fds) closeFd(fd);
    closeFd(cgroupFd);
  }
}

/**
 * Attach `insns` next to the programs already on `cgroupDir` (BPF_F_ALLOW_MULTI, nothing
 * replaced): all of them must allow a device. For tests of the replace path and for layering.
 */
export function addDeviceProgram(cgroupDir: string, insns: Uint8Array): void {
  const cgroupFd = fs.openSync(cgroupDir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
  try {
    const progFd = loadDeviceProgram(insns);
    try {
      attach(cgroupFd, progFd);
    } finally {
      closeFd(progFd);
    }
  } finally {
    closeFd(cgroupFd);
  }
}

/** IDs of the device programs attached directly to `cgroupDir` (tests, `doctor`). */
export function attachedDevicePrograms(cgroupDir: string): number[] {
  const fd = fs.openSync(cgroupDir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
  try {
    return queryAttached(fd);
  } finally {
    closeFd(fd);
  }
}
