// The supervisor's figures: berth-shim's memory per running container (beside
// containerd-shim-runc-v2's when one is running on this machine), and the start-to-exit latency
// of a task (create, start, wait, delete) through the supervisor, with berth's runtime and runc.
// `node dist/bench/supervisor.js [N]`
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeBundle } from '../test/helpers/busybox.js';
import { TaskService } from '../src/supervisor/tasks/service.js';

const N = Number(process.argv[2] ?? 50);
const RUNNING = 10;
const execRoot = mkdtempSync(join(tmpdir(), 'berth-bench-sup-'));
const bundle = makeBundle(['true'], (s) => { s.ociVersion = '1.0.2-dev'; });
const sleeper = makeBundle(['sleep', '1000'], (s) => { s.ociVersion = '1.0.2-dev'; });
const service = new TaskService({ execRoot, runtimes: { runc: 'runc' } });

const rssKb = (pid: number) => Number(/^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN);
const have = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

try {
  // Memory: a shim per running container.
  const shims: number[] = [];
  for (let i = 0; i < RUNNING; i++) {
    const rec = await service.create('bench', `sleep-${i}`, { bundle: sleeper.dir, log: { path: join(execRoot, `sleep-${i}.log`) } });
    await service.start('bench', `sleep-${i}`);
    shims.push(rec.shimPid);
  }
  const rss = shims.map(rssKb);
  console.log(`berth-shim RSS with a running container: ${(rss.reduce((a, b) => a + b, 0) / rss.length / 1024).toFixed(2)} MB average over ${RUNNING} (min ${Math.min(...rss)} kB, max ${Math.max(...rss)} kB)`);
  const theirs = execFileSync('sh', ['-c', 'pgrep -x containerd-shim-runc-v2 || pgrep -f containerd-shim-runc-v2 || true'], { encoding: 'utf8' }).split('\n').filter(Boolean).map(Number);
  if (theirs.length) {
    const r = theirs.map(rssKb);
    console.log(`containerd-shim-runc-v2 RSS: ${(r.reduce((a, b) => a + b, 0) / r.length / 1024).toFixed(2)} MB average over ${r.length}`);
  } else {
    console.log('containerd-shim-runc-v2: none running here (start containerd and a docker container to compare)');
  }
  for (let i = 0; i < RUNNING; i++) await service.delete('bench', `sleep-${i}`, true);

  // Latency: create + start + wait + delete of busybox true, N times in a row.
  for (const runtime of ['berth', ...(have('runc') ? ['runc'] : [])]) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < N; i++) {
      await service.create('bench', `t-${i}`, { bundle: bundle.dir, runtime });
      await service.start('bench', `t-${i}`);
      await service.wait('bench', `t-${i}`);
      await service.delete('bench', `t-${i}`);
    }
    const ms = Number(process.hrtime.bigint() - t0) / 1e6 / N;
    console.log(`start-to-exit of a task through the supervisor (${runtime}): ${ms.toFixed(1)} ms (create, start, wait, delete; ${N} in a row)`);
  }
} finally {
  for (const t of service.list()) await service.delete(t.namespace, t.id, true).catch(() => {});
  rmSync(execRoot, { recursive: true, force: true });
  rmSync(bundle.dir, { recursive: true, force: true });
  rmSync(sleeper.dir, { recursive: true, force: true });
}
