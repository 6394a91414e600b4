/* berth-shim: the command line, the two stages, and the event loop.
 *
 * Stage one is what the supervisor spawns: it forks stage two and prints the launch report stage
 * two sends it ("ok SHIMPID PID" / "error TEXT"), then exits. Stage two starts a new session,
 * becomes a child subreaper, runs the launcher and then serves the container until it exits:
 * it never belonged to the supervisor's process group, so it outlives the supervisor. */
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "shim.h"

static void usage(const char *why) {
  fprintf(stderr,
          "berth-shim: %s\n"
          "usage: berth-shim [--namespace NS] --id ID --dir DIR --pid-file FILE\n"
          "       [--log FILE [--log-format json-file|cri] [--log-max-size BYTES] [--log-max-files N]\n"
          "       [--log-max-line BYTES]] [--stdin] [--stdin-once] [--terminal] [--oom-file FILE]\n"
          "       [--hold-output MS] [--stdin-fifo PATH] [--stdout-fifo PATH] [--stderr-fifo PATH]\n"
          "       [--pass-fd N]... -- LAUNCHER [ARG]...\n",
          why);
  exit(2);
}

static long long number(const char *flag, const char *v) {
  char *end;
  long long n = strtoll(v, &end, 10);
  if (*v == '\0' || *end != '\0' || n < 0) {
    fprintf(stderr, "berth-shim: %s takes a number, not \"%s\"\n", flag, v);
    exit(2);
  }
  return n;
}

/* The log options that belong to one format only: said wrong, they are an error, not ignored. */
static void check_log_options(const struct shim *s, int rotation_given, int max_line_given) {
  if (s->log_format == LOG_CRI && rotation_given)
    usage("--log-max-size and --log-max-files are for json-file: with --log-format cri the kubelet rotates the log");
  if (s->log_format != LOG_CRI && max_line_given) usage("--log-max-line is for --log-format cri");
  if (s->log_format == LOG_CRI && (s->log_max_line == 0 || s->log_max_line > CRI_LINE_MAX_LIMIT))
    usage("--log-max-line takes 1 to 16777216 bytes");
}

static void parse_args(struct shim *s, int argc, char **argv) {
  int rotation_given = 0, max_line_given = 0;
  int i = 1;
  for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
    const char *f = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    int takes = 1;
    if (strcmp(f, "--stdin") == 0) s->want_stdin = 1, takes = 0;
    else if (strcmp(f, "--stdin-once") == 0) s->stdin_once = 1, takes = 0;
    else if (strcmp(f, "--terminal") == 0) s->terminal = 1, takes = 0;
    else if (v == NULL) usage("a flag is missing its value");
    else if (strcmp(f, "--id") == 0) s->id = v;
    else if (strcmp(f, "--namespace") == 0) s->namespace = v;
    else if (strcmp(f, "--stdin-fifo") == 0) s->fifo[0].path = v;
    else if (strcmp(f, "--stdout-fifo") == 0) s->fifo[1].path = v;
    else if (strcmp(f, "--stderr-fifo") == 0) s->fifo[2].path = v;
    else if (strcmp(f, "--dir") == 0) s->dir = v;
    else if (strcmp(f, "--pid-file") == 0) s->pid_file = v;
    else if (strcmp(f, "--log") == 0) s->log_path = v;
    else if (strcmp(f, "--log-format") == 0) {
      if (strcmp(v, "cri") == 0) s->log_format = LOG_CRI;
      else if (strcmp(v, "json-file") == 0) s->log_format = LOG_JSON_FILE;
      else usage("--log-format is json-file or cri");
    } else if (strcmp(f, "--log-max-size") == 0) s->log_max_size = number(f, v), rotation_given = 1;
    else if (strcmp(f, "--log-max-files") == 0) s->log_max_files = (int)number(f, v), rotation_given = 1;
    else if (strcmp(f, "--log-max-line") == 0) s->log_max_line = (size_t)number(f, v), max_line_given = 1;
    else if (strcmp(f, "--oom-file") == 0) s->oom_file = v;
    else if (strcmp(f, "--hold-output") == 0) s->hold_ms = number(f, v);
    else if (strcmp(f, "--pass-fd") == 0) {
      if (s->n_pass == MAX_PASS_FDS) usage("too many --pass-fd");
      s->pass_fds[s->n_pass++] = (int)number(f, v);
    } else usage("unknown flag");
    i += takes;
  }
  if (i + 1 >= argc) usage("no launcher after --");
  if (!s->id || !s->dir || !s->pid_file) usage("--id, --dir and --pid-file are required");
  check_log_options(s, rotation_given, max_line_given);
  s->launcher_argv = argv + i + 1;
}

