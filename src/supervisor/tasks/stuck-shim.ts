// A shim that does not answer: told from a process that does not die, and ended. After SIGKILL a
// task's exit comes through its shim; when it does not come, either the process is alive although
// killed (a frozen cgroup that cannot be thawed, uninterruptible sleep), and then the shim still
// answers and will report the exit when it finally happens, or the shim itself is stopped or hung,
// and then nothing would ever report it: that shim is killed, and the task counts as one whose shim
// died (containerd likewise gives a shim 3 s to shut down and then goes on without it).
import { readFileSync } from 'node:fs';
import { procStat } from '../../sys/proc.js';
import { ShimClient } from './shim-client.js';

/** How long a shim has to answer a "state" probe. */
export const SHIM_PROBE_MS = 1000;

/** Whether the shim behind `socketPath` answers within `ms`. */
export async function shimAnswers(socketPath: string, ms = SHIM_PROBE_MS): Promise<boolean> {
  try {
    await new ShimClient(socketPath, ms).state();
    return true;
  } catch {
    return false;
  }
}

/**
 * SIGKILLs the shim `pid` if it is still the shim of task directory `dir` (its command line names
 * the directory: a reused pid is left alone). SIGKILL ends a stopped process too. Returns whether
 * it was sent.
 */
export function killShim(pid: number, dir: string): boolean {
  if (!isShimOf(pid, dir)) return false;
  try {
    process.kill(pid, 'SIGKILL');
    return true;
  } catch {
    return false;
  }
}

function isShimOf(pid: number, dir: string): boolean {
  const st = procStat(pid);
  if (!st || st.state === 'Z' || st.state === 'X') return false;
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').some((arg, i, argv) => arg === '--dir' && argv[i + 1] === dir);
  } catch {
    return false;
  }
}

/** "state S (sleeping)" of a process, for messages; "gone" when it is. */
export function describeProcess(pid: number): string {
  try {
    const m = /^State:\s*(.+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? `state ${m[1]}` : 'state unknown';
  } catch {
    return 'gone';
  }
}
