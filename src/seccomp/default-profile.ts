// berth's default seccomp profile: in effect the one Docker/moby applies by default
// (moby/profiles seccomp/default.json: deny with EPERM, allow a list of ~370 syscalls, some of
// them only with given capabilities, architectures or argument values). Kept here as data and
// resolved like moby does for one container: rules guarded by capabilities are kept only when
// the container's bounding set has them (or lacks them, for exclusions), rules for other
// architectures are dropped, and the architecture list is the native one plus its compatible
// ABIs.

import * as os from "node:os";
import type { Seccomp } from "../runtime/spec/types.ts";

type Arg = { index: number; value: number; valueTwo?: number; op: string };

interface Entry {
  names: string;
  action?: "SCMP_ACT_ALLOW" | "SCMP_ACT_ERRNO";
  errnoRet?: number;
  args?: Arg[];
  /** Kept only if every capability is in the set. */
  caps?: string[];
  /** Dropped if any capability is in the set. */
  notCaps?: string[];
  /** Kept only on these architectures (Go/moby names: amd64, arm64, …). */
  arches?: string[];
  notArches?: string[];
  /** Kept only on kernels at least this new ("major.minor"). */
  minKernel?: string;
}

const ALWAYS = `
accept accept4 access adjtimex alarm bind brk cachestat capget capset chdir chmod chown chown32
clock_adjtime clock_adjtime64 clock_getres clock_getres_time64 clock_gettime clock_gettime64
clock_nanosleep clock_nanosleep_time64 close close_range connect copy_file_range creat dup dup2
dup3 epoll_create epoll_create1 epoll_ctl epoll_ctl_old epoll_pwait epoll_pwait2 epoll_wait
epoll_wait_old eventfd eventfd2 execve execveat exit exit_group faccessat faccessat2 fadvise64
fadvise64_64 fallocate fanotify_mark fchdir fchmod fchmodat fchmodat2 fchown fchown32 fchownat
fcntl fcntl64 fdatasync fgetxattr flistxattr flock fork fremovexattr fsetxattr fstat fstat64
fstatat64 fstatfs fstatfs64 fsync ftruncate ftruncate64 futex futex_requeue futex_time64
futex_wait futex_waitv futex_wake futimesat getcpu getcwd getdents getdents64 getegid getegid32
geteuid geteuid32 getgid getgid32 getgroups getgroups32 getitimer getpeername getpgid getpgrp
getpid getppid getpriority getrandom getresgid getresgid32 getresuid getresuid32 getrlimit
get_robust_list getrusage getsid getsockname getsockopt get_thread_area gettid gettimeofday
getuid getuid32 getxattr getxattrat inotify_add_watch inotify_init inotify_init1
inotify_rm_watch io_cancel ioctl io_destroy io_getevents io_pgetevents io_pgetevents_time64
ioprio_get ioprio_set io_setup io_submit ipc kill landlock_add_rule landlock_create_ruleset
landlock_restrict_self lchown lchown32 lgetxattr link linkat listen listmount listxattr
listxattrat llistxattr _llseek lremovexattr lseek lsetxattr lstat lstat64 madvise
map_shadow_stack membarrier memfd_create memfd_secret mincore mkdir mkdirat mknod mknodat mlock
mlock2 mlockall mmap mmap2 mprotect mq_getsetattr mq_notify mq_open mq_timedreceive
mq_timedreceive_time64 mq_timedsend mq_timedsend_time64 mq_unlink mremap mseal msgctl msgget
msgrcv msgsnd msync munlock munlockall munmap name_to_handle_at nanosleep newfstatat _newselect
open openat openat2 pause pidfd_open pidfd_send_signal pipe pipe2 pkey_alloc pkey_free
pkey_mprotect poll ppoll ppoll_time64 prctl pread64 preadv preadv2 prlimit64 process_mrelease
pselect6 pselect6_time64 pwrite64 pwritev pwritev2 read readahead readlink readlinkat readv recv
recvfrom recvmmsg recvmmsg_time64 recvmsg remap_file_pages removexattr removexattrat rename
renameat renameat2 restart_syscall riscv_hwprobe rmdir rseq rt_sigaction rt_sigpending
rt_sigprocmask rt_sigqueueinfo rt_sigreturn rt_sigsuspend rt_sigtimedwait
rt_sigtimedwait_time64 rt_tgsigqueueinfo sched_getaffinity sched_getattr sched_getparam
sched_get_priority_max sched_get_priority_min sched_getscheduler sched_rr_get_interval
sched_rr_get_interval_time64 sched_setaffinity sched_setattr sched_setparam sched_setscheduler
sched_yield seccomp select semctl semget semop semtimedop semtimedop_time64 send sendfile
sendfile64 sendmmsg sendmsg sendto setfsgid setfsgid32 setfsuid setfsuid32 setgid setgid32
setgroups setgroups32 setitimer setpgid setpriority setregid setregid32 setresgid setresgid32
setresuid setresuid32 setreuid setreuid32 setrlimit set_robust_list setsid setsockopt
set_thread_area set_tid_address setuid setuid32 setxattr setxattrat shmat shmctl shmdt shmget
shutdown sigaltstack signalfd signalfd4 sigprocmask sigreturn socketcall socketpair splice stat
stat64 statfs statfs64 statmount statx symlink symlinkat sync sync_file_range syncfs sysinfo tee
tgkill time timer_create timer_delete timer_getoverrun timer_gettime timer_gettime64
timer_settime timer_settime64 timerfd_create timerfd_gettime timerfd_gettime64 timerfd_settime
timerfd_settime64 times tkill truncate truncate64 ugetrlimit umask uname unlink unlinkat
uretprobe utime utimensat utimensat_time64 utimes vfork vmsplice wait4 waitid waitpid write
writev`;

