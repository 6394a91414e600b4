// Tasks outlive the process that hosts the supervisor: 20 containers print a counter every 100 ms,
// the host is killed with SIGKILL, a new supervisor restores them: all still run, no log line is
// lost or doubled, `wait` works, and one that exited meanwhile reports its real exit code.
// Runs with berth's own runtime and, when installed, with Debian's runc.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeBundle, type Bundle } from '../../helpers/busybox.js';
import { cleanupDir, haveCommand, removeCgroupDir, waitFor } from '../../helpers/runtime.js';
import { procStat } from '../../../src/sys/proc.js';
import { TaskService } from '../../../src/supervisor/tasks/service.js';

const HOST = fileURLToPath(new URL('../../helpers/supervisor-host.js', import.meta.url));
const COUNTER = 'i=0; while true; do echo "n=$i"; i=$((i+1)); usleep 100000; done';
const N = 20;

/** The counter values in a json-file log, in order. */
function counterLines(log: string): number[] {
  return readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { log: string; stream: string })
    .map((e) => { assert.equal(e.stream, 'stdout'); return Number(/^n=(\d+)\n$/.exec(e.log)![1]); });
}

for (const runtime of ['berth', 'runc']) {
  const skip = runtime === 'runc' && !haveCommand('runc') ? 'runc is not installed' : false;
  describe(`tasks survive their supervisor (${runtime})`, { skip }, () => {
    const execRoot = mkdtempSync(join(tmpdir(), 'berth-sup-'));
    const bundles: Bundle[] = [];
    const service = new TaskService({ execRoot, runtimes: { runc: 'runc' } });
    after(async () => {
      for (const t of service.list()) await service.delete(t.namespace, t.id, true).catch(() => {});
      for (const b of bundles) cleanupDir(b.dir);
      cleanupDir(execRoot);
      removeCgroupDir('berth-test-sup');
    });

    it(`keeps ${N} containers running across a kill -9 of the supervisor's host`, async () => {
      const tasks = [];
      for (let i = 0; i < N; i++) {
        const b = makeBundle(['sh', '-c', COUNTER], (s) => { s.ociVersion = '1.0.2'; s.linux!.cgroupsPath = `/berth-test-sup/${runtime}-${i}-${process.pid}`; });
        bundles.push(b);
        tasks.push({ id: `count-${i}`, bundle: b.dir, log: join(b.dir, 'log.json') });
      }
      const quitter = makeBundle(['sh', '-c', 'sleep 1; exit 42'], (s) => { s.ociVersion = '1.0.2'; s.linux!.cgroupsPath = `/berth-test-sup/${runtime}-quit-${process.pid}`; });
      bundles.push(quitter);
      tasks.push({ id: 'quitter', bundle: quitter.dir, log: join(quitter.dir, 'log.json') });
      const victim = makeBundle(['sleep', '1000'], (s) => { s.ociVersion = '1.0.2'; s.linux!.cgroupsPath = `/berth-test-sup/${runtime}-victim-${process.pid}`; });
      bundles.push(victim);
      tasks.push({ id: 'victim', bundle: victim.dir, log: join(victim.dir, 'log.json') });
      const specFile = join(execRoot, 'host.json');
      writeFileSync(specFile, JSON.stringify({ execRoot, runtime, runtimes: { runc: 'runc' }, tasks }));

      const host = spawn(process.execPath, [HOST, specFile], { stdio: ['ignore', 'pipe', 'inherit'] });
      await new Promise<void>((resolve, reject) => {
        host.stdout.on('data', (d: Buffer) => { if (d.toString().includes('ready')) resolve(); });
        host.on('exit', (code) => reject(new Error(`supervisor host exited with ${code}`)));
      });
      await new Promise((r) => setTimeout(r, 500));
      host.kill('SIGKILL');
      await new Promise((r) => host.once('close', r));
      // While nobody supervises, the quitter exits and the victim's shim is killed.
      const victimTask = JSON.parse(readFileSync(join(execRoot, 'tasks', 'test', 'victim', 'task.json'), 'utf8')) as { pid: number; shimPid: number };
      process.kill(victimTask.shimPid, 'SIGKILL');
      await new Promise((r) => setTimeout(r, 1500));

      const exits: Array<{ type: string; id: string }> = [];
      service.on('event', (e) => exits.push(e));
      await service.restore();
      for (let i = 0; i < N; i++) {
        const st = await service.status('test', `count-${i}`);
        assert.equal(st.status, 'running', `count-${i}`);
        assert.ok(readFileSync(`/proc/${st.pid}/stat`, 'utf8').length > 0, `count-${i} is alive`);
      }
      const quit = await service.wait('test', 'quitter');
      assert.equal(quit.status, 42, 'the exit status from while the supervisor was away');
      const gone = await service.status('test', 'victim');
      assert.equal(gone.status, 'stopped', 'a task whose shim is gone is not left running');
      assert.match(gone.exitReason ?? '', /shim exited/);
      await waitFor(() => procStat(victimTask.pid) === undefined || procStat(victimTask.pid)!.state === 'Z');

      await new Promise((r) => setTimeout(r, 300)); // lines written after the restore, too
      for (let i = 0; i < N; i++) await service.kill('test', `count-${i}`, 9);
      for (let i = 0; i < N; i++) {
        const exit = await service.wait('test', `count-${i}`);
        assert.equal(exit.status, 137);
        const seen = counterLines(tasks[i]!.log);
        assert.ok(seen.length >= 15, `count-${i} logged ${seen.length} lines`);
        assert.deepEqual(seen, seen.map((_, j) => j), `count-${i}: no gap, no duplicate`);
      }
      assert.ok(exits.some((e) => e.type === 'exited' && e.id === 'quitter'));
    });
  });
}
