/* berth-shim: keeps one container process (or exec session) alive and served while the daemon
 * that started it comes and goes. native/shim/README.md describes the command line and the
 * socket protocol; src/supervisor/tasks/shim-*.ts is the other side of both.
 *
 * Everything the shim knows lives in one struct shim; every file handles one concern and takes
 * that struct. There is one event loop (main.c): poll over a signalfd, the sockets and the
 * container's output. */
#ifndef BERTH_SHIM_H
#define BERTH_SHIM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#define MAX_PASS_FDS 16
#define MAX_CLIENTS 128
#define MAX_REAPED 64
#define LOG_LINE_MAX 16384           /* longer lines are logged as partial entries, like Docker */
#define CRI_LINE_MAX_LIMIT (16 * 1024 * 1024) /* the largest --log-max-line */
#define LAUNCH_OUTPUT_MAX (256 * 1024) /* output held back while the launcher runs, per stream */
#define CLIENT_OUTPUT_MAX (4 * 1024 * 1024) /* an attacher further behind than this is dropped */
#define STDIN_PENDING_MAX (64 * 1024)
#define FIFO_PENDING_MAX (1024 * 1024) /* output kept for a FIFO nobody reads, then dropped */
#define DRAIN_MS 2000                /* output still read after the container exits */
#define CLOSE_MS 1000                /* time given to clients to take their last bytes */

/* A growable byte buffer. */
struct buf {
  char *data;
  size_t len, cap;
};

enum stream_id { STREAM_STDOUT = 1, STREAM_STDERR = 2 };

/* One output of the container: its stdout and stderr pipes, and with --terminal the pty master
 * (the pipes then carry only what the launcher itself prints). */
struct stream {
  int fd;
  enum stream_id id;
  char *line; /* the log line being assembled (allocated with the first output) */
  size_t line_len;
  struct buf held; /* output read while the launcher runs */
};

/* A containerd stdio FIFO (index 0 stdin, 1 stdout, 2 stderr). */
struct fifo {
  const char *path;
  int fd;
  struct buf pending; /* output not yet taken by the pipe */
};

/* --log-format: Docker's json-file (default) or the kubelet's CRI format. */
enum log_format { LOG_JSON_FILE, LOG_CRI };

enum client_kind { CLIENT_NEW, CLIENT_ATTACH, CLIENT_CONTROL, CLIENT_WAIT };

struct client {
  int fd;
  enum client_kind kind;
  char line[256]; /* the request or control line being read */
  size_t line_len;
  int streams; /* attach: bit 0 stdin, bit 1 stdout, bit 2 stderr */
  struct buf out;
  int closing; /* close once `out` is written */
};

enum phase { PHASE_LAUNCHING, PHASE_RUNNING, PHASE_DRAINING, PHASE_CLOSING };

struct shim {
  /* Options. */
  const char *namespace; /* only for the command line: ps shows whose container this is */
  const char *id, *dir, *pid_file, *log_path, *oom_file;
  enum log_format log_format;
  long long log_max_size; /* json-file rotation */
  int log_max_files;
  size_t log_max_line; /* cri: longer lines are cut into partial entries */
  int want_stdin, stdin_once, terminal;
  long long hold_ms; /* --hold-output: keep output for the first attacher this long */
  int pass_fds[MAX_PASS_FDS];
  int n_pass;
  char **launcher_argv;

  /* Progress. */
  enum phase phase;
  int64_t deadline_ms; /* end of the drain or close phase */
  pid_t launcher_pid;
  int64_t hold_until_ms; /* output is held until the first attacher or this time */
  int attached;         /* an attacher has come (holding is over) */
  int launcher_exited, launcher_status;
  pid_t pid; /* the container's (or exec's) process */
  int exited, exit_status, oom_killed;
  struct timespec exited_at;
  long long oom_base;
  struct { pid_t pid; int status; } reaped[MAX_REAPED]; /* exits seen before the pid was known */
  int n_reaped;

  /* Fds. */
  int report_fd;      /* to the first stage, which prints the launch report */
  int signal_fd;
  int listen_fd;      /* shim.sock */
  int console_listen; /* console.sock, until the pty master has arrived */
  int stdin_fd;       /* the write end of the container's stdin pipe, or the pty master */
  int stdin_closed, stdin_close_when_flushed;
  struct buf stdin_pending;
  struct stream out[3]; /* stdout pipe, stderr pipe, pty master */
  struct fifo fifo[3];  /* --stdin-fifo, --stdout-fifo, --stderr-fifo */

  /* The log (json-file or CRI). */
  int log_fd;
  long long log_size;
  char *log_entry; /* room for one encoded entry */
  char *log_buf;   /* entries not written yet: one write per loop turn, not one per line */
  size_t log_buf_len;
  time_t log_date_sec; /* the second log_date was made for: the date is formatted once a second */
  char log_date[24];

  struct client *clients[MAX_CLIENTS];
  int n_clients;
};

/* util.c */
void buf_append(struct buf *b, const void *data, size_t n);
void buf_consume(struct buf *b, size_t n);
void buf_free(struct buf *b);
int64_t now_ms(void);
int set_nonblock_cloexec(int fd);
void format_rfc3339(char *dst, size_t size, const struct timespec *ts, int trim_zeros);
int exit_code_of(int wait_status);
int listen_unix(const char *path);
int recv_fd(int sock);

/* launch.c */
int launch_start(struct shim *s, char *err, size_t errlen);
void launch_finish(struct shim *s);
void report_failure(struct shim *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void accept_console(struct shim *s);

/* output.c */
void output_readable(struct shim *s, struct stream *st);
void output_deliver(struct shim *s, struct stream *st, const char *data, size_t n);
int output_holding(const struct shim *s);
void output_release_held(struct shim *s);
void output_flush_line(struct shim *s, struct stream *st);
void stdin_write_pending(struct shim *s);
void stdin_close(struct shim *s);

/* fifo.c */
int fifo_open_all(struct shim *s, char *err, size_t errlen);
void fifo_flush(struct fifo *f);
void fifo_output(struct shim *s, enum stream_id id, const char *data, size_t n);
void fifo_stdin_readable(struct shim *s);
void fifo_close_all(struct shim *s);

/* logfile.c */
int log_open(struct shim *s);
int log_reopen(struct shim *s);
void log_append(struct shim *s, const char *entry, size_t n);
void log_flush(struct shim *s);
size_t log_time(struct shim *s, char *dst);

/* jsonlog.c */
void jsonlog_feed(struct shim *s, struct stream *st, const char *data, size_t n);
void jsonlog_end(struct shim *s, struct stream *st);
size_t json_escape(char *dst, const unsigned char *src, size_t n);

/* crilog.c */
void crilog_feed(struct shim *s, struct stream *st, const char *data, size_t n);
void crilog_end(struct shim *s, struct stream *st);

/* clients.c */
void clients_accept(struct shim *s);
void client_readable(struct shim *s, struct client *c);
void client_writable(struct shim *s, struct client *c);
void client_send(struct shim *s, struct client *c, const char *data, size_t n);
void clients_reap_closed(struct shim *s);
void clients_answer_waiters(struct shim *s);

/* lifecycle.c */
void reap_children(struct shim *s);
void container_exited(struct shim *s, int wait_status);
void finish(struct shim *s);
long long read_oom_count(const char *file);

#endif