// CLONE_NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET (sched.h): clone may not create
// namespaces without CAP_SYS_ADMIN.
const CLONE_NS_MASK = 0x7e020000;

const ENTRIES: readonly Entry[] = [
  { names: ALWAYS },
  { names: "process_vm_readv process_vm_writev ptrace", minKernel: "4.8" },
  // socket(2) for every address family except AF_VSOCK (40) … as moby: < 38, == 39, > 40.
  { names: "socket", args: [{ index: 0, value: 38, op: "SCMP_CMP_LT" }] },
  { names: "socket", args: [{ index: 0, value: 39, op: "SCMP_CMP_EQ" }] },
  { names: "socket", args: [{ index: 0, value: 40, op: "SCMP_CMP_GT" }] },
  // personality(2): PER_LINUX, PER_LINUX32, UNAME26, UNAME26|PER_LINUX32, and the 0xffffffff query.
  ...[0x0, 0x8, 0x20000, 0x20008, 0xffffffff].map((v): Entry => ({ names: "personality", args: [{ index: 0, value: v, op: "SCMP_CMP_EQ" }] })),
  { names: "sync_file_range2 swapcontext", arches: ["ppc64le"] },
  { names: "arm_fadvise64_64 arm_sync_file_range sync_file_range2 breakpoint cacheflush set_tls", arches: ["arm", "arm64"] },
  { names: "arch_prctl", arches: ["amd64", "x32"] },
  { names: "modify_ldt", arches: ["amd64", "x32", "x86"] },
  { names: "s390_pci_mmio_read s390_pci_mmio_write s390_runtime_instr", arches: ["s390", "s390x"] },
  { names: "riscv_flush_icache", arches: ["riscv64"] },
  { names: "open_by_handle_at", caps: ["CAP_DAC_READ_SEARCH"] },
  {
    names:
      "bpf clone clone3 fanotify_init fsconfig fsmount fsopen fspick lookup_dcookie lsm_get_self_attr lsm_list_modules " +
      "lsm_set_self_attr mount mount_setattr move_mount open_tree perf_event_open quotactl quotactl_fd setdomainname " +
      "sethostname setns syslog umount umount2 unshare",
    caps: ["CAP_SYS_ADMIN"],
  },
  { names: "clone", args: [{ index: 0, value: CLONE_NS_MASK, op: "SCMP_CMP_MASKED_EQ" }], notCaps: ["CAP_SYS_ADMIN"], notArches: ["s390", "s390x"] },
  // s390 passes clone's flags as the second argument.
  { names: "clone", args: [{ index: 1, value: CLONE_NS_MASK, op: "SCMP_CMP_MASKED_EQ" }], arches: ["s390", "s390x"], notCaps: ["CAP_SYS_ADMIN"] },
  // clone3 passes its flags in memory seccomp cannot read: answer ENOSYS so libc falls back to clone.
  { names: "clone3", action: "SCMP_ACT_ERRNO", errnoRet: 38, notCaps: ["CAP_SYS_ADMIN"] },
  { names: "reboot", caps: ["CAP_SYS_BOOT"] },
  { names: "chroot", caps: ["CAP_SYS_CHROOT"] },
  { names: "delete_module init_module finit_module", caps: ["CAP_SYS_MODULE"] },
  { names: "acct", caps: ["CAP_SYS_PACCT"] },
  { names: "kcmp pidfd_getfd process_madvise process_vm_readv process_vm_writev ptrace", caps: ["CAP_SYS_PTRACE"] },
  { names: "iopl ioperm", caps: ["CAP_SYS_RAWIO"] },
  { names: "settimeofday stime clock_settime clock_settime64", caps: ["CAP_SYS_TIME"] },
  { names: "vhangup", caps: ["CAP_SYS_TTY_CONFIG"] },
  { names: "get_mempolicy mbind set_mempolicy set_mempolicy_home_node", caps: ["CAP_SYS_NICE"] },
  { names: "syslog", caps: ["CAP_SYSLOG"] },
  { names: "bpf", caps: ["CAP_BPF"] },
  { names: "perf_event_open", caps: ["CAP_PERFMON"] },
];

