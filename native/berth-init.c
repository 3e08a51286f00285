/*
 * berth-init: runs a container plan computed by berth-runtime (TypeScript).
 *
 * Why C: a Bun process has several threads, and unshare(CLONE_NEWUSER)/setns need a
 * single-threaded caller; nothing of a JS engine may run between clone and execve. So the
 * runtime does all the thinking and sends an ordered list of primitive operations (the plan,
 * op table in src/runtime/plan/ops.ts); this program executes them and knows nothing of OCI.
 *
 * Processes and channels
 *   runtime (bun) ──fd 3: socketpair──► parent (this program)   plan in, reports out
 *   parent ──clone──► child (becomes the container's init)      sync: a private socketpair
 *   The child inherits fd 3 and reports READY / errors itself; fd 3 is close-on-exec.
 *
 * Sync table (parent op ⇄ child op)
 *   WAKE_CHILD  ⇄ WAIT_PARENT   parent sends the child its host pid; child goes on
 *   WAIT_CHILD  ⇄ WAKE_PARENT   child asks the parent to run host-side steps (hooks), then waits
 *                               for the parent's next WAKE_CHILD
 *   SEND_TREES  ⇄ RECV_TREES    before WAKE_CHILD: the idmapped trees made with the child's own
 *                               user namespace, one fd a message (SCM_RIGHTS, one byte)
 *   EOF on the sync socket means the other side died; the survivor exits (the parent kills the
 *   child first).
 *
 * Reports (fd 3, little-endian): u32 kind, u32 op index, i32 value, u32 text length, text.
 *   PID(value=child pid) STEP(value=microseconds) ERROR(value=errno, text=detail) READY
 *
 * Seccomp notify (linux.seccomp.listenerPath), as runc hands it over:
 *   parent SECCOMP_CONNECT   first op: connect to the agent's socket with the runtime's
 *                            credentials and mounts; the child inherits it through clone and the
 *                            parent closes its copy (the agent sees EOF once the child is done)
 *   child  SECCOMP           payload rendered first (the process state JSON, split where our host
 *                            pid goes), then seccomp(NEW_LISTENER) → listener fd, then at once one
 *                            sendmsg(payload, SCM_RIGHTS fd) and close both. Any other syscall
 *                            between the load and the send could itself wait for the agent that
 *                            has no fd yet, so there is none; src/seccomp refuses NOTIFY for
 *                            sendmsg (and, like runc, write).
 *   An exec's grandchild learns its host pid from the intermediate child (FORK_GRANDCHILD).
 *
 * Security: runs from a sealed memfd copy of itself (CVE-2019-5736); every fd is close-on-exec
 * before execve (CVE-2024-21626); mount targets are resolved with openat2(RESOLVE_IN_ROOT)
 * inside the rootfs and mounted through fds, never through paths (CVE-2021-30465).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/bpf.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <net/if.h>
#include <linux/mount.h>
#include <linux/sched.h>
#include <linux/close_range.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "plan-ops.h"

static int REPORT_FD = 3;    /* argv[1]: the runtime puts it above the preserved fds */
#define MAX_ARGS 4096

/* ---- small syscall wrappers glibc 2.36 lacks ------------------------------------------ */
static int sys_openat2(int dfd, const char *path, struct open_how *how) {
  return (int)syscall(SYS_openat2, dfd, path, how, sizeof(*how));
}
static int sys_open_tree(int dfd, const char *path, unsigned flags) {
  return (int)syscall(SYS_open_tree, dfd, path, flags);
}
static int sys_move_mount(int fdf, const char *pf, int fdt, const char *pt, unsigned flags) {
  return (int)syscall(SYS_move_mount, fdf, pf, fdt, pt, flags);
}
static int sys_fsopen(const char *fs, unsigned flags) { return (int)syscall(SYS_fsopen, fs, flags); }
static int sys_fsconfig(int fd, unsigned cmd, const char *key, const void *val, int aux) {
  return (int)syscall(SYS_fsconfig, fd, cmd, key, val, aux);
}
static int sys_fsmount(int fd, unsigned flags, unsigned attr) { return (int)syscall(SYS_fsmount, fd, flags, attr); }
static int sys_mount_setattr(int dfd, const char *path, unsigned flags, struct mount_attr *a) {
  return (int)syscall(SYS_mount_setattr, dfd, path, flags, a, sizeof(*a));
}
static int sys_pivot_root(const char *n, const char *o) { return (int)syscall(SYS_pivot_root, n, o); }

/* ---- state ------------------------------------------------------------------------------ */
static int explain;             /* report a STEP record after each op */
static int is_child;            /* 0 in the parent, 1 in the child */
static pid_t child_pid;         /* parent: the child's pid; child: its own host pid */
static int sync_fd = -1;        /* this side's end of the parent/child socketpair */
static int rootfd = -1;         /* the rootfs, later "/" */
static int fifo_fd = -1;        /* exec fifo (child) */
static int cur_op = -1;         /* index of the op being run, for reports */
static char exec_path[PATH_MAX];
static int console_fd = -1;     /* child: where the pty master goes; parent: where it comes from */
static int console_peer = -1;   /* CONSOLE_PAIR: the child's end, until clone */
static int ready_sent;          /* child: READY reported, the runtime may no longer listen */
static int notify_sock = -1;    /* SECCOMP_CONNECT: the connection to the seccomp agent */

