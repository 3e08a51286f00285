// OCI `linux.seccomp` (config-linux.md "Seccomp") → a classic-BPF program, compiled with
// libseccomp in the runtime and loaded by berth-init with seccomp(SECCOMP_SET_MODE_FILTER,
// flags, prog) just before execve. The whole config is validated in TypeScript first (every
// error names its field); libseccomp is opened only after that, and only when a config has
// seccomp. Behaviour follows runc where the spec leaves room (noted inline).

import type { Seccomp } from "../runtime/spec/types.ts";
import { BerthError, invalidArgument } from "../sys/errdefs.ts";
import { ARCHES, archName } from "./arch.ts";
import { enosysStub, type ArchMax } from "./enosys-stub.ts";
import {
  apiLevel,
  LibseccompError,
  nativeArch,
  NR_SCMP_ERROR,
  resolveSyscall,
  SCMP_ACT,
  SCMP_CMP,
  SCMP_FLTATR,
  SeccompFilter,
  type ArgCmp,
} from "./libseccomp.ts";

export interface CompiledSeccomp {
  /** `struct sock_filter[]` in host byte order: what SECCOMP_SET_MODE_FILTER takes. */
  bpf: Uint8Array;
  /** SECCOMP_FILTER_FLAG_* for the seccomp(2) call (includes NEW_LISTENER when `notify`). */
  flags: number;
  /** Where to send the listener fd (seccomp-notify), from linux.seccomp.listenerPath. */
  listenerPath?: string;
  /** Some rule uses SCMP_ACT_NOTIFY: seccomp(2) returns a listener fd to hand over. */
  notify: boolean;
  /** Syscall names no architecture knows (skipped, like runc does). */
  unknownSyscalls: string[];
}

/** SECCOMP_FILTER_FLAG_* (include/uapi/linux/seccomp.h). */
export const FILTER_FLAG = {
  TSYNC: 1,
  LOG: 2,
  SPEC_ALLOW: 4,
  NEW_LISTENER: 8,
  TSYNC_ESRCH: 16,
  WAIT_KILLABLE_RECV: 32,
} as const;

const SPEC_FLAGS: Readonly<Record<string, number>> = {
  SECCOMP_FILTER_FLAG_TSYNC: FILTER_FLAG.TSYNC,
  SECCOMP_FILTER_FLAG_LOG: FILTER_FLAG.LOG,
  SECCOMP_FILTER_FLAG_SPEC_ALLOW: FILTER_FLAG.SPEC_ALLOW,
  SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV: FILTER_FLAG.WAIT_KILLABLE_RECV,
};

/** Syscalls the runtime makes after loading a notify filter and before the agent has its fd. */
const NOTIFY_HANDOVER = ["write", "sendmsg"];

export const KNOWN_ACTIONS = [
  "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP", "SCMP_ACT_ERRNO",
  "SCMP_ACT_TRACE", "SCMP_ACT_ALLOW", "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY",
] as const;
export const KNOWN_OPERATORS = Object.keys(SCMP_CMP).map((k) => `SCMP_CMP_${k}`);
export const KNOWN_ARCHES = Object.keys(ARCHES);
export const KNOWN_FLAGS = Object.keys(SPEC_FLAGS);

const EPERM = 1;
const ENOSYS = 38;
const BPF_MAXINSNS = 4096; // kernel limit on a classic BPF program (include/uapi/linux/bpf_common.h)
const MAX_ARGS = 6; // a syscall has at most 6 arguments (seccomp_data.args[6])

interface Rule {
  index: number;
  names: string[];
  action: number;
  notify: boolean;
  args: (ArgCmp & { field: string })[];
}

/**
 * Compiles `s` (at config field `field`, "linux.seccomp" by default). Throws BerthError
 * (InvalidArgument for a bad config, FailedPrecondition when libseccomp or the kernel lacks
 * something the config asks for) with the offending field.
 */
