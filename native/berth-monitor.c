/*
 * berth-monitor: one per running container (the role of containerd-shim and podman's conmon).
 *
 * The engine (TypeScript, in whichever berth process starts the container) spawns it; it forks
 * away from the caller (new session, child subreaper), so the container outlives that process.
 * It holds the container's stdio (pipes, or the pty master received on a console socket),
 * writes the logs, reaps the container's init, records how it ended durably (write, fsync,
 * rename) before telling anyone, applies the restart policy, and serves attach and control on a
 * unix socket. It knows nothing of OCI, images or the database.
 *
 * Files, in --dir (the container's runtime directory; the monitor's cwd):
 *   attach.sock    clients: attach, wait, resize, stop intent, cleanup hand-off (frames below)
 *   console.sock   with --tty: where the runtime sends the pty master (SCM_RIGHTS)
 *   status.json    {"state": creating|running|restarting|exited, pids, times, exit code, signal,
 *                  oomKilled, restartCount, error}: rewritten with rename; fsynced on exit
 *   events.jsonl   appended: start, die, oom, restart (the engine imports them into its events)
 *   monitor.log    the monitor's own diagnostics
 *
 * Starting the container:
 *   fast path (--init-fd N --berth-init PATH): the engine computed the runtime plan; we exec
 *     berth-init with the container's stdio and fd N as its report socket. The engine talks to
 *     berth-init over that socket and, once the container is created and started, sends us
 *     "start <pid> <oom-file|->\n" on the sync socket (--sync-fd).
 *   restarts (--runtime PATH --runtime-root DIR --bundle DIR): `runtime delete --force`,
 *     `create --bundle --pid-file [--console-socket]`, `start`, as conmon drives runc.
 *   The init is reparented to us when berth-init's parent exits (PR_SET_CHILD_SUBREAPER).
 *
 * Sync socket (text lines): monitor → engine "ready <monitor pid>"; engine → monitor
 *   "start <pid> <oom-file|->". EOF before "start" means the start failed or the engine died: the
 *   monitor records that and exits (the engine's reconcile collects what is left).
 *
 * Attach frames (both ways): u8 type, u32 little-endian length, payload.
 *   client → monitor: HELLO(u32 flags: 1 stdout, 2 stderr, 4 stdin, 8 cleanup), STDIN(data),
 *     STDIN_EOF, RESIZE(u16 rows, u16 cols), STOPPING (the next exit is a user's stop: do not
 *     restart), DONE (the client finished the cleanup it promised with flag 8), REOPEN_LOG (close
 *     the log and open its path again: CRI's ReopenContainerLog after kubelet rotated it), DETACH (the client
 *     leaves on purpose: with --stdin-once its going does not close the process's stdin)
 *   monitor → client: STATUS(status.json text, once after HELLO), STDOUT, STDERR,
 *     EXIT(status.json text, after all output)
 * After the final exit the monitor waits for clients that promised the cleanup; if none did, or
 * one went away without DONE, it runs the exit command (--exit-arg…: the engine's `container
 * cleanup ID`). With --health-interval-ms it runs the health command (--health-arg…: `container
 * healthcheck ID`) while the container runs, never two at once: the next one is due an interval
 * after the last one ended (--health-start-interval-ms instead while within
 * --health-start-period-ms of the start and the last check did not exit 0, docker's rule).
 *
 * Exec sessions (`berth exec`) get a monitor of their own, in the session's directory: the same
 * fast path (berth-init with the engine's exec plan), no logs, no restarts. With --stdin-once a
 * stdin client that goes away without DETACH (a killed `berth exec -i`) closes the process's
 * stdin, or with a tty hangs the terminal up (the master closes: SIGHUP, as a dropped ssh).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

enum { F_HELLO = 1, F_STDIN = 2, F_STDIN_EOF = 3, F_RESIZE = 4, F_STOPPING = 5, F_DONE = 6, F_DETACH = 7, F_REOPEN_LOG = 8,
       F_STATUS = 16, F_STDOUT = 17, F_STDERR = 18, F_EXIT = 19 };
enum { W_STDOUT = 1, W_STDERR = 2, W_STDIN = 4, W_CLEANUP = 8 };
#define MAX_CLIENTS 64
#define MAX_ARGS 64
/* Back-pressure (docker's and conmon's rule: an attached reader that blocks blocks the process).
 * A client that asked for the output (HELLO stdout/stderr) and has CLIENT_HIGH bytes unsent
 * takes the container's stdout/stderr/pty out of epoll until every such client is back under
 * CLIENT_LOW: the kernel pipe (or pty) fills and the process blocks on its write. Nothing is
 * lost for attached clients, the monitor's buffers stay small, and the log file (written as
 * the pipes are read) stays complete. Several clients: the slowest one sets the pace; one that
 * goes away unblocks the others at once. No client, or clients that only wait/resize/clean up:
 * never paused. After the exit drain (below) nothing waits any more: a client is then dropped
 * CLIENT_OUT_MAX behind (writers that outlive the container must not grow our memory). */
#define CLIENT_HIGH (64u << 10)
#define CLIENT_LOW (16u << 10)
#define CLIENT_OUT_MAX (4u << 20)
#define LINE_MAX_BYTES 16384      /* docker's json-file splits longer lines (as its 16 KiB buffer) */

struct buf { char *p; size_t len, cap; };
struct client { int fd; uint32_t flags; int hello, done; struct buf in, out; };

static struct {
  const char *id, *dir, *log_path, *log_driver, *berth_init, *runtime, *runtime_root, *bundle;
  long long log_max_size;
  int log_max_files, stdin_open, tty, sync_fd, init_fd;
  char restart[32];
  int restart_max;
  const char *exit_argv[MAX_ARGS + 1];
  int exit_argc;
  const char *health_argv[MAX_ARGS + 1];
  int health_argc;
  long long health_interval_ms, health_start_interval_ms, health_start_period_ms;
  int stdin_once;
} o = {.log_driver = "json-file", .log_max_size = 10 << 20, .log_max_files = 3, .sync_fd = -1, .init_fd = -1};

static struct {
  char state[16];
  int pid, restart_count, exit_code, signal, oom, stopping;
  long long started_ns, finished_ns, monitor_start;
  char error[512];
} st = {.state = "creating"};