/* Stage one: relay stage two's report and exit with its verdict. */
static int relay_report(int fd) {
  char text[4096];
  size_t len = 0;
  ssize_t n;
  while (len < sizeof text - 1 && ((n = read(fd, text + len, sizeof text - 1 - len)) > 0 || (n < 0 && errno == EINTR)))
    if (n > 0) len += (size_t)n;
  text[len] = '\0';
  if (len == 0) {
    printf("error berth-shim ended before the launch finished\n");
    return 1;
  }
  fputs(text, stdout);
  return strncmp(text, "ok ", 3) == 0 ? 0 : 1;
}

/* Closes every fd from 3 up except those in `keep`: a shim lives long, and fds its spawner leaked
 * to it would stay open (and reach the launcher) for as long. */
static void close_stray_fds(const int *keep, int n) {
  unsigned lo = 3;
  for (;;) {
    unsigned next = UINT_MAX;
    for (int i = 0; i < n; i++)
      if ((unsigned)keep[i] >= lo && (unsigned)keep[i] < next) next = (unsigned)keep[i];
    if (next > lo) syscall(SYS_close_range, lo, next == UINT_MAX ? ~0U : next - 1, 0);
    if (next == UINT_MAX) return;
    lo = next + 1;
  }
}

static void setup_stage_two(struct shim *s) {
  int keep[MAX_PASS_FDS + 1];
  memcpy(keep, s->pass_fds, sizeof s->pass_fds);
  keep[s->n_pass] = s->report_fd;
  close_stray_fds(keep, s->n_pass + 1);
  setsid();
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  int null = open("/dev/null", O_RDWR);
  for (int fd = 0; fd < 3; fd++) dup2(null, fd); /* stage one's pipes close when it exits */
  if (null > 2) close(null);
  if (chdir(s->dir) < 0) report_failure(s, "task directory %s: %s", s->dir, strerror(errno));
  /* The shim ignores what would end it with the supervisor: it only ends with its container. */
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGHUP);
  sigprocmask(SIG_BLOCK, &mask, NULL);
  signal(SIGPIPE, SIG_IGN);
  s->signal_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  if (s->signal_fd < 0) report_failure(s, "signalfd: %s", strerror(errno));
  if ((s->listen_fd = listen_unix("shim.sock")) < 0) report_failure(s, "socket %s/shim.sock: %s", s->dir, strerror(errno));
  char err[512];
  if (fifo_open_all(s, err, sizeof err) < 0) report_failure(s, "%s", err);
  if (s->log_path && log_open(s) < 0) report_failure(s, "log %s: %s", s->log_path, strerror(errno));
}

static void on_signals(struct shim *s) {
  struct signalfd_siginfo si;
  int children = 0;
  while (read(s->signal_fd, &si, sizeof si) == sizeof si)
    if (si.ssi_signo == SIGCHLD) children = 1;
  if (children) reap_children(s);
}