static void send_all(const void *buf, size_t len) {
  const char *p = buf;
  while (len > 0) {
    ssize_t n = send(REPORT_FD, p, len, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    /* A user's seccomp filter (loaded before READY without no_new_privs) may refuse sendto but
     * not write, which every runtime needs: report through write then. */
    if (n < 0 && (errno == EPERM || errno == ENOSYS || errno == EACCES)) n = write(REPORT_FD, p, len);
    if (n <= 0) return; /* the runtime went away; nothing more to tell */
    p += n;
    len -= (size_t)n;
  }
}

static void report(uint32_t kind, int32_t value, const char *text) {
  uint32_t len = text ? (uint32_t)strlen(text) : 0;
  char buf[16 + 1024];
  if (len > 1024) len = 1024;
  uint32_t hdr[4] = {kind, (uint32_t)cur_op, (uint32_t)value, len};
  memcpy(buf, hdr, 16);
  if (len) memcpy(buf + 16, text, len);
  send_all(buf, 16 + len);
}

static void die_err(int err, const char *fmt, ...) __attribute__((noreturn, format(printf, 2, 3)));
static void die_err(int err, const char *fmt, ...) {
  char text[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(text, sizeof text, fmt, ap);
  va_end(ap);
  report(REPORT_ERROR, err, text);
  /* After READY the runtime may be gone: say it on the container's stderr too. */
  if (ready_sent) dprintf(2, "berth-init: %s: %s\n", text, strerror(err));
  if (!is_child && child_pid > 0) kill(child_pid, SIGKILL);
  /* The shell's (and docker's) codes: 127 not found, 126 found but cannot run. */
  _exit(err == ENOENT ? 127 : err == EACCES || err == ENOEXEC || err == ETXTBSY ? 126 : 1);
}
#define DIE(...) die_err(errno, __VA_ARGS__)

/* ---- plan decoding ---------------------------------------------------------------------- */
struct cursor { const char *p, *end; };

static const char *next_raw(struct cursor *c, uint32_t *len) {
  uint32_t n;
  if (c->end - c->p < 4) die_err(EINVAL, "plan: op %d truncated", cur_op);
  memcpy(&n, c->p, 4);
  c->p += 4;
  if ((uint32_t)(c->end - c->p) < n) die_err(EINVAL, "plan: op %d argument overruns", cur_op);
  const char *v = c->p;
  c->p += n;
  *len = n;
  return v;
}
static const char *next_str(struct cursor *c) {
  uint32_t n;
  const char *s = next_raw(c, &n);
  if (n == 0 || s[n - 1] != '\0') die_err(EINVAL, "plan: op %d string not terminated", cur_op);
  return s;
}
static uint64_t next_u64(struct cursor *c) {
  uint32_t n;
  const char *s = next_raw(c, &n);
  uint64_t v;
  if (n != 8) die_err(EINVAL, "plan: op %d integer of %u bytes", cur_op, n);
  memcpy(&v, s, 8);
  return v;
}
/* A list of strings: a u64 count, then the strings. Returns a NULL-terminated array. */
static char **next_strs(struct cursor *c, size_t *count) {
  uint64_t n = next_u64(c);
  if (n > MAX_ARGS) die_err(E2BIG, "plan: op %d has %llu strings", cur_op, (unsigned long long)n);
  char **v = calloc(n + 1, sizeof(char *));
  if (!v) DIE("calloc");
  for (uint64_t i = 0; i < n; i++) v[i] = (char *)next_str(c);
  if (count) *count = n;
  return v;
}

/* ---- sealed copy (CVE-2019-5736) -------------------------------------------------------- */
/* A container that can write to /proc/<pid>/exe of a runtime process would overwrite this binary
 * on the host. Run from a sealed, anonymous copy instead: writes to it fail with EPERM. */
static void ensure_sealed(char **argv, char **envp) {
  int self = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  if (self < 0) DIE("open /proc/self/exe");
  int seals = fcntl(self, F_GET_SEALS);
  const int want = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE;
  if (seals >= 0 && (seals & want) == want) {
    close(self);
    return;
  }
  int mfd = memfd_create("berth-init", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (mfd < 0) DIE("memfd_create");
  struct stat st;
  if (fstat(self, &st) < 0) DIE("fstat /proc/self/exe");
  for (off_t off = 0; off < st.st_size;) {
    ssize_t n = sendfile(mfd, self, &off, (size_t)(st.st_size - off));
    if (n <= 0) DIE("copy /proc/self/exe to memfd");
  }
  if (fcntl(mfd, F_ADD_SEALS, want) < 0) DIE("seal memfd");
  close(self);
  syscall(SYS_execveat, mfd, "", argv, envp, AT_EMPTY_PATH);
  DIE("execveat sealed copy");
}

/* ---- paths inside the rootfs (CVE-2021-30465) ------------------------------------------- */
/* Open path (absolute, as seen in the container) inside rootfd; symlinks and ".." cannot leave
 * it. With create, missing directories are made (and the last component as a file or dir). */
static int open_in_root(const char *path, int create, int as_file) {
  struct open_how how = {.flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
  int fd = sys_openat2(rootfd, path, &how);
  if (fd >= 0 || errno != ENOENT || !create) return fd;
  char buf[PATH_MAX];
  if (strlen(path) >= sizeof buf) {
    errno = ENAMETOOLONG;
    return -1;
  }
  strcpy(buf, path);
  char *slash = strrchr(buf, '/');
  const char *base = slash ? slash + 1 : buf;
  int parent = slash && slash != buf ? (*slash = '\0', open_in_root(buf, 1, 0)) : sys_openat2(rootfd, "/", &how);
  if (parent < 0) return -1;
  int r;
  if (as_file) {
    r = openat(parent, base, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (r >= 0) close(r);
  } else {
    r = mkdirat(parent, base, 0755);
  }
  close(parent);
  if (r < 0 && errno != EEXIST) return -1;
  return sys_openat2(rootfd, path, &how);
}

/* Parent directory (created if missing; an O_PATH fd serves as dirfd) and base name of path. */
static int open_parent_in_root(const char *path, const char **base) {
  static char buf[PATH_MAX];
  snprintf(buf, sizeof buf, "%s", path);
  char *slash = strrchr(buf, '/');
  *base = slash ? slash + 1 : buf;
  return slash && slash != buf ? (*slash = '\0', open_in_root(buf, 1, 0)) : dup(rootfd);
}

static void move_onto(int tree, int target, const char *what) {
  if (sys_move_mount(tree, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
    DIE("move_mount %s", what);
}

static void set_attr(int fd, uint64_t set, uint64_t clr, uint64_t propagation, int recursive, const char *what) {
  if (!set && !clr && !propagation) return;
  struct mount_attr a = {.attr_set = set, .attr_clr = clr, .propagation = propagation};
  if (sys_mount_setattr(fd, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &a) < 0)
    DIE("mount_setattr %s", what);
}

/* The kernel explains fsconfig failures in the fs context's log; fetch it for the report. */
static void fs_fail(int fsfd, const char *stage, const char *what) {
  int err = errno;
  char msg[256] = "";
  ssize_t n = read(fsfd, msg, sizeof msg - 1);
  msg[n > 0 ? n : 0] = '\0';
  if (n > 0 && msg[n - 1] == '\n') msg[n - 1] = '\0';
  die_err(err, "%s %s%s%s", stage, what, *msg ? ": " : "", msg);
}

static int make_fs_mount(const char *fstype, const char *source, const char *data, uint64_t attr) {
  int fsfd = sys_fsopen(fstype, FSOPEN_CLOEXEC);
  if (fsfd < 0) DIE("fsopen %s", fstype);
  if (*source && sys_fsconfig(fsfd, FSCONFIG_SET_STRING, "source", source, 0) < 0) fs_fail(fsfd, "fsconfig source", source);
  char opts[4096];
  snprintf(opts, sizeof opts, "%s", data);
  for (char *save = NULL, *kv = strtok_r(opts, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
    char *eq = strchr(kv, '=');
    int r;
    if (eq) {
      *eq = '\0';
      r = sys_fsconfig(fsfd, FSCONFIG_SET_STRING, kv, eq + 1, 0);
    } else {
      r = sys_fsconfig(fsfd, FSCONFIG_SET_FLAG, kv, NULL, 0);
    }
    if (r < 0) fs_fail(fsfd, "fsconfig option", kv);
  }
  if (sys_fsconfig(fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) fs_fail(fsfd, "fsconfig create", fstype);
  int mfd = sys_fsmount(fsfd, FSMOUNT_CLOEXEC, (unsigned)attr);
  if (mfd < 0) fs_fail(fsfd, "fsmount", fstype);
  close(fsfd);
  return mfd;
}

/* tmpcopyup: copy what the mount point held into the new (still detached) tmpfs, keeping modes,
 * owners and links, so a tmpfs over /tmp or /run starts with the image's contents (runc's option). */
static void copy_tree(int src, int dst, const char *what) {
  int dfd = dup(src);
  DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
  if (!d) DIE("tmpcopyup: read %s", what);
  for (struct dirent *e; (e = readdir(d));) {
    const char *n = e->d_name;
    if (!strcmp(n, ".") || !strcmp(n, "..")) continue;
    struct stat st;
    if (fstatat(src, n, &st, AT_SYMLINK_NOFOLLOW) < 0) DIE("tmpcopyup: stat %s/%s", what, n);
    if (S_ISDIR(st.st_mode)) {
      if (mkdirat(dst, n, st.st_mode & 07777) < 0) DIE("tmpcopyup: mkdir %s/%s", what, n);
      int s2 = openat(src, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC), d2 = openat(dst, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (s2 < 0 || d2 < 0) DIE("tmpcopyup: open %s/%s", what, n);
      copy_tree(s2, d2, what);
      close(s2);
      close(d2);
    } else if (S_ISREG(st.st_mode)) {
      int s2 = openat(src, n, O_RDONLY | O_NOFOLLOW | O_CLOEXEC), d2 = openat(dst, n, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, st.st_mode & 07777);
      if (s2 < 0 || d2 < 0) DIE("tmpcopyup: open %s/%s", what, n);
      for (off_t off = 0; off < st.st_size;)
        if (sendfile(d2, s2, &off, (size_t)(st.st_size - off)) <= 0) DIE("tmpcopyup: copy %s/%s", what, n);
      close(s2);
      close(d2);
    } else if (S_ISLNK(st.st_mode)) {
      char target[PATH_MAX];
      ssize_t len = readlinkat(src, n, target, sizeof target - 1);
      if (len < 0) DIE("tmpcopyup: readlink %s/%s", what, n);
      target[len] = '\0';
      if (symlinkat(target, dst, n) < 0) DIE("tmpcopyup: symlink %s/%s", what, n);
    } else if (mknodat(dst, n, st.st_mode, st.st_rdev) < 0) {
      DIE("tmpcopyup: mknod %s/%s", what, n);
    }
    if (fchownat(dst, n, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0) DIE("tmpcopyup: chown %s/%s", what, n);
    if (!S_ISLNK(st.st_mode) && fchmodat(dst, n, st.st_mode & 07777, 0) < 0) DIE("tmpcopyup: chmod %s/%s", what, n);
  }
  closedir(d);
}

/* PREOPEN_BIND: bind sources opened before the child became the user namespace's root.
 * IDMAP_TREE: idmapped bind sources the parent made before the clone (idmap = 1). */
#define MAX_PREOPEN 256
static struct { const char *source; int recursive, idmap, fd; } preopen[MAX_PREOPEN];
static int npreopen;

static void keep_preopened(const char *source, int recursive, int idmap, int fd) {
  if (npreopen == MAX_PREOPEN) die_err(E2BIG, "more than %d bind mounts opened ahead", MAX_PREOPEN);
  preopen[npreopen].source = source;
  preopen[npreopen].recursive = recursive;
  preopen[npreopen].idmap = idmap;
  preopen[npreopen++].fd = fd;
}

static int take_preopened(const char *source, int recursive, int idmap) {
  for (int i = 0; i < npreopen; i++)
    if (preopen[i].fd >= 0 && preopen[i].recursive == recursive && preopen[i].idmap == idmap && !strcmp(preopen[i].source, source)) {
      int fd = preopen[i].fd;
      preopen[i].fd = -1;
      return fd;
    }
  return -1;
}

/* ---- idmapped mounts (mount_setattr(2) MOUNT_ATTR_IDMAP) ----------------------------------
 * The kernel idmaps a detached tree with a user namespace's maps: an id the file system stores as
 * a map's inside id appears as its outside id. It asks for CAP_SYS_ADMIN over the source's file
 * system (the host's, for ext4 or tmpfs), which the child in its new user namespace no longer has,
 * nor the parent once it has joined a user namespace. So the parent makes the trees: with the
 * container's own new user namespace after the clone (IDMAP_USERNS_CHILD; SEND_TREES hands them
 * to the child), or before any setns with a joined one given by path or a helper made for other
 * maps (IDMAP_USERNS; the child inherits those through clone, as PREOPEN_BIND's). */
static int idmap_ns = -1;
static void write_file_at(int dfd, const char *path, const char *content);

static int helper_userns(const char *uid_map, const char *gid_map) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0) DIE("pipe for the idmap helper");
  pid_t pid = (pid_t)syscall(SYS_clone, (unsigned long)CLONE_NEWUSER | SIGCHLD, NULL, NULL, NULL, NULL);
  if (pid < 0) DIE("clone(CLONE_NEWUSER) for the idmap helper");
  if (pid == 0) {
    /* Lives only until the parent has opened its namespace: end of file on the pipe. */
    char b;
    close(p[1]);
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    while (read(p[0], &b, 1) < 0 && errno == EINTR) {}
    _exit(0);
  }
  close(p[0]);
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/uid_map", (int)pid);
  write_file_at(AT_FDCWD, path, uid_map);
  snprintf(path, sizeof path, "/proc/%d/gid_map", (int)pid);
  write_file_at(AT_FDCWD, path, gid_map);
  snprintf(path, sizeof path, "/proc/%d/ns/user", (int)pid);
  int ns = open(path, O_RDONLY | O_CLOEXEC);
  if (ns < 0) DIE("open %s", path);
  close(p[1]);
  while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {}
  return ns;
}

/* The user namespace at path (/proc/PID/ns/user) is the one the next IDMAP_TREEs use. */
static void use_idmap_ns(const char *path) {
  if (idmap_ns >= 0) close(idmap_ns);
  idmap_ns = open(path, O_RDONLY | O_CLOEXEC);
  if (idmap_ns < 0) DIE("open user namespace %s", path);
}

static void op_idmap_userns(struct cursor *c) {
  const char *uid_map = next_str(c), *gid_map = next_str(c), *path = next_str(c);
  if (*path) {
    use_idmap_ns(path);
  } else {
    if (idmap_ns >= 0) close(idmap_ns);
    idmap_ns = helper_userns(uid_map, gid_map);
  }
}

static void op_idmap_tree(struct cursor *c) {
  const char *source = next_str(c);
  int rec = next_u64(c) != 0, attr_rec = next_u64(c) != 0;
  uint64_t attr_set = next_u64(c);
  const char *target = next_str(c);
  if (idmap_ns < 0) die_err(EINVAL, "plan: IDMAP_TREE %s without IDMAP_USERNS", source);
  int fd = sys_open_tree(AT_FDCWD, source, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (rec ? AT_RECURSIVE : 0));
  if (fd < 0) DIE("open_tree %s (idmapped bind source)", source);
  struct mount_attr a = {.attr_set = MOUNT_ATTR_IDMAP | attr_set, .userns_fd = (uint64_t)idmap_ns};
  if (sys_mount_setattr(fd, "", AT_EMPTY_PATH | (attr_rec ? AT_RECURSIVE : 0), &a) < 0)
    DIE("mount_setattr(MOUNT_ATTR_IDMAP) %s%s", source, errno == EINVAL ? " (its file system cannot be idmapped: overlayfs itself, or one without idmap support)" : "");
  if (*target) {
    if (sys_move_mount(fd, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH) < 0) DIE("move_mount idmapped %s onto %s", source, target);
    close(fd);
  } else {
    keep_preopened(source, rec, 1, fd);
  }
}

/* The container's own user namespace: the trees are made after the clone, by the parent (which
 * still has the host's capabilities), and handed to the child over the sync socket. */
static void op_send_trees(struct cursor *c) {
  uint64_t n = next_u64(c);
  int idx[MAX_PREOPEN], k = 0;
  for (int i = npreopen - 1; i >= 0 && (uint64_t)k < n; i--)
    if (preopen[i].idmap && preopen[i].fd >= 0) idx[k++] = i;
  if ((uint64_t)k != n) die_err(EINVAL, "plan: SEND_TREES of %llu trees, %d made", (unsigned long long)n, k);
  for (int j = k - 1; j >= 0; j--) {
    int fd = preopen[idx[j]].fd;
    char b = 'T', cbuf[CMSG_SPACE(sizeof(int))];
    memset(cbuf, 0, sizeof cbuf);
    struct iovec iov = {.iov_base = &b, .iov_len = 1};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
    struct cmsghdr *h = CMSG_FIRSTHDR(&m);
    h->cmsg_level = SOL_SOCKET;
    h->cmsg_type = SCM_RIGHTS;
    h->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(h), &fd, sizeof fd);
    if (sendmsg(sync_fd, &m, MSG_NOSIGNAL) != 1) DIE("send the idmapped tree of %s to the child", preopen[idx[j]].source);
    close(fd);
    preopen[idx[j]].fd = -1;
  }
  if (idmap_ns >= 0) close(idmap_ns);
  idmap_ns = -1;
}

static void op_recv_trees(struct cursor *c) {
  size_t ns, nr;
  char **src = next_strs(c, &ns), **rec = next_strs(c, &nr);
  if (ns != nr) die_err(EINVAL, "plan: RECV_TREES of %zu sources, %zu flags", ns, nr);
  for (size_t i = 0; i < ns; i++) {
    char b, cbuf[CMSG_SPACE(sizeof(int))];
    struct iovec iov = {.iov_base = &b, .iov_len = 1};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
    ssize_t n;
    while ((n = recvmsg(sync_fd, &m, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR) {}
    if (n == 0) _exit(1); /* the parent died and has reported why */
    struct cmsghdr *h = n > 0 ? CMSG_FIRSTHDR(&m) : NULL;
    if (!h || h->cmsg_type != SCM_RIGHTS) die_err(n < 0 ? errno : EPROTO, "receive the idmapped tree of %s", src[i]);
    int fd;
    memcpy(&fd, CMSG_DATA(h), sizeof fd);
    keep_preopened(src[i], rec[i][0] == '1', 1, fd);
  }
  free(src);
  free(rec);
}

static void op_mount(struct cursor *c) {
  const char *source = next_str(c), *dest = next_str(c), *fstype = next_str(c), *data = next_str(c);
  uint64_t flags = next_u64(c), set = next_u64(c), clr = next_u64(c), prop = next_u64(c);
  int as_file = 0;
  int tree;
  if (flags & MOUNT_FLAG_BIND) {
    int idmap = (flags & MOUNT_FLAG_IDMAP) != 0;
    tree = take_preopened(source, (flags & MOUNT_FLAG_RECURSIVE) != 0, idmap);
    if (tree < 0 && idmap) die_err(EINVAL, "plan: idmapped mount of %s without its IDMAP_TREE", source);
    if (tree < 0) tree = sys_open_tree(AT_FDCWD, source, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | ((flags & MOUNT_FLAG_RECURSIVE) ? AT_RECURSIVE : 0));
    if (tree < 0) DIE("open_tree %s (bind source)", source);
    struct stat st;
    if (flags & MOUNT_FLAG_CREATE_AUTO) as_file = fstat(tree, &st) == 0 && !S_ISDIR(st.st_mode);
    set_attr(tree, set, clr, 0, (flags & MOUNT_FLAG_ATTR_RECURSIVE) != 0, dest);
  } else {
    tree = make_fs_mount(fstype, source, data, set);
  }
  if (flags & MOUNT_FLAG_CREATE_FILE) as_file = 1;
  int target = open_in_root(dest, 1, as_file);
  if (target < 0) DIE("open mount point %s in rootfs", dest);
  if (flags & MOUNT_FLAG_TMPCOPYUP) {
    int from = openat(target, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC), to = openat(tree, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    struct stat st;
    if (from < 0 || to < 0 || fstat(from, &st) < 0) DIE("tmpcopyup: open %s", dest);
    copy_tree(from, to, dest);
    if (fchmod(to, st.st_mode & 07777) < 0 || fchown(to, st.st_uid, st.st_gid) < 0) DIE("tmpcopyup: %s", dest);
    close(from);
    close(to);
  }
  move_onto(tree, target, dest);
  if (prop) set_attr(tree, 0, 0, prop & ~(uint64_t)MS_REC, (prop & MS_REC) != 0, dest);
  close(target);
  close(tree);
}

static void op_mknod(struct cursor *c) {
  const char *path = next_str(c);
  uint64_t mode = next_u64(c), dev = next_u64(c), uid = next_u64(c), gid = next_u64(c);
  const char *base;
  int d = open_parent_in_root(path, &base);
  if (d < 0) DIE("open parent of %s", path);
  if (mknodat(d, base, (mode_t)mode, (dev_t)dev) < 0 && errno != EEXIST) DIE("mknod %s", path);
  if (fchownat(d, base, (uid_t)uid, (gid_t)gid, AT_SYMLINK_NOFOLLOW) < 0) DIE("chown %s", path);
  close(d);
}

static void op_bind_device(struct cursor *c) {
  const char *host = next_str(c), *path = next_str(c);
  int tree = sys_open_tree(AT_FDCWD, host, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
  if (tree < 0) DIE("open_tree %s", host);
  int target = open_in_root(path, 1, 1);
  if (target < 0) DIE("create %s in rootfs", path);
  move_onto(tree, target, path);
  close(target);
  close(tree);
}

static void op_symlink(struct cursor *c) {
  const char *target = next_str(c), *path = next_str(c);
  const char *base;
  int d = open_parent_in_root(path, &base);
  if (d < 0) DIE("open parent of %s", path);
  if (symlinkat(target, d, base) < 0 && errno != EEXIST) DIE("symlink %s -> %s", path, target);
  close(d);
}

static void op_pivot_root(struct cursor *c) {
  uint64_t no_pivot = next_u64(c);
  if (fchdir(rootfd) < 0) DIE("chdir to rootfs");
  if (no_pivot) {
    if (mount(".", "/", NULL, MS_MOVE, NULL) < 0) DIE("mount --move rootfs /");
    if (chroot(".") < 0) DIE("chroot");
  } else {
    /* pivot_root(".", ".") stacks the old root on top of the new one; detach it from there.
     * It must not propagate the unmount back to the host, hence rslave first. */
    int oldroot = open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
    if (oldroot < 0) DIE("open old root");
    if (sys_pivot_root(".", ".") < 0) DIE("pivot_root");
    if (fchdir(oldroot) < 0) DIE("chdir to old root");
    if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0) DIE("make old root rslave");
    if (umount2(".", MNT_DETACH) < 0) DIE("umount old root");
    close(oldroot);
  }
  if (chdir("/") < 0) DIE("chdir /");
  close(rootfd);
  rootfd = open("/", O_DIRECTORY | O_PATH | O_CLOEXEC);
  if (rootfd < 0) DIE("open new root");
}

static void op_mask_path(struct cursor *c) {
  const char *path = next_str(c);
  /* Never through a symlink: one in the rootfs would point the mask elsewhere and leave what the
   * config meant to hide visible (stricter than runc 1.1, which follows it). */
  struct open_how how = {.flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS};
  int target = sys_openat2(rootfd, path, &how);
  if (target < 0) {
    if (errno == ENOENT) return;
    if (errno == ELOOP) die_err(ELOOP, "%s is, or passes through, a symlink: refusing to mask through it (name the real path)", path);
    DIE("open %s", path);
  }
  struct stat st;
  if (fstat(target, &st) < 0) DIE("stat %s", path);
  int tree;
  if (S_ISDIR(st.st_mode)) {
    tree = make_fs_mount("tmpfs", "tmpfs", "", MOUNT_ATTR_RDONLY);
  } else {
    struct open_how how = {.flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT};
    int null = sys_openat2(rootfd, "/dev/null", &how);
    if (null < 0) DIE("open /dev/null to mask %s", path);
    tree = sys_open_tree(null, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
    if (tree < 0) DIE("open_tree /dev/null");
    close(null);
  }
  move_onto(tree, target, path);
  close(tree);
  close(target);
}

static void op_readonly_path(struct cursor *c) {
  const char *path = next_str(c);
  int target = open_in_root(path, 0, 0);
  if (target < 0) {
    if (errno == ENOENT) return;
    DIE("open %s", path);
  }
  int tree = sys_open_tree(target, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | AT_RECURSIVE);
  if (tree < 0) DIE("open_tree %s", path);
  set_attr(tree, MOUNT_ATTR_RDONLY, 0, 0, 1, path);
  move_onto(tree, target, path);
  close(tree);
  close(target);
}

static void op_mount_setattr(struct cursor *c) {
  const char *path = next_str(c);
  uint64_t set = next_u64(c), rec = next_u64(c);
  int fd = open_in_root(path, 0, 0);
  if (fd < 0) DIE("open %s", path);
  set_attr(fd, set, 0, 0, (int)rec, path);
  close(fd);
}

static void write_file_at(int dfd, const char *path, const char *content) {
  int fd = openat(dfd, path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) DIE("open %s", path);
  size_t len = strlen(content);
  if (write(fd, content, len) != (ssize_t)len) DIE("write %s", path);
  close(fd);
}

/* ---- cgroup v2 device program ------------------------------------------------------------ */
/* The runtime compiles linux.resources.devices to a BPF_PROG_TYPE_CGROUP_DEVICE program
 * (src/cgroups/device-filter.ts); here it is loaded and attached, replacing the programs attached
 * directly to the cgroup: with one, atomically (BPF_F_REPLACE); with several, the new one first
 * and the old ones detached after, so there is never a moment without rules. */
static long sys_bpf(int cmd, union bpf_attr *a) { return syscall(SYS_bpf, cmd, a, sizeof *a); }

static void op_device_program(struct cursor *c) {
  const char *dir = next_str(c);
  uint32_t len;
  const char *insns = next_raw(c, &len);
  uint64_t optional = next_u64(c);
  int cfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (cfd < 0) DIE("open cgroup %s", dir);
  static char log[16384];
  union bpf_attr a;
  for (int attempt = 0;; attempt++) {
    memset(&a, 0, sizeof a);
    a.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
    a.insn_cnt = len / sizeof(struct bpf_insn);
    a.insns = (uint64_t)(uintptr_t)insns;
    a.license = (uint64_t)(uintptr_t) "Apache-2.0";
    strncpy(a.prog_name, "berth_devices", sizeof a.prog_name - 1);
    if (attempt) {
      a.log_level = 1;
      a.log_size = sizeof log;
      a.log_buf = (uint64_t)(uintptr_t)log;
    }
    int pfd = (int)sys_bpf(BPF_PROG_LOAD, &a);
    if (pfd >= 0) {
      uint32_t ids[64];
      memset(&a, 0, sizeof a);
      a.query.target_fd = (uint32_t)cfd;
      a.query.attach_type = BPF_CGROUP_DEVICE;
      a.query.prog_ids = (uint64_t)(uintptr_t)ids;
      a.query.prog_cnt = 64;
      if (sys_bpf(BPF_PROG_QUERY, &a) < 0) DIE("bpf(BPF_PROG_QUERY) %s", dir);
      uint32_t n = a.query.prog_cnt < 64 ? a.query.prog_cnt : 64;
      int old[64];
      for (uint32_t i = 0; i < n; i++) {
        memset(&a, 0, sizeof a);
        a.prog_id = ids[i];
        old[i] = (int)sys_bpf(BPF_PROG_GET_FD_BY_ID, &a);
        if (old[i] < 0) DIE("bpf(BPF_PROG_GET_FD_BY_ID) %u", ids[i]);
      }
      memset(&a, 0, sizeof a);
      a.target_fd = (uint32_t)cfd;
      a.attach_bpf_fd = (uint32_t)pfd;
      a.attach_type = BPF_CGROUP_DEVICE;
      a.attach_flags = BPF_F_ALLOW_MULTI | (n == 1 ? BPF_F_REPLACE : 0);
      if (n == 1) a.replace_bpf_fd = (uint32_t)old[0];
      if (sys_bpf(BPF_PROG_ATTACH, &a) < 0) DIE("bpf(BPF_PROG_ATTACH) %s", dir);
      for (uint32_t i = 0; i < n; i++) {
        if (n > 1) {
          memset(&a, 0, sizeof a);
          a.target_fd = (uint32_t)cfd;
          a.attach_bpf_fd = (uint32_t)old[i];
          a.attach_type = BPF_CGROUP_DEVICE;
          if (sys_bpf(BPF_PROG_DETACH, &a) < 0) DIE("bpf(BPF_PROG_DETACH) %s", dir);
        }
        close(old[i]);
      }
      close(pfd); /* the attachment holds its own reference */
      break;
    }
    if (errno == EPERM && optional) break; /* rules that allow every device lose nothing */
    if (errno == EPERM) DIE("bpf(BPF_PROG_LOAD) of the device program (needs CAP_BPF or CAP_SYS_ADMIN)");
    if (attempt) {
      size_t l = strnlen(log, sizeof log);
      while (l > 0 && log[l - 1] == '\n') log[--l] = '\0';
      const char *tail = l > 300 ? log + l - 300 : log;
      DIE("bpf(BPF_PROG_LOAD) of the device program: %s", tail);
    }
  }
  close(cfd);
}

/* ---- hooks ------------------------------------------------------------------------------ */
static void op_hook(struct cursor *c) {
  const char *path = next_str(c);
  char **args = next_strs(c, NULL), **env = next_strs(c, NULL);
  uint64_t timeout = next_u64(c);
  const char *head = next_str(c), *tail = next_str(c);
  int in[2];
  if (pipe2(in, O_CLOEXEC) < 0) DIE("pipe for hook %s", path);
  pid_t pid = fork();
  if (pid < 0) DIE("fork hook %s", path);
  if (pid == 0) {
    dup2(in[0], 0);
    execve(path, args, env);
    dprintf(2, "berth-init: hook %s: %s\n", path, strerror(errno));
    _exit(127);
  }
  close(in[0]);
  dprintf(in[1], "%s%d%s", head, (int)child_pid, tail); /* state JSON with the container's pid */
  close(in[1]);
  int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
  if (pfd >= 0 && timeout > 0) {
    struct pollfd p = {.fd = pfd, .events = POLLIN};
    int r;
    while ((r = poll(&p, 1, (int)(timeout * 1000))) < 0 && errno == EINTR) {}
    if (r == 0) {
      kill(pid, SIGKILL);
      waitpid(pid, NULL, 0);
      die_err(ETIMEDOUT, "hook %s timed out after %llus", path, (unsigned long long)timeout);
    }
  }
  int st;
  while (waitpid(pid, &st, 0) < 0)
    if (errno != EINTR) DIE("wait hook %s", path);
  if (pfd >= 0) close(pfd);
  if (WIFSIGNALED(st)) die_err(ECANCELED, "error running hook %s: killed by signal %d (%s)", path, WTERMSIG(st), strsignal(WTERMSIG(st)));
  if (WEXITSTATUS(st) != 0) die_err(ECANCELED, "hook %s exited with status %d", path, WEXITSTATUS(st));
  free(args);
  free(env);
}

/* ---- process ---------------------------------------------------------------------------- */
static void op_set_user(struct cursor *c) {
  uint64_t uid = next_u64(c), gid = next_u64(c);
  size_t n;
  char **groups = next_strs(c, &n);
  uint64_t mask = next_u64(c);
  gid_t g[MAX_ARGS];
  for (size_t i = 0; i < n; i++) g[i] = (gid_t)strtoul(groups[i], NULL, 10);
  if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) DIE("prctl(PR_SET_KEEPCAPS)");
  /* setgroups is denied in a user namespace whose setgroups file says "deny"; an empty list
   * then changes nothing, so that one refusal is not an error. */
  if (setgroups(n, g) < 0 && !(errno == EPERM && n == 0)) DIE("setgroups");
  if (setresgid((gid_t)gid, (gid_t)gid, (gid_t)gid) < 0) DIE("setresgid %llu", (unsigned long long)gid);
  if (setresuid((uid_t)uid, (uid_t)uid, (uid_t)uid) < 0) DIE("setresuid %llu", (unsigned long long)uid);
  if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0) DIE("prctl(PR_SET_KEEPCAPS)");
  umask((mode_t)mask);
  free(groups);
}

static void op_caps_bounding(struct cursor *c) {
  uint64_t keep = next_u64(c);
  for (int cap = 0; cap < 64; cap++) {
    if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) < 0) break; /* past the kernel's last capability */
    if (!(keep & (1ULL << cap)) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) DIE("drop capability %d from the bounding set", cap);
  }
}

static void op_caps(struct cursor *c) {
  uint64_t eff = next_u64(c), perm = next_u64(c), inh = next_u64(c), amb = next_u64(c);
  struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
  struct __user_cap_data_struct d[2] = {
      {.effective = (uint32_t)eff, .permitted = (uint32_t)perm, .inheritable = (uint32_t)inh},
      {.effective = (uint32_t)(eff >> 32), .permitted = (uint32_t)(perm >> 32), .inheritable = (uint32_t)(inh >> 32)},
  };
  if (syscall(SYS_capset, &h, d) < 0) DIE("capset");
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL) DIE("clear ambient capabilities");
  for (int cap = 0; cap < 64; cap++)
    if ((amb & (1ULL << cap)) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0) DIE("raise ambient capability %d", cap);
}

static void op_seccomp(struct cursor *c) {
  uint32_t len;
  const char *bpf = next_raw(c, &len);
  uint64_t flags = next_u64(c);
  size_t nparts;
  char **parts = next_strs(c, &nparts);
  if (len % sizeof(struct sock_filter)) die_err(EINVAL, "seccomp program of %u bytes", len);
  struct sock_fprog prog = {.len = (unsigned short)(len / sizeof(struct sock_filter)), .filter = (struct sock_filter *)bpf};
  int notify = (flags & SECCOMP_FILTER_FLAG_NEW_LISTENER) != 0;
  if (notify && notify_sock < 0) die_err(EINVAL, "seccomp: a notify filter but no SECCOMP_CONNECT before it");
  /* Everything that allocates or formats happens before the filter is loaded (see the header). */
  char *msg = NULL;
  size_t msg_len = 0;
  if (notify) {
    FILE *f = open_memstream(&msg, &msg_len);
    if (!f) DIE("open_memstream");
    for (size_t i = 0; i < nparts; i++) fprintf(f, i + 1 < nparts ? "%s%d" : "%s", parts[i], (int)child_pid);
    if (fclose(f) != 0) DIE("render the seccomp payload");
  }
  long fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, (unsigned)flags, &prog);
  if (fd < 0) DIE("seccomp(SECCOMP_SET_MODE_FILTER)");
  if (notify) {
    union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int))]; } ctl = {0};
    struct iovec iov = {.iov_base = msg, .iov_len = msg_len};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf};
    struct cmsghdr *h = CMSG_FIRSTHDR(&m);
    h->cmsg_level = SOL_SOCKET;
    h->cmsg_type = SCM_RIGHTS;
    h->cmsg_len = CMSG_LEN(sizeof(int));
    int lfd = (int)fd;
    memcpy(CMSG_DATA(h), &lfd, sizeof lfd);
    ssize_t n = sendmsg(notify_sock, &m, MSG_NOSIGNAL);
    if (n != (ssize_t)msg_len) die_err(n < 0 ? errno : EMSGSIZE, "send the seccomp listener fd to listenerPath");
    close(lfd);
    close(notify_sock); /* runtime-spec: one state per connection, closed after sending */
    notify_sock = -1;
    free(msg);
  }
  free(parts);
}

/* A connected unix stream socket (close-on-exec), for the console and seccomp agent sockets. */
static int connect_unix(const char *path, const char *what) {
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof a.sun_path) die_err(ENAMETOOLONG, "%s %s", what, path);
  strcpy(a.sun_path, path);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) < 0) DIE("connect to %s %s", what, path);
  return fd;
}