static int ep, sigfd, attach_lfd = -1, console_lfd = -1, log_fd = -1, diag_fd = 2;
static int out_fd = -1, err_fd = -1, in_fd = -1, master_fd = -1; /* our ends of the container's stdio */
static struct buf in_pending, line[2];
static struct client clients[MAX_CLIENTS];
static long long log_size;
static int stdio_paused;     /* the container's output fds are out of epoll: a client is behind */
static int backpressure = 1; /* off once the exit drain is over */
static long long last_progress; /* CLOCK_MONOTONIC ms of the last output read or sent */
static int reaped_status, have_reaped, started, oom_base = -1;
static int handed, vanished;            /* a cleanup client sent DONE / left without it */
static int aborted;                     /* the engine said "abort": its create failed, it cleans up */
static struct { int pid, status; } early[8]; /* children reaped before "start" named the init */
static char oom_file[4096];

static void diag(const char *fmt, ...) {
  char b[1024];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(b, sizeof b - 1, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if (n > (int)sizeof b - 2) n = sizeof b - 2;
  b[n++] = '\n';
  if (write(diag_fd, b, (size_t)n) < 0) {}
}
#define FAIL(...) do { diag(__VA_ARGS__); snprintf(st.error, sizeof st.error, __VA_ARGS__); } while (0)

static long long now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_REALTIME, &t);
  return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

/* RFC 3339 with nanoseconds, trailing zeros trimmed (Go's RFC3339Nano, which docker writes). */
static void rfc3339(long long ns, char *out, size_t n, int trim) {
  time_t s = (time_t)(ns / 1000000000LL);
  struct tm tm;
  gmtime_r(&s, &tm);
  char frac[16];
  snprintf(frac, sizeof frac, ".%09lld", ns % 1000000000LL);
  if (trim) {
    size_t l = strlen(frac);
    while (l > 1 && frac[l - 1] == '0') frac[--l] = 0;
    if (l == 1) frac[0] = 0;
  }
  snprintf(out, n, "%04d-%02d-%02dT%02d:%02d:%02d%sZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
}

static void put(struct buf *b, const void *p, size_t n) {
  if (b->len + n > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + n) cap *= 2;
    char *q = realloc(b->p, cap);
    if (!q) { diag("out of memory"); _exit(70); }
    b->p = q;
    b->cap = cap;
  }
  memcpy(b->p + b->len, p, n);
  b->len += n;
}
static void putc_(struct buf *b, char c) { put(b, &c, 1); }
static void puts_(struct buf *b, const char *s) { put(b, s, strlen(s)); }
static void consume(struct buf *b, size_t n) {
  memmove(b->p, b->p + n, b->len - n);
  b->len -= n;
}

/* A JSON string as docker's json-file writes it: <, >, & and U+2028/9 escaped, bad UTF-8 → U+FFFD. */
static void json_str(struct buf *b, const char *s, size_t n) {
  static const char hex[] = "0123456789abcdef";
  putc_(b, '"');
  for (size_t i = 0; i < n;) {
    unsigned char c = (unsigned char)s[i];
    if (c < 0x80) {
      if (c == '"' || c == '\\') { putc_(b, '\\'); putc_(b, (char)c); }
      else if (c == '\n') puts_(b, "\\n");
      else if (c == '\r') puts_(b, "\\r");
      else if (c == '\t') puts_(b, "\\t");
      else if (c < 0x20 || c == '<' || c == '>' || c == '&') {
        char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
        put(b, e, 6);
      } else putc_(b, (char)c);
      i++;
      continue;
    }
    size_t len = c >= 0xf0 && c < 0xf5 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c < 0xe0 ? 2 : 0;
    int ok = len > 0 && i + len <= n;
    for (size_t k = 1; ok && k < len; k++) ok = ((unsigned char)s[i + k] & 0xc0) == 0x80;
    if (ok && len == 3) {
      unsigned c1 = (unsigned char)s[i + 1];
      if ((c == 0xe0 && c1 < 0xa0) || (c == 0xed && c1 >= 0xa0)) ok = 0; /* overlong, surrogate */
      else if (c == 0xe2 && c1 == 0x80 && ((unsigned char)s[i + 2] == 0xa8 || (unsigned char)s[i + 2] == 0xa9)) {
        puts_(b, (unsigned char)s[i + 2] == 0xa8 ? "\\u2028" : "\\u2029");
        i += 3;
        continue;
      }
    }
    if (ok && len == 4) {
      unsigned c1 = (unsigned char)s[i + 1];
      if ((c == 0xf0 && c1 < 0x90) || (c == 0xf4 && c1 >= 0x90)) ok = 0;
    }
    if (!ok) { puts_(b, "\\ufffd"); i++; continue; }
    put(b, s + i, len);
    i += len;
  }
  putc_(b, '"');
}

static int write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return -1;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

/* Atomic replace: a reader sees the old file or the new one, never half of one. Durable: the
 * file is visible to other processes at rename; `sync_fd` (when given) keeps it open so the
 * caller can fsync it and the directory after telling its clients (sync_status): the fsyncs
 * (1-4 ms here) are then off the path of a foreground run's exit. */
static int write_file_atomic(const char *name, const char *data, size_t n, int *sync_fd) {
  char tmp[64];
  snprintf(tmp, sizeof tmp, ".%s.tmp", name);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return -1;
  int bad = write_all(fd, data, n) < 0;
  if (bad || rename(tmp, name) < 0) { close(fd); unlink(tmp); return -1; }
  if (sync_fd) *sync_fd = fd;
  else close(fd);
  return 0;
}

static int pending_sync = -1;

/* Make the last durable status survive a crash of the host: the file, then its directory. */
static void sync_status(void) {
  if (pending_sync < 0) return;
  if (fsync(pending_sync) < 0) diag("fsync status.json: %s", strerror(errno));
  close(pending_sync);
  pending_sync = -1;
  int d = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (d >= 0) { fsync(d); close(d); }
}