export function compileSeccomp(s: Seccomp, field = "linux.seccomp"): CompiledSeccomp {
  // ---- validate everything before touching libseccomp -------------------------------------
  if (typeof s !== "object" || s === null) throw invalidArgument(`${field} must be an object`, field);
  const defaultAction = parseAction(s.defaultAction, s.defaultErrnoRet, `${field}.defaultAction`, `${field}.defaultErrnoRet`);
  if (defaultAction.notify) {
    // The default action covers write(2) too, and the process would block on its own listener
    // before the listener fd reaches anyone (runc refuses it for the same reason).
    throw invalidArgument(`${field}.defaultAction: SCMP_ACT_NOTIFY cannot be the default action`, `${field}.defaultAction`);
  }

  const archTokens: number[] = [];
  (s.architectures ?? []).forEach((name, i) => {
    const info = ARCHES[name];
    const f = `${field}.architectures[${i}]`;
    if (!info) throw invalidArgument(`${f}: unknown architecture ${JSON.stringify(name)} (known: ${KNOWN_ARCHES.join(", ")})`, f);
    archTokens.push(info.token);
  });

  let flags = 0;
  const flagFields: { bit: number; name: string; field: string }[] = [];
  (s.flags ?? []).forEach((name, i) => {
    const bit = SPEC_FLAGS[name];
    const f = `${field}.flags[${i}]`;
    if (bit === undefined) throw invalidArgument(`${f}: unknown seccomp flag ${JSON.stringify(name)} (known: ${KNOWN_FLAGS.join(", ")})`, f);
    flags |= bit;
    flagFields.push({ bit, name, field: f });
  });

  const rules: Rule[] = [];
  (s.syscalls ?? []).forEach((sc, i) => {
    const f = `${field}.syscalls[${i}]`;
    if (typeof sc !== "object" || sc === null) throw invalidArgument(`${f} must be an object`, f);
    if (!Array.isArray(sc.names) || sc.names.length === 0) throw invalidArgument(`${f}.names must be a non-empty list of syscall names`, `${f}.names`);
    sc.names.forEach((n, j) => {
      if (typeof n !== "string" || n === "") throw invalidArgument(`${f}.names[${j}] must be a syscall name`, `${f}.names[${j}]`);
    });
    const act = parseAction(sc.action, sc.errnoRet, `${f}.action`, `${f}.errnoRet`);
    const handover = act.notify ? sc.names.find((n) => NOTIFY_HANDOVER.includes(n)) : undefined;
    if (handover) {
      // Between loading the filter and handing the listener fd to the agent the process must not
      // make a syscall that waits for the agent: berth-init's one is sendmsg; runc refuses write.
      throw invalidArgument(`${f}: SCMP_ACT_NOTIFY cannot be used for the ${handover} syscall (it hands the listener fd to the agent)`, `${f}.names`);
    }
    const args = (sc.args ?? []).map((arg, j) => parseArg(arg, `${f}.args[${j}]`));
    rules.push({ index: i, names: sc.names, action: act.value, notify: act.notify, args });
  });

  const notify = rules.some((r) => r.notify);
  if (notify && !s.listenerPath) {
    throw invalidArgument(`${field}.listenerPath is required when a rule uses SCMP_ACT_NOTIFY`, `${field}.listenerPath`);
  }
  if (flags & FILTER_FLAG.WAIT_KILLABLE_RECV && !notify) {
    // seccomp(2): WAIT_KILLABLE_RECV without NEW_LISTENER is EINVAL.
    const f = flagFields.find((x) => x.bit === FILTER_FLAG.WAIT_KILLABLE_RECV)!.field;
    throw invalidArgument(`${f}: SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV needs a rule with SCMP_ACT_NOTIFY`, f);
  }

  // ---- build with libseccomp -----------------------------------------------------------------
  const api = apiLevel();
  if (notify && api < 5) {
    throw new BerthError("FailedPrecondition", `${field}: SCMP_ACT_NOTIFY needs libseccomp ≥ 2.5 and Linux ≥ 5.0 (API level ${api})`, field);
  }
  if (s.flags === undefined && api >= 4) {
    // Absent (not empty) flags: runc enables SPEC_ALLOW (no forced speculative-store-bypass
    // mitigation, which costs performance); berth matches it so containers behave the same.
    flags |= FILTER_FLAG.SPEC_ALLOW;
  }
  if (notify) flags |= FILTER_FLAG.NEW_LISTENER;
  // seccomp(2): TSYNC and NEW_LISTENER are mutually exclusive unless TSYNC_ESRCH (Linux 5.7).
  if (notify && flags & FILTER_FLAG.TSYNC) flags |= FILTER_FLAG.TSYNC_ESRCH;

  const native = nativeArch();
  const filter = new SeccompFilter(defaultAction.value);
  const unknown = new Set<string>();
  let program: Uint8Array;
  try {
    // libseccomp would set no_new_privs itself on seccomp_load(3); berth-init does that only
    // when process.noNewPrivileges asks, and the filter is exported, not loaded, anyway.
    filter.setAttr(SCMP_FLTATR.CTL_NNP, 0);
    // Return the kernel's errno from failing calls instead of libseccomp's generic -ECANCELED.
    tryAttr(filter, SCMP_FLTATR.API_SYSRAWRC, 1);
    // The flag attributes matter only to seccomp_load(3), but setting them makes libseccomp check
    // that this kernel supports each flag, so an unsupported one fails here, naming its field.
    for (const { bit, name, field: f } of flagFields) {
      const attr = bit === FILTER_FLAG.LOG ? SCMP_FLTATR.CTL_LOG : bit === FILTER_FLAG.SPEC_ALLOW ? SCMP_FLTATR.CTL_SSB : bit === FILTER_FLAG.TSYNC ? SCMP_FLTATR.CTL_TSYNC : 0;
      if (attr === 0) continue; // WAIT_KILLABLE_RECV has no attribute in libseccomp 2.5
      try {
        filter.setAttr(attr, 1);
      } catch (e) {
        throw unsupported(e, `${f}: this kernel or libseccomp does not support ${name}`, f);
      }
    }
    // Binary-tree dispatch for long profiles (seccomp_attr_set(3), SCMP_FLTATR_CTL_OPTIMIZE):
    // with hundreds of syscalls a linear chain costs every syscall dozens of jumps. Not for tiny
    // profiles: libseccomp ≤ 2.5.4 builds a broken tree for an empty rule set (runc notes it too).
    if (rules.reduce((n, r) => n + r.names.length, 0) > 32) tryAttr(filter, SCMP_FLTATR.CTL_OPTIMIZE, 2);

    archTokens.forEach((t, i) => {
      try {
        filter.addArch(t);
      } catch (e) {
        const f = `${field}.architectures[${i}]`;
        throw unsupported(e, `${f}: libseccomp on this host cannot filter ${archName(t)}`, f);
      }
    });

    for (const r of rules) {
      // A rule whose action equals the default changes nothing, and libseccomp refuses it
      // (-EACCES, seccomp_rule_add(3)): skip it, as runc does.
      if (r.action === defaultAction.value) continue;
      // A second unconditional rule for a syscall that already has one is accepted by libseccomp
      // and ignored: the first rule wins, as it does under runc.
      for (const name of r.names) {
        const nr = resolveSyscall(name);
        // Unknown to every architecture libseccomp knows: this host cannot run it either.
        // Names of other architectures resolve to negative pseudo-numbers that libseccomp
        // translates per architecture, so they are kept.
        if (nr === NR_SCMP_ERROR) {
          unknown.add(name);
          continue;
        }
        addRules(filter, r, nr, name, `${field}.syscalls[${r.index}]`);
      }
    }
    program = filter.exportBpf();
  } finally {
    filter.release();
  }

  const le = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
  if (needsEnosysStub(s)) {
    const tokens = [...new Set([native, ...archTokens])];
    const allNames = [...new Set(rules.flatMap((r) => r.names))];
    const maxes: ArchMax[] = tokens.map((token) => {
      let max = 0;
      for (const name of allNames) {
        const nr = resolveSyscall(name, token);
        if (nr > max) max = nr;
      }
      return { token, max };
    });
    const stub = enosysStub(maxes, le);
    const joined = new Uint8Array(stub.length + program.length);
    joined.set(stub, 0);
    joined.set(program, stub.length);
    program = joined;
  }
  if (program.length % 8 !== 0) throw new BerthError("Internal", `${field}: libseccomp exported ${program.length} bytes, not whole instructions`, field);
  if (program.length / 8 > BPF_MAXINSNS) {
    throw invalidArgument(`${field}: the compiled filter has ${program.length / 8} instructions, above the kernel's limit of ${BPF_MAXINSNS}; shorten the profile`, field);
  }

  const out: CompiledSeccomp = { bpf: program, flags, notify, unknownSyscalls: [...unknown] };
  if (s.listenerPath) out.listenerPath = s.listenerPath;
  return out;
}