/* Why execve(path) failed, in words a user can act on: the bare errno of runc ("no such file or
 * directory" for a script whose interpreter is missing) is the most asked-about container error. */
static void exec_failed(const char *path, int err) __attribute__((noreturn));
static void exec_failed(const char *path, int err) {
  char why[PATH_MAX + 128] = "";
  unsigned char head[512];
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  ssize_t n = fd >= 0 ? pread(fd, head, sizeof head - 1, 0) : -1;
  int elf = n >= 20 && !memcmp(head, "\x7f" "ELF", 4);
  if (err == ENOENT && n >= 2 && head[0] == '#' && head[1] == '!') {
    head[n] = '\0';
    char *line = (char *)head + 2;
    line[strcspn(line, "\n")] = '\0';
    while (*line == ' ' || *line == '\t') line++;
    size_t len = strcspn(line, " \t");
    if (strchr(line, '\r'))
      snprintf(why, sizeof why, "its #! line ends in \\r (Windows CRLF line endings): convert the script to LF");
    else
      snprintf(why, sizeof why, "its interpreter %.*s is not in the container", (int)len, line);
  } else if (err == ENOENT && elf && head[4] == 2) {
    /* ELF64: find PT_INTERP, the dynamic loader that is missing. */
    uint64_t phoff;
    uint16_t phentsize, phnum;
    memcpy(&phoff, head + 32, 8);
    memcpy(&phentsize, head + 54, 2);
    memcpy(&phnum, head + 56, 2);
    snprintf(why, sizeof why, "it is dynamically linked and its loader is not in the container");
    for (uint16_t i = 0; i < phnum && phentsize >= 56; i++) {
      unsigned char ph[56];
      if (pread(fd, ph, sizeof ph, (off_t)(phoff + (uint64_t)i * phentsize)) != (ssize_t)sizeof ph) break;
      uint32_t type;
      uint64_t off, size;
      memcpy(&type, ph, 4);
      memcpy(&off, ph + 8, 8);
      memcpy(&size, ph + 32, 8);
      char interp[PATH_MAX];
      if (type == 3 /* PT_INTERP */ && size < sizeof interp && pread(fd, interp, size, (off_t)off) == (ssize_t)size) {
        interp[size] = '\0';
        snprintf(why, sizeof why, "its dynamic loader %s is not in the container (the program needs libraries the image lacks)", interp);
        break;
      }
    }
  } else if (err == ENOEXEC && elf) {
    uint16_t machine;
    memcpy(&machine, head + 18, 2);
#if defined(__x86_64__)
    const unsigned host = 62; /* EM_X86_64 */
#elif defined(__aarch64__)
    const unsigned host = 183; /* EM_AARCH64 */
#else
    const unsigned host = 0;
#endif
    if (machine != host)
      snprintf(why, sizeof why, "it is built for another architecture (ELF machine %u; this host's is %u)", machine, host);
    else
      snprintf(why, sizeof why, "the kernel cannot load this ELF file (damaged, or a different ABI)");
  } else if (err == ENOEXEC) {
    snprintf(why, sizeof why, "it is not a program and has no #! line");
  } else if (err == EACCES) {
    struct statvfs vfs;
    struct stat st;
    if (statvfs(path, &vfs) == 0 && (vfs.f_flag & ST_NOEXEC))
      snprintf(why, sizeof why, "it is on a noexec mount");
    else if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
      snprintf(why, sizeof why, "it is a directory");
    else if (stat(path, &st) == 0 && !(st.st_mode & 0111))
      snprintf(why, sizeof why, "it is not executable (mode %o)", st.st_mode & 07777);
  }
  if (fd >= 0) close(fd);
  die_err(err, "exec %s%s%s", path, *why ? ": " : "", why);
}

