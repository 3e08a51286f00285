// OCI device rules (`linux.resources.devices`) → an eBPF program of type
// BPF_PROG_TYPE_CGROUP_DEVICE, the cgroup v2 replacement for v1's devices.allow/devices.deny
// (Documentation/admin-guide/cgroup-v2.rst "Device controller"). Pure data: no syscalls here;
// bpf.ts loads and attaches the result.
//
// What the program decides. The kernel calls it for every open and mknod of a device node with
// struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; } (include/uapi/linux/bpf.h),
// access_type = (access << 16) | type, access a set of BPF_DEVCG_ACC_{MKNOD=1,READ=2,WRITE=4} and
// type BPF_DEVCG_DEV_{BLOCK=1,CHAR=2}. It returns 1 to allow and 0 to deny (-EPERM to the caller).
// The rules keep the order semantics of the spec's list: before any rule everything is allowed
// (a v1 root cgroup), and a later rule overrides earlier ones for the devices it matches. That is
// decided per access bit: an open for read+write is allowed only if, for both r and w, the last
// rule that matches the device and names that bit is an allow rule. (A request "rw" against
// "deny c 1:3 w" is denied; against "allow c 1:3 r" after "deny a" it is denied too.)
//
// Program layout (registers are eBPF's r0..r10; r1 holds the context on entry):
//
//   prologue   r2 = ctx->access_type & 0xffff        device type
//              r3 = ctx->access_type >> 16           access bits still undecided ("pending")
//              r4 = ctx->major, r5 = ctx->minor
//   rules      the rules in REVERSE order (last rule first), one block each:
//                [if r2 != type  goto next]          omitted for type "a"
//                [if r4 != major goto next]          omitted for a wildcard major
//                [if r5 != minor goto next]          omitted for a wildcard minor
//                deny rule:  if r3 & access goto DENY
//                allow rule: r3 &= ~access; if r3 == 0 goto ALLOW
//              next:
//   epilogue   ALLOW: r0 = 1; exit                   reached too when no rule decided a bit
//              DENY:  r0 = 0; exit                   only if a deny rule was emitted
//
// Walking from the last rule backwards, the first rule that matches a pending bit decides it, so
// "later overrides earlier" holds per bit without any loop (the verifier rejects back-edges
// anyway; every jump here goes forward). A rule that matches every device and names all of rwm
// decides everything still pending, so the rules before it are not emitted: the default OCI list
// ("deny a *:* rwm" first) costs nothing for that rule. Device comparisons use 32-bit jumps
// (BPF_JMP32) so an unsigned major/minor immediate compares as the same u32 the kernel stores.

import type { LinuxDeviceCgroup } from "./resources.ts";

/** include/uapi/linux/bpf.h: bpf_cgroup_dev_ctx access bits and device types. */
export const BPF_DEVCG_ACC = { MKNOD: 1, READ: 2, WRITE: 4 } as const;
export const BPF_DEVCG_DEV = { BLOCK: 1, CHAR: 2 } as const;

/** Size of one struct bpf_insn: u8 code, u8 dst_reg:4 | src_reg:4, s16 off, s32 imm. */
export const BPF_INSN_SIZE = 8;

// Opcode pieces (include/uapi/linux/bpf_common.h and bpf.h; Documentation/bpf/standardization/
// instruction-set.rst). Only what this compiler emits.
const CLS = { LDX: 0x01, ALU: 0x04, JMP: 0x05, JMP32: 0x06, ALU64: 0x07 } as const;
const SIZE_W = 0x00;
const MODE_MEM = 0x60;
const SRC_K = 0x00;
const ALU = { AND: 0x50, RSH: 0x70, MOV: 0xb0 } as const;
const JMP = { JA: 0x00, JEQ: 0x10, JSET: 0x40, JNE: 0x50, EXIT: 0x90 } as const;

/** The opcodes, exported so tests can interpret exactly what is emitted. */
export const OP = {
  LDX_W: CLS.LDX | SIZE_W | MODE_MEM,
  AND32_K: CLS.ALU | ALU.AND | SRC_K,
  RSH32_K: CLS.ALU | ALU.RSH | SRC_K,
  MOV64_K: CLS.ALU64 | ALU.MOV | SRC_K,
  JA: CLS.JMP | JMP.JA,
  JEQ32_K: CLS.JMP32 | JMP.JEQ | SRC_K,
  JNE32_K: CLS.JMP32 | JMP.JNE | SRC_K,
  JSET32_K: CLS.JMP32 | JMP.JSET | SRC_K,
  EXIT: CLS.JMP | JMP.EXIT,
} as const;

type Reg = 0 | 1 | 2 | 3 | 4 | 5;
const R_CTX: Reg = 1;
const R_TYPE: Reg = 2;
const R_PENDING: Reg = 3;
const R_MAJOR: Reg = 4;
const R_MINOR: Reg = 5;

/** Offsets in struct bpf_cgroup_dev_ctx. */
const CTX = { ACCESS_TYPE: 0, MAJOR: 4, MINOR: 8 } as const;

interface Insn {
  code: number;
  dst: Reg;
  src: Reg;
  off: number;
  imm: number;
  /** Jump target, resolved to `off` when the program is assembled. */
  to?: Label;
}
type Label = { at: number | undefined };

/**
 * A tiny assembler: forward jumps name a label; `bind` fixes the label at the next instruction.
 * eBPF jump offsets count instructions after the jump (pc + 1 + off).
 */