/**
 * The -ENOSYS prologue (see enosys-stub.ts) is added when the default action refuses: for
 * SCMP_ACT_ERRNO (unless its errno already is ENOSYS), and, like runc, for the kill and trap
 * actions too. Permissive defaults (ALLOW, LOG, and TRACE, whose tracer should handle unknown
 * syscalls itself) get none.
 */
function needsEnosysStub(s: Seccomp): boolean {
  switch (s.defaultAction) {
    case "SCMP_ACT_ALLOW":
    case "SCMP_ACT_LOG":
    case "SCMP_ACT_TRACE":
      return false;
    case "SCMP_ACT_ERRNO":
      return (s.defaultErrnoRet ?? EPERM) !== ENOSYS;
    default:
      return true;
  }
}

/**
 * seccomp_rule_add(3): "comparisons … on the same argument" in one rule are rejected by
 * libseccomp (-EINVAL) — it cannot AND two tests of one argument. runc then adds each
 * comparison as its own rule (which ORs them); berth does the same so profiles behave alike.
 * Otherwise all comparisons go into one rule, ANDed.
 */
function addRules(filter: SeccompFilter, r: Rule, nr: number, name: string, f: string): void {
  const perIndex = new Array<number>(MAX_ARGS).fill(0);
  for (const a of r.args) perIndex[a.arg]!++;
  const groups = perIndex.some((c) => c > 1) ? r.args.map((a) => [a]) : [r.args];
  for (const g of groups) {
    try {
      filter.addRule(r.action, nr, g);
    } catch (e) {
      if (e instanceof LibseccompError) {
        const why = e.rc === -17 ? "conflicts with an earlier rule for it" : e.rc === -95 ? "is not supported by this libseccomp or kernel" : `was refused (errno ${-e.rc})`;
        throw invalidArgument(`${f}: the rule for syscall ${name} ${why}`, f);
      }
      throw e;
    }
  }
}