/* One pass of the loop: what to poll for, poll, dispatch. */
static void loop_once(struct shim *s) {
  /* signal, shim.sock, console.sock, three outputs, three FIFOs, the clients, stdin. */
  struct pollfd p[9 + MAX_CLIENTS + 1];
  struct client *who[9 + MAX_CLIENTS + 1];
  int n = 0;
  /* An fd with nothing wanted from it is left out (fd -1): POLLHUP would otherwise wake us in a loop. */
#define WATCH(f, ev, c) (p[n] = (struct pollfd){ .fd = (ev) ? (f) : -1, .events = (short)(ev) }, who[n++] = (c))
  WATCH(s->signal_fd, POLLIN, NULL);
  WATCH(s->listen_fd, POLLIN, NULL);
  WATCH(s->console_listen, POLLIN, NULL);
  for (int i = 0; i < 3; i++)
    WATCH(s->out[i].fd, (s->phase == PHASE_LAUNCHING || output_holding(s)) && s->out[i].held.len >= LAUNCH_OUTPUT_MAX ? 0 : POLLIN, NULL);
  WATCH(s->fifo[0].fd, s->stdin_pending.len < STDIN_PENDING_MAX ? POLLIN : 0, NULL);
  for (int i = 1; i < 3; i++) {
    int ev = s->fifo[i].pending.len ? POLLOUT : 0;
    WATCH(s->fifo[i].fd, ev, NULL);
  }
  int base = n;
  for (int i = 0; i < s->n_clients; i++) {
    struct client *c = s->clients[i];
    int reads = !c->closing && (c->kind != CLIENT_ATTACH || s->stdin_pending.len < STDIN_PENDING_MAX);
    WATCH(c->fd, (reads ? POLLIN : 0) | (c->out.len ? POLLOUT : 0), c);
  }
#undef WATCH
  struct pollfd in = { .fd = s->stdin_pending.len ? s->stdin_fd : -1, .events = POLLOUT };
  int timeout = -1;
  if (s->phase >= PHASE_DRAINING) timeout = (int)(s->deadline_ms - now_ms() < 0 ? 0 : s->deadline_ms - now_ms());
  if (output_holding(s)) {
    int64_t left = s->hold_until_ms - now_ms();
    if (left < 0) left = 0;
    if (timeout < 0 || left < timeout) timeout = (int)left;
  }
  p[n++] = in;
  if (poll(p, (nfds_t)n, timeout) < 0 && errno != EINTR) return;

  if (p[0].revents) on_signals(s);
  if (p[1].revents) clients_accept(s);
  if (s->console_listen >= 0 && p[2].revents) accept_console(s);
  for (int i = 0; i < 3; i++)
    if (p[3 + i].revents && s->out[i].fd == p[3 + i].fd) output_readable(s, &s->out[i]);
  if (p[6].revents && s->fifo[0].fd == p[6].fd) fifo_stdin_readable(s);
  for (int i = 1; i < 3; i++)
    if (p[6 + i].revents && s->fifo[i].fd == p[6 + i].fd) fifo_flush(&s->fifo[i]);
  for (int i = base; i < n - 1; i++) {
    struct client *c = who[i];
    if (c->fd < 0 || c->fd != p[i].fd) continue;
    if (p[i].revents & POLLOUT) client_writable(s, c);
    if (c->fd >= 0 && (p[i].revents & (POLLIN | POLLHUP | POLLERR))) client_readable(s, c);
  }
  if (p[n - 1].revents) stdin_write_pending(s);
  clients_reap_closed(s);
  log_flush(s);
}

int main(int argc, char **argv) {
  static struct shim s; /* static only for its size; everything is reached through the pointer */
  s.log_max_size = 10 * 1024 * 1024;
  s.log_max_files = 5;
  s.log_max_line = LOG_LINE_MAX; /* containerd's default max_container_log_line_size */
  s.console_listen = s.stdin_fd = s.log_fd = s.report_fd = -1;
  for (int i = 0; i < 3; i++) s.out[i].fd = s.fifo[i].fd = -1;
  s.oom_base = -1;
  parse_args(&s, argc, argv);

  int report[2];
  if (pipe2(report, O_CLOEXEC) < 0) {
    printf("error berth-shim: pipe: %s\n", strerror(errno));
    return 1;
  }
  pid_t two = fork();
  if (two < 0) {
    printf("error berth-shim: fork: %s\n", strerror(errno));
    return 1;
  }
  if (two > 0) {
    close(report[1]);
    for (int i = 0; i < s.n_pass; i++) close(s.pass_fds[i]);
    return relay_report(report[0]);
  }
  close(report[0]);
  s.report_fd = report[1];
  setup_stage_two(&s);
  char err[512];
  if (launch_start(&s, err, sizeof err) < 0) report_failure(&s, "%s", err);

  for (;;) {
    loop_once(&s);
    if (s.phase == PHASE_LAUNCHING && s.launcher_exited) launch_finish(&s);
    if (s.phase != PHASE_LAUNCHING && !s.attached && s.hold_until_ms && !output_holding(&s)) output_release_held(&s);
    if (s.phase == PHASE_DRAINING && !output_holding(&s)) {
      int open_streams = 0;
      for (int i = 0; i < 3; i++) open_streams += s.out[i].fd >= 0;
      if (open_streams == 0 || now_ms() >= s.deadline_ms) finish(&s);
    }
    clients_reap_closed(&s);
    if (s.phase == PHASE_CLOSING && (s.n_clients == 0 || now_ms() >= s.deadline_ms)) break;
  }
  unlink("shim.sock");
  return 0;
}
