/* Privileges: user and groups, the five capability sets, no_new_privs, and the seccomp filter that
 * the runtime compiled (the init only loads it). */
#include "init.h"

#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

int op_no_new_privs(struct ctx *c, struct reader *r) {
  return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ? fail(c, "prctl(PR_SET_NO_NEW_PRIVS)") : 0;
}

int op_seccomp(struct ctx *c, struct reader *r) {
  uint32_t flags = rd_u32(r);
  uint32_t len;
  const uint8_t *prog = rd_bytes(r, &len);
  if (r->bad) return 0;
  if (len == 0 || len % sizeof(struct sock_filter) != 0) {
    errno = 0;
    return fail(c, "seccomp: program of %u bytes is not a whole number of instructions", len);
  }
  /* The plan buffer may be unaligned for sock_filter: copy it. */
  struct sock_filter *filter = malloc(len);
  if (filter == NULL) return fail(c, "seccomp: allocate program");
  for (uint32_t i = 0; i < len; i++) ((uint8_t *)filter)[i] = prog[i];
  struct sock_fprog fprog = { .len = (unsigned short)(len / sizeof(struct sock_filter)), .filter = filter };
  long rc = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &fprog);
  free(filter);
  return rc < 0 ? fail(c, "seccomp: load filter") : 0;
}

int op_drop_bounding(struct ctx *c, struct reader *r) {
  uint64_t keep = rd_u64(r);
  if (r->bad) return 0;
  for (int cap = 0; cap < 64; cap++) {
    int has = prctl(PR_CAPBSET_READ, cap, 0, 0, 0);
    if (has < 0) break; /* past the kernel's last capability */
    if (has == 1 && !(keep & (1ULL << cap)) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
      return fail(c, "drop capability %d from the bounding set", cap);
  }
  return 0;
}

/* Keeps the permitted capabilities across the uid change so OP_SET_CAPS can set them afterwards. */
int op_set_user(struct ctx *c, struct reader *r) {
  uint32_t uid = rd_u32(r), gid = rd_u32(r), set_groups = rd_u32(r), n = rd_u32(r);
  if (r->bad || n > 65536) return 0;
  gid_t *groups = calloc(n ? n : 1, sizeof(gid_t));
  if (groups == NULL) return fail(c, "allocate groups");
  for (uint32_t i = 0; i < n; i++) groups[i] = rd_u32(r);
  int rc = 0;
  if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) rc = fail(c, "prctl(PR_SET_KEEPCAPS)");
  else if (set_groups && setgroups(n, groups) < 0) rc = fail(c, "setgroups");
  else if (setresgid(gid, gid, gid) < 0) rc = fail(c, "setgid %u", gid);
  else if (setresuid(uid, uid, uid) < 0) rc = fail(c, "setuid %u", uid);
  else if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0) rc = fail(c, "prctl(PR_SET_KEEPCAPS, 0)");
  free(groups);
  return rc;
}

int op_set_caps(struct ctx *c, struct reader *r) {
  uint64_t eff = rd_u64(r), perm = rd_u64(r), inh = rd_u64(r), amb = rd_u64(r);
  if (r->bad) return 0;
  struct __user_cap_header_struct head = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
  struct __user_cap_data_struct data[2] = {
    { .effective = (uint32_t)eff, .permitted = (uint32_t)perm, .inheritable = (uint32_t)inh },
    { .effective = (uint32_t)(eff >> 32), .permitted = (uint32_t)(perm >> 32), .inheritable = (uint32_t)(inh >> 32) },
  };
  if (syscall(SYS_capset, &head, data) < 0) return fail(c, "capset");
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
    return fail(c, "clear ambient capabilities");
  for (int cap = 0; cap < 64; cap++)
    if ((amb & (1ULL << cap)) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0)
      return fail(c, "raise ambient capability %d", cap);
  return 0;
}