interface Action {
  value: number;
  notify: boolean;
}

function parseAction(name: unknown, errnoRet: unknown, f: string, errnoField: string): Action {
  const ret = (): number => {
    if (errnoRet === undefined || errnoRet === null) return EPERM;
    // SCMP_ACT_ERRNO keeps 16 bits (seccomp(2): SECCOMP_RET_DATA).
    if (typeof errnoRet !== "number" || !Number.isInteger(errnoRet) || errnoRet < 0 || errnoRet > 0xffff) {
      throw invalidArgument(`${errnoField} must be an integer from 0 to 65535, not ${JSON.stringify(errnoRet)}`, errnoField);
    }
    return errnoRet;
  };
  switch (name) {
    // SCMP_ACT_KILL is KILL_THREAD in seccomp.h and in runc.
    case "SCMP_ACT_KILL":
    case "SCMP_ACT_KILL_THREAD":
      return { value: SCMP_ACT.KILL_THREAD, notify: false };
    case "SCMP_ACT_KILL_PROCESS":
      return { value: SCMP_ACT.KILL_PROCESS, notify: false };
    case "SCMP_ACT_TRAP":
      return { value: SCMP_ACT.TRAP, notify: false };
    case "SCMP_ACT_ERRNO":
      return { value: SCMP_ACT.errno(ret()), notify: false };
    case "SCMP_ACT_TRACE":
      // The 16 bits reach the tracer as the PTRACE_EVENT_SECCOMP message.
      return { value: SCMP_ACT.trace(ret()), notify: false };
    case "SCMP_ACT_ALLOW":
      return { value: SCMP_ACT.ALLOW, notify: false };
    case "SCMP_ACT_LOG":
      return { value: SCMP_ACT.LOG, notify: false };
    case "SCMP_ACT_NOTIFY":
      return { value: SCMP_ACT.NOTIFY, notify: true };
    default:
      throw invalidArgument(`${f}: unknown seccomp action ${JSON.stringify(name)} (known: ${KNOWN_ACTIONS.join(", ")})`, f);
  }
}

