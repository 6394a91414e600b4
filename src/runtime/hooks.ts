// Runs OCI hooks from the runtime's side (prestart, createRuntime, poststart, poststop): each gets
// the container state as JSON on stdin, its own env, and is killed at its timeout.
import { spawn } from 'node:child_process';
import { BerthError } from '../common/errors.js';
import type { Hook, State } from './spec/types.js';

export async function runHooks(hooks: readonly Hook[] | undefined, state: State, phase: string): Promise<void> {
  for (const [i, hook] of (hooks ?? []).entries()) await runHook(hook, state, `${phase}[${i}]`);
}

function runHook(hook: Hook, state: State, label: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const args = hook.args ?? [hook.path];
    const env = Object.fromEntries((hook.env ?? []).map((e) => {
      const eq = e.indexOf('=');
      return eq < 0 ? [e, ''] : [e.slice(0, eq), e.slice(eq + 1)];
    }));
    const child = spawn(hook.path, args.slice(1), { argv0: args[0], env, stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => { if (stderr.length < 4096) stderr += d.toString(); });
    child.stdin!.on('error', () => {}); // a hook need not read its stdin
    child.stdin!.end(JSON.stringify(state));
    const timer = hook.timeout ? setTimeout(() => child.kill('SIGKILL'), hook.timeout * 1000) : undefined;
    let timedOut = false;
    if (timer) timer.unref();
    child.on('error', (err) => reject(new BerthError('FAILED_PRECONDITION', `hook ${label} (${hook.path}): ${err.message}`)));
    // 'close', not 'exit': the hook's stderr is fully read by then.
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      timedOut = signal === 'SIGKILL' && hook.timeout !== undefined;
      if (code === 0) return resolve();
      const why = timedOut ? `timed out after ${hook.timeout}s` : code !== null ? `exit status ${code}` : `killed by ${signal}`;
      reject(new BerthError('FAILED_PRECONDITION', `hook ${label} (${hook.path}): ${why}${stderr ? `: ${stderr.trim()}` : ''}`));
    });
  });
}