static void status_json(struct buf *b) {
  char t1[48], t2[48], e[700];
  rfc3339(st.started_ns, t1, sizeof t1, 1);
  rfc3339(st.finished_ns, t2, sizeof t2, 1);
  struct buf es = {0};
  json_str(&es, st.error, strlen(st.error));
  putc_(&es, 0);
  snprintf(e, sizeof e,
           "{\"state\":\"%s\",\"monitorPid\":%d,\"monitorStart\":%lld,\"pid\":%d,\"restartCount\":%d,\"startedAt\":\"%s\","
           "\"finishedAt\":\"%s\",\"exitCode\":%d,\"signal\":%d,\"oomKilled\":%s,\"stopping\":%s,\"error\":%s}",
           st.state, getpid(), st.monitor_start, st.pid, st.restart_count, st.started_ns ? t1 : "",
           st.finished_ns ? t2 : "", st.exit_code, st.signal, st.oom ? "true" : "false", st.stopping ? "true" : "false", es.p);
  free(es.p);
  puts_(b, e);
}

static void save_status(int durable) {
  struct buf b = {0};
  status_json(&b);
  sync_status();
  if (write_file_atomic("status.json", b.p, b.len, durable ? &pending_sync : NULL) < 0) diag("writing status.json: %s", strerror(errno));
  free(b.p);
}

static void event(const char *action, const char *extra) {
  char b[256];
  int n = snprintf(b, sizeof b, "{\"time\":%lld,\"action\":\"%s\"%s%s}\n", now_ns(), action, extra ? "," : "", extra ? extra : "");
  int fd = open("events.jsonl", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return;
  if (write_all(fd, b, (size_t)n) < 0) diag("events.jsonl: %s", strerror(errno));
  close(fd);
}

/* ---- logs ------------------------------------------------------------------------------ */

static void log_open(void) {
  if (!o.log_path || strcmp(o.log_driver, "none") == 0) return;
  log_fd = open(o.log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (log_fd < 0) { diag("open log %s: %s", o.log_path, strerror(errno)); return; }
  struct stat s;
  log_size = fstat(log_fd, &s) == 0 ? s.st_size : 0;
}

/* json.log → json.log.1 → … → json.log.(max-1); the oldest goes. Under an exclusive flock of the
 * log's directory: a reader (src/engine/logs.ts) opens the whole set under a shared one, so it
 * never sees the live name missing or a set that shifted between two of its opens. */
static void log_rotate(void) {
  close(log_fd);
  log_fd = -1;
  char from[4200], to[4200];
  snprintf(from, sizeof from, "%s", o.log_path);
  char *slash = strrchr(from, '/');
  if (slash && slash != from) *slash = 0;
  else snprintf(from, sizeof from, "%s", slash ? "/" : ".");
  int dfd = open(from, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) while (flock(dfd, LOCK_EX) < 0 && errno == EINTR) {}
  if (o.log_max_files <= 1) {
    if (truncate(o.log_path, 0) < 0) diag("truncate %s: %s", o.log_path, strerror(errno));
  } else {
    for (int i = o.log_max_files - 1; i >= 1; i--) {
      if (i == 1) snprintf(from, sizeof from, "%s", o.log_path);
      else snprintf(from, sizeof from, "%s.%d", o.log_path, i - 1);
      snprintf(to, sizeof to, "%s.%d", o.log_path, i);
      if (rename(from, to) < 0 && errno != ENOENT) diag("rotate %s: %s", from, strerror(errno));
    }
  }
  log_open();
  if (dfd >= 0) close(dfd); /* drops the flock */
}

static void log_entry(int stream, const char *p, size_t n, int partial) {
  if (log_fd < 0) return;
  char t[48];
  struct buf b = {0};
  long long ns = now_ns();
  if (strcmp(o.log_driver, "k8s-file") == 0) { /* CRI: "<RFC3339Nano> stdout|stderr F|P <line>" */
    rfc3339(ns, t, sizeof t, 0);
    puts_(&b, t);
    puts_(&b, stream ? " stderr " : " stdout ");
    puts_(&b, partial ? "P " : "F ");
    put(&b, p, n && p[n - 1] == '\n' ? n - 1 : n);
    putc_(&b, '\n');
  } else {
    rfc3339(ns, t, sizeof t, 1);
    puts_(&b, "{\"log\":");
    json_str(&b, p, n);
    puts_(&b, stream ? ",\"stream\":\"stderr\",\"time\":\"" : ",\"stream\":\"stdout\",\"time\":\"");
    puts_(&b, t);
    puts_(&b, "\"}\n");
  }
  if (write_all(log_fd, b.p, b.len) < 0) diag("write log: %s", strerror(errno));
  log_size += (long long)b.len;
  free(b.p);
  if (o.log_max_size > 0 && log_size >= o.log_max_size) log_rotate();
}

/* Whole lines go to the log as they complete; a line longer than 16 KiB is cut (partial). */
static void log_data(int stream, const char *p, size_t n) {
  struct buf *l = &line[stream];
  put(l, p, n);
  size_t start = 0;
  for (size_t i = 0; i < l->len; i++) {
    if (l->p[i] == '\n' || i + 1 - start >= LINE_MAX_BYTES) {
      log_entry(stream, l->p + start, i + 1 - start, l->p[i] != '\n');
      start = i + 1;
    }
  }
  consume(l, start);
}

static void log_flush(void) {
  for (int s = 0; s < 2; s++)
    if (line[s].len) { log_entry(s, line[s].p, line[s].len, 1); line[s].len = 0; }
}

/* ---- clients ----------------------------------------------------------------------------- */

static long long mono_ms(void);
static void stdio_pause(int on);
static int streaming(const struct client *c) { return c->hello && (c->flags & (W_STDOUT | W_STDERR)); }

/* Resume the container's output once every streaming client is under CLIENT_LOW. */
static void maybe_resume(void) {
  if (!stdio_paused) return;
  for (int i = 0; i < MAX_CLIENTS; i++)
    if (clients[i].fd > 0 && streaming(&clients[i]) && clients[i].out.len > CLIENT_LOW) return;
  stdio_pause(0);
}

static void frame(struct buf *b, int type, const void *p, uint32_t n) {
  unsigned char h[5] = {(unsigned char)type, (unsigned char)n, (unsigned char)(n >> 8), (unsigned char)(n >> 16), (unsigned char)(n >> 24)};
  put(b, h, 5);
  if (n) put(b, p, n);
}

static void client_close(struct client *c) {
  epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
  close(c->fd);
  free(c->in.p);
  free(c->out.p);
  memset(c, 0, sizeof *c);
  c->fd = -1;
  maybe_resume(); /* a client that went away holds no one back */
}

static void client_flush(struct client *c) {
  while (c->out.len) {
    ssize_t w = send(c->fd, c->out.p, c->out.len, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && errno == EAGAIN) break;
    if (w < 0) { client_close(c); return; }
    consume(&c->out, (size_t)w);
    last_progress = mono_ms();
  }
  if (!c->out.len && c->out.cap > 2 * CLIENT_HIGH) { free(c->out.p); c->out = (struct buf){0}; } /* keep RSS small */
  struct epoll_event e = {.events = EPOLLIN | (c->out.len ? EPOLLOUT : 0), .data.ptr = c};
  epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e);
  if (c->out.len <= CLIENT_LOW) maybe_resume();
}

static void client_send(struct client *c, int type, const void *p, uint32_t n) {
  frame(&c->out, type, p, n);
  if (!backpressure && c->out.len > CLIENT_OUT_MAX) { diag("attach client too slow after the exit: dropped"); client_close(c); return; }
  client_flush(c);
  if (c->fd > 0 && backpressure && streaming(c) && c->out.len >= CLIENT_HIGH && !stdio_paused) stdio_pause(1);
}

static void broadcast(int type, const void *p, uint32_t n) {
  uint32_t want = type == F_STDOUT ? W_STDOUT : type == F_STDERR ? W_STDERR : 0;
  for (int i = 0; i < MAX_CLIENTS; i++)
    if (clients[i].fd > 0 && clients[i].hello && (!want || (clients[i].flags & want))) client_send(&clients[i], type, p, n);
}

static void stdin_flush(void) {
  int fd = o.tty ? master_fd : in_fd;
  while (fd >= 0 && in_pending.len) {
    ssize_t w = write(fd, in_pending.p, in_pending.len);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && errno == EAGAIN) return;
    if (w < 0) { in_pending.len = 0; return; }
    consume(&in_pending, (size_t)w);
  }
}

