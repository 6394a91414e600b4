// Debian's real `ctr` (containerd 1.6) against a supervisor socket: `ctr(args, {ns})` runs it with
// --address and --namespace; `ok(...)` asserts it succeeded and returns its stdout.
import assert from 'node:assert/strict';
import { haveCommand, runCommand, type Result } from './runtime.js';

export const HAVE_CTR = haveCommand('ctr');

export interface Ctr {
  run(args: string[], opts?: { ns?: string; input?: string; timeoutMs?: number }): Promise<Result>;
  ok(args: string[], opts?: { ns?: string; input?: string; timeoutMs?: number }): Promise<string>;
}

export function ctrAt(socket: string, context: () => string = () => ''): Ctr {
  const run: Ctr['run'] = (args, opts = {}) =>
    runCommand('ctr', ['--address', socket, '--namespace', opts.ns ?? 'default', ...args], { input: opts.input, timeoutMs: opts.timeoutMs ?? 60_000 });
  return {
    run,
    async ok(args, opts) {
      const r = await run(args, opts);
      assert.equal(r.code, 0, `ctr ${args.join(' ')}: ${r.stderr}${context()}`);
      return r.stdout;
    },
  };
}

/** The rows of a ctr table, without its header, split on runs of spaces or tabs. */
export function rows(table: string): string[][] {
  return table.split('\n').slice(1).filter((l) => l.trim()).map((l) => l.trim().split(/\s+/));
}
