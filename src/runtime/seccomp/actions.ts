// Seccomp actions and filter flags as the OCI spec names them, and the values the kernel takes.
import { invalid } from '../../common/errors.js';

export const RET = {
  KILL_PROCESS: 0x80000000,
  KILL_THREAD: 0x00000000,
  TRAP: 0x00030000,
  ERRNO: 0x00050000,
  USER_NOTIF: 0x7fc00000,
  TRACE: 0x7ff00000,
  LOG: 0x7ffc0000,
  ALLOW: 0x7fff0000,
} as const;

const EPERM = 1;

/** The SECCOMP_RET_* value of an action; `errnoRet` feeds ERRNO and TRACE (runc's reading). */
export function actionValue(action: string, errnoRet: number | undefined, defaultErrnoRet: number | undefined, field: string): number {
  const data = (errnoRet ?? defaultErrnoRet ?? EPERM) & 0xffff;
  switch (action) {
    case 'SCMP_ACT_KILL':
    case 'SCMP_ACT_KILL_THREAD':
      return RET.KILL_THREAD;
    case 'SCMP_ACT_KILL_PROCESS':
      return RET.KILL_PROCESS;
    case 'SCMP_ACT_TRAP':
      return RET.TRAP;
    case 'SCMP_ACT_ERRNO':
      return (RET.ERRNO | data) >>> 0;
    case 'SCMP_ACT_TRACE':
      return (RET.TRACE | data) >>> 0;
    case 'SCMP_ACT_ALLOW':
      return RET.ALLOW;
    case 'SCMP_ACT_LOG':
      return RET.LOG;
    case 'SCMP_ACT_NOTIFY':
      return RET.USER_NOTIF;
    default:
      throw invalid(`${field}: unsupported seccomp action "${action}"`);
  }
}

const FLAGS: Record<string, number> = {
  SECCOMP_FILTER_FLAG_TSYNC: 1,
  SECCOMP_FILTER_FLAG_LOG: 2,
  SECCOMP_FILTER_FLAG_SPEC_ALLOW: 4,
  SECCOMP_FILTER_FLAG_NEW_LISTENER: 8,
  SECCOMP_FILTER_FLAG_TSYNC_ESRCH: 16,
  SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV: 32,
};

export function filterFlags(names: readonly string[] | undefined, field: string): number {
  let flags = 0;
  (names ?? []).forEach((name, i) => {
    const f = FLAGS[name];
    if (f === undefined) throw invalid(`${field}[${i}]: unknown seccomp flag "${name}"`);
    flags |= f;
  });
  return flags;
}