static void op_find_exec(struct cursor *c) {
  const char *file = next_str(c), *path_env = next_str(c);
  if (strchr(file, '/')) {
    snprintf(exec_path, sizeof exec_path, "%s", file);
    struct stat st;
    if (stat(exec_path, &st) < 0) DIE("exec: %s", file);
    /* As runc's LookPath: a path must name an executable file, caught before READY. */
    if (S_ISDIR(st.st_mode) || access(exec_path, X_OK) < 0) exec_failed(exec_path, EACCES);
    return;
  }
  char dirs[8192];
  snprintf(dirs, sizeof dirs, "%s", path_env);
  for (char *save = NULL, *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
    snprintf(exec_path, sizeof exec_path, "%s/%s", *d ? d : ".", file);
    struct stat st;
    if (stat(exec_path, &st) == 0 && S_ISREG(st.st_mode) && access(exec_path, X_OK) == 0) return;
  }
  die_err(ENOENT, "exec: \"%s\": executable file not found in $PATH", file);
}

/* Without HOME in the environment, use the user's home from the container's /etc/passwd, or "/"
 * (what runc does, after pivot_root, so the file read is the container's). */
static char **with_home(char **env, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!strncmp(env[i], "HOME=", 5)) return env;
  static char home[PATH_MAX + 5];
  strcpy(home, "HOME=/");
  FILE *f = fopen("/etc/passwd", "re");
  char line[1024];
  while (f && fgets(line, sizeof line, f)) {
    char *field[7] = {0}, *p = line;
    int k = 0;
    /* name:passwd:uid:gid:gecos:dir:shell — empty fields allowed, so no strtok */
    for (; k < 7 && p; k++) {
      field[k] = p;
      p = strchr(p, ':');
      if (p) *p++ = '\0';
    }
    if (k >= 6 && field[2] && (uid_t)strtoul(field[2], NULL, 10) == getuid() && field[5] && *field[5]) {
      field[5][strcspn(field[5], "\n")] = '\0';
      snprintf(home, sizeof home, "HOME=%s", field[5]);
      break;
    }
  }
  if (f) fclose(f);
  char **out = calloc(n + 2, sizeof(char *));
  if (!out) DIE("calloc");
  memcpy(out, env, n * sizeof(char *));
  out[n] = home;
  return out;
}

