// The -ENOSYS prologue. A profile lists the syscalls its author knew; a newer syscall (clone3,
// openat2, …) then falls to the default action, typically EPERM or a kill. libc and language
// runtimes probe new syscalls and fall back only on ENOSYS ("not implemented"), so EPERM makes
// them fail instead of fall back. runc solves this (libcontainer/seccomp/patchbpf) by putting a
// small classic-BPF program before libseccomp's: for each architecture in the filter, a syscall
// number above the highest one the profile names returns -ENOSYS; everything else continues
// into the real filter. berth does the same, built here from scratch with labels.
//
// Limits of the approach (same as runc's): syscalls added out of numeric order (holes in the
// table below the highest known number) still get the default action.

import { ARCHES, X32_SYSCALL_BIT } from "./arch.ts";

// Classic BPF opcodes (include/uapi/linux/filter.h, bpf_common.h).
const LD_W_ABS = 0x20; // BPF_LD|BPF_W|BPF_ABS
const JMP_JA = 0x05; // BPF_JMP|BPF_JA
const JMP_JEQ_K = 0x15;
const JMP_JGT_K = 0x25;
const JMP_JSET_K = 0x45;
const RET_K = 0x06;

// struct seccomp_data (seccomp(2)): int nr at 0, __u32 arch at 4.
const OFF_NR = 0;
const OFF_ARCH = 4;

const ERRNO_ENOSYS = (0x00050000 | 38) >>> 0; // SECCOMP_RET_ERRNO | ENOSYS

type Target = string | number; // a label, or 0 for "next instruction"
type Item = { label: string } | { code: number; jt: Target; jf: Target; k: number | string };

/** The highest syscall number the profile names on one architecture (libseccomp token). */
export interface ArchMax {
  token: number;
  max: number;
}

/**
 * The prologue for these architectures, as sock_filter bytes in host order. It ends by falling
 * into whatever follows it (libseccomp's program, which reloads what it needs). Returns an empty
 * array when no architecture has a known maximum.
 */
export function enosysStub(maxes: readonly ArchMax[], littleEndian: boolean): Uint8Array {
  const groups = new Map<number, { amd64?: number; x32?: number; other?: { token: number; max: number } }>();
  for (const m of maxes) {
    if (m.max <= 0) continue;
    const audit = auditOf(m.token);
    const g = groups.get(audit) ?? {};
    if (m.token === ARCHES.SCMP_ARCH_X86_64!.token) g.amd64 = m.max;
    else if (m.token === ARCHES.SCMP_ARCH_X32!.token) g.x32 = m.max;
    else g.other = { token: m.token, max: m.max };
    groups.set(audit, g);
  }
  if (groups.size === 0) return new Uint8Array(0);

  const audits = [...groups.keys()].sort((x, y) => x - y); // stable output for a given profile
  const p: Item[] = [{ code: LD_W_ABS, jt: 0, jf: 0, k: OFF_ARCH }];
  for (const au of audits) p.push({ code: JMP_JEQ_K, jt: `arch_${au}`, jf: 0, k: au });
  p.push({ code: JMP_JA, jt: 0, jf: 0, k: "filter" });

  for (const au of audits) {
    const g = groups.get(au)!;
    p.push({ label: `arch_${au}` }, { code: LD_W_ABS, jt: 0, jf: 0, k: OFF_NR });
    if (g.amd64 !== undefined || g.x32 !== undefined) {
      // One audit arch, two ABIs told apart by bit 30 of the number (x32 numbers carry it, and
      // libseccomp's x32 table includes it, so the comparison below is on the full number).
      if (g.amd64 !== undefined && g.x32 !== undefined) {
        p.push({ code: JMP_JSET_K, jt: `x32_${au}`, jf: 0, k: X32_SYSCALL_BIT });
        p.push({ code: JMP_JGT_K, jt: "enosys", jf: "filter", k: g.amd64 });
        p.push({ label: `x32_${au}` }, { code: JMP_JGT_K, jt: "enosys", jf: "filter", k: g.x32 });
      } else if (g.amd64 !== undefined) {
        p.push({ code: JMP_JSET_K, jt: "filter", jf: 0, k: X32_SYSCALL_BIT });
        p.push({ code: JMP_JGT_K, jt: "enosys", jf: "filter", k: g.amd64 });
      } else {
        p.push({ code: JMP_JSET_K, jt: 0, jf: "filter", k: X32_SYSCALL_BIT });
        p.push({ code: JMP_JGT_K, jt: "enosys", jf: "filter", k: g.x32! });
      }
      continue;
    }
    const o = g.other!;
    if (o.token === ARCHES.SCMP_ARCH_S390!.token || o.token === ARCHES.SCMP_ARCH_S390X!.token) {
      // s390 multiplexes syscalls numbered above 255 through number 0 (the long-gone setup(2));
      // an unknown one arrives as 0, which must also say ENOSYS.
      p.push({ code: JMP_JEQ_K, jt: "enosys", jf: 0, k: 0 });
    }
    p.push({ code: JMP_JGT_K, jt: "enosys", jf: "filter", k: o.max });
  }
  p.push({ label: "enosys" }, { code: RET_K, jt: 0, jf: 0, k: ERRNO_ENOSYS });
  p.push({ label: "filter" });
  return assemble(p, littleEndian);
}

function auditOf(token: number): number {
  for (const info of Object.values(ARCHES)) if (info.token === token >>> 0) return info.audit;
  return token >>> 0;
}

/** Resolves labels into relative offsets (jumps count from the next instruction). */
function assemble(items: readonly Item[], le: boolean): Uint8Array {
  const at = new Map<string, number>();
  let n = 0;
  for (const it of items) {
    if ("label" in it) at.set(it.label, n);
    else n++;
  }
  const out = new Uint8Array(n * 8);
  const dv = new DataView(out.buffer);
  let i = 0;
  const rel = (t: Target, wide: boolean): number => {
    if (typeof t === "number") return t;
    const dest = at.get(t);
    if (dest === undefined) throw new Error(`BPF label ${t} undefined`);
    const off = dest - (i + 1);
    // Conditional jumps have 8-bit offsets; the prologue is a few dozen instructions at most.
    if (off < 0 || (!wide && off > 255)) throw new Error(`BPF jump to ${t} out of range (${off})`);
    return off;
  };
  for (const it of items) {
    if ("label" in it) continue;
    const o = i * 8;
    dv.setUint16(o, it.code, le);
    dv.setUint8(o + 2, rel(it.jt, false));
    dv.setUint8(o + 3, rel(it.jf, false));
    dv.setUint32(o + 4, typeof it.k === "string" ? rel(it.k, true) : it.k >>> 0, le);
    i++;
  }
  return out;
}
