// The cgroup v2 device program as data: compile OCI rule lists, run the bytes in a tiny eBPF
// interpreter (only the opcodes the compiler emits; anything else fails the test) and compare the
// answers with tables and with a direct model of the list semantics. No root, no kernel.
import { afterEach, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as os from "node:os";
import { posix } from "node:path";
import { BPF_DEVCG_ACC, BPF_DEVCG_DEV, BPF_INSN_SIZE, OP, compileDeviceFilter } from "../../src/cgroups/device-filter.ts";
import { realCgroupFs } from "../../src/cgroups/files.ts";
import type { LinuxDeviceCgroup } from "../../src/cgroups/resources.ts";
import { V2Manager } from "../../src/cgroups/v2.ts";
import { BerthError } from "../../src/sys/errdefs.ts";

type Req = { type: "c" | "b"; major: number; minor: number; access: string };

const accBits = (s: string) =>
  (s.includes("m") ? BPF_DEVCG_ACC.MKNOD : 0) | (s.includes("r") ? BPF_DEVCG_ACC.READ : 0) | (s.includes("w") ? BPF_DEVCG_ACC.WRITE : 0);

/**
 * Run a BPF_PROG_TYPE_CGROUP_DEVICE program on one struct bpf_cgroup_dev_ctx. Registers are
 * 64-bit (BigInt); 32-bit ALU ops zero-extend, JMP32 compares the low halves, as the kernel does.
 */
function run(prog: Uint8Array, req: Req): number {
  const ctx = new DataView(new ArrayBuffer(12));
  const type = req.type === "c" ? BPF_DEVCG_DEV.CHAR : BPF_DEVCG_DEV.BLOCK;
  ctx.setUint32(0, (accBits(req.access) << 16) | type, true);
  ctx.setUint32(4, req.major, true);
  ctx.setUint32(8, req.minor, true);
  const CTX_PTR = 1n << 40n; // a fake address for r1: only LDX from it is allowed
  const p = new DataView(prog.buffer, prog.byteOffset, prog.byteLength);
  const n = prog.byteLength / BPF_INSN_SIZE;
  const reg: (bigint | undefined)[] = new Array(11).fill(undefined);
  reg[1] = CTX_PTR;
  const get = (r: number) => {
    const v = reg[r];
    if (v === undefined) throw new Error(`read of uninitialised r${r}`);
    return v;
  };
  const lo = (v: bigint) => Number(BigInt.asUintN(32, v));
  for (let pc = 0; pc < n; pc++) {
    const at = pc * BPF_INSN_SIZE;
    const code = p.getUint8(at);
    const dst = p.getUint8(at + 1) & 0x0f;
    const src = p.getUint8(at + 1) >> 4;
    const off = p.getInt16(at + 2, true);
    const imm = p.getInt32(at + 4, true);
    const jump = (taken: boolean) => {
      if (!taken) return;
      if (off < 0) throw new Error(`back-edge at ${pc}`);
      pc += off;
    };
    switch (code) {
      case OP.LDX_W: {
        if (get(src) !== CTX_PTR) throw new Error(`load from a non-context pointer at ${pc}`);
        if (off < 0 || off > 8 || off % 4 !== 0) throw new Error(`bad context offset ${off}`);
        reg[dst] = BigInt(ctx.getUint32(off, true));
        break;
      }
      case OP.AND32_K:
        reg[dst] = BigInt((lo(get(dst)) & imm) >>> 0);
        break;
      case OP.RSH32_K:
        reg[dst] = BigInt(lo(get(dst)) >>> imm);
        break;
      case OP.MOV64_K:
        reg[dst] = BigInt.asUintN(64, BigInt(imm));
        break;
      case OP.JA:
        jump(true);
        break;
      case OP.JEQ32_K:
        jump(lo(get(dst)) === imm >>> 0);
        break;
      case OP.JNE32_K:
        jump(lo(get(dst)) !== imm >>> 0);
        break;
      case OP.JSET32_K:
        jump((lo(get(dst)) & imm) !== 0);
        break;
      case OP.EXIT:
        return Number(get(0));
      default:
        throw new Error(`opcode 0x${code.toString(16)} at ${pc} is not one the compiler should emit`);
    }
  }
  throw new Error("fell off the end of the program");
}

/**
 * The verifier's static checks that this program shape can fail (kernel/bpf/verifier.c
 * check_cfg): every jump lands inside the program and goes forward, every instruction is
 * reachable, and the last one is an exit or a jump.
 */
function checkCfg(prog: Uint8Array): void {
  const p = new DataView(prog.buffer, prog.byteOffset, prog.byteLength);
  const n = prog.byteLength / BPF_INSN_SIZE;
  const reached = new Array<boolean>(n).fill(false);
  reached[0] = true;
  for (let pc = 0; pc < n; pc++) {
    if (!reached[pc]) throw new Error(`unreachable insn ${pc}`);
    const code = p.getUint8(pc * BPF_INSN_SIZE);
    const off = p.getInt16(pc * BPF_INSN_SIZE + 2, true);
    if (code === OP.EXIT) continue;
    const isJump = code === OP.JA || code === OP.JEQ32_K || code === OP.JNE32_K || code === OP.JSET32_K;
    if (isJump) {
      const to = pc + 1 + off;
      if (off < 0 || to >= n) throw new Error(`jump out of range at ${pc}`);
      reached[to] = true;
    }
    if (code !== OP.JA) {
      if (pc + 1 >= n) throw new Error("last insn is not an exit or jmp");
      reached[pc + 1] = true;
    }
  }
}

/** The list semantics written directly: per access bit, the last matching rule naming it wins. */
function model(rules: LinuxDeviceCgroup[], req: Req): number {
  let pending = accBits(req.access);
  for (let i = rules.length - 1; i >= 0 && pending !== 0; i--) {
    const r = rules[i]!;
    const t = r.type ?? "a";
    if (t !== "a" && t !== req.type) continue;
    if (r.major != null && r.major !== req.major) continue;
    if (r.minor != null && r.minor !== req.minor) continue;
    const bits = accBits(r.access || "rwm");
    if (!r.allow && (pending & bits) !== 0) return 0;
    if (r.allow) pending &= ~bits;
  }
  return 1;
}

const deny = (rest: Partial<LinuxDeviceCgroup> = {}): LinuxDeviceCgroup => ({ allow: false, access: "rwm", ...rest });
const allow = (rest: Partial<LinuxDeviceCgroup> = {}): LinuxDeviceCgroup => ({ allow: true, access: "rwm", ...rest });

/** The device part of runc's / Docker's default spec. */
const OCI_DEFAULT: LinuxDeviceCgroup[] = [
  deny(),
  allow({ type: "c", major: null, minor: null, access: "m" }),
  allow({ type: "b", major: null, minor: null, access: "m" }),
  allow({ type: "c", major: 1, minor: 3 }), // null
  allow({ type: "c", major: 1, minor: 8 }), // random
  allow({ type: "c", major: 1, minor: 7 }), // full
  allow({ type: "c", major: 5, minor: 0 }), // tty
  allow({ type: "c", major: 1, minor: 5 }), // zero
  allow({ type: "c", major: 1, minor: 9 }), // urandom
  allow({ type: "c", major: 136, minor: null }), // /dev/pts/*
  allow({ type: "c", major: 5, minor: 2 }), // ptmx
  deny({ type: "c", major: 10, minor: 200 }), // tun, explicitly denied again
];

type Row = [type: "c" | "b", major: number, minor: number, access: string, expected: 0 | 1];

const TABLES: { name: string; rules: LinuxDeviceCgroup[]; rows: Row[] }[] = [
  {
    name: "no rules: everything allowed (a v1 root cgroup)",
    rules: [],
    rows: [["c", 1, 3, "rwm", 1], ["b", 8, 0, "rw", 1], ["c", 4095, 1048575, "m", 1]],
  },
  {
    name: "OCI default list",
    rules: OCI_DEFAULT,
    rows: [
      ["c", 1, 3, "r", 1], ["c", 1, 3, "w", 1], ["c", 1, 3, "rw", 1], ["c", 1, 3, "m", 1],
      ["c", 1, 5, "rw", 1], ["c", 1, 9, "r", 1], ["c", 5, 2, "rw", 1],
      ["c", 136, 0, "rw", 1], ["c", 136, 4242, "rw", 1],
      ["c", 1, 1, "r", 0], ["c", 1, 1, "m", 1], ["c", 1, 1, "rm", 0], // /dev/mem: mknod only
      ["b", 8, 0, "r", 0], ["b", 8, 0, "w", 0], ["b", 8, 0, "m", 1],
      ["c", 10, 200, "rw", 0], ["c", 10, 200, "m", 0], // tun: the later deny wins over "c *:* m"
      ["c", 137, 0, "r", 0], ["c", 4, 1, "rw", 0],
    ],
  },
  {
    name: "deny all, allow c 1:3 rw (the integration test's list)",
    rules: [deny({ type: "a" }), allow({ type: "c", major: 1, minor: 3, access: "rw" })],
    rows: [
      ["c", 1, 3, "r", 1], ["c", 1, 3, "rw", 1], ["c", 1, 3, "m", 0], ["c", 1, 3, "rm", 0],
      ["c", 1, 5, "r", 0], ["b", 1, 3, "r", 0], ["c", 3, 1, "r", 0],
    ],
  },
  {
    name: "later rules override earlier ones, per access bit",
    rules: [
      allow({ type: "c", major: 1, minor: null }), // c 1:* rwm
      deny({ type: "c", major: 1, minor: 3, access: "w" }), // c 1:3 read-only
      deny({ type: "c", major: null, minor: 7 }), // any char minor 7
      allow({ type: "c", major: 1, minor: 7, access: "r" }), // but 1:7 readable
    ],
    rows: [
      ["c", 1, 3, "r", 1], ["c", 1, 3, "w", 0], ["c", 1, 3, "rw", 0], ["c", 1, 3, "m", 1],
      ["c", 1, 7, "r", 1], ["c", 1, 7, "w", 0], ["c", 1, 7, "rw", 0], ["c", 2, 7, "r", 0],
      ["b", 2, 7, "r", 1], // default allow: no rule names block devices
      ["c", 1, 4, "rwm", 1],
    ],
  },
  {
    name: "an earlier allow does not survive a later deny-all",
    rules: [allow({ type: "c", major: 1, minor: 3 }), deny()],
    rows: [["c", 1, 3, "r", 0], ["b", 1, 3, "m", 0]],
  },
  {
    name: "allow-all after a deny-all restores everything",
    rules: [deny(), allow({ type: "a" })],
    rows: [["c", 1, 3, "rwm", 1], ["b", 7, 0, "w", 1]],
  },
  {
    name: "partial-access deny-all: reads stay allowed",
    rules: [deny({ access: "wm" })],
    rows: [["c", 1, 3, "r", 1], ["c", 1, 3, "rw", 0], ["b", 8, 0, "m", 0]],
  },
  {
    name: "block rules do not touch char devices of the same numbers",
    rules: [deny(), allow({ type: "b", major: 8, minor: null, access: "r" })],
    rows: [["b", 8, 0, "r", 1], ["b", 8, 16, "r", 1], ["b", 8, 0, "w", 0], ["c", 8, 0, "r", 0]],
  },
  {
    name: "empty access means rwm",
    rules: [deny(), allow({ type: "c", major: 1, minor: 3, access: "" })],
    rows: [["c", 1, 3, "rwm", 1]],
  },
  {
    name: "major/minor above 2^31 compare as unsigned 32-bit",
    rules: [deny(), allow({ type: "c", major: 0xfffffff0, minor: 0x80000001 })],
    rows: [["c", 0xfffffff0, 0x80000001, "r", 1], ["c", 0xfffffff0, 1, "r", 0]],
  },
];

describe("device filter compiler", () => {
  for (const t of TABLES) {
    test(t.name, () => {
      const prog = compileDeviceFilter(t.rules);
      checkCfg(prog);
      for (const [type, major, minor, access, expected] of t.rows) {
        const req = { type, major, minor, access };
        expect({ req, got: run(prog, req) }).toEqual({ req, got: expected });
        expect({ req, model: model(t.rules, req) }).toEqual({ req, model: expected });
      }
    });
  }

  test("program layout: prologue, one block per live rule, allow/deny epilogue", () => {
    // 6 prologue + 2 allow exit (+ 2 deny exit when a deny rule exists); "deny all" is a
    // catch-all, so it is 1 insn and nothing before it is emitted.
    expect(compileDeviceFilter([]).byteLength / BPF_INSN_SIZE).toBe(8);
    expect(compileDeviceFilter([allow({ type: "c", major: 1, minor: 3 })]).byteLength / BPF_INSN_SIZE).toBe(13);
    expect(compileDeviceFilter([deny()]).byteLength / BPF_INSN_SIZE).toBe(11);
    // c 1:3 rw allow: 3 compares + AND + JEQ.
    expect(compileDeviceFilter([deny(), allow({ type: "c", major: 1, minor: 3, access: "rw" })]).byteLength / BPF_INSN_SIZE).toBe(16);
    // Rules before a catch-all are dead code and not emitted.
    const withDead = compileDeviceFilter([allow({ type: "c", major: 1, minor: 3 }), allow({ type: "b", major: 8, minor: 0 }), deny()]);
    expect(withDead).toEqual(compileDeviceFilter([deny()]));
  });

  test("matches the model on random rule lists and requests", () => {
    let seed = 42;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const pick = <T>(xs: readonly T[]) => xs[rnd(xs.length)] as T;
    const accesses = ["r", "w", "m", "rw", "rm", "wm", "rwm"];
    for (let round = 0; round < 300; round++) {
      const rules: LinuxDeviceCgroup[] = [];
      for (let i = rnd(7); i > 0; i--) {
        rules.push({
          allow: rnd(2) === 0,
          type: pick(["a", "c", "b", undefined]),
          major: pick([null, undefined, 1, 2, 136]),
          minor: pick([null, 3, 5, 0]),
          access: pick([...accesses, ""]),
        });
      }
      const prog = compileDeviceFilter(rules);
      checkCfg(prog);
      for (let q = 0; q < 20; q++) {
        const req: Req = { type: pick(["c", "b"] as const), major: pick([1, 2, 136, 7]), minor: pick([3, 5, 0, 9]), access: pick(accesses) };
        const got = run(prog, req);
        if (got !== model(rules, req)) throw new Error(`mismatch for ${JSON.stringify(rules)} on ${JSON.stringify(req)}`);
      }
    }
  });
});

describe("v2 driver device wiring (recorded, no kernel)", () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });
  function manager(setDevices: (dir: string, insns: Uint8Array) => void): { m: V2Manager; dir: string } {
    const root = fs.mkdtempSync(posix.join(os.tmpdir(), "berth-devfake-"));
    dirs.push(root);
    const m = V2Manager.resolve(
      "v2",
      { fsType: "cgroup2", mountPoint: root, root: "/", controllers: [] },
      { v1: new Map() },
      { path: "c1", absolute: true },
      realCgroupFs,
      setDevices,
    );
    return { m, dir: posix.join(root, "c1") };
  }

  test("create and update attach the compiled program; no rules, no program", () => {
    const calls: [string, Uint8Array][] = [];
    const { m, dir } = manager((d, p) => calls.push([d, p]));
    const rules = [deny(), allow({ type: "c", major: 1, minor: 3, access: "rw" })];
    m.create({ devices: rules });
    expect(calls).toEqual([[dir, compileDeviceFilter(rules)]]);
    m.update({ pids: undefined });
    expect(calls.length).toBe(1);
    const more = [...rules, allow({ type: "c", major: 1, minor: 5, access: "rw" })];
    m.update({ devices: more });
    expect(calls[1]).toEqual([dir, compileDeviceFilter(more)]);
    expect(m.warnings).toEqual([]);
  });

  test("a refused BPF load fails create for restricting rules and removes the cgroup", () => {
    const refuse = () => {
      throw new BerthError("PermissionDenied", "cannot set linux.resources.devices: bpf(BPF_PROG_LOAD) failed: EPERM", "linux.resources.devices");
    };
    const { m, dir } = manager(refuse);
    let err: unknown;
    try {
      m.create({ devices: [deny(), allow({ type: "c", major: 1, minor: 3 })] });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BerthError);
    expect((err as BerthError).field).toBe("linux.resources.devices");
    expect(fs.existsSync(dir)).toBe(false);

    // Rules that allow everything lose nothing when not enforced: a warning, not a failure.
    const { m: m2 } = manager(refuse);
    m2.create({ devices: [allow()] });
    expect(m2.warnings.length).toBe(1);
    expect(m2.warnings[0]).toContain("linux.resources.devices not enforced");
  });

  test("invalid rules are refused before anything is compiled", () => {
    const calls: string[] = [];
    const { m } = manager((d) => calls.push(d));
    expect(() => m.create({ devices: [{ allow: true, access: "rwx" }] })).toThrow(/devices\[0\]\.access/);
    expect(calls).toEqual([]);
  });
});