static void op_exec(struct cursor *c) {
  size_t n;
  char **args = next_strs(c, NULL), **env = next_strs(c, &n);
  env = with_home(env, n);
  execve(exec_path, args, env);
  exec_failed(exec_path, errno);
}

/* ---- terminals ------------------------------------------------------------------------- */
static void op_console_create(struct cursor *c) {
  uint64_t rows = next_u64(c), cols = next_u64(c), bind_console = next_u64(c), uid = next_u64(c);
  int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) DIE("open /dev/ptmx (is devpts mounted at /dev/pts?)");
  int unlock = 0;
  if (ioctl(master, TIOCSPTLCK, &unlock) < 0) DIE("unlockpt");
  /* TIOCGPTPEER opens the peer through the master: no path lookup a container could race. */
  int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave < 0) DIE("open the pty slave (TIOCGPTPEER)");
  unsigned int n;
  if (ioctl(master, TIOCGPTN, &n) < 0) DIE("TIOCGPTN");
  /* The terminal is the process's (its group stays devpts' gid=5, tty), as runc leaves it. */
  if (uid != 0 && fchown(slave, (uid_t)uid, (gid_t)-1) < 0) DIE("give the terminal to uid %llu", (unsigned long long)uid);
  char name[64];
  snprintf(name, sizeof name, "/dev/pts/%u", n);
  if (rows && cols) {
    struct winsize ws = {.ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols};
    if (ioctl(slave, TIOCSWINSZ, &ws) < 0) DIE("set the terminal size");
  }
  if (bind_console) {
    int tree = sys_open_tree(slave, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
    if (tree < 0) DIE("open_tree %s", name);
    int target = open_in_root("/dev/console", 1, 1);
    if (target < 0) DIE("create /dev/console");
    move_onto(tree, target, "/dev/console");
    close(tree);
    close(target);
  }
  char cbuf[CMSG_SPACE(sizeof(int))];
  memset(cbuf, 0, sizeof cbuf);
  struct iovec iov = {.iov_base = name, .iov_len = strlen(name)};
  struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
  struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
  cm->cmsg_level = SOL_SOCKET;
  cm->cmsg_type = SCM_RIGHTS;
  cm->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(cm), &master, sizeof(int));
  if (sendmsg(console_fd, &m, MSG_NOSIGNAL) < 0) DIE("send the pty master to the console socket");
  close(master);
  close(console_fd);
  console_fd = -1;
  if (setsid() < 0 && errno != EPERM) DIE("setsid");
  if (ioctl(slave, TIOCSCTTY, 0) < 0) DIE("make %s the controlling terminal", name);
  for (int fd = 0; fd < 3; fd++)
    if (dup2(slave, fd) < 0) DIE("dup2 the terminal to fd %d", fd);
  close(slave);
}

