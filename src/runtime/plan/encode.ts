// The binary plan berth-init reads (layout documented in native/berth-init.c):
//   "BRTHPLN1" | u32 version (hash of the op table) | u32 flags (1 = explain) | u32 op count | ops…
//   op: u32 code | u32 payload length | args…;  arg: u32 length | bytes
// Strings carry their NUL; integers are 8 bytes little-endian; a string list is a u64 count
// followed by the strings.
import { OP, PLAN_MAGIC, planVersion, type OpDef, type OpName } from "./ops.ts";

export type ArgValue = string | number | bigint | Uint8Array | readonly string[];

/** One step of the plan, with what a person needs when it fails or is explained. */
export interface PlanStep {
  readonly op: OpDef;
  readonly args: readonly ArgValue[];
  /** The step as a reader of the seed articles would write it: `mount("proc", "/proc", "proc")`. */
  readonly describe: string;
  /** The config.json field this step comes from, named in errors: "mounts[2]", "hostname". */
  readonly field?: string;
}

export function step(name: OpName, args: readonly ArgValue[], describe: string, field?: string): PlanStep {
  const op = OP[name];
  if (args.length !== op.args.length) throw new Error(`plan op ${name} takes ${op.args.length} args, got ${args.length}`);
  return field === undefined ? { op, args, describe } : { op, args, describe, field };
}

const enc = new TextEncoder();

/**
 * Encoded straight into one growing buffer: this runs once per container in a cold engine (no
 * JIT yet), where an allocation per field cost more than a millisecond on a typical plan.
 */
export function encodePlan(steps: readonly PlanStep[], opts: { explain?: boolean } = {}): Uint8Array {
  let buf = new Uint8Array(4096);
  let dv = new DataView(buf.buffer);
  let off = 0;
  const room = (n: number) => {
    if (off + n <= buf.length) return;
    let size = buf.length * 2;
    while (size < off + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(buf.subarray(0, off));
    buf = next;
    dv = new DataView(buf.buffer);
  };
  const u32 = (n: number) => {
    room(4);
    dv.setUint32(off, n, true);
    off += 4;
  };
  const u64 = (n: number | bigint) => {
    room(8);
    if (typeof n === "number" && Number.isSafeInteger(n) && n >= 0) {
      dv.setUint32(off, n % 0x100000000, true);
      dv.setUint32(off + 4, Math.floor(n / 0x100000000), true);
    } else {
      dv.setBigUint64(off, BigInt.asUintN(64, BigInt(n)), true);
    }
    off += 8;
  };
  /** A string with its NUL, as one arg: u32 length, then the bytes. */
  const strArg = (s: string) => {
    room(4 + s.length * 3 + 1);
    const { written } = enc.encodeInto(s, buf.subarray(off + 4));
    buf[off + 4 + written] = 0;
    dv.setUint32(off, written + 1, true);
    off += 4 + written + 1;
  };
  const bytesArg = (b: Uint8Array) => {
    room(4 + b.length);
    dv.setUint32(off, b.length, true);
    buf.set(b, off + 4);
    off += 4 + b.length;
  };

  const magic = enc.encode(PLAN_MAGIC);
  room(magic.length);
  buf.set(magic, off);
  off += magic.length;
  u32(planVersion());
  u32(opts.explain ? 1 : 0);
  u32(steps.length);
  for (const s of steps) {
    u32(s.op.code);
    const lenAt = off;
    u32(0); // the payload's length, filled in below
    s.op.args.forEach(([name, kind], i) => {
      const v = s.args[i];
      switch (kind) {
        case "str":
          if (typeof v !== "string") throw new Error(`plan op ${s.op.name}.${name}: string expected`);
          if (v.includes("\0")) throw new Error(`plan op ${s.op.name}.${name}: NUL inside string`);
          strArg(v);
          break;
        case "u64":
          if (typeof v !== "number" && typeof v !== "bigint") throw new Error(`plan op ${s.op.name}.${name}: integer expected`);
          u32(8);
          u64(v);
          break;
        case "bytes":
          if (!(v instanceof Uint8Array)) throw new Error(`plan op ${s.op.name}.${name}: bytes expected`);
          bytesArg(v);
          break;
        case "strs":
          if (!Array.isArray(v)) throw new Error(`plan op ${s.op.name}.${name}: string list expected`);
          u32(8);
          u64(v.length);
          for (const x of v as string[]) {
            if (x.includes("\0")) throw new Error(`plan op ${s.op.name}.${name}: NUL inside string`);
            strArg(x);
          }
          break;
      }
    });
    dv.setUint32(lenAt, off - lenAt - 4, true);
  }
  return buf.slice(0, off);
}
