// Facts about processes from /proc, used to tell a live container from a recycled pid.
import { readFileSync } from 'node:fs';

export interface ProcStat {
  state: string;
  /** Start time in clock ticks since boot: with the pid, it names one process for good. */
  startTime: number;
}

export function procStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name is in parentheses and may itself contain spaces or parentheses.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: rest[0]!, startTime: Number(rest[19]) };
}

/** True while `pid` is the same, not yet exited process that had `startTime`. */
export function isSameProcessAlive(pid: number, startTime: number): boolean {
  const st = procStat(pid);
  return st !== undefined && st.startTime === startTime && st.state !== 'Z' && st.state !== 'X';
}

/** The capability bounding set of this process. */
export function boundingCapabilities(): bigint {
  const status = readFileSync('/proc/self/status', 'utf8');
  const m = /^CapBnd:\s*([0-9a-f]+)$/m.exec(status);
  return m ? BigInt(`0x${m[1]}`) : 0n;
}