/* Parent of a foreground run/exec with a terminal: we are the console. Raw mode on our stdin,
 * copy both ways, pass window size changes on. */
static volatile sig_atomic_t winch;
static void on_winch(int sig) { (void)sig; winch = 1; }

static int receive_master(void) {
  char name[64], cbuf[CMSG_SPACE(sizeof(int))];
  struct iovec iov = {.iov_base = name, .iov_len = sizeof name};
  struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
  ssize_t n;
  while ((n = recvmsg(console_fd, &m, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR) {}
  struct cmsghdr *cm = n > 0 ? CMSG_FIRSTHDR(&m) : NULL;
  if (!cm || cm->cmsg_type != SCM_RIGHTS) return -1;
  int fd;
  memcpy(&fd, CMSG_DATA(cm), sizeof fd);
  return fd;
}

static void copy_fd(int from, int to, int *open_) {
  char buf[8192];
  ssize_t n = read(from, buf, sizeof buf);
  if (n <= 0) {
    *open_ = 0;
    return;
  }
  for (ssize_t off = 0; off < n;) {
    ssize_t w = write(to, buf + off, (size_t)(n - off));
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return;
    off += w;
  }
}

static void console_loop(void) {
  int master = receive_master();
  if (master < 0) return; /* the child failed before making its terminal; it reported why */
  struct termios saved;
  int raw = tcgetattr(0, &saved) == 0;
  if (raw) {
    struct termios t = saved;
    cfmakeraw(&t);
    tcsetattr(0, TCSANOW, &t);
  }
  struct sigaction sa = {.sa_handler = on_winch};
  sigaction(SIGWINCH, &sa, NULL);
  winch = 1;
  int in_open = 1, out_open = 1;
  while (out_open) {
    if (winch) {
      struct winsize ws;
      winch = 0;
      if (ioctl(0, TIOCGWINSZ, &ws) == 0) ioctl(master, TIOCSWINSZ, &ws);
    }
    struct pollfd p[2] = {{.fd = master, .events = POLLIN}, {.fd = in_open ? 0 : -1, .events = POLLIN}};
    if (poll(p, 2, -1) < 0) continue;
    if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) copy_fd(master, 1, &out_open);
    if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) copy_fd(0, master, &in_open);
  }
  if (raw) tcsetattr(0, TCSANOW, &saved);
  close(master);
}

/* ---- parent: the foreground wait -------------------------------------------------------- */
static void forward(int sig) { kill(child_pid, sig); }

