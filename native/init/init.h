/* berth-init: executes a launch plan encoded by berth's TypeScript runtime.
 *
 * The plan is a flat list of operations; the init runs them in order and makes no decisions of
 * its own. Operations before OP_CLONE run in the launching process ("stage 0"); OP_CLONE forks
 * the container process into its new namespaces and the remaining operations run there.
 * The wire format is shared with src/runtime/plan/opcodes.ts: keep the two in step. */
#ifndef BERTH_INIT_H
#define BERTH_INIT_H

#include <stddef.h>
#include <stdint.h>

#define PLAN_MAGIC "BPL1"

enum opcode {
  OP_SETNS = 1,
  OP_JOIN_CGROUP = 2,
  OP_CLONE = 3,
  OP_SETSID = 4,
  OP_BECOME_ROOT = 5,
  OP_SETHOSTNAME = 6,
  OP_SETDOMAINNAME = 7,
  OP_MOUNT = 8,
  OP_SET_ROOT = 9,
  OP_MKNOD = 10,
  OP_SYMLINK = 11,
  OP_MKDIR = 12,
  OP_SYNC_HOOKS = 13,
  OP_RUN_HOOK = 14,
  OP_PIVOT_ROOT = 15,
  OP_MOVE_ROOT = 16,
  OP_MASK = 17,
  OP_READONLY = 18,
  OP_WRITE_FILE = 19,
  OP_RLIMIT = 20,
  OP_CONSOLE_CONNECT = 21,
  OP_CONSOLE_SETUP = 22,
  OP_CHDIR = 23,
  OP_NO_NEW_PRIVS = 24,
  OP_SECCOMP = 25,
  OP_DROP_BOUNDING = 26,
  OP_SET_USER = 27,
  OP_SET_CAPS = 28,
  OP_UMASK = 29,
  OP_OPEN_FIFO = 30,
  OP_REPORT_READY = 31,
  OP_WAIT_START = 32,
  OP_EXEC = 33,
  OP_RESOLVE_EXEC = 34,
  OP_OPEN_PID_DIR = 35,
  OP_HOME_FROM_PASSWD = 36,
  OP_MAX
};

/* Flags of OP_MOUNT's `how` field. */
enum mount_how {
  MOUNT_TARGET_IN_ROOT = 1, /* resolve the target inside the root set by OP_SET_ROOT */
  MOUNT_MKDIR = 2,          /* create the target (and parents) as a directory */
  MOUNT_MKFILE = 4,         /* create the target as an empty file (parents as directories) */
  MOUNT_SOURCE_FD = 8,      /* open the source (a host path) first and mount through its fd */
};

/* Flags of OP_WRITE_FILE. */
enum { WRITE_IGNORE_ENOENT = 1 };

/* Messages on the sync socket: u32 type, u32 length, payload. */
enum msg_type {
  MSG_PID = 1,   /* init -> runtime: u32 host pid of the container process */
  MSG_HOOKS = 2, /* init -> runtime: u32 hook point; the runtime runs its hooks, then ACKs */
  MSG_READY = 3, /* init -> runtime: set up, now waiting for start */
  MSG_ERROR = 4, /* init -> runtime: text of what failed */
  MSG_ACK = 10,  /* runtime -> init: payload = the container state JSON for in-container hooks */
};

/* Reads the plan's fields. A read past the end sets `bad` and returns zeroes/empty strings. */
struct reader {
  const uint8_t *p;
  const uint8_t *end;
  int bad;
};

struct ctx {
  int sync_fd;         /* stream socket to the runtime */
  int root_fd;         /* O_PATH fd of the container rootfs (before pivot) */
  int fifo_fd;         /* O_PATH fd of the exec fifo */
  int console_fd;      /* connected console socket */
  int pid_dir_fd;      /* the pid file's directory, opened before any namespace is joined */
  char *state;         /* the state JSON received with the last ACK, NUL-terminated */
  size_t state_len;
  char exec_path[4096]; /* argv[0] resolved by OP_RESOLVE_EXEC */
  char home[4096];      /* HOME for the exec, from OP_HOME_FROM_PASSWD; empty: none added */
  char err[1024];      /* what failed, sent to the runtime */
};

/* plan.c */
uint32_t rd_u32(struct reader *r);
uint64_t rd_u64(struct reader *r);
const char *rd_str(struct reader *r);
const char **rd_strv(struct reader *r);
const uint8_t *rd_bytes(struct reader *r, uint32_t *len);

/* util.c */
int fail(struct ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int write_all(int fd, const void *buf, size_t len);
int read_all(int fd, void *buf, size_t len);
int send_msg(int fd, uint32_t type, const void *payload, uint32_t len);
int recv_msg(int fd, uint32_t *type, char **payload, uint32_t *len);
int write_file(const char *path, const char *content);
int ensure_sealed(char **argv, char **envp);

/* paths.c: resolve and create paths inside the root, never following links out of it */
int open_in_root(struct ctx *c, const char *path, int flags);
int mkdir_in_root(struct ctx *c, const char *path, unsigned mode, int last_is_file);

/* ops_ns.c */
int op_setns(struct ctx *c, struct reader *r);
int op_join_cgroup(struct ctx *c, struct reader *r);
int op_clone(struct ctx *c, struct reader *r);
int op_become_root(struct ctx *c, struct reader *r);

/* ops_fs.c */
int op_mount(struct ctx *c, struct reader *r);
int op_set_root(struct ctx *c, struct reader *r);
int op_mknod(struct ctx *c, struct reader *r);
int op_symlink(struct ctx *c, struct reader *r);
int op_mkdir(struct ctx *c, struct reader *r);
int op_pivot_root(struct ctx *c, struct reader *r);
int op_move_root(struct ctx *c, struct reader *r);
int op_mask(struct ctx *c, struct reader *r);
int op_readonly(struct ctx *c, struct reader *r);

/* ops_proc.c */
int op_sethostname(struct ctx *c, struct reader *r);
int op_setdomainname(struct ctx *c, struct reader *r);
int op_write_file(struct ctx *c, struct reader *r);
int op_rlimit(struct ctx *c, struct reader *r);
int op_chdir(struct ctx *c, struct reader *r);
int op_umask(struct ctx *c, struct reader *r);
int op_exec(struct ctx *c, struct reader *r);
int op_resolve_exec(struct ctx *c, struct reader *r);
int op_home_from_passwd(struct ctx *c, struct reader *r);
int op_open_pid_dir(struct ctx *c, struct reader *r);

/* ops_security.c */
int op_no_new_privs(struct ctx *c, struct reader *r);
int op_seccomp(struct ctx *c, struct reader *r);
int op_drop_bounding(struct ctx *c, struct reader *r);
int op_set_user(struct ctx *c, struct reader *r);
int op_set_caps(struct ctx *c, struct reader *r);

/* ops_sync.c: talking to the runtime, console, hooks, start */
int op_setsid(struct ctx *c, struct reader *r);
int op_sync_hooks(struct ctx *c, struct reader *r);
int op_run_hook(struct ctx *c, struct reader *r);
int op_console_connect(struct ctx *c, struct reader *r);
int op_console_setup(struct ctx *c, struct reader *r);
int op_open_fifo(struct ctx *c, struct reader *r);
int op_report_ready(struct ctx *c, struct reader *r);
int op_wait_start(struct ctx *c, struct reader *r);

/* reaper.c: `berth-init -- CMD…`, the --init PID 1. */
int reaper_main(int argc, char **argv);

/* pause.c: `pause`, a pod sandbox's PID 1. */
int pause_main(int argc, char **argv);

#endif