class Assembler {
  private readonly insns: Insn[] = [];
  label(): Label {
    return { at: undefined };
  }
  bind(l: Label): void {
    l.at = this.insns.length;
  }
  used(l: Label): boolean {
    return this.insns.some((i) => i.to === l);
  }
  ldxW(dst: Reg, src: Reg, off: number): void {
    this.insns.push({ code: OP.LDX_W, dst, src, off, imm: 0 });
  }
  and32(dst: Reg, imm: number): void {
    this.insns.push({ code: OP.AND32_K, dst, src: 0, off: 0, imm });
  }
  rsh32(dst: Reg, imm: number): void {
    this.insns.push({ code: OP.RSH32_K, dst, src: 0, off: 0, imm });
  }
  mov64(dst: Reg, imm: number): void {
    this.insns.push({ code: OP.MOV64_K, dst, src: 0, off: 0, imm });
  }
  jmp(code: number, dst: Reg, imm: number, to: Label): void {
    this.insns.push({ code, dst, src: 0, off: 0, imm, to });
  }
  ja(to: Label): void {
    this.insns.push({ code: OP.JA, dst: 0, src: 0, off: 0, imm: 0, to });
  }
  exit(): void {
    this.insns.push({ code: OP.EXIT, dst: 0, src: 0, off: 0, imm: 0 });
  }

  /** Little-endian struct bpf_insn array (x86_64 and arm64 are little-endian). */
  assemble(): Uint8Array {
    const out = new Uint8Array(this.insns.length * BPF_INSN_SIZE);
    const v = new DataView(out.buffer);
    this.insns.forEach((ins, pc) => {
      let off = ins.off;
      if (ins.to) {
        if (ins.to.at === undefined) throw new Error("device filter: unbound jump label");
        off = ins.to.at - pc - 1;
        if (off < 0 || off > 0x7fff) throw new Error(`device filter: jump offset ${off} out of range`);
      }
      const p = pc * BPF_INSN_SIZE;
      v.setUint8(p, ins.code);
      v.setUint8(p + 1, (ins.src << 4) | ins.dst);
      v.setInt16(p + 2, off, true);
      v.setInt32(p + 4, ins.imm | 0, true);
    });
    return out;
  }
}

/** The access bits of a rule; unset or "" means "rwm" (as for v1's devices.allow lines). */
export function accessBits(access: string | undefined): number {
  const a = access === undefined || access === "" ? "rwm" : access;
  let bits = 0;
  if (a.includes("m")) bits |= BPF_DEVCG_ACC.MKNOD;
  if (a.includes("r")) bits |= BPF_DEVCG_ACC.READ;
  if (a.includes("w")) bits |= BPF_DEVCG_ACC.WRITE;
  return bits;
}

const ALL_ACCESS = BPF_DEVCG_ACC.MKNOD | BPF_DEVCG_ACC.READ | BPF_DEVCG_ACC.WRITE;

function typeCode(type: string | undefined): number | undefined {
  if (type === "c") return BPF_DEVCG_DEV.CHAR;
  if (type === "b") return BPF_DEVCG_DEV.BLOCK;
  return undefined; // "a" or unset: any type
}

/**
 * Compile validated rules (resources.ts validateResources) into struct bpf_insn bytes.
 * An empty list gives "allow everything", the state of a cgroup without rules.
 */
export function compileDeviceFilter(rules: readonly LinuxDeviceCgroup[]): Uint8Array {
  const a = new Assembler();
  const allow = a.label();
  const deny = a.label();

  a.ldxW(R_TYPE, R_CTX, CTX.ACCESS_TYPE);
  a.and32(R_TYPE, 0xffff);
  a.ldxW(R_PENDING, R_CTX, CTX.ACCESS_TYPE);
  a.rsh32(R_PENDING, 16);
  a.ldxW(R_MAJOR, R_CTX, CTX.MAJOR);
  a.ldxW(R_MINOR, R_CTX, CTX.MINOR);

  for (let i = rules.length - 1; i >= 0; i--) {
    const r = rules[i] as LinuxDeviceCgroup;
    const bits = accessBits(r.access);
    const type = typeCode(r.type);
    const next = a.label();
    if (type !== undefined) a.jmp(OP.JNE32_K, R_TYPE, type, next);
    if (r.major != null) a.jmp(OP.JNE32_K, R_MAJOR, r.major, next);
    if (r.minor != null) a.jmp(OP.JNE32_K, R_MINOR, r.minor, next);
    if (r.allow) {
      a.and32(R_PENDING, ~bits & ALL_ACCESS);
      a.jmp(OP.JEQ32_K, R_PENDING, 0, allow);
    } else {
      a.jmp(OP.JSET32_K, R_PENDING, bits, deny);
    }
    a.bind(next);
    // A catch-all decided every rwm bit; nothing before it can change the answer.
    if (type === undefined && r.major == null && r.minor == null && bits === ALL_ACCESS) break;
  }

  a.bind(allow);
  a.mov64(0, 1);
  a.exit();
  // The verifier refuses unreachable instructions ("unreachable insn"), so the deny exit is only
  // emitted when some rule can jump to it (a list of allow rules has none).
  if (a.used(deny)) {
    a.bind(deny);
    a.mov64(0, 0);
    a.exit();
  }
  return a.assemble();
}
