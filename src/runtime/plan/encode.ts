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

export function encodePlan(steps: readonly PlanStep[], opts: { explain?: boolean } = {}): Uint8Array {
  const parts: Uint8Array[] = [];
  let total = 0;
  const push = (b: Uint8Array) => {
    parts.push(b);
    total += b.length;
  };
  const u32 = (n: number) => {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, n, true);
    return b;
  };
  const u64 = (n: number | bigint) => {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, BigInt.asUintN(64, BigInt(n)), true);
    return b;
  };
  const str = (s: string) => enc.encode(s + "\0");
  const arg = (b: Uint8Array, out: Uint8Array[]) => {
    out.push(u32(b.length), b);
  };

  push(enc.encode(PLAN_MAGIC));
  push(u32(planVersion()));
  push(u32(opts.explain ? 1 : 0));
  push(u32(steps.length));
  for (const s of steps) {
    const out: Uint8Array[] = [];
    s.op.args.forEach(([name, kind], i) => {
      const v = s.args[i];
      switch (kind) {
        case "str":
          if (typeof v !== "string") throw new Error(`plan op ${s.op.name}.${name}: string expected`);
          if (v.includes("\0")) throw new Error(`plan op ${s.op.name}.${name}: NUL inside string`);
          arg(str(v), out);
          break;
        case "u64":
          if (typeof v !== "number" && typeof v !== "bigint") throw new Error(`plan op ${s.op.name}.${name}: integer expected`);
          arg(u64(v), out);
          break;
        case "bytes":
          if (!(v instanceof Uint8Array)) throw new Error(`plan op ${s.op.name}.${name}: bytes expected`);
          arg(v, out);
          break;
        case "strs":
          if (!Array.isArray(v)) throw new Error(`plan op ${s.op.name}.${name}: string list expected`);
          arg(u64(v.length), out);
          for (const x of v as string[]) {
            if (x.includes("\0")) throw new Error(`plan op ${s.op.name}.${name}: NUL inside string`);
            arg(str(x), out);
          }
          break;
      }
    });
    const len = out.reduce((a, b) => a + b.length, 0);
    push(u32(s.op.code));
    push(u32(len));
    for (const b of out) push(b);
  }
  const plan = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    plan.set(p, off);
    off += p.length;
  }
  return plan;
}