static void finish(uint64_t foreground) {
  close(REPORT_FD);
  if (!foreground) {
    /* The child dies with us (PDEATHSIG) until it is ready: wait for it to close its end of the
     * sync socket (at READY, or by dying), then leave it to the subreaper. */
    char b;
    while (read(sync_fd, &b, 1) != 0 && errno == EINTR) {}
    _exit(0);
  }
  close(sync_fd);
  struct sigaction sa = {.sa_handler = forward, .sa_flags = SA_RESTART};
  sigemptyset(&sa.sa_mask);
  for (int s = 1; s < 32; s++)
    if (s != SIGKILL && s != SIGSTOP && s != SIGCHLD && !(console_fd >= 0 && s == SIGWINCH)) sigaction(s, &sa, NULL);
  if (console_fd >= 0) console_loop();
  int st;
  while (waitpid(child_pid, &st, 0) < 0)
    if (errno != EINTR) _exit(255);
  _exit(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
}

/* ---- the op loop ------------------------------------------------------------------------ */
static void sync_wait(void) {
  int32_t v;
  ssize_t n;
  while ((n = read(sync_fd, &v, sizeof v)) < 0 && errno == EINTR) {}
  if (n != sizeof v) _exit(1); /* the other side died and has reported why */
  if (is_child && v > 0) child_pid = v;
  if (!is_child && v > 0) {
    /* FORK_GRANDCHILD: the intermediate child is done; the grandchild is ours now. */
    while (waitpid(child_pid, NULL, 0) < 0 && errno == EINTR) {}
    child_pid = v;
  }
}
static void sync_send(int32_t v) {
  if (send(sync_fd, &v, sizeof v, MSG_NOSIGNAL) != sizeof v) _exit(1); /* the other side died and reported */
}

static long long now_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (long long)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

/* lo up in this process's network namespace (SIOCSIFFLAGS IFF_UP), as runc does. */
static void loopback_up(void) {
  int sk = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  strcpy(ifr.ifr_name, "lo");
  if (sk < 0 || ioctl(sk, SIOCGIFFLAGS, &ifr) < 0) DIE("read the flags of lo");
  ifr.ifr_flags |= IFF_UP;
  if (ioctl(sk, SIOCSIFFLAGS, &ifr) < 0) DIE("bring lo up");
  close(sk);
}

static void run_op(uint32_t code, struct cursor *c) {
  switch (code) {
  case OP_SETNS:
  case OP_CHILD_SETNS: {
    /* Joined with a user namespace: each other type is tried before it ("early"), where our own
     * credentials still admit a namespace its owner does not (a netns the host made, CNI's),
     * then again after it if EPERM said only the user namespace admits it (runc's two passes). */
    static uint64_t joined;
    const char *path = next_str(c);
    uint64_t type = next_u64(c), early = next_u64(c);
    if (joined & type) break;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) DIE("open namespace %s", path);
    if (setns(fd, (int)type) < 0) {
      if (early && errno == EPERM) {
        close(fd);
        break;
      }
      DIE("setns %s", path);
    }
    joined |= type;
    close(fd);
    break;
  }
  case OP_IDMAP_USERNS: op_idmap_userns(c); break;
  case OP_IDMAP_USERNS_CHILD: {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/ns/user", (int)child_pid);
    use_idmap_ns(path);
    break;
  }
  case OP_SEND_TREES: op_send_trees(c); break;
  case OP_RECV_TREES: op_recv_trees(c); break;
  case OP_IDMAP_TREE: op_idmap_tree(c); break;
  case OP_LOOPBACK_UP: loopback_up(); break;
  case OP_NETNS_NEW: {
    const char *path = next_str(c);
    if (unshare(CLONE_NEWNET) < 0) DIE("unshare(CLONE_NEWNET)");
    loopback_up();
    if (mount("/proc/self/ns/net", path, NULL, MS_BIND, NULL) < 0) DIE("bind-mount the new network namespace on %s", path);
    break;
  }
  case OP_UNSHARE:
  case OP_CHILD_UNSHARE:
    if (unshare((int)next_u64(c)) < 0) DIE("unshare");
    break;
  case OP_WRITE_SELF: {
    const char *file = next_str(c), *content = next_str(c);
    char p[64];
    snprintf(p, sizeof p, "/proc/self/%s", file);
    write_file_at(AT_FDCWD, p, content);
    break;
  }
  case OP_MKFIFO: {
    const char *path = next_str(c);
    if (mkfifo(path, (mode_t)next_u64(c)) < 0) DIE("mkfifo %s", path);
    break;
  }
  case OP_CLONE: {
    uint64_t flags = next_u64(c);
    const char *cgroup = next_str(c);
    if (idmap_ns >= 0) close(idmap_ns); /* the trees hold their idmapping */
    idmap_ns = -1;
    int sp[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0) DIE("socketpair");
    pid_t pid = -1;
    int moved = 0;
    if (*cgroup) {
      /* Born in its cgroup: no migration, so none of the global lock's RCU grace periods that a
       * write to cgroup.procs waits for (milliseconds per container on cgroup2). */
      int cfd = open(cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (cfd < 0) DIE("open cgroup %s", cgroup);
      struct clone_args ca = {.flags = flags | CLONE_INTO_CGROUP, .exit_signal = SIGCHLD, .cgroup = (uint64_t)cfd};
      pid = (pid_t)syscall(SYS_clone3, &ca, sizeof ca);
      moved = pid >= 0;
      if (pid < 0 && errno != ENOSYS && errno != EINVAL && errno != E2BIG && errno != EOPNOTSUPP && errno != EBUSY) DIE("clone3 into cgroup %s", cgroup);
      if (pid != 0) close(cfd);
    }
    if (pid < 0) pid = (pid_t)syscall(SYS_clone, (unsigned long)flags | SIGCHLD, NULL, NULL, NULL, NULL);
    if (pid < 0) DIE("clone");
    if (pid > 0 && *cgroup && !moved) {
      /* clone3 refused (an old kernel, a cgroup it cannot start tasks in): move the child. */
      char procs[PATH_MAX], num[16];
      snprintf(procs, sizeof procs, "%s/cgroup.procs", cgroup);
      snprintf(num, sizeof num, "%d", (int)pid);
      child_pid = pid;
      write_file_at(AT_FDCWD, procs, num);
    }
    if (pid == 0) {
      is_child = 1;
      sync_fd = sp[1];
      close(sp[0]);
      if (console_peer >= 0) {
        close(console_fd);
        console_fd = console_peer;
      }
      prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0); /* until the parent is done with us */
      umask(0); /* devices and mount points get exactly the modes asked for; SET_USER sets the process's */
    } else {
      child_pid = pid;
      sync_fd = sp[0];
      close(sp[1]);
      if (console_peer >= 0) close(console_peer);
      if (notify_sock >= 0) close(notify_sock); /* the child's now; the agent must see it close */
      notify_sock = -1;
      report(REPORT_PID, pid, NULL);
    }
    break;
  }
  case OP_WRITE_CHILD_PROC: {
    const char *file = next_str(c), *content = next_str(c);
    char p[64];
    snprintf(p, sizeof p, "/proc/%d/%s", (int)child_pid, file);
    write_file_at(AT_FDCWD, p, content);
    break;
  }
  case OP_WRITE_CHILD_PID: {
    const char *path = next_str(c);
    char pid[16];
    snprintf(pid, sizeof pid, "%d", (int)child_pid);
    write_file_at(AT_FDCWD, path, pid);
    break;
  }
  case OP_WAKE_CHILD: sync_send(child_pid); break;
  case OP_WAIT_CHILD: sync_wait(); break;
  case OP_WAIT_PARENT: sync_wait(); break;
  case OP_WAKE_PARENT: sync_send(0); sync_wait(); break;
  case OP_FORK_GRANDCHILD: {
    /* getpid() in the grandchild answers in the joined pid namespace; SECCOMP's payload needs the
     * host pid, which only clone's return value here knows: pass it down a pipe. */
    int pp[2];
    if (pipe2(pp, O_CLOEXEC) < 0) DIE("pipe for the grandchild's pid");
    pid_t pid = (pid_t)syscall(SYS_clone, (unsigned long)CLONE_PARENT | SIGCHLD, NULL, NULL, NULL, NULL);
    if (pid < 0) DIE("clone(CLONE_PARENT)");
    if (pid == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
      close(pp[1]);
      if (read(pp[0], &child_pid, sizeof child_pid) != sizeof child_pid) _exit(1); /* the child died and reported */
      close(pp[0]);
      break; /* the grandchild goes on with the plan */
    }
    close(pp[0]);
    if (write(pp[1], &pid, sizeof pid) != sizeof pid) DIE("send the grandchild its pid");
    report(REPORT_PID, pid, NULL);
    sync_send(pid);
    _exit(0);
  }
  case OP_JOIN_CGROUP:
    /* cgroup v1 moves a thread that writes "0" to tasks without taking the global threadgroup
     * rwsem; a pid written to cgroup.procs waits for an RCU grace period (~10 ms here). We are
     * single-threaded, so moving this thread moves the process. */
    write_file_at(AT_FDCWD, next_str(c), "0");
    break;
  case OP_PREOPEN_BIND: {
    const char *source = next_str(c);
    int rec = next_u64(c) != 0;
    int fd = sys_open_tree(AT_FDCWD, source, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (rec ? AT_RECURSIVE : 0));
    if (fd < 0) DIE("open_tree %s (bind source)", source);
    keep_preopened(source, rec, 0, fd);
    break;
  }
  case OP_BECOME_NS_ROOT:
    /* Our host uid 0 is not mapped in the new namespace: take its uid 0 (mapped by the parent). */
    if (setresgid(0, 0, 0) < 0) DIE("setresgid(0) in the user namespace");
    if (setresuid(0, 0, 0) < 0) DIE("setresuid(0) in the user namespace");
    if (setgroups(0, NULL) < 0 && errno != EPERM) DIE("setgroups([]) in the user namespace");
    break;
  case OP_HOOK:
  case OP_CHILD_HOOK: op_hook(c); break;
  case OP_FINISH: finish(next_u64(c)); break;
  case OP_DEVICE_PROGRAM: op_device_program(c); break;
  case OP_CONSOLE_PAIR: {
    int sp[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0) DIE("socketpair for the console");
    console_fd = sp[0]; /* the child swaps to sp[1] right after clone */
    console_peer = sp[1];
    break;
  }
  case OP_CONSOLE_CONNECT: console_fd = connect_unix(next_str(c), "console socket"); break;
  case OP_SECCOMP_CONNECT: notify_sock = connect_unix(next_str(c), "seccomp listenerPath"); break;
  case OP_CONSOLE_CREATE: op_console_create(c); break;
  case OP_SETSID:
    if (setsid() < 0) DIE("setsid");
    break;
  case OP_MOUNT_ROOT_PROPAGATION:
    if (mount(NULL, "/", NULL, (unsigned long)next_u64(c), NULL) < 0) DIE("set propagation of /");
    break;
  case OP_OPEN_ROOTFS: {
    const char *path = next_str(c);
    rootfd = open(path, O_DIRECTORY | O_PATH | O_CLOEXEC);
    if (rootfd < 0) DIE("open rootfs %s", path);
    break;
  }
  case OP_BIND_ROOTFS: {
    int tree = sys_open_tree(rootfd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | AT_RECURSIVE);
    if (tree < 0) DIE("open_tree rootfs");
    move_onto(tree, rootfd, "rootfs");
    close(rootfd);
    rootfd = tree; /* the bind mount itself: later lookups must see mounts made on it */
    break;
  }
  case OP_MOUNT: op_mount(c); break;
  case OP_MKNOD: op_mknod(c); break;
  case OP_BIND_DEVICE: op_bind_device(c); break;
  case OP_SYMLINK: op_symlink(c); break;
  case OP_OPEN_EXEC_FIFO: {
    const char *path = next_str(c);
    /* O_RDWR never blocks on a fifo; WAIT_START then reads the byte `start` writes. */
    fifo_fd = open(path, O_RDWR | O_CLOEXEC);
    if (fifo_fd < 0) DIE("open exec fifo %s", path);
    break;
  }
  case OP_PIVOT_ROOT: op_pivot_root(c); break;
  case OP_MASK_PATH: op_mask_path(c); break;
  case OP_READONLY_PATH: op_readonly_path(c); break;
  case OP_MOUNT_SETATTR: op_mount_setattr(c); break;
  case OP_WRITE_FILE: {
    const char *path = next_str(c), *content = next_str(c);
    write_file_at(AT_FDCWD, path, content);
    break;
  }
  case OP_SETHOSTNAME: {
    const char *n = next_str(c);
    if (sethostname(n, strlen(n)) < 0) DIE("sethostname %s", n);
    break;
  }
  case OP_SETDOMAINNAME: {
    const char *n = next_str(c);
    if (setdomainname(n, strlen(n)) < 0) DIE("setdomainname %s", n);
    break;
  }
  case OP_SETRLIMIT: {
    uint64_t res = next_u64(c);
    struct rlimit r = {.rlim_cur = next_u64(c), .rlim_max = next_u64(c)};
    if (prlimit(0, (int)res, &r, NULL) < 0) DIE("setrlimit %llu", (unsigned long long)res);
    break;
  }
  case OP_CHDIR: {
    const char *p = next_str(c);
    if (chdir(p) < 0) DIE("chdir %s", p);
    /* A cwd that is not under the container's root (a leaked host fd) reads "(unreachable)". */
    char buf[PATH_MAX];
    if (!getcwd(buf, sizeof buf) || buf[0] != '/') die_err(EPERM, "cwd %s is outside the container", p);
    break;
  }
  case OP_SET_USER: op_set_user(c); break;
  case OP_CAPS_BOUNDING: op_caps_bounding(c); break;
  case OP_CAPS: op_caps(c); break;
  case OP_NO_NEW_PRIVS:
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) DIE("prctl(PR_SET_NO_NEW_PRIVS)");
    break;
  case OP_SECCOMP: op_seccomp(c); break;
  case OP_CLOSE_FDS: {
    uint64_t first = next_u64(c);
    if (syscall(SYS_close_range, (unsigned)first, ~0U, CLOSE_RANGE_CLOEXEC) == 0) break;
    /* A kernel before 5.11 (ENOSYS, or EPERM from a container's own filter): fd by fd. */
    int dfd = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
    if (!d) DIE("close_range, then open /proc/self/fd");
    for (struct dirent *e; (e = readdir(d));) {
      int fd = atoi(e->d_name);
      if (e->d_name[0] >= '0' && e->d_name[0] <= '9' && fd >= (int)first && fd != dfd && fcntl(fd, F_SETFD, FD_CLOEXEC) < 0 && errno != EBADF)
        DIE("make fd %d close-on-exec", fd);
    }
    closedir(d);
    break;
  }
  case OP_FIND_EXEC: op_find_exec(c); break;
  case OP_READY:
    if (prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0) < 0) DIE("prctl(PR_SET_PDEATHSIG)");
    close(sync_fd);
    sync_fd = -1;
    report(REPORT_READY, 0, NULL);
    ready_sent = 1;
    break;
  case OP_WAIT_START: {
    char b;
    ssize_t n;
    while ((n = read(fifo_fd, &b, 1)) < 0 && errno == EINTR) {}
    if (n != 1) DIE("read exec fifo");
    close(fifo_fd);
    break;
  }
  case OP_WAIT_CALLER_EXIT: {
    /* The runtime's end of the report socket closes when it exits (after the pid file). */
    char b;
    ssize_t n;
    while ((n = read(REPORT_FD, &b, 1)) > 0 || (n < 0 && errno == EINTR)) {}
    break;
  }
  case OP_EXEC: op_exec(c); break;
  default: die_err(EINVAL, "plan: unknown op code %u", code);
  }
}

