/* berth-init entry point: `berth-init <sync-fd>`; also `berth-init -- CMD…` (the --init reaper,
 * reaper.c) and, started under the name `pause`, a pod sandbox's pause process (pause.c).
 * Re-executes itself from a sealed memfd (so a container can never overwrite the binary on the
 * host, CVE-2019-5736), reads the plan from the sync socket, and runs its operations in order. */
#include "init.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <unistd.h>

typedef int (*op_fn)(struct ctx *, struct reader *);

static const op_fn ops[OP_MAX] = {
  [OP_SETNS] = op_setns,
  [OP_JOIN_CGROUP] = op_join_cgroup,
  [OP_CLONE] = op_clone,
  [OP_SETSID] = op_setsid,
  [OP_BECOME_ROOT] = op_become_root,
  [OP_SETHOSTNAME] = op_sethostname,
  [OP_SETDOMAINNAME] = op_setdomainname,
  [OP_MOUNT] = op_mount,
  [OP_SET_ROOT] = op_set_root,
  [OP_MKNOD] = op_mknod,
  [OP_SYMLINK] = op_symlink,
  [OP_MKDIR] = op_mkdir,
  [OP_SYNC_HOOKS] = op_sync_hooks,
  [OP_RUN_HOOK] = op_run_hook,
  [OP_PIVOT_ROOT] = op_pivot_root,
  [OP_MOVE_ROOT] = op_move_root,
  [OP_MASK] = op_mask,
  [OP_READONLY] = op_readonly,
  [OP_WRITE_FILE] = op_write_file,
  [OP_RLIMIT] = op_rlimit,
  [OP_CONSOLE_CONNECT] = op_console_connect,
  [OP_CONSOLE_SETUP] = op_console_setup,
  [OP_CHDIR] = op_chdir,
  [OP_NO_NEW_PRIVS] = op_no_new_privs,
  [OP_SECCOMP] = op_seccomp,
  [OP_DROP_BOUNDING] = op_drop_bounding,
  [OP_SET_USER] = op_set_user,
  [OP_SET_CAPS] = op_set_caps,
  [OP_UMASK] = op_umask,
  [OP_OPEN_FIFO] = op_open_fifo,
  [OP_REPORT_READY] = op_report_ready,
  [OP_WAIT_START] = op_wait_start,
  [OP_EXEC] = op_exec,
  [OP_RESOLVE_EXEC] = op_resolve_exec,
  [OP_OPEN_PID_DIR] = op_open_pid_dir,
  [OP_HOME_FROM_PASSWD] = op_home_from_passwd,
};

static int run_plan(struct ctx *c, const uint8_t *plan, uint32_t len) {
  if (len < 4 || memcmp(plan, PLAN_MAGIC, 4) != 0)
    return fail(c, "plan: bad magic (runtime and init versions differ?)");
  struct reader r = { plan + 4, plan + len, 0 };
  unsigned index = 0;
  while (r.p < r.end) {
    uint32_t op = rd_u32(&r);
    uint32_t size = rd_u32(&r);
    if (r.bad || size > (uint32_t)(r.end - r.p))
      return fail(c, "plan: truncated at operation %u", index);
    struct reader args = { r.p, r.p + size, 0 };
    r.p += size;
    if (op == 0 || op >= OP_MAX || ops[op] == NULL)
      return fail(c, "plan: unknown operation %u at %u", op, index);
    if (ops[op](c, &args) < 0)
      return -1;
    if (args.bad)
      return fail(c, "plan: operation %u at %u has malformed arguments", op, index);
    index++;
  }
  return 0;
}

/* The name it was started under: "pause" makes it a pod sandbox's pause process. */
static const char *program_name(const char *argv0) {
  const char *slash = argv0 ? strrchr(argv0, '/') : NULL;
  return slash ? slash + 1 : argv0 ? argv0 : "";
}

int main(int argc, char **argv, char **envp) {
  if (strcmp(program_name(argv[0]), "pause") == 0) return pause_main(argc, argv);
  if (argc >= 2 && strcmp(argv[1], "--") == 0) return reaper_main(argc, argv); /* --init */
  if (argc < 2) {
    fprintf(stderr, "berth-init: this program is started by the berth runtime, not by hand\n");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN); /* a runtime that went away must not kill us mid-report */
  if (ensure_sealed(argv, envp) < 0) {
    perror("berth-init: sealing the init binary");
    return 1;
  }
  struct ctx c = { .sync_fd = atoi(argv[1]), .root_fd = -1, .fifo_fd = -1, .console_fd = -1, .pid_dir_fd = -1 };

  uint32_t type = 0, len = 0;
  char *plan = NULL;
  if (recv_msg(c.sync_fd, &type, &plan, &len) < 0 || type != MSG_ACK) {
    fprintf(stderr, "berth-init: no plan on the sync socket\n");
    return 1;
  }
  /* A plan that ends without OP_EXEC is a runtime bug. */
  if (run_plan(&c, (const uint8_t *)plan, len) == 0) fail(&c, "plan: ended without exec");
  /* After `create` returned, nobody listens on the sync socket any more: say it on stderr. */
  if (send_msg(c.sync_fd, MSG_ERROR, c.err, (uint32_t)strlen(c.err)) < 0) fprintf(stderr, "berth-init: %s\n", c.err);
  return 1;
}