const U64_MAX = (1n << 64n) - 1n;

function parseArg(arg: unknown, f: string): ArgCmp & { field: string } {
  if (typeof arg !== "object" || arg === null) throw invalidArgument(`${f} must be an object`, f);
  const a = arg as { index?: unknown; value?: unknown; valueTwo?: unknown; op?: unknown };
  if (typeof a.index !== "number" || !Number.isInteger(a.index) || a.index < 0 || a.index >= MAX_ARGS) {
    throw invalidArgument(`${f}.index must be an integer from 0 to 5, not ${JSON.stringify(a.index)}`, `${f}.index`);
  }
  const op = typeof a.op === "string" && a.op.startsWith("SCMP_CMP_") ? SCMP_CMP[a.op.slice(9) as keyof typeof SCMP_CMP] : undefined;
  if (op === undefined) throw invalidArgument(`${f}.op: unknown operator ${JSON.stringify(a.op)} (known: ${KNOWN_OPERATORS.join(", ")})`, `${f}.op`);
  // For SCMP_CMP_MASKED_EQ `value` is the mask and `valueTwo` the expected result
  // (SCMP_CMP(arg, SCMP_CMP_MASKED_EQ, mask, datum) in seccomp_rule_add(3)); both are u64.
  return { arg: a.index, op, datumA: u64(a.value, `${f}.value`, false), datumB: u64(a.valueTwo, `${f}.valueTwo`, true), field: f };
}

function u64(v: unknown, f: string, optional: boolean): bigint {
  if ((v === undefined || v === null) && optional) return 0n;
  if (typeof v === "bigint" && v >= 0n && v <= U64_MAX) return v;
  if (typeof v === "number" && Number.isInteger(v) && v >= 0) {
    // JSON numbers above 2^53 arrive rounded; 2^64-1 (a common "all bits" value) rounds up to
    // exactly 2^64, which is taken to mean it.
    if (v === 2 ** 64) return U64_MAX;
    if (v < 2 ** 64) return BigInt(v);
  }
  throw invalidArgument(`${f} must be an unsigned 64-bit integer, not ${JSON.stringify(typeof v === "bigint" ? v.toString() : v)}`, f);
}

function tryAttr(filter: SeccompFilter, attr: number, value: number): void {
  try {
    filter.setAttr(attr, value);
  } catch {
    // Optional behaviour an older libseccomp lacks; the program is still correct without it.
  }
}

function unsupported(e: unknown, msg: string, f: string): BerthError {
  if (e instanceof LibseccompError) return new BerthError("FailedPrecondition", `${msg} (${e.call}: ${e.rc})`, f);
  return e instanceof BerthError ? e : new BerthError("Internal", String(e), f, { cause: e });
}
