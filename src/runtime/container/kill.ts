// `kill`: send a signal to the container's process, or with `all` to every process in its cgroup.
import { constants } from 'node:os';
import { invalid, precondition } from '../../common/errors.js';
import { cgroupsOf, type RuntimeContext, statusOf } from './context.js';

export function parseSignal(sig: string): number {
  if (/^\d+$/.test(sig)) {
    const n = Number(sig);
    if (n > 0 && n < 65) return n;
  } else {
    const name = sig.toUpperCase().startsWith('SIG') ? sig.toUpperCase() : `SIG${sig.toUpperCase()}`;
    const n = (constants.signals as Record<string, number>)[name];
    if (n !== undefined) return n;
  }
  throw invalid(`invalid signal "${sig}"`);
}

export async function killContainer(ctx: RuntimeContext, id: string, signal: string, all = false): Promise<void> {
  const sig = parseSignal(signal);
  const rec = ctx.store.load(id);
  const status = await statusOf(ctx, rec);
  if (status === 'stopped' && !all) throw precondition('container not running');
  const cgroups = cgroupsOf(rec);
  if (all) {
    for (const pid of await cgroups.pids()) {
      try { process.kill(pid, sig); } catch { /* exited meanwhile */ }
    }
  } else process.kill(rec.pid, sig);
  // A frozen process acts on no signal, SIGKILL included, until it is thawed: a paused container
  // would never die, and whoever waits for its exit would wait for ever. As runc does, SIGKILL
  // thaws it (after the signal, so that it runs nothing else first); other signals wait for resume.
  if (sig === constants.signals.SIGKILL && status === 'paused') await cgroups.thaw();
}
