// The launch plan's wire format, shared with native/init/init.h: keep the two in step.
// A plan is "BPL1" followed by operations: u32 opcode, u32 payload size, payload.

export const PLAN_MAGIC = 'BPL1';

export const Op = {
  SETNS: 1,
  JOIN_CGROUP: 2,
  CLONE: 3,
  SETSID: 4,
  BECOME_ROOT: 5,
  SETHOSTNAME: 6,
  SETDOMAINNAME: 7,
  MOUNT: 8,
  SET_ROOT: 9,
  MKNOD: 10,
  SYMLINK: 11,
  MKDIR: 12,
  SYNC_HOOKS: 13,
  RUN_HOOK: 14,
  PIVOT_ROOT: 15,
  MOVE_ROOT: 16,
  MASK: 17,
  READONLY: 18,
  WRITE_FILE: 19,
  RLIMIT: 20,
  CONSOLE_CONNECT: 21,
  CONSOLE_SETUP: 22,
  CHDIR: 23,
  NO_NEW_PRIVS: 24,
  SECCOMP: 25,
  DROP_BOUNDING: 26,
  SET_USER: 27,
  SET_CAPS: 28,
  UMASK: 29,
  OPEN_FIFO: 30,
  REPORT_READY: 31,
  WAIT_START: 32,
  EXEC: 33,
  RESOLVE_EXEC: 34,
  OPEN_PID_DIR: 35,
  HOME_FROM_PASSWD: 36,
} as const;

/** OP_MOUNT's `how` bits. */
export const MountHow = {
  TARGET_IN_ROOT: 1,
  MKDIR: 2,
  MKFILE: 4,
  SOURCE_FD: 8,
} as const;

export const WRITE_IGNORE_ENOENT = 1;

/** OP_CLONE modes: after reporting the pid, stage 0 exits, or waits and exits with the status. */
export const CloneMode = { DETACH: 0, WAIT: 1 } as const;

/** Messages on the sync socket: u32 type, u32 length, payload. */
export const Msg = {
  PID: 1,
  HOOKS: 2,
  READY: 3,
  ERROR: 4,
  ACK: 10,
} as const;

/** Hook points the init stops at (OP_SYNC_HOOKS). */
export const HookPoint = { CREATE_RUNTIME: 1 } as const;

// Linux constants the plan carries.
export const CloneFlag = {
  mount: 0x00020000,
  uts: 0x04000000,
  ipc: 0x08000000,
  user: 0x10000000,
  pid: 0x20000000,
  network: 0x40000000,
  cgroup: 0x02000000,
  time: 0x00000080,
} as const;

export { MS } from '../../sys/mount-options.js';
