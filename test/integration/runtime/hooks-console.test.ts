// Hooks at every point, fed the state on stdin, and terminals through a console socket.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeBundle, type Bundle } from '../../helpers/busybox.js';
import { cleanupDir, RECVTTY_BIN, RuntimeHarness, waitFor } from '../../helpers/runtime.js';

describe('berth-runtime hooks and terminals', () => {
  const rt = new RuntimeHarness();
  const dirs: string[] = [];
  const bundles: Bundle[] = [];
  after(async () => {
    await rt.cleanup();
    for (const b of bundles) cleanupDir(b.dir);
    for (const d of dirs) cleanupDir(d);
  });

  /** A console-socket receiver (native/build/recvtty) and what it has printed so far. */
  function startRecvtty() {
    const sockDir = mkdtempSync(join(tmpdir(), 'berth-console-'));
    dirs.push(sockDir);
    const sock = join(sockDir, 'console.sock');
    const recv = spawn(RECVTTY_BIN, [sock], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    recv.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const done = new Promise<void>((res) => recv.on('exit', () => res()));
    return { sock, recv, done, seen: () => out };
  }

  it('runs every hook at its point with the state on stdin', async () => {
    const out = mkdtempSync(join(tmpdir(), 'berth-hooks-'));
    dirs.push(out);
    const hostHook = (name: string) => ({ path: '/bin/sh', args: ['sh', '-c', `cat > ${out}/${name}.json`] });
    const b = makeBundle(['sh', '-c', 'cat /started; exit 0'], (s) => {
      s.root!.readonly = false;
      s.hooks = {
        prestart: [hostHook('prestart')],
        createRuntime: [hostHook('createRuntime')],
        // createContainer runs in the container's namespaces before pivot_root: host paths resolve.
        createContainer: [{ path: '/bin/sh', args: ['sh', '-c', `cat > ${out}/createContainer.json`] }],
        // startContainer resolves in the container: busybox writes into the container's /.
        startContainer: [{ path: '/bin/sh', args: ['sh', '-c', 'cat > /started'] }],
        poststart: [hostHook('poststart')],
        poststop: [hostHook('poststop')],
      };
    });
    bundles.push(b);
    const id = rt.id('hooks');
    const r = await rt.cli(['run', '--bundle', b.dir, id]);
    assert.equal(r.code, 0, r.stderr);
    for (const name of ['prestart', 'createRuntime', 'createContainer', 'poststart', 'poststop']) {
      const state = JSON.parse(readFileSync(`${out}/${name}.json`, 'utf8'));
      assert.equal(state.id, id, name);
      assert.equal(state.bundle, b.dir, name);
    }
    assert.equal(JSON.parse(readFileSync(`${out}/createRuntime.json`, 'utf8')).status, 'creating');
    assert.ok(JSON.parse(readFileSync(`${out}/createRuntime.json`, 'utf8')).pid > 0);
    assert.equal(JSON.parse(readFileSync(`${out}/poststart.json`, 'utf8')).status, 'running');
    assert.equal(JSON.parse(readFileSync(`${out}/poststop.json`, 'utf8')).status, 'stopped');
    assert.equal(JSON.parse(r.stdout).id, id, 'startContainer hook saw the state inside the container');
  });

  it('a failing prestart hook fails create and leaves nothing behind', async () => {
    const b = makeBundle(['true'], (s) => { s.hooks = { prestart: [{ path: '/bin/sh', args: ['sh', '-c', 'echo nope >&2; exit 4'] }] }; });
    bundles.push(b);
    const id = rt.id('badhook');
    const r = await rt.cli(['create', '--bundle', b.dir, id]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /hook prestart\[0\] \(\/bin\/sh\): exit status 4: nope/);
    assert.equal(existsSync(rt.ctx.store.dir(id)), false);
  });

  it('exec -t gives the process a pty through the console socket', async () => {
    const b = makeBundle(['sleep', '1000']);
    bundles.push(b);
    const id = rt.id('tty');
    assert.equal((await rt.cli(['run', '-d', '--bundle', b.dir, id])).code, 0);
    const { sock, recv, done, seen } = startRecvtty();
    try {
      await waitFor(() => existsSync(sock));
      const e = await rt.cli(['exec', '-t', '--console-socket', sock, id, 'sh', '-c', 'tty; test -t 0 && echo interactive; exit 2']);
      assert.equal(e.code, 2, e.stderr);
      await done;
      assert.match(seen(), /\/dev\/pts\/\d+/);
      assert.match(seen(), /interactive/);
    } finally {
      recv.kill();
    }
    assert.equal((await rt.cli(['delete', '-f', id])).code, 0);
  });

  it('create with terminal:true hands the container a pty on the console socket', async () => {
    const b = makeBundle(['sh', '-c', 'tty; echo tty-ok'], (s) => { s.process!.terminal = true; });
    bundles.push(b);
    const { sock, recv, done, seen } = startRecvtty();
    const id = rt.id('ttyc');
    try {
      await waitFor(() => existsSync(sock));
      const c = await rt.cli(['create', '--console-socket', sock, '--bundle', b.dir, id]);
      assert.equal(c.code, 0, c.stderr);
      assert.equal((await rt.cli(['start', id])).code, 0);
      await done;
      assert.match(seen(), /\/dev\/pts\/0/);
      assert.match(seen(), /tty-ok/);
    } finally {
      recv.kill();
    }
    assert.equal((await rt.cli(['delete', '-f', id])).code, 0);
  });
});