/** Native architecture → the profile's architecture list (moby's archMap). */
const ARCH_FAMILIES: Readonly<Record<string, string[]>> = {
  amd64: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
  arm64: ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"],
  mips64: ["SCMP_ARCH_MIPS64", "SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64N32"],
  mips64n32: ["SCMP_ARCH_MIPS64N32", "SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64"],
  mipsel64: ["SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64N32"],
  mipsel64n32: ["SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64"],
  s390x: ["SCMP_ARCH_S390X", "SCMP_ARCH_S390"],
  riscv64: ["SCMP_ARCH_RISCV64"],
  loong64: ["SCMP_ARCH_LOONGARCH64"],
};

/** Node's process.arch → the architecture names the profile uses (Go's GOARCH spelling). */
const NODE_ARCH: Readonly<Record<string, string>> = {
  x64: "amd64", ia32: "x86", arm64: "arm64", arm: "arm", s390x: "s390x", s390: "s390",
  riscv64: "riscv64", loong64: "loong64", ppc64: "ppc64le", mips: "mips", mipsel: "mipsel",
};

export interface DefaultSeccompOptions {
  /** Architecture in Go spelling (amd64, arm64, …); default: this machine's. */
  arch?: string;
  /** Kernel release ("6.18.4"); default: this machine's (os.release()). */
  kernel?: string;
}

/**
 * The default profile for a container whose bounding capabilities are `caps` ("CAP_SYS_ADMIN"
 * or "SYS_ADMIN", any case). Returns a fresh object the caller may modify.
 */
export function defaultSeccomp(caps: readonly string[], opts: DefaultSeccompOptions = {}): Seccomp {
  const have = new Set(caps.map((c) => (c.toUpperCase().startsWith("CAP_") ? c.toUpperCase() : `CAP_${c.toUpperCase()}`)));
  const arch = opts.arch ?? NODE_ARCH[process.arch] ?? process.arch;
  const kernel = opts.kernel ?? os.release();

  const syscalls: NonNullable<Seccomp["syscalls"]> = [];
  for (const e of ENTRIES) {
    if (e.caps && !e.caps.every((c) => have.has(c))) continue;
    if (e.notCaps && e.notCaps.some((c) => have.has(c))) continue;
    if (e.arches && !e.arches.includes(arch)) continue;
    if (e.notArches && e.notArches.includes(arch)) continue;
    if (e.minKernel && !kernelAtLeast(kernel, e.minKernel)) continue;
    const rule: NonNullable<Seccomp["syscalls"]>[number] = { names: e.names.trim().split(/\s+/), action: e.action ?? "SCMP_ACT_ALLOW" };
    if (e.errnoRet !== undefined) rule.errnoRet = e.errnoRet;
    if (e.args) rule.args = e.args.map((a) => ({ ...a }));
    syscalls.push(rule);
  }
  const profile: Seccomp = { defaultAction: "SCMP_ACT_ERRNO", defaultErrnoRet: 1, syscalls };
  const family = ARCH_FAMILIES[arch];
  if (family) profile.architectures = [...family];
  return profile;
}

function kernelAtLeast(release: string, want: string): boolean {
  const v = (s: string) => (s.match(/^(\d+)\.(\d+)/) ?? [0, 0, 0]).slice(1, 3).map(Number);
  const [ma, mi] = v(release);
  const [wma, wmi] = v(want);
  return ma! > wma! || (ma === wma && mi! >= wmi!);
}
