/* `pause`: the process that holds a Kubernetes pod sandbox's namespaces (the CRI's sandbox
 * container; Kubernetes' pause.c has the role). Started as `pause` (argv[0]'s basename, e.g. the
 * sandbox image's /pause, a copy of this static binary and the only file in its rootfs), it
 * sleeps as PID 1 of the pod, reaps the orphans the pod's other containers leave it, and exits 0
 * on SIGINT or SIGTERM. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "init.h"

static void reap_all(void) {
  while (waitpid(-1, NULL, WNOHANG) > 0) {}
}

int pause_main(int argc, char **argv) {
  if (argc > 1) {
    fprintf(stderr, "pause: takes no arguments (it holds a pod's namespaces until SIGTERM)\n");
    return 2;
  }
  if (getpid() != 1) fprintf(stderr, "pause: warning: not PID 1, orphans go elsewhere\n");
  /* Every signal it acts on is taken synchronously; the others keep their default action (as
   * PID 1 the kernel drops those sent from inside the pod). */
  sigset_t wanted;
  sigemptyset(&wanted);
  sigaddset(&wanted, SIGINT);
  sigaddset(&wanted, SIGTERM);
  sigaddset(&wanted, SIGCHLD);
  sigprocmask(SIG_BLOCK, &wanted, NULL);
  reap_all(); /* orphans that came before the mask */
  for (;;) {
    int sig = sigwaitinfo(&wanted, NULL);
    if (sig == SIGINT || sig == SIGTERM) return 0;
    if (sig == SIGCHLD) reap_all();
  }
}
