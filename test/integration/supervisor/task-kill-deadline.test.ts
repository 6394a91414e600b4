// A killed task that does not exit: a forced delete (and any SIGKILL) waits a bounded time, then a
// shim that does not answer (SIGSTOPped here) is killed and the task ends as exited, while a
// process that cannot die (frozen in a cgroup whose parent is frozen too, so nothing can thaw it)
// fails the delete and stays recorded until it has exited. Nothing stays locked meanwhile.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BerthError } from '../../../src/common/errors.js';
import { TaskService, type TaskEvent } from '../../../src/supervisor/tasks/service.js';
import { makeBundle, type Bundle } from '../../helpers/busybox.js';
import { cleanupDir, processesMentioning, removeCgroupDir, waitFor } from '../../helpers/runtime.js';

const KILL_TIMEOUT_MS = 1500;
/** The bound a forced delete keeps: the kill timeout, a second's probe, two to see a shim gone. */
const DELETE_BOUND_MS = KILL_TIMEOUT_MS + 1000 + 2000 + 1000;
const PARENT = `berth-test-kill-deadline/${process.pid}`;
const FREEZER = '/sys/fs/cgroup/freezer';

describe('task service: a SIGKILL that gets no exit', () => {
  const execRoot = mkdtempSync(join(tmpdir(), 'berth-sup-kdl-'));
  const service = new TaskService({ execRoot, killTimeoutMs: KILL_TIMEOUT_MS });
  const events: TaskEvent[] = [];
  service.on('event', (e: TaskEvent) => events.push(e));
  const bundles: Bundle[] = [];
  const stopped: number[] = [];
  const bundle = (args: string[], cgroup: string) => {
    const b = makeBundle(args, (s) => { s.linux!.cgroupsPath = `/${PARENT}/${cgroup}`; });
    bundles.push(b);
    return b;
  };
  const running = async (ns: string, id: string, b: Bundle) => {
    const rec = await service.create(ns, id, { bundle: b.dir });
    await service.start(ns, id);
    return rec;
  };
  after(async () => {
    for (const pid of stopped) {
      try { process.kill(pid, 'SIGCONT'); } catch { /* gone */ }
    }
    thaw(join(FREEZER, PARENT, 'frozen'));
    for (const t of service.list()) await service.delete(t.namespace, t.id, true).catch(() => {});
    for (const b of bundles) cleanupDir(b.dir);
    cleanupDir(execRoot);
    removeCgroupDir(`${PARENT}/frozen`);
    removeCgroupDir(PARENT);
    removeCgroupDir('berth-test-kill-deadline');
  });

  it('a forced delete kills a shim that does not answer, within its bound, and the id is free again', async () => {
    const b = bundle(['sleep', '1000'], 'stopped-shim');
    const rec = await running('kdl', 'stuck', b);
    process.kill(rec.shimPid, 'SIGSTOP');
    stopped.push(rec.shimPid);
    const started = Date.now();
    const exit = await service.delete('kdl', 'stuck', true);
    const took = Date.now() - started;
    assert.equal(exit.status, 137);
    assert.ok(took >= KILL_TIMEOUT_MS, `waited the kill timeout first (${took} ms)`);
    assert.ok(took < DELETE_BOUND_MS, `returned within ${DELETE_BOUND_MS} ms (${took} ms)`);
    assert.equal(existsSync(service.store.dir('kdl', 'stuck')), false, 'the task is gone');
    await waitFor(() => processesMentioning(service.store.dir('kdl', 'stuck')).length === 0, 2000);
    const exited = events.find((e) => e.id === 'stuck' && e.type === 'exited');
    assert.match(exited?.reason ?? '', /shim did not answer within 1.5s of SIGKILL and was killed/);
    assert.deepEqual(events.filter((e) => e.id === 'stuck').map((e) => e.type), ['created', 'started', 'exited', 'deleted']);
    // Nothing held: the same id runs again and goes the ordinary way.
    const b2 = bundle(['sleep', '1000'], 'stopped-shim-again');
    await running('kdl', 'stuck', b2);
    const again = Date.now();
    assert.equal((await service.delete('kdl', 'stuck', true)).status, 137);
    assert.ok(Date.now() - again < KILL_TIMEOUT_MS, 'a shim that answers is not waited out');
  });

  it('a SIGKILL of a task whose shim does not answer ends its wait (ctr task delete --force: kill, wait, delete)', async () => {
    const b = bundle(['sleep', '1000'], 'stopped-shim-kill');
    const rec = await running('kdl', 'stuck-kill', b);
    const waiting = service.wait('kdl', 'stuck-kill');
    process.kill(rec.shimPid, 'SIGSTOP');
    stopped.push(rec.shimPid);
    const started = Date.now();
    await service.kill('kdl', 'stuck-kill', 9, { all: true });
    const exit = await waiting;
    assert.equal(exit.status, 137);
    assert.ok(Date.now() - started < KILL_TIMEOUT_MS + 3000, `the wait ended in ${Date.now() - started} ms`);
    const st = await service.status('kdl', 'stuck-kill');
    assert.equal(st.status, 'stopped');
    assert.match(st.exitReason ?? '', /shim did not answer/);
    assert.equal((await service.delete('kdl', 'stuck-kill')).status, 137);
  });

  const noFreezer = existsSync(join(FREEZER, 'cgroup.procs')) ? false : 'no cgroup v1 freezer (on cgroup v2 a frozen process still dies of SIGKILL)';
  it('a process that cannot be thawed fails the delete within its bound; the task stays until it has exited', { skip: noFreezer }, async () => {
    const b = bundle(['sleep', '1000'], 'frozen/ctr');
    await running('kdl', 'frozen', b);
    // Freezing the parent freezes the container, and no thaw of the container's own cgroup undoes it.
    const parent = join(FREEZER, PARENT, 'frozen');
    writeFileSync(join(parent, 'freezer.state'), 'FROZEN');
    await waitFor(() => readFileSync(join(parent, 'freezer.state'), 'utf8').trim() === 'FROZEN');
    const started = Date.now();
    const err = await service.delete('kdl', 'frozen', true).then(() => undefined, (e: unknown) => e);
    const took = Date.now() - started;
    assert.ok(err instanceof BerthError, `the delete fails (${String(err)})`);
    assert.equal(err.code, 'UNAVAILABLE');
    assert.match(err.message, /did not exit within 1.5s of SIGKILL .*its shim answers/);
    assert.ok(took < KILL_TIMEOUT_MS + 2000, `returned within its bound (${took} ms)`);
    // Still recorded, still awaited, and nothing is locked: status, list and other tasks go on.
    assert.equal((await service.status('kdl', 'frozen')).status, 'running');
    assert.ok(service.list().some((t) => t.id === 'frozen'));
    const other = bundle(['true'], 'other');
    await running('kdl', 'other', other);
    assert.equal((await service.wait('kdl', 'other')).status, 0);
    await service.delete('kdl', 'other');
    // A second delete while it is still frozen fails the same way, within the same bound.
    const second = Date.now();
    await assert.rejects(service.delete('kdl', 'frozen', true), /did not exit within/);
    assert.ok(Date.now() - second < KILL_TIMEOUT_MS + 2000);
    // Thawed, the pending SIGKILL takes effect: the exit comes through the shim, and delete finishes.
    thaw(parent);
    assert.equal((await service.wait('kdl', 'frozen')).status, 137);
    assert.equal((await service.delete('kdl', 'frozen')).status, 137);
    assert.equal(existsSync(service.store.dir('kdl', 'frozen')), false);
    assert.deepEqual(processesMentioning(service.store.dir('kdl', 'frozen')), []);
    assert.equal(existsSync(join(FREEZER, PARENT, 'frozen', 'ctr')), false, 'the container cgroup is gone');
  });
});

function thaw(dir: string): void {
  try {
    writeFileSync(join(dir, 'freezer.state'), 'THAWED');
  } catch {
    // not there
  }
}
