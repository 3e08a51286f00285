// A small classic-BPF interpreter for seccomp programs, so unit tests can ask "what does this
// filter return for syscall N on architecture A with these arguments" without loading it.
// Semantics from the kernel's classic BPF (Documentation/networking/filter.rst) over
// struct seccomp_data { int nr; __u32 arch; __u64 instruction_pointer; __u64 args[6]; }.

export interface SeccompData {
  nr: number;
  arch: number;
  args?: bigint[];
}

export function runFilter(prog: Uint8Array, d: SeccompData): number {
  const data = new DataView(new ArrayBuffer(64));
  data.setUint32(0, d.nr >>> 0, true);
  data.setUint32(4, d.arch >>> 0, true);
  (d.args ?? []).forEach((a, i) => data.setBigUint64(16 + 8 * i, BigInt.asUintN(64, a), true));
  const p = new DataView(prog.buffer, prog.byteOffset, prog.byteLength);
  const n = prog.length / 8;
  let A = 0;
  let X = 0;
  const M = new Uint32Array(16);
  for (let pc = 0, steps = 0; pc < n; pc++) {
    if (++steps > 100000) throw new Error("BPF program loops");
    const code = p.getUint16(pc * 8, true);
    const jt = p.getUint8(pc * 8 + 2);
    const jf = p.getUint8(pc * 8 + 3);
    const k = p.getUint32(pc * 8 + 4, true);
    const cls = code & 0x07;
    switch (cls) {
      case 0x00: // LD
        if ((code & 0xe0) === 0x20 && (code & 0x18) === 0x00) A = data.getUint32(k, true); // W ABS
        else if ((code & 0xe0) === 0x00) A = k; // IMM
        else if ((code & 0xe0) === 0x60) A = M[k]!; // MEM
        else throw new Error(`LD 0x${code.toString(16)} unsupported`);
        break;
      case 0x01: // LDX
        if ((code & 0xe0) === 0x00) X = k;
        else if ((code & 0xe0) === 0x60) X = M[k]!;
        else throw new Error(`LDX 0x${code.toString(16)} unsupported`);
        break;
      case 0x02: M[k] = A; break; // ST
      case 0x03: M[k] = X; break; // STX
      case 0x04: { // ALU
        const src = code & 0x08 ? X : k;
        switch (code & 0xf0) {
          case 0x00: A = (A + src) >>> 0; break;
          case 0x10: A = (A - src) >>> 0; break;
          case 0x40: A = (A | src) >>> 0; break;
          case 0x50: A = (A & src) >>> 0; break;
          case 0x60: A = (A << src) >>> 0; break;
          case 0x70: A = A >>> src; break;
          case 0x80: A = -A >>> 0; break;
          case 0xa0: A = (A ^ src) >>> 0; break;
          default: throw new Error(`ALU 0x${code.toString(16)} unsupported`);
        }
        break;
      }
      case 0x05: { // JMP
        const op = code & 0xf0;
        if (op === 0x00) { pc += k; break; }
        const src = code & 0x08 ? X : k;
        let c: boolean;
        if (op === 0x10) c = A === src;
        else if (op === 0x20) c = A > src;
        else if (op === 0x30) c = A >= src;
        else if (op === 0x40) c = (A & src) !== 0;
        else throw new Error(`JMP 0x${code.toString(16)} unsupported`);
        pc += c ? jt : jf;
        break;
      }
      case 0x06: return (code & 0x18) === 0x10 ? A : k; // RET A / RET K
      case 0x07: if (code & 0x80) A = X; else X = A; break; // MISC: TXA / TAX
    }
  }
  throw new Error("BPF program ran off its end");
}

/** seccomp action values for readable assertions. */
export const RET = {
  ALLOW: 0x7fff0000,
  LOG: 0x7ffc0000,
  KILL_THREAD: 0,
  KILL_PROCESS: 0x80000000,
  TRAP: 0x00030000,
  NOTIFY: 0x7fc00000,
  errno: (e: number) => 0x00050000 | e,
  trace: (m: number) => (0x7ff00000 | m) >>> 0,
};

export const AUDIT = { X86_64: 0xc000003e, I386: 0x40000003, AARCH64: 0xc00000b7 };
