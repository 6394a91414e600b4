// The process environment, as Docker's CreateDaemonEnvironment builds it: PATH, HOSTNAME and
// (with a terminal) TERM=xterm first, then Config.Env, whose entries replace a default in place,
// are appended otherwise, and remove a default when written without "=".
import { DEFAULT_PATH_ENV } from './defaults.js';

export function containerEnv(opts: { env?: readonly string[] | null; hostname?: string; tty?: boolean; linkedEnv?: readonly string[] }): string[] {
  const defaults = [DEFAULT_PATH_ENV, `HOSTNAME=${opts.hostname ?? ''}`];
  if (opts.tty) defaults.push('TERM=xterm');
  defaults.push(...(opts.linkedEnv ?? []));
  return replaceOrAppendEnv(defaults, opts.env ?? []);
}

/** Docker's ReplaceOrAppendEnvValues (Linux: keys are case-sensitive). */
export function replaceOrAppendEnv(defaults: readonly string[], overrides: readonly string[]): string[] {
  const out: Array<string | undefined> = [...defaults];
  const index = new Map<string, number>();
  out.forEach((e, i) => index.set(keyOf(e!), i));
  for (const value of overrides) {
    const eq = value.indexOf('=');
    if (eq < 0) {
      // "KEY" alone unsets a default.
      const i = index.get(value);
      if (i !== undefined) out[i] = undefined;
      continue;
    }
    const i = index.get(value.slice(0, eq));
    if (i !== undefined) out[i] = value;
    else out.push(value);
  }
  return out.filter((e): e is string => e !== undefined);
}

const keyOf = (e: string): string => (e.includes('=') ? e.slice(0, e.indexOf('=')) : e);
