// The sandbox's seccomp profiles, made from Docker's default (src/seccomp/default-profile.ts) for a
// process without capabilities, and the map back from a notified syscall number to its name.
//
//   default  Docker's profile without ptrace and process_vm_readv/writev (a judged program has no
//            business inspecting another process, even its own child): refused calls fail EPERM.
//   strict   default, and the calls below are SCMP_ACT_NOTIFY: the guard (native/
//            berth-sandbox-guard.c) reports the syscall and kills the caller before it runs, and the
//            run ends with status "seccomp" naming it. The kernel tells the agent which syscall it
//            was (struct seccomp_notif), so the name never depends on reading the kernel log.
import { defaultSeccomp } from "../seccomp/default-profile.ts";
import { nativeArch, resolveSyscall } from "../seccomp/libseccomp.ts";
import { ARCHES, X32_SYSCALL_BIT, type ArchInfo } from "../seccomp/arch.ts";
import type { Seccomp } from "../runtime/spec/types.ts";

/** Denied under "default" (EPERM); also in STRICT_KILL. */
const NO_TRACING = ["ptrace", "process_vm_readv", "process_vm_writev"];

/**
 * Syscalls that only matter for leaving or changing the sandbox, the kernel or the machine, or are
 * classic exploit aids: strict ends the run on the first attempt. Everything else keeps
 * Docker's rules (allowed, or EPERM), so programs that probe for features still run.
 */
export const STRICT_KILL: readonly string[] = [
  ...NO_TRACING,
  "mount", "umount", "umount2", "pivot_root", "chroot", "unshare", "setns",
  "fsopen", "fsconfig", "fsmount", "fspick", "move_mount", "open_tree", "mount_setattr",
  "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module", "reboot",
  "swapon", "swapoff", "acct", "bpf", "perf_event_open", "userfaultfd", "keyctl", "add_key",
  "request_key", "iopl", "ioperm", "settimeofday", "clock_settime", "quotactl", "quotactl_fd",
  "open_by_handle_at", "lookup_dcookie", "syslog", "vhangup", "uselib", "nfsservctl",
];

function withoutNames(p: Seccomp, drop: readonly string[]): Seccomp {
  const gone = new Set(drop);
  const syscalls = (p.syscalls ?? [])
    .map((r) => ({ ...r, names: r.names.filter((n) => !gone.has(n)) }))
    .filter((r) => r.names.length > 0);
  return { ...p, syscalls };
}

export function defaultProfile(): Seccomp {
  return withoutNames(defaultSeccomp([]), NO_TRACING);
}

/** `listenerPath`: the guard's socket; `metadata` is set per run (the run id). */
export function strictProfile(listenerPath: string): Seccomp {
  const p = withoutNames(defaultSeccomp([]), STRICT_KILL);
  return { ...p, listenerPath, syscalls: [...(p.syscalls ?? []), { names: [...STRICT_KILL], action: "SCMP_ACT_NOTIFY" }] };
}

/**
 * "<seccomp_data.arch>:<nr>" → name, for every syscall a profile sends to the agent, on every
 * architecture the profile filters: a notification can only be for one of these. x32 calls
 * arrive as x86_64 with __X32_SYSCALL_BIT in the number (arch.ts).
 */
export function notifiedNames(p: Seccomp): Map<string, string> {
  const out = new Map<string, string>();
  const native = nativeArch();
  const arches: ArchInfo[] = [{ token: native, audit: native }, ...(p.architectures ?? []).map((a) => ARCHES[a]).filter((a): a is ArchInfo => a !== undefined)];
  for (const rule of p.syscalls ?? []) {
    if (rule.action !== "SCMP_ACT_NOTIFY") continue;
    for (const name of rule.names) {
      for (const a of arches) {
        let nr = resolveSyscall(name, a.token);
        if (nr < 0) continue;
        if (a.token !== a.audit) nr = (nr | X32_SYSCALL_BIT) >>> 0;
        out.set(`${a.audit >>> 0}:${nr}`, name);
      }
    }
  }
  return out;
}