static char *read_plan(size_t *len) {
  uint32_t n;
  size_t got = 0;
  while (got < 4) {
    ssize_t r = read(REPORT_FD, (char *)&n + got, 4 - got);
    if (r <= 0) die_err(r < 0 ? errno : EPIPE, "read plan length");
    got += (size_t)r;
  }
  if (n > (64u << 20)) die_err(E2BIG, "plan of %u bytes", n);
  char *buf = malloc(n);
  if (!buf) DIE("malloc plan");
  for (got = 0; got < n;) {
    ssize_t r = read(REPORT_FD, buf + got, n - got);
    if (r <= 0) die_err(r < 0 ? errno : EPIPE, "read plan");
    got += (size_t)r;
  }
  *len = n;
  return buf;
}

int main(int argc, char **argv, char **envp) {
  ensure_sealed(argv, envp);
  if (argc > 1) REPORT_FD = atoi(argv[1]);
  if (fcntl(REPORT_FD, F_SETFD, FD_CLOEXEC) < 0) {
    dprintf(2, "berth-init: fd 3 is not open: run me from berth-runtime\n");
    return 2;
  }
  size_t len;
  char *plan = read_plan(&len);
  if (len < 20 || memcmp(plan, PLAN_MAGIC, 8) != 0) die_err(EINVAL, "plan: bad magic");
  uint32_t hdr[3];
  memcpy(hdr, plan + 8, 12);
  if (hdr[0] != PLAN_VERSION)
    die_err(EINVAL, "plan: made for op table %08x, this berth-init was built from %08x: rebuild it (scripts/build.sh)", hdr[0], PLAN_VERSION);
  explain = hdr[1] & 1;
  uint32_t nops = hdr[2];
  const char *p = plan + 20, *end = plan + len;
  for (uint32_t i = 0; i < nops; i++) {
    uint32_t code, plen;
    cur_op = (int)i;
    if (end - p < 8) die_err(EINVAL, "plan: op %u header truncated", i);
    memcpy(&code, p, 4);
    memcpy(&plen, p + 4, 4);
    p += 8;
    if ((uint32_t)(end - p) < plen || code >= OP_COUNT) die_err(EINVAL, "plan: op %u malformed", i);
    struct cursor c = {p, p + plen};
    p += plen;
    if ((op_who[code] == 'c') != is_child) continue;
    long long t0 = explain ? now_us() : 0;
    run_op(code, &c);
    /* After CLONE both processes return here: only the parent reports that step. */
    if (explain && code != OP_READY && !(code == OP_CLONE && is_child)) report(REPORT_STEP, (int32_t)(now_us() - t0), NULL);
  }
  if (!is_child) finish(0);
  die_err(EINVAL, "plan ended without EXEC");
}