static struct winsize last_ws; /* applied again to a master that arrives after the resize */

static void set_winsize(unsigned rows, unsigned cols) {
  struct winsize ws = {.ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols};
  last_ws = ws;
  if (master_fd >= 0 && ioctl(master_fd, TIOCSWINSZ, &ws) < 0) diag("TIOCSWINSZ: %s", strerror(errno));
}

static void client_frames(struct client *c) {
  while (c->in.len >= 5) {
    unsigned char *h = (unsigned char *)c->in.p;
    uint32_t n = h[1] | h[2] << 8 | (uint32_t)h[3] << 16 | (uint32_t)h[4] << 24;
    if (n > (1u << 20)) { client_close(c); return; }
    if (c->in.len < 5 + n) return;
    const char *p = c->in.p + 5;
    switch (h[0]) {
    case F_HELLO:
      if (n >= 4) c->flags = (unsigned char)p[0] | (unsigned char)p[1] << 8;
      c->hello = 1;
      {
        struct buf b = {0};
        status_json(&b);
        client_send(c, F_STATUS, b.p, (uint32_t)b.len);
        free(b.p);
      }
      if (c->fd < 0) return;
      break;
    case F_STDIN:
      if ((c->flags & W_STDIN) && (o.stdin_open || o.tty)) { put(&in_pending, p, n); stdin_flush(); }
      break;
    case F_STDIN_EOF:
      /* docker's StdinOnce: the container's stdin closes when the attached client's does. */
      if (!o.tty && in_fd >= 0 && (c->flags & W_STDIN)) { stdin_flush(); close(in_fd); in_fd = -1; }
      break;
    case F_RESIZE:
      if (n >= 4) set_winsize((unsigned char)p[0] | (unsigned char)p[1] << 8, (unsigned char)p[2] | (unsigned char)p[3] << 8);
      break;
    case F_STOPPING:
      st.stopping = 1;
      break;
    case F_DONE:
      c->done = 1;
      handed = 1;
      break;
    case F_DETACH:
      c->flags &= ~(uint32_t)W_STDIN;
      break;
    case F_REOPEN_LOG: /* CRI ReopenContainerLog: kubelet renamed the file; write a new one at the path */
      if (log_fd >= 0) { close(log_fd); log_fd = -1; }
      log_open();
      break;
    }
    consume(&c->in, 5 + n);
  }
}

/* --stdin-once: the process's stdin closes with its client (see the header). */
static void stdin_gone(void) {
  if (o.tty) {
    if (master_fd >= 0) { epoll_ctl(ep, EPOLL_CTL_DEL, master_fd, NULL); close(master_fd); master_fd = -1; }
  } else if (in_fd >= 0) { close(in_fd); in_fd = -1; }
}

static void client_readable(struct client *c) {
  char b[65536];
  for (;;) {
    ssize_t r = recv(c->fd, b, sizeof b, MSG_DONTWAIT);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 && errno == EAGAIN) break;
    if (r <= 0) {
      if ((c->flags & W_CLEANUP) && !c->done) vanished = 1;
      if (o.stdin_once && (c->flags & W_STDIN)) stdin_gone();
      client_close(c);
      return;
    }
    put(&c->in, b, (size_t)r);
    client_frames(c);
    if (c->fd < 0) return;
  }
}

