// The supervisor's figures: berth-shim's memory per running container (beside
// containerd-shim-runc-v2's when one is running on this machine), and the start-to-exit latency
// of a task (create, start, wait, delete) through the supervisor, with berth's runtime and runc.
// `node dist/bench/supervisor.js [N]`
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeBundle } from '../test/helpers/busybox.js';
import { processesWhere } from '../test/helpers/runtime.js';
import { TaskService } from '../src/supervisor/tasks/service.js';

const N = Number(process.argv[2] ?? 50);
const RUNNING = 10;
const execRoot = mkdtempSync(join(tmpdir(), 'berth-bench-sup-'));
const bundle = makeBundle(['true'], (s) => { s.ociVersion = '1.0.2-dev'; });
const sleeper = makeBundle(['sleep', '1000'], (s) => { s.ociVersion = '1.0.2-dev'; });
const service = new TaskService({ execRoot, runtimes: { runc: 'runc' } });

// RSS counts the pages a process maps, shared or not; PSS divides shared pages among their users,
// so it is what each more container really costs.
const rssKb = (pid: number) => Number(/^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN);
const pssKb = (pid: number) => Number(/^Pss:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? NaN);
const avgMb = (kb: number[]) => (kb.reduce((a, b) => a + b, 0) / kb.length / 1024).toFixed(2);

const have = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

try {
  // Memory: a shim per running container.
  const shims: number[] = [];
  for (let i = 0; i < RUNNING; i++) {
    const rec = await service.create('bench', `sleep-${i}`, { bundle: sleeper.dir, log: { path: join(execRoot, `sleep-${i}.log`) } });
    await service.start('bench', `sleep-${i}`);
    shims.push(rec.shimPid);
  }
  console.log(`berth-shim per running container: RSS ${avgMb(shims.map(rssKb))} MB, PSS ${avgMb(shims.map(pssKb))} MB (average over ${RUNNING})`);
  const theirs = processesWhere('comm', (name) => name.startsWith('containerd-shim')); // comm: 15 characters
  if (theirs.length) {
    console.log(`containerd-shim-runc-v2 per running container: RSS ${avgMb(theirs.map(rssKb))} MB, PSS ${avgMb(theirs.map(pssKb))} MB (average over ${theirs.length})`);
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
