// Times N sequential runs of busybox `true` (default 100): berth's runtime as a library in this
// Node process, the berth-runtime CLI, and runc / crun when installed, all on the same bundle in
// the same session. Prints the time per run and the ratios. `node dist/bench/runtime-run.js [N]`
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeBundle } from '../test/helpers/busybox.js';
import { StateStore } from '../src/runtime/state-store.js';
import { runContainer } from '../src/runtime/container/run.js';

const N = Number(process.argv[2] ?? process.env.BENCH_N ?? 100);
const bin = fileURLToPath(new URL('../../bin/berth-runtime.mjs', import.meta.url));
// runc's own spec version, so that crun (which knows only up to 1.1) runs the same bundle.
const bundle = makeBundle(['true'], (s) => { s.ociVersion = '1.0.2-dev'; });
const root = mkdtempSync(join(tmpdir(), 'berth-bench-'));

async function time(label: string, once: (i: number) => Promise<void> | void): Promise<number | undefined> {
  try {
    await once(-1); // warm up, and find out whether it works here at all
  } catch (err) {
    console.log(`${label.padEnd(28)} skipped: ${(err as Error).message.split('\n')[0]}`);
    return undefined;
  }
  const start = process.hrtime.bigint();
  for (let i = 0; i < N; i++) await once(i);
  const ms = Number(process.hrtime.bigint() - start) / 1e6 / N;
  console.log(`${label.padEnd(28)} ${ms.toFixed(2).padStart(8)} ms/run`);
  return ms;
}

function command(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${cmd} exited ${r.status}: ${r.stderr.toString().trim()}`);
}

const have = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

try {
  console.log(`${N} sequential runs of busybox true, bundle ${bundle.dir}`);
  const ctx = { store: new StateStore(join(root, 'lib')) };
  const results: Record<string, number | undefined> = {};
  results.library = await time('berth runtime (library)', async (i) => {
    const code = await runContainer(ctx, `lib-${i}`, { bundle: bundle.dir, stdio: ['ignore', 'ignore', 'ignore'] });
    if (code !== 0) throw new Error(`exit ${code}`);
  });
  results.cli = await time('berth-runtime run (CLI)', (i) => command(process.execPath, [bin, '--root', join(root, 'cli'), 'run', '--bundle', bundle.dir, `cli-${i}`]));
  if (have('runc')) results.runc = await time('runc run', (i) => command('runc', ['--root', join(root, 'runc'), 'run', '--bundle', bundle.dir, `runc-${i}`]));
  if (have('crun')) results.crun = await time('crun run', (i) => command('crun', ['--root', join(root, 'crun'), 'run', '--bundle', bundle.dir, `crun-${i}`]));
  console.log('\nratios (lower is faster; < 1 means berth is faster):');
  for (const ours of ['library', 'cli'] as const) {
    for (const theirs of ['runc', 'crun'] as const) {
      const a = results[ours], b = results[theirs];
      if (a !== undefined && b !== undefined) console.log(`  ${ours} / ${theirs}: ${(a / b).toFixed(2)}`);
    }
  }
} finally {
  rmSync(bundle.dir, { recursive: true, force: true });
  rmSync(root, { recursive: true, force: true });
}