static void accept_clients(void) {
  for (;;) {
    int fd = accept4(attach_lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    int i = 0;
    while (i < MAX_CLIENTS && clients[i].fd > 0) i++;
    if (i == MAX_CLIENTS) { close(fd); continue; }
    memset(&clients[i], 0, sizeof clients[i]);
    clients[i].fd = fd;
    struct epoll_event e = {.events = EPOLLIN, .data.ptr = &clients[i]};
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
  }
}

/* ---- the container's stdio ----------------------------------------------------------------- */

static void watch(int fd, void *tag) {
  struct epoll_event e = {.events = EPOLLIN, .data.ptr = tag};
  epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
}
static char TAG_OUT, TAG_ERR, TAG_MASTER, TAG_SIG, TAG_ATTACH, TAG_CONSOLE, TAG_SYNC, TAG_HEALTH;

/* The container's output fds are in epoll unless back-pressure paused them (see CLIENT_HIGH). */
static void watch_output(int fd, void *tag) {
  if (!stdio_paused) watch(fd, tag);
}
static void stdio_pause(int on) {
  int *fds[] = {&out_fd, &err_fd, &master_fd};
  void *tags[] = {&TAG_OUT, &TAG_ERR, &TAG_MASTER};
  if (on == stdio_paused) return;
  stdio_paused = on;
  for (int i = 0; i < 3; i++) {
    if (*fds[i] < 0) continue;
    if (on) epoll_ctl(ep, EPOLL_CTL_DEL, *fds[i], NULL);
    else watch(*fds[i], tags[i]);
  }
}
static int health_fd = -1;
static pid_t health_pid; /* the check running now: never two at once */
static pid_t exit_cmd_pid;
static int exit_cmd_status = -1;

/* Returns 0 at EOF (the last writer is gone). */
static int pump(int *fd, int stream) {
  char b[32768];
  for (;;) {
    ssize_t r = read(*fd, b, sizeof b);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 && errno == EAGAIN) return 1;
    if (r <= 0) { /* EOF, or EIO on a pty whose last slave closed */
      epoll_ctl(ep, EPOLL_CTL_DEL, *fd, NULL);
      close(*fd);
      *fd = -1;
      return 0;
    }
    last_progress = mono_ms();
    log_data(stream, b, (size_t)r);
    broadcast(stream ? F_STDERR : F_STDOUT, b, (uint32_t)r);
    if (stdio_paused) return 1; /* a client is behind: the rest waits in the pipe */
  }
}

static int listen_at(const char *name) {
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  snprintf(a.sun_path, sizeof a.sun_path, "%s", name);
  unlink(name);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || chmod(name, 0600) < 0 || listen(fd, 16) < 0) {
    FAIL("listen on %s/%s: %s", o.dir, name, strerror(errno));
    return -1;
  }
  return fd;
}

