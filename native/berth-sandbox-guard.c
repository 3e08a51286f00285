/*
 * berth-sandbox-guard: one per Sandbox (src/sandbox/guard.ts), in its own session. Two jobs:
 *
 * 1. Cleanup that outlives the caller. The library registers each run's cgroup directories before
 *    it makes them. When the library's end of the channel closes — its process exited or was
 *    killed, even with SIGKILL — or on SIGTERM, the guard kills every process in those cgroups
 *    (cgroup.kill on v2; SIGKILL to each pid in cgroup.procs until the group is empty on v1),
 *    removes the directories, removes the Sandbox's state directory and exits. A run the library
 *    finished itself is unregistered ("end"). Mounts need no cleanup: a run's mounts exist only in
 *    its own mount namespace, which ends with its last process.
 *
 * 2. The seccomp agent of runs whose profile uses SCMP_ACT_NOTIFY ("strict"). berth-init connects
 *    to <state>/seccomp.sock and hands over the filter's listener fd with the container process
 *    state, whose "metadata" is the run id (runtime-spec config-linux.md "Seccomp"). A
 *    notification — a syscall the profile forbids — is reported to the library with the run id,
 *    the syscall's number and architecture, then the calling process is killed before the syscall
 *    runs (the notified task waits in the kernel until it gets an answer; SIGKILL ends the wait).
 *    The report is written before the kill, so it is readable before the run can end.
 *
 * 3. A sealed copy of berth-init (argv[2]) for the runs to execute through /proc/<guard>/fd/<n>:
 *    berth-init run from a plain file copies itself into a sealed memfd and executes that
 *    (CVE-2019-5736); started from one already, it skips that second exec. A glibc program's
 *    start-up costs this VM 1-3 ms (cpuid exits in its cache probing), so one copy per Sandbox
 *    instead of one per run is measurable (docs/architecture.md "Sandbox").
 *
 * argv: <state dir> (created here, mode 0700) <berth-init>. Channel: fd 3, a stream socket; lines.
 *   in:  cgroup <run id> <dir>     a directory of the run's cgroup (one line per hierarchy)
 *        end <run id>              the run is over and cleaned up: forget it
 *   out: ready <fd>                the seccomp socket listens; <fd> is the sealed berth-init
 *        seccomp <run id> <pid> <arch> <nr>
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define CHANNEL 3
#define MAX_FDS 1024

struct cgroup_dir { char *run, *dir; };
struct listener { char *run; int fd; };

static struct cgroup_dir *dirs;
static size_t ndirs;
static struct listener *listeners; /* fd >= 0: a listener; run == NULL: a connection not yet handed over */
static size_t nlisteners;
static const char *state_dir;
static char sock_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
static volatile sig_atomic_t terminate;

static void on_term(int sig) { (void)sig; terminate = 1; }

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (n > 0 && (size_t)n < sizeof buf) (void)!send(CHANNEL, buf, (size_t)n, MSG_NOSIGNAL);
}

static void sleep_ms(long ms) {
  struct timespec t = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};
  while (nanosleep(&t, &t) < 0 && errno == EINTR) {}
}

/* ---- cleanup ----------------------------------------------------------------------------- */

/* SIGKILL what cgroup.procs lists; returns how many pids it named. */
static int kill_listed(const char *dir) {
  char path[4096];
  snprintf(path, sizeof path, "%s/cgroup.procs", dir);
  FILE *f = fopen(path, "re");
  if (!f) return 0;
  int n = 0, pid;
  while (fscanf(f, "%d", &pid) == 1) {
    if (pid > 0) kill(pid, SIGKILL);
    n++;
  }
  fclose(f);
  return n;
}

