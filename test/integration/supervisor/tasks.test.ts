// The task service on the real kernel: lifecycle through the shim, exit codes, the runtime's own
// error text, exec, attach, logs with rotation, a killed shim, and 200 start/stop cycles that
// leave nothing behind.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeBundle, type Bundle } from '../../helpers/busybox.js';
import { cleanupDir, haveCommand, processesMentioning, removeCgroupDir } from '../../helpers/runtime.js';
import { TaskService, type TaskEvent } from '../../../src/supervisor/tasks/service.js';

describe('task service', () => {
  const execRoot = mkdtempSync(join(tmpdir(), 'berth-sup-'));
  const service = new TaskService({ execRoot, runtimes: { runc: 'runc' } });
  const bundles: Bundle[] = [];
  const bundle = (args: string[], edit?: Parameters<typeof makeBundle>[1]) => {
    const b = makeBundle(args, (s) => { s.linux!.cgroupsPath = `/berth-test-tasks/${process.pid}-${bundles.length}`; edit?.(s); });
    bundles.push(b);
    return b;
  };
  after(async () => {
    for (const t of service.list()) await service.delete(t.namespace, t.id, true).catch(() => {});
    for (const b of bundles) cleanupDir(b.dir);
    cleanupDir(execRoot);
    removeCgroupDir('berth-test-tasks');
  });

  it('creates, starts, waits and deletes a task, with events and a json-file log', async () => {
    const events: TaskEvent[] = [];
    service.on('event', (e: TaskEvent) => events.push(e));
    const b = bundle(['sh', '-c', 'echo hello; echo oops >&2; exit 3']);
    const log = join(b.dir, 'log.json');
    const rec = await service.create('ns1', 't1', { bundle: b.dir, log: { path: log } });
    assert.ok(rec.pid > 0 && rec.shimPid > 0);
    assert.equal((await service.status('ns1', 't1')).status, 'created');
    await service.start('ns1', 't1');
    const exit = await service.wait('ns1', 't1');
    assert.equal(exit.status, 3);
    assert.equal((await service.status('ns1', 't1')).status, 'stopped');
    const lines = readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(lines.map((l) => [l.log, l.stream]).sort(), [['hello\n', 'stdout'], ['oops\n', 'stderr']]);
    assert.ok(lines.every((l) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z$/.test(l.time)));
    assert.equal((await service.delete('ns1', 't1')).status, 3);
    assert.equal(existsSync(service.store.dir('ns1', 't1')), false);
    assert.deepEqual(events.filter((e) => e.id === 't1').map((e) => e.type), ['created', 'started', 'exited', 'deleted']);
  });

  for (const runtime of ['berth', 'runc']) {
    const skip = runtime === 'runc' && !haveCommand('runc') ? 'runc is not installed' : false;
    it(`reports the runtime's own error text when the container cannot start (${runtime})`, { skip }, async () => {
      const b = bundle(['no-such-program']);
      const err = await service.create('ns1', 'bad', { bundle: b.dir, runtime }).catch((e: Error) => e);
      assert.ok(err instanceof Error);
      assert.match(err.message, /exec: "no-such-program": executable file not found in \$PATH/);
      assert.doesNotMatch(err.message, /level=error/, 'the message, not the log line');
      assert.equal(existsSync(service.store.dir('ns1', 'bad')), false, 'nothing left of the task');
    });
  }

  it('execs a process in a running task and attaches to its output', async () => {
    const b = bundle(['sleep', '1000']);
    await service.create('ns1', 'ex', { bundle: b.dir });
    await service.start('ns1', 'ex');
    const pid = await service.exec('ns1', 'ex', 'e1', { ...b.spec.process!, args: ['sh', '-c', 'sleep 0.3; echo from-exec; exit 5'] });
    assert.ok(pid > 0);
    const conn = await service.attach('ns1', 'ex', ['stdout', 'stderr'], 'e1');
    const chunks: Buffer[] = [];
    conn.on('data', (d: Buffer) => chunks.push(d));
    conn.resume();
    const exit = await service.wait('ns1', 'ex', 'e1');
    assert.equal(exit.status, 5);
    await new Promise((r) => conn.once('close', r));
    const out = Buffer.concat(chunks);
    assert.equal(out[0], 1, 'stdout frame');
    assert.equal(out.readUInt32BE(4), 'from-exec\n'.length);
    assert.equal(out.subarray(8).toString(), 'from-exec\n');
    assert.deepEqual((await service.pids('ns1', 'ex')).length, 1);
    await service.kill('ns1', 'ex', 9);
    assert.equal((await service.wait('ns1', 'ex')).status, 137);
    await service.delete('ns1', 'ex');
  });

  it('reports a task whose shim was killed as exited, with a reason', async () => {
    const b = bundle(['sleep', '1000']);
    const rec = await service.create('ns1', 'orphan', { bundle: b.dir });
    await service.start('ns1', 'orphan');
    process.kill(rec.shimPid, 'SIGKILL');
    const exit = await service.wait('ns1', 'orphan');
    assert.equal(exit.status, 137);
    const st = await service.status('ns1', 'orphan');
    assert.equal(st.status, 'stopped');
    assert.match(st.exitReason ?? '', /shim exited/);
    await service.delete('ns1', 'orphan', true);
  });

  it('keeps the log within its rotation bound', async () => {
    const b = bundle(['sh', '-c', 'i=0; while [ $i -lt 3000 ]; do echo "line $i padding padding padding padding"; i=$((i+1)); done']);
    const log = join(b.dir, 'log.json');
    await service.create('ns1', 'rot', { bundle: b.dir, log: { path: log, maxSize: 20_000, maxFiles: 3 } });
    await service.start('ns1', 'rot');
    assert.equal((await service.wait('ns1', 'rot')).status, 0);
    const files = readdirSync(b.dir).filter((f) => f.startsWith('log.json'));
    assert.deepEqual(files.sort(), ['log.json', 'log.json.1', 'log.json.2']);
    for (const f of files) assert.ok(statSync(join(b.dir, f)).size <= 20_000, `${f} within 20000 bytes`);
    const last = readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l).log).at(-1);
    assert.equal(last, 'line 2999 padding padding padding padding\n');
    await service.delete('ns1', 'rot');
  });

  for (const runtime of ['berth', 'runc']) {
    const skip = runtime === 'runc' && !haveCommand('runc') ? 'runc is not installed' : false;
    it(`gives a terminal task a pty: input, resize and raw output (${runtime})`, { skip }, async () => {
      const b = bundle(['sh'], (s) => { s.process!.terminal = true; });
      const id = `tty-${runtime}`;
      await service.create('ns1', id, { bundle: b.dir, runtime, terminal: true, stdin: true });
      await service.start('ns1', id);
      const conn = await service.attach('ns1', id, ['stdin', 'stdout']);
      let out = '';
      conn.on('data', (d: Buffer) => (out += d.toString()));
      conn.resume();
      assert.equal(await service.shim('ns1', id).resize(33, 101), 'ok');
      conn.write('stty size; tty; exit 4\n');
      assert.equal((await service.wait('ns1', id)).status, 4);
      assert.match(out, /^33 101\r$/m, 'the size set through the shim');
      assert.match(out, /^\/dev\/pts\/\d+\r$/m, 'stdin is a pty');
      await service.delete('ns1', id);
    });
  }

  it('tells an OOM kill from other deaths, with an event', async () => {
    // busybox tail keeps /dev/zero in memory looking for a newline that never comes.
    const b = bundle(['tail', '/dev/zero'], (s) => { s.linux!.resources = { memory: { limit: 16 << 20, swap: 16 << 20 } }; });
    const events: TaskEvent[] = [];
    service.on('event', (e: TaskEvent) => events.push(e));
    await service.create('ns1', 'oom', { bundle: b.dir });
    await service.start('ns1', 'oom');
    const exit = await service.wait('ns1', 'oom');
    assert.deepEqual([exit.status, exit.oomKilled], [137, true]);
    assert.ok(events.some((e) => e.type === 'oom' && e.id === 'oom'));
    await service.delete('ns1', 'oom');
  });

  it('200 start/stop cycles leave no process, cgroup, socket or file behind', async () => {
    const b = bundle(['true']);
    for (let i = 0; i < 200; i++) {
      await service.create('cycle', `c${i}`, { bundle: b.dir });
      await service.start('cycle', `c${i}`);
      assert.equal((await service.wait('cycle', `c${i}`)).status, 0);
      await service.delete('cycle', `c${i}`);
    }
    assert.deepEqual(readdirSync(join(execRoot, 'tasks', 'cycle')), []);
    assert.deepEqual(readdirSync(join(execRoot, 'runtime', 'berth', 'cycle')), []);
    assert.equal(existsSync(`/sys/fs/cgroup/pids/berth-test-tasks/${process.pid}-${bundles.indexOf(b)}`), false, 'the cgroup is gone');
    assert.deepEqual(processesMentioning(execRoot), [], 'no shim is left');
    const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(b.dir) || l.includes(execRoot));
    assert.deepEqual(mounts, [], 'no mount is left');
  });
});
