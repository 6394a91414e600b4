/* `--init`: berth-init as PID 1 in front of the container's command (Docker's docker-init, tini's
 * role): `berth-init -- CMD [ARG]...` runs CMD as its child, passes on every signal it gets,
 * reaps the orphans the container leaves, and exits with CMD's status (128+N for signal N). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "init.h"

int reaper_main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "berth-init: usage: berth-init -- COMMAND [ARG]...\n");
    return 2;
  }
  sigset_t all, old;
  sigfillset(&all);
  sigprocmask(SIG_BLOCK, &all, &old);
  pid_t child = fork();
  if (child < 0) {
    perror("berth-init: fork");
    return 1;
  }
  if (child == 0) {
    sigprocmask(SIG_SETMASK, &old, NULL);
    execvp(argv[2], argv + 2);
    fprintf(stderr, "berth-init: exec %s: %s\n", argv[2], strerror(errno));
    _exit(errno == ENOENT ? 127 : 126);
  }
  int status = 0;
  for (;;) {
    siginfo_t info;
    int sig = sigwaitinfo(&all, &info);
    if (sig < 0) continue;
    if (sig != SIGCHLD) {
      kill(child, sig); /* the command decides what a signal means */
      continue;
    }
    pid_t pid;
    int st;
    while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
      if (pid != child) continue; /* an orphan: reaped, nothing more */
      status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      return status;
    }
  }
}
