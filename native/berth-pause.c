/*
 * berth-pause: the infra process of a CRI pod sandbox (src/engine/pods.ts). It is the first
 * process of the pod's namespaces (network, IPC, UTS, and PID when the pod shares one) and
 * holds them while the pod's containers come and go; they join them through /proc/PID/ns/.
 * It is the only file of the built-in image localhost/berth-pause (src/image/builtin-pause.ts),
 * so it is linked statically. As pid 1 of a shared PID namespace it reaps the orphans the
 * containers leave (pid_namespaces(7)); SIGTERM or SIGINT end it (pid 1 gets only the signals it
 * has handlers for), which stops the pod.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void stop(int sig) {
  (void)sig;
  _exit(0);
}

static void reap(int sig) {
  (void)sig;
  int saved = errno;
  while (waitpid(-1, NULL, WNOHANG) > 0) {
  }
  errno = saved;
}

int main(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = stop;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  sa.sa_handler = reap;
  sa.sa_flags = SA_NOCLDSTOP | SA_RESTART;
  sigaction(SIGCHLD, &sa, NULL);
  for (;;) pause();
}
