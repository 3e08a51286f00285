/*
 * berth-sandbox-init: pid 1 of a sandbox run (src/sandbox). berth-init executes it (from fd 3, a
 * read-only fd of this file) in place of the program; it runs the program as its child.
 *
 * Why an init: as pid 1 the program would get the kernel's pid-1 rules (pid_namespaces(7),
 * signal(7)): signals it has no handler for and that the kernel does not force are dropped, so
 * SIGPIPE, SIGXCPU (RLIMIT_CPU's warning) or SIGTERM would not end it, and orphans reparented to it
 * stay zombies that count against pids.max. And berth-init's parent folds the status into an exit
 * code (128+n), which cannot tell exit(137) from SIGKILL. So this init forks the program, reaps
 * every orphan, and reports the program's own wait status and rusage to the sandbox library; then
 * it exits, and the kernel kills whatever is left in the pid namespace: a daemon the program left
 * behind ends with the run.
 *
 * fds: 0-2 the program's stdio; 3 this executable (closed at once); 4 the status channel, a
 * socket to the sandbox library. argv: [anything, program, args...]; the program is looked up on
 * the environment's PATH. On fd 4 (text lines):
 *   out: ready                                         set up; waiting for "g" before the program
 *   in:  g                                             go: the library has read the cgroup's
 *                                                      counters, so setup is not charged to the run
 *   out: exec <errno>                                  the program could not be executed
 *        exit <wait status> <utime µs> <stime µs> <maxrss KiB>
 * End-of-file instead of "g" means the library is gone: exit without running anything.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define STATUS_FD 4

int main(int argc, char **argv) {
  close(3);
  if (argc < 2 || fcntl(STATUS_FD, F_SETFD, FD_CLOEXEC) < 0) return 125;
  char go;
  dprintf(STATUS_FD, "ready\n");
  ssize_t n;
  while ((n = read(STATUS_FD, &go, 1)) < 0 && errno == EINTR) {}
  if (n != 1) return 125;
  pid_t child = fork();
  if (child < 0) {
    dprintf(STATUS_FD, "exec %d\n", errno);
    return 125;
  }
  if (child == 0) {
    /* When the group runs out of memory, the kernel should pick the program, not its init. */
    int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
    if (fd >= 0) {
      (void)!write(fd, "1000", 4);
      close(fd);
    }
    execvp(argv[1], argv + 1);
    dprintf(STATUS_FD, "exec %d\n", errno);
    _exit(127);
  }
  /* The program runs as our uid: keep it from ptrace and /proc/1/mem of its init. (Not before the
   * fork: a non-dumpable child could not open its own oom_score_adj.) */
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  /* The program's stdio reaches end-of-file when the program's processes are done with it. */
  close(0);
  close(1);
  close(2);
  for (;;) {
    int st;
    struct rusage ru;
    pid_t p = wait4(-1, &st, 0, &ru);
    if (p < 0 && errno == EINTR) continue;
    if (p < 0) return 125; /* ECHILD: cannot happen before the program is reaped */
    if (p != child) continue; /* an orphan, reaped so it does not hold a pid */
    dprintf(STATUS_FD, "exit %d %lld %lld %ld\n", st,
            (long long)ru.ru_utime.tv_sec * 1000000 + ru.ru_utime.tv_usec,
            (long long)ru.ru_stime.tv_sec * 1000000 + ru.ru_stime.tv_usec, ru.ru_maxrss);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  }
}
