// Debian's real `ctr` (containerd 1.6) against a supervisor socket: `ctr(args, {ns})` runs it with
// --address and --namespace; `ok(...)` asserts it succeeded and returns its stdout. Also the
// cleanup ctr's tasks need: their cgroups (/<namespace>/<id>) and the FIFO directories ctr leaves.
import assert from 'node:assert/strict';
import { readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
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

/** Cgroup directories under /<ns> in any hierarchy. */
export function cgroupsOf(ns: string): string[] {
  const roots = ['/sys/fs/cgroup', ...readdirSync('/sys/fs/cgroup').map((h) => join('/sys/fs/cgroup', h))];
  return roots.flatMap((r) => {
    try {
      return readdirSync(join(r, ns), { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => join(r, ns, e.name));
    } catch {
      return [];
    }
  });
}

/**
 * FIFO directories ctr made for a test's detached tasks: ctr leaves them when it detaches (as it
 * does with containerd), so a test removes those named after its ids and made since it started.
 */
export function removeCtrFifos(ids: string[], since: number): void {
  const root = '/run/containerd/fifo';
  let dirs: string[] = [];
  try {
    dirs = readdirSync(root);
  } catch {
    return;
  }
  for (const dir of dirs) {
    const path = join(root, dir);
    try {
      if (statSync(path).mtimeMs < since) continue;
      const names = readdirSync(path);
      if (names.length && names.every((n) => ids.some((id) => n.startsWith(`${id}-std`)))) rmSync(path, { recursive: true, force: true });
    } catch {
      // removed meanwhile
    }
  }
}