/* Kill everything in dir and below, remove the directories (deepest first); give up after ~10 s. */
static void remove_cgroup(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return; /* gone already (or never made) */
  for (struct dirent *e; (e = readdir(d));) {
    if (e->d_type != DT_DIR || !strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    char sub[4096];
    snprintf(sub, sizeof sub, "%s/%s", dir, e->d_name);
    remove_cgroup(sub);
  }
  closedir(d);
  char kill_file[4096];
  snprintf(kill_file, sizeof kill_file, "%s/cgroup.kill", dir);
  int kfd = open(kill_file, O_WRONLY | O_CLOEXEC);
  if (kfd >= 0) {
    (void)!write(kfd, "1", 1); /* v2 (5.14+): the whole subtree at once, forks in flight too */
    close(kfd);
  }
  for (int i = 0; i < 1000; i++) {
    if (rmdir(dir) == 0 || errno == ENOENT) return;
    if (errno != EBUSY) return;
    kill_listed(dir); /* v1, and killed tasks that have not left yet */
    sleep_ms(10);
  }
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw) {
  (void)st;
  (void)ftw;
  if (type == FTW_DP) rmdir(path);
  else unlink(path);
  return 0;
}

static void cleanup_all(void) {
  for (size_t i = 0; i < ndirs; i++) remove_cgroup(dirs[i].dir);
  /* FTW_MOUNT: never descend into a file system mounted below the state dir. */
  nftw(state_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

/* ---- the channel ------------------------------------------------------------------------- */

static void forget(const char *run) {
  size_t k = 0;
  for (size_t i = 0; i < ndirs; i++) {
    if (!strcmp(dirs[i].run, run)) {
      free(dirs[i].run);
      free(dirs[i].dir);
    } else {
      dirs[k++] = dirs[i];
    }
  }
  ndirs = k;
  for (size_t i = 0; i < nlisteners; i++)
    if (listeners[i].run && !strcmp(listeners[i].run, run) && listeners[i].fd >= 0) {
      close(listeners[i].fd);
      listeners[i].fd = -1;
    }
}

static void command(char *line) {
  char *sp = strchr(line, ' ');
  if (!sp) return;
  *sp = '\0';
  char *arg = sp + 1;
  if (!strcmp(line, "cgroup")) {
    char *sp2 = strchr(arg, ' ');
    if (!sp2) return;
    *sp2 = '\0';
    struct cgroup_dir *grown = realloc(dirs, (ndirs + 1) * sizeof *dirs);
    if (!grown) return;
    dirs = grown;
    dirs[ndirs].run = strdup(arg);
    dirs[ndirs].dir = strdup(sp2 + 1);
    if (dirs[ndirs].run && dirs[ndirs].dir) ndirs++;
  } else if (!strcmp(line, "end")) {
    forget(arg);
  }
}

/* Read what is there; returns 0 at end-of-file (the library is gone). */
static int read_channel(void) {
  static char buf[65536];
  static size_t len;
  ssize_t n = read(CHANNEL, buf + len, sizeof buf - 1 - len);
  if (n < 0) return errno == EINTR || errno == EAGAIN;
  if (n == 0) return 0;
  len += (size_t)n;
  char *start = buf, *nl;
  while ((nl = memchr(start, '\n', len - (size_t)(start - buf)))) {
    *nl = '\0';
    command(start);
    start = nl + 1;
  }
  len -= (size_t)(start - buf);
  memmove(buf, start, len);
  if (len == sizeof buf - 1) len = 0; /* a line this long is not ours */
  return 1;
}

/* ---- the seccomp agent ------------------------------------------------------------------- */

static void add_listener(int fd, const char *run) {
  struct listener *grown = realloc(listeners, (nlisteners + 1) * sizeof *listeners);
  if (!grown) {
    close(fd);
    return;
  }
  listeners = grown;
  listeners[nlisteners].fd = fd;
  listeners[nlisteners].run = run ? strdup(run) : NULL;
  nlisteners++;
}

/* berth-init's message: the process state JSON and, in SCM_RIGHTS, the listener fd. */
static void receive_listener(struct listener *conn) {
  char payload[16384];
  char cbuf[CMSG_SPACE(sizeof(int))];
  struct iovec iov = {.iov_base = payload, .iov_len = sizeof payload - 1};
  struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
  ssize_t n = recvmsg(conn->fd, &m, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  close(conn->fd);
  conn->fd = -1;
  struct cmsghdr *cm = n > 0 ? CMSG_FIRSTHDR(&m) : NULL;
  if (!cm || cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS) return;
  int fd;
  memcpy(&fd, CMSG_DATA(cm), sizeof fd);
  payload[n] = '\0';
  /* The run id is the listenerMetadata the library set: "metadata":"<id>" (ids are [a-z0-9-]). */
  const char *key = strstr(payload, "\"metadata\":\"");
  char run[128] = "";
  if (key) {
    key += strlen("\"metadata\":\"");
    size_t len = strcspn(key, "\"");
    if (len < sizeof run) memcpy(run, key, len), run[len] = '\0';
  }
  if (!*run) {
    close(fd);
    return;
  }
  add_listener(fd, run);
}

/* memfd_create + copy + seals, as berth-init's ensure_sealed does for itself. */
static int sealed_copy(const char *path) {
  int src = open(path, O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (src < 0 || fstat(src, &st) < 0) return -1;
  int m = memfd_create("berth-init", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  for (off_t off = 0; m >= 0 && off < st.st_size;)
    if (sendfile(m, src, &off, (size_t)(st.st_size - off)) <= 0) {
      close(m);
      m = -1;
    }
  close(src);
  if (m >= 0 && fcntl(m, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0) {
    close(m);
    m = -1;
  }
  return m;
}

static void notification(struct listener *l) {
  struct seccomp_notif req;
  memset(&req, 0, sizeof req); /* SECCOMP_IOCTL_NOTIF_RECV wants it zeroed */
  if (ioctl(l->fd, SECCOMP_IOCTL_NOTIF_RECV, &req) < 0) return; /* ENOENT: the task died meanwhile */
  say("seccomp %s %u %u %d\n", l->run, req.pid, req.data.arch, req.data.nr);
  kill((pid_t)req.pid, SIGKILL);
}

int main(int argc, char **argv) {
  if (argc != 3) return 2;
  state_dir = argv[1];
  setsid(); /* a terminal's ^C or hang-up reaches the library, not the guard */
  signal(SIGPIPE, SIG_IGN);
  signal(SIGINT, SIG_IGN);
  signal(SIGHUP, SIG_IGN);
  signal(SIGQUIT, SIG_IGN);
  struct sigaction sa = {.sa_handler = on_term};
  sigaction(SIGTERM, &sa, NULL);
  if (fcntl(CHANNEL, F_SETFD, FD_CLOEXEC) < 0) return 2;
  /* Blocking: a report must not be dropped when the library is slow to read. */
  int fl = fcntl(CHANNEL, F_GETFL);
  if (fl >= 0) fcntl(CHANNEL, F_SETFL, fl & ~O_NONBLOCK);
  if (mkdir(state_dir, 0700) < 0 && errno != EEXIST) return 3;
  int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  if (snprintf(sock_path, sizeof sock_path, "%s/seccomp.sock", state_dir) >= (int)sizeof sock_path) lfd = -1;
  strcpy(a.sun_path, sock_path);
  if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof a) < 0 || listen(lfd, 64) < 0) {
    say("error %d\n", errno);
    cleanup_all();
    return 3;
  }
  int helper = sealed_copy(argv[2]);
  if (helper < 0) {
    say("error %d\n", errno);
    cleanup_all();
    return 3;
  }
  say("ready %d\n", helper);
  struct pollfd p[MAX_FDS];
  size_t idx[MAX_FDS];
  while (!terminate) {
    nfds_t n = 0;
    p[n++] = (struct pollfd){.fd = CHANNEL, .events = POLLIN};
    p[n++] = (struct pollfd){.fd = lfd, .events = POLLIN};
    size_t k = 0;
    for (size_t i = 0; i < nlisteners; i++) /* compact: drop closed entries */
      if (listeners[i].fd >= 0) listeners[k++] = listeners[i];
      else free(listeners[i].run);
    nlisteners = k;
    for (size_t i = 0; i < nlisteners && n < MAX_FDS; i++) {
      idx[n] = i;
      p[n++] = (struct pollfd){.fd = listeners[i].fd, .events = POLLIN};
    }
    if (poll(p, n, -1) < 0) continue; /* EINTR: SIGTERM, looked at above */
    if (p[0].revents && !read_channel()) break;
    if (p[1].revents & POLLIN) {
      int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (c >= 0) add_listener(c, NULL);
    }
    for (nfds_t i = 2; i < n; i++) {
      if (!p[i].revents) continue;
      struct listener *l = &listeners[idx[i]];
      if (!l->run) receive_listener(l);
      else if (p[i].revents & POLLIN) notification(l);
      else { /* POLLHUP: no task uses the filter any more */
        close(l->fd);
        l->fd = -1;
      }
    }
  }
  cleanup_all();
  return 0;
}
