// Telling a stuck shim from one that answers, against small socket servers standing in for shims,
// and killing a shim only when its command line names the task's directory; the deadline helper.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TIMED_OUT, within } from '../../../src/common/deadline.js';
import { describeProcess, killShim, shimAnswers } from '../../../src/supervisor/tasks/stuck-shim.js';

const dir = mkdtempSync(join(tmpdir(), 'berth-stuckshim-'));
const servers: Server[] = [];
const sockets: Socket[] = [];

function serve(name: string, answer: boolean): Promise<string> {
  const path = join(dir, name);
  const server = createServer((sock) => {
    sockets.push(sock);
    sock.on('error', () => {});
    sock.on('data', (d) => {
      if (answer && d.toString().includes('state\n')) sock.write('running 42\n');
    });
  });
  servers.push(server);
  return new Promise((resolve) => server.listen(path, () => resolve(path)));
}

describe('stuck shims', () => {
  after(() => {
    for (const s of sockets) s.destroy();
    for (const s of servers) s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a shim that answers is told from one that accepts and says nothing, within the probe deadline', async () => {
    assert.equal(await shimAnswers(await serve('ok.sock', true), 500), true);
    const started = Date.now();
    assert.equal(await shimAnswers(await serve('mute.sock', false), 300), false);
    assert.ok(Date.now() - started < 1000, 'the probe gave up at its deadline');
    assert.equal(await shimAnswers(join(dir, 'none.sock'), 300), false, 'no socket: no answer');
  });

  it('kills a process only when its command line names the task directory', async () => {
    const taskDir = join(dir, 'tasks', 'ns', 't1');
    const child = spawn('sh', ['-c', 'sleep 100', 'berth-shim', '--dir', taskDir], { stdio: 'ignore' });
    await once(child, 'spawn');
    assert.equal(killShim(child.pid!, join(dir, 'tasks', 'ns', 't2')), false, 'another task\'s directory');
    assert.equal(killShim(process.pid, taskDir), false, 'not a shim of this task');
    assert.match(describeProcess(child.pid!), /^state [SR]/);
    assert.equal(killShim(child.pid!, taskDir), true);
    const [, signal] = await once(child, 'exit');
    assert.equal(signal, 'SIGKILL');
    assert.equal(describeProcess(child.pid!), 'gone');
  });

  it('within: the value when it comes in time, TIMED_OUT when it does not', async () => {
    assert.equal(await within(Promise.resolve(7), 100), 7);
    assert.equal(await within(new Promise(() => {}), 20), TIMED_OUT);
    assert.equal(await within(new Promise((r) => setTimeout(() => r('late'), 200)), 0), TIMED_OUT);
    await assert.rejects(within(Promise.reject(new Error('boom')), 100), /boom/);
  });
});