static void receive_master(void) {
  int fd = accept4(console_lfd, NULL, NULL, SOCK_CLOEXEC);
  if (fd < 0) return;
  char data[256], ctl[CMSG_SPACE(sizeof(int))];
  struct iovec iov = {data, sizeof data};
  struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof ctl};
  ssize_t n;
  while ((n = recvmsg(fd, &m, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR) {}
  close(fd);
  struct cmsghdr *cm = n >= 0 ? CMSG_FIRSTHDR(&m) : NULL;
  if (!cm || cm->cmsg_type != SCM_RIGHTS) { diag("console socket: no pty master received"); return; }
  if (master_fd >= 0) { epoll_ctl(ep, EPOLL_CTL_DEL, master_fd, NULL); close(master_fd); }
  memcpy(&master_fd, CMSG_DATA(cm), sizeof(int));
  fcntl(master_fd, F_SETFL, O_NONBLOCK);
  if (last_ws.ws_row && ioctl(master_fd, TIOCSWINSZ, &last_ws) < 0) diag("TIOCSWINSZ: %s", strerror(errno));
  watch_output(master_fd, &TAG_MASTER);
  stdin_flush();
}

/* Pipes for one start of the container: ours non-blocking, the container's ends returned. */
static int make_stdio(int theirs[3]) {
  int p[2];
  theirs[0] = theirs[1] = theirs[2] = -1;
  if (o.tty) { /* the pty carries everything; the runtime's own stdio is /dev/null */
    for (int i = 0; i < 3; i++) theirs[i] = open("/dev/null", O_RDWR | O_CLOEXEC);
    return 0;
  }
  int *old[] = {&out_fd, &err_fd};
  for (int i = 0; i < 2; i++)
    if (*old[i] >= 0) { epoll_ctl(ep, EPOLL_CTL_DEL, *old[i], NULL); close(*old[i]); *old[i] = -1; }
  if (o.stdin_open) {
    if (pipe2(p, O_CLOEXEC) < 0) return -1;
    if (in_fd >= 0) close(in_fd);
    in_fd = p[1];
    fcntl(in_fd, F_SETFL, O_NONBLOCK);
    theirs[0] = p[0];
  } else theirs[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (pipe2(p, O_CLOEXEC) < 0) return -1;
  out_fd = p[0];
  theirs[1] = p[1];
  if (pipe2(p, O_CLOEXEC) < 0) return -1;
  err_fd = p[0];
  theirs[2] = p[1];
  fcntl(out_fd, F_SETFL, O_NONBLOCK);
  fcntl(err_fd, F_SETFL, O_NONBLOCK);
  watch_output(out_fd, &TAG_OUT);
  watch_output(err_fd, &TAG_ERR);
  return 0;
}

/* fork + exec with the given stdio; `extra` (if >= 0) becomes fd 3. Returns the pid. */
static pid_t spawn(const char *const argv[], const int fds[3], int extra) {
  pid_t pid = fork();
  if (pid != 0) return pid;
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  signal(SIGPIPE, SIG_DFL);
  int x = extra >= 0 ? fcntl(extra, F_DUPFD_CLOEXEC, 10) : -1;
  for (int i = 0; i < 3; i++)
    if (fds[i] == i ? fcntl(i, F_SETFD, 0) < 0 : dup2(fds[i], i) < 0) _exit(127);
  if (x >= 0 && dup2(x, 3) < 0) _exit(127);
  syscall(SYS_close_range, extra >= 0 ? 4U : 3U, ~0U, 0U);
  execv(argv[0], (char *const *)argv);
  dprintf(2, "berth-monitor: exec %s: %s\n", argv[0], strerror(errno));
  _exit(127);
}

static void close_theirs(int theirs[3]) {
  for (int i = 0; i < 3; i++) if (theirs[i] >= 0) close(theirs[i]);
}

static int wait_for(pid_t pid) {
  int s;
  while (waitpid(pid, &s, 0) < 0)
    if (errno != EINTR) return -1;
  return WIFEXITED(s) ? WEXITSTATUS(s) : 128 + WTERMSIG(s);
}

static int read_oom_count(void) {
  if (!oom_file[0]) return -1;
  char b[4096];
  int fd = open(oom_file, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = read(fd, b, sizeof b - 1);
  close(fd);
  if (n <= 0) return -1;
  b[n] = 0;
  char *k = strstr(b, "oom_kill ");
  return k ? atoi(k + 9) : -1;
}

/* Health checks: the engine's `container healthcheck ID` every interval while the container runs. */
static int health_ok; /* the last check exited 0 (healthy) */

static void health_arm(void) {
  if (o.health_argc == 0 || o.health_interval_ms <= 0) return;
  if (health_fd < 0) {
    health_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (health_fd < 0) { diag("timerfd: %s", strerror(errno)); return; }
    watch(health_fd, &TAG_HEALTH);
  }
  long long ms = o.health_interval_ms;
  if (o.health_start_interval_ms > 0 && !health_ok && (now_ns() - st.started_ns) / 1000000 < o.health_start_period_ms)
    ms = o.health_start_interval_ms;
  struct itimerspec t = {.it_value = {ms / 1000, (ms % 1000) * 1000000}}; /* one shot: re-armed when the check ends */
  timerfd_settime(health_fd, 0, &t, NULL);
}

static pid_t spawn(const char *const argv[], const int fds[3], int extra);

static void health_tick(void) {
  uint64_t n;
  if (read(health_fd, &n, sizeof n) < 0) {}
  if (health_pid > 0 || strcmp(st.state, "running") != 0) return;
  int fds[3] = {open("/dev/null", O_RDWR | O_CLOEXEC), diag_fd, diag_fd};
  health_pid = spawn(o.health_argv, fds, -1);
  close(fds[0]);
  if (health_pid < 0) { diag("fork for the health check: %s", strerror(errno)); health_pid = 0; health_arm(); }
}

static void running(int pid) {
  st.pid = pid;
  started = 1;
  st.started_ns = now_ns();
  st.finished_ns = 0;
  st.exit_code = st.signal = st.oom = 0;
  snprintf(st.state, sizeof st.state, "running");
  oom_base = read_oom_count();
  backpressure = 1; /* (again, after a restart) */
  save_status(0);
  event("start", NULL);
  health_ok = 0;
  health_arm();
}

/* A restart: the runtime binary drives create/start, as conmon drives runc. */
static int restart_container(void) {
  const char *del[] = {o.runtime, "--root", o.runtime_root, "delete", "--force", o.id, NULL};
  int devnull[3] = {open("/dev/null", O_RDWR | O_CLOEXEC), diag_fd, diag_fd};
  wait_for(spawn(del, devnull, -1));
  int theirs[3];
  if (make_stdio(theirs) < 0) { FAIL("pipes: %s", strerror(errno)); close(devnull[0]); return -1; }
  char pidfile[64] = "restart.pid", console[4200];
  unlink(pidfile);
  const char *create[16] = {o.runtime, "--root", o.runtime_root, "create", "--bundle", o.bundle, "--pid-file", pidfile};
  int n = 8;
  if (o.tty) {
    snprintf(console, sizeof console, "%s/console.sock", o.dir);
    create[n++] = "--console-socket";
    create[n++] = console;
  }
  create[n++] = o.id;
  create[n] = NULL;
  int rc = wait_for(spawn(create, theirs, -1));
  close_theirs(theirs);
  if (rc != 0) { FAIL("restart: %s create exited with %d (see %s/monitor.log)", o.runtime, rc, o.dir); close(devnull[0]); return -1; }
  if (o.tty) receive_master(); /* sent on the console socket while create ran */
  char b[32] = {0};
  int fd = open(pidfile, O_RDONLY | O_CLOEXEC);
  if (fd < 0 || read(fd, b, sizeof b - 1) <= 0) { FAIL("restart: no pid file from %s create", o.runtime); if (fd >= 0) close(fd); close(devnull[0]); return -1; }
  close(fd);
  const char *start[] = {o.runtime, "--root", o.runtime_root, "start", o.id, NULL};
  rc = wait_for(spawn(start, devnull, -1));
  close(devnull[0]);
  if (rc != 0) { FAIL("restart: %s start exited with %d", o.runtime, rc); return -1; }
  st.restart_count++;
  running(atoi(b));
  return 0;
}

/* docker's restart manager: 100 ms doubling to 1 min, back to 100 ms after 10 s of running. */
static long long backoff_ms = 100;

static int should_restart(void) {
  if (st.stopping || st.error[0]) return 0;
  if (strcmp(o.restart, "always") == 0 || strcmp(o.restart, "unless-stopped") == 0) return 1;
  if (strcmp(o.restart, "on-failure") == 0) return st.exit_code != 0 && (o.restart_max == 0 || st.restart_count < o.restart_max);
  return 0;
}

static void exited(int status) {
  st.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  st.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
  int oom_now = read_oom_count();
  st.oom = oom_base >= 0 && oom_now > oom_base;
  st.finished_ns = now_ns();
}

static void serve_until(long long deadline_ms, int (*done)(void));

static int output_closed(void) { return out_fd < 0 && err_fd < 0 && master_fd < 0; }
static int no_waiters(void) {
  for (int i = 0; i < MAX_CLIENTS; i++)
    if (clients[i].fd > 0 && (clients[i].flags & W_CLEANUP) && !clients[i].done) return 0;
  return 1;
}
static int stop_asked(void) { return st.stopping; }

static void sync_line(const char *s) {
  if (o.sync_fd >= 0 && write_all(o.sync_fd, s, strlen(s)) < 0) {}
}

static void handle_sync(void) {
  static struct buf b;
  char tmp[512];
  ssize_t r = read(o.sync_fd, tmp, sizeof tmp);
  if (r <= 0) {
    epoll_ctl(ep, EPOLL_CTL_DEL, o.sync_fd, NULL);
    close(o.sync_fd);
    o.sync_fd = -1;
    if (!started && !st.error[0]) FAIL("the engine went away before the container started");
    return;
  }
  put(&b, tmp, (size_t)r);
  char *nl;
  while ((nl = memchr(b.p, '\n', b.len))) {
    *nl = 0;
    int pid;
    char file[4096];
    if (strcmp(b.p, "abort") == 0 && !started) {
      aborted = 1;
      if (!st.error[0]) FAIL("the start failed (the engine reported it)");
    } else if (sscanf(b.p, "start %d %4095s", &pid, file) == 2 && !started) {
      if (strcmp(file, "-") != 0) snprintf(oom_file, sizeof oom_file, "%s", file);
      running(pid);
    }
    consume(&b, (size_t)(nl - b.p) + 1);
  }
}

static void reap(void) {
  struct signalfd_siginfo si;
  while (read(sigfd, &si, sizeof si) == sizeof si) {}
  int s;
  pid_t p;
  while ((p = waitpid(-1, &s, WNOHANG)) > 0) {
    if (p == health_pid) {
      health_pid = 0;
      health_ok = WIFEXITED(s) && WEXITSTATUS(s) == 0;
      if (strcmp(st.state, "running") == 0) health_arm();
      continue;
    }
    if (p == exit_cmd_pid) { exit_cmd_pid = 0; exit_cmd_status = WIFEXITED(s) ? WEXITSTATUS(s) : 128 + WTERMSIG(s); continue; }
    if (started && p == st.pid) { reaped_status = s; have_reaped = 1; continue; }
    if (started) continue; /* an orphan of the container (no pid namespace), a helper */
    /* Before "start": berth-init's parent (exits at READY) or an init that already ended. */
    for (int i = 0; i < 8; i++)
      if (early[i].pid == 0) { early[i].pid = p; early[i].status = s; break; }
  }
}

/* An init that exited between READY and "start" was reaped early: match it now. */
static void match_early(void) {
  if (!started || have_reaped) return;
  for (int i = 0; i < 8; i++)
    if (early[i].pid == st.pid) { reaped_status = early[i].status; have_reaped = 1; }
}

static void serve_until(long long deadline_ms, int (*done)(void)) {
  struct timespec t;
  for (;;) {
    if (done && done()) return;
    int timeout = -1;
    if (deadline_ms >= 0) {
      clock_gettime(CLOCK_MONOTONIC, &t);
      long long now = t.tv_sec * 1000LL + t.tv_nsec / 1000000;
      if (now >= deadline_ms) return;
      timeout = (int)(deadline_ms - now);
    }
    struct epoll_event ev[16];
    int n = epoll_wait(ep, ev, 16, timeout);
    if (n < 0 && errno != EINTR) { diag("epoll_wait: %s", strerror(errno)); _exit(70); }
    for (int i = 0; i < n; i++) {
      void *tag = ev[i].data.ptr;
      if (tag == &TAG_OUT || tag == &TAG_ERR || tag == &TAG_MASTER) {
        if (stdio_paused) continue; /* paused by an earlier event of this batch */
        if (tag == &TAG_OUT) pump(&out_fd, 0);
        else if (tag == &TAG_ERR) pump(&err_fd, 1);
        else pump(&master_fd, 0);
      }
      else if (tag == &TAG_SIG) reap();
      else if (tag == &TAG_ATTACH) accept_clients();
      else if (tag == &TAG_CONSOLE) receive_master();
      else if (tag == &TAG_SYNC) handle_sync();
      else if (tag == &TAG_HEALTH) health_tick();
      else {
        struct client *c = tag;
        if (c->fd <= 0) continue;
        if (ev[i].events & EPOLLOUT) client_flush(c);
        if (c->fd > 0 && (ev[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))) client_readable(c);
      }
    }
    match_early();
  }
}

static long long mono_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1000LL + t.tv_nsec / 1000000;
}

static int container_gone(void) { return have_reaped || (!started && (st.error[0] || o.sync_fd < 0)); }

/* The exit command takes the container's lock; whoever holds it may be waiting on us (a stop
 * that connected a moment ago): keep serving clients while it runs, never block on it. */
static int exit_cmd_done(void) { return exit_cmd_pid == 0; }

static void run_exit_command(void) {
  if (o.exit_argc == 0) return;
  int fds[3] = {open("/dev/null", O_RDWR | O_CLOEXEC), diag_fd, diag_fd};
  exit_cmd_pid = spawn(o.exit_argv, fds, -1);
  close(fds[0]);
  if (exit_cmd_pid < 0) { diag("fork for the exit command: %s", strerror(errno)); exit_cmd_pid = 0; return; }
  serve_until(mono_ms() + 600000, exit_cmd_done);
  if (exit_cmd_status != 0) diag("exit command %s exited with status %d", o.exit_argv[0], exit_cmd_status);
}

static long long process_start_time(void) {
  char b[1024];
  int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  ssize_t n = read(fd, b, sizeof b - 1);
  close(fd);
  if (n <= 0) return 0;
  b[n] = 0;
  char *p = strrchr(b, ')');
  for (int field = 2; p && field < 22; field++) p = strchr(p + 1, ' ');
  return p ? atoll(p + 1) : 0;
}

static void usage(void) {
  dprintf(2, "usage: berth-monitor --id ID --dir DIR [--log FILE --log-driver json-file|k8s-file|none --log-max-size N --log-max-files N]\n"
             "  [--stdin] [--tty] [--sync-fd N --init-fd N --berth-init PATH] [--runtime PATH --runtime-root DIR --bundle DIR]\n"
             "  [--restart no|always|unless-stopped|on-failure[:N]] [--restart-count N] [--exit-arg ARG]...\n"
             "  [--health-interval-ms N [--health-start-interval-ms N --health-start-period-ms N] --health-arg ARG...]\n"
             "  [--stdin-once]\n"
             "berth-monitor is started by berth for each container; it is not meant to be run by hand.\n");
  exit(2);
}

int main(int argc, char **argv) {
  static const struct option opts[] = {
    {"id", 1, 0, 'i'}, {"dir", 1, 0, 'd'}, {"log", 1, 0, 'l'}, {"log-driver", 1, 0, 'D'}, {"log-max-size", 1, 0, 'S'},
    {"log-max-files", 1, 0, 'F'}, {"stdin", 0, 0, 's'}, {"tty", 0, 0, 't'}, {"sync-fd", 1, 0, 'y'}, {"init-fd", 1, 0, 'n'},
    {"berth-init", 1, 0, 'b'}, {"runtime", 1, 0, 'r'}, {"runtime-root", 1, 0, 'R'}, {"bundle", 1, 0, 'B'},
    {"restart", 1, 0, 'p'}, {"restart-count", 1, 0, 'c'}, {"exit-arg", 1, 0, 'x'}, {"health-arg", 1, 0, 'H'},
    {"health-interval-ms", 1, 0, 'I'}, {"health-start-interval-ms", 1, 0, 'J'}, {"health-start-period-ms", 1, 0, 'P'},
    {"stdin-once", 0, 0, 'O'}, {0, 0, 0, 0}};
  int c;
  snprintf(o.restart, sizeof o.restart, "no");
  while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    switch (c) {
    case 'i': o.id = optarg; break;
    case 'd': o.dir = optarg; break;
    case 'l': o.log_path = optarg; break;
    case 'D': o.log_driver = optarg; break;
    case 'S': o.log_max_size = atoll(optarg); break;
    case 'F': o.log_max_files = atoi(optarg); break;
    case 's': o.stdin_open = 1; break;
    case 't': o.tty = 1; break;
    case 'y': o.sync_fd = atoi(optarg); break;
    case 'n': o.init_fd = atoi(optarg); break;
    case 'b': o.berth_init = optarg; break;
    case 'r': o.runtime = optarg; break;
    case 'R': o.runtime_root = optarg; break;
    case 'B': o.bundle = optarg; break;
    case 'p': {
      char *colon = strchr(optarg, ':');
      snprintf(o.restart, sizeof o.restart, "%.*s", colon ? (int)(colon - optarg) : (int)strlen(optarg), optarg);
      o.restart_max = colon ? atoi(colon + 1) : 0;
      break;
    }
    case 'c': st.restart_count = atoi(optarg); break;
    case 'x':
      if (o.exit_argc < MAX_ARGS) o.exit_argv[o.exit_argc++] = optarg;
      break;
    case 'H':
      if (o.health_argc < MAX_ARGS) o.health_argv[o.health_argc++] = optarg;
      break;
    case 'I': o.health_interval_ms = atoll(optarg); break;
    case 'J': o.health_start_interval_ms = atoll(optarg); break;
    case 'P': o.health_start_period_ms = atoll(optarg); break;
    case 'O': o.stdin_once = 1; break;
    default: usage();
    }
  }
  if (!o.id || !o.dir || (o.init_fd >= 0 && !o.berth_init)) usage();
  if (strcmp(o.restart, "no") != 0 && (!o.runtime || !o.runtime_root || !o.bundle)) usage();

  /* Away from the caller: the original process exits now, the monitor lives on in its own session. */
  pid_t child = fork();
  if (child < 0) { perror("berth-monitor: fork"); return 1; }
  if (child > 0) return 0;
  setsid();
  if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0) { perror("berth-monitor: PR_SET_CHILD_SUBREAPER"); _exit(1); }
  if (chdir(o.dir) < 0) { dprintf(2, "berth-monitor: chdir %s: %s\n", o.dir, strerror(errno)); _exit(1); }
  int d = open("monitor.log", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (d >= 0) diag_fd = d;
  int null = open("/dev/null", O_RDWR | O_CLOEXEC);
  for (int i = 0; i < 3; i++) if (null >= 0 && i != diag_fd) dup2(null, i); /* never the caller's terminal */
  if (null > 2) close(null);
  st.monitor_start = process_start_time();

  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGHUP);
  sigprocmask(SIG_BLOCK, &mask, NULL);
  signal(SIGPIPE, SIG_IGN);
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigfd = signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC);
  ep = epoll_create1(EPOLL_CLOEXEC);
  for (int i = 0; i < MAX_CLIENTS; i++) clients[i].fd = -1;
  watch(sigfd, &TAG_SIG);
  log_open();

  attach_lfd = listen_at("attach.sock");
  if (o.tty) console_lfd = listen_at("console.sock");
  if (attach_lfd >= 0) watch(attach_lfd, &TAG_ATTACH);
  if (console_lfd >= 0) watch(console_lfd, &TAG_CONSOLE);
  if (o.sync_fd >= 0) {
    fcntl(o.sync_fd, F_SETFD, FD_CLOEXEC);
    watch(o.sync_fd, &TAG_SYNC);
  }
  save_status(0);
  if (!st.error[0] && o.init_fd >= 0) {
    int theirs[3];
    if (make_stdio(theirs) < 0) FAIL("pipes: %s", strerror(errno));
    else {
      const char *av[] = {o.berth_init, "3", NULL};
      if (spawn(av, theirs, o.init_fd) < 0) FAIL("fork: %s", strerror(errno));
      close_theirs(theirs);
    }
    close(o.init_fd);
  }
  char ready[600];
  if (st.error[0]) snprintf(ready, sizeof ready, "error %s\n", st.error);
  else snprintf(ready, sizeof ready, "ready %d\n", getpid());
  sync_line(ready);

  for (;;) {
    serve_until(-1, container_gone);
    if (have_reaped) {
      exited(reaped_status);
      /* The last output comes before the exit: read until every writer is gone, or 2 s pass
       * without output read or sent (a writer that outlives the container; a stalled client). */
      last_progress = mono_ms();
      while (!output_closed() && mono_ms() < last_progress + 2000) serve_until(last_progress + 2000, output_closed);
      /* Past the drain nothing waits: what a lingering writer still sends goes to the log,
       * and to clients while they keep up (CLIENT_OUT_MAX). */
      backpressure = 0;
      stdio_pause(0);
      log_flush();
    }
    char extra[96];
    snprintf(extra, sizeof extra, "\"exitCode\":%d,\"oomKilled\":%s", st.exit_code, st.oom ? "true" : "false");
    if (st.oom) event("oom", NULL);
    if (started) event("die", extra);
    if (started && should_restart()) {
      snprintf(st.state, sizeof st.state, "restarting");
      save_status(1);
      sync_status();
      long long ran = (st.finished_ns - st.started_ns) / 1000000;
      if (ran >= 10000) backoff_ms = 100;
      serve_until(mono_ms() + backoff_ms, stop_asked);
      if (backoff_ms < 60000) backoff_ms *= 2;
      if (!st.stopping) {
        have_reaped = 0;
        memset(early, 0, sizeof early);
        if (health_fd >= 0) { struct itimerspec off = {0}; timerfd_settime(health_fd, 0, &off, NULL); }
        event("restart", NULL);
        if (restart_container() == 0) continue;
      }
    }
    break;
  }
  snprintf(st.state, sizeof st.state, "exited");
  save_status(1);
  struct buf b = {0};
  status_json(&b);
  broadcast(F_EXIT, b.p, (uint32_t)b.len);
  free(b.p);
  sync_status(); /* durable before anything else happens to the container or to us */
  /* Hand-off: a client that said it cleans up gets to; if it vanishes without DONE, we do. */
  serve_until(mono_ms() + 60000, no_waiters);
  if (!aborted && (!handed || vanished)) run_exit_command();
  unlink("attach.sock");
  if (o.tty) unlink("console.sock");
  return 0;
}
