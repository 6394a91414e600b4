// The streaming server's exec and attach, end to end: a SPDY client (test/helpers/spdy-client.ts)
// against the server, with real host processes behind it (test/helpers/streaming-runtime.ts).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { StreamingServer } from '../../../../src/cri/streaming/server.js';
import type { ExecRequest } from '../../../../src/cri/streaming/requests.js';
import { ProcessRuntime } from '../../../helpers/streaming-runtime.js';
import { remoteCommand, upgrade } from '../../../helpers/spdy-client.js';

const SUCCESS = '{"metadata":{},"status":"Success"}';

function execReq(cmd: string[], over: Partial<ExecRequest> = {}): ExecRequest {
  return { containerId: 'c1', cmd, tty: false, stdin: false, stdout: true, stderr: true, ...over };
}

async function until(what: string, check: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(20);
  }
}

describe('streaming server: exec and attach', () => {
  const runtime = new ProcessRuntime();
  const server = new StreamingServer(runtime, { streamCreationTimeoutMs: 1000 });

  before(async () => {
    await server.start();
  });
  after(async () => {
    await server.stop();
    for (const child of runtime.running) child.kill('SIGKILL');
  });

  it('returns URLs on its own address with a fresh token each time', () => {
    const a = server.getExec(execReq(['true'])).url;
    const b = server.getExec(execReq(['true'])).url;
    assert.match(a, /^http:\/\/127\.0\.0\.1:\d+\/exec\/[A-Za-z0-9_-]{8}$/);
    assert.notEqual(a, b);
    assert.match(server.getAttach({ containerId: 'c1', tty: false, stdin: true, stdout: true, stderr: false }).url, /\/attach\//);
    assert.match(server.getPortForward({ podSandboxId: 's1', port: [80] }).url, /\/portforward\//);
  });

  it('refuses requests kubelet refuses', () => {
    assert.throws(() => server.getExec(execReq(['sh'], { tty: true, stderr: true })), { code: 'INVALID_ARGUMENT', message: 'tty and stderr cannot both be true' });
    assert.throws(() => server.getExec(execReq(['sh'], { stdout: false, stderr: false })), { message: 'one of stdin, stdout, or stderr must be set' });
    assert.throws(() => server.getExec(execReq(['sh'], { containerId: '' })), { message: 'missing required container_id' });
    assert.throws(() => server.getAttach({ containerId: 'c', tty: false, stdin: false, stdout: false, stderr: false }), { message: 'one of stdin, stdout, and stderr must be set' });
    assert.throws(() => server.getPortForward({ podSandboxId: '', port: [] }), { message: 'missing required pod_sandbox_id' });
  });

  it('runs a command and returns stdout, stderr and a Success status', async () => {
    const url = server.getExec(execReq(['sh', '-c', 'echo out; echo err >&2'])).url;
    const r = await remoteCommand(url, {});
    assert.deepEqual(r, { stdout: 'out\n', stderr: 'err\n', error: SUCCESS });
  });

  it('feeds stdin to the command', async () => {
    const url = server.getExec(execReq(['cat'], { stdin: true, stderr: false })).url;
    const r = await remoteCommand(url, { stdin: 'hello through stdin\n', stderr: false });
    assert.equal(r.stdout, 'hello through stdin\n');
    assert.equal(r.error, SUCCESS);
  });

  it('opens and closes at once a stream the request did not ask for', async () => {
    // cat waits for stdin, which is written after all streams are open: the session is still on.
    const url = server.getExec(execReq(['cat'], { stdin: true, stderr: false })).url;
    const r = await remoteCommand(url, { stdin: 'in' });
    assert.deepEqual(r, { stdout: 'in', stderr: '', error: SUCCESS });
  });

  it('reports a non-zero exit code as client-go parses it', async () => {
    const url = server.getExec(execReq(['sh', '-c', 'exit 3'])).url;
    const r = await remoteCommand(url, {});
    const status = JSON.parse(r.error);
    assert.equal(status.status, 'Failure');
    assert.equal(status.reason, 'NonZeroExitCode');
    assert.deepEqual(status.details.causes, [{ reason: 'ExitCode', message: '3' }]);
    assert.equal(status.message, 'command terminated with non-zero exit code: error executing command [sh -c exit 3], exit code 3');
  });

  it('speaks the older protocols: plain-text errors, nothing on success', async () => {
    for (const protocol of ['v3.channel.k8s.io', 'v2.channel.k8s.io', 'channel.k8s.io']) {
      const fail = await remoteCommand(server.getExec(execReq(['sh', '-c', 'echo x; exit 5'])).url, { protocol });
      assert.equal(fail.stdout, 'x\n', protocol);
      assert.equal(fail.error, 'command terminated with non-zero exit code: error executing command [sh -c echo x; exit 5], exit code 5', protocol);
      const ok = await remoteCommand(server.getExec(execReq(['true'])).url, { protocol });
      assert.equal(ok.error, '', protocol);
    }
  });

  it('gives the command a terminal and passes the client\'s terminal sizes', async () => {
    const before = runtime.resizes.length;
    const url = server.getExec(execReq(['sh', '-c', 'test -t 0 && test -t 1 && echo on-a-tty; read line; echo "got $line"'], { tty: true, stdin: true, stderr: false })).url;
    const r = await remoteCommand(url, { tty: true, stdin: 'abc\n', resize: [{ Width: 100, Height: 30 }, { Width: 120, Height: 40 }] });
    assert.match(r.stdout, /on-a-tty\r?\n/);
    assert.match(r.stdout, /got abc/);
    assert.equal(r.error, SUCCESS);
    await until('both sizes arrived', () => runtime.resizes.length >= before + 2);
    assert.deepEqual(runtime.resizes.slice(before), [{ width: 100, height: 30 }, { width: 120, height: 40 }]);
  });

  it('carries a megabyte of output intact', async () => {
    const url = server.getExec(execReq(['sh', '-c', 'head -c 1000000 /dev/zero | tr "\\0" x'], { stderr: false })).url;
    const r = await remoteCommand(url, { stderr: false });
    assert.equal(r.stdout.length, 1_000_000);
    assert.match(r.stdout, /^x+$/);
  });

  it('carries a megabyte both ways through stdin and back', async () => {
    const input = Buffer.alloc(1_000_000, 'y');
    const url = server.getExec(execReq(['cat'], { stdin: true, stderr: false })).url;
    const r = await remoteCommand(url, { stdin: input, stderr: false });
    assert.equal(r.stdout.length, input.length);
    assert.equal(r.error, SUCCESS);
  });

  it('answers the client\'s PING', async () => {
    const up = await upgrade(server.getExec(execReq(['true'])).url, ['v4.channel.k8s.io']);
    try {
      const answered = new Promise<number>((resolve) => up.conn!.once('ping', resolve));
      up.conn!.ping(7);
      assert.equal(await answered, 7);
    } finally {
      up.conn!.destroy();
    }
  });

  it('reports a runtime failure as an internal error', async () => {
    const url = server.getExec(execReq(['true'], { containerId: 'missing' })).url;
    const status = JSON.parse((await remoteCommand(url, {})).error);
    assert.equal(status.reason, 'InternalError');
    assert.equal(status.code, 500);
    assert.equal(status.message, 'Internal error occurred: error executing command in container: container "missing" not found');
  });

  it('attaches: stdin in, output back, Success at the end', async () => {
    const url = server.getAttach({ containerId: 'c1', tty: false, stdin: true, stdout: true, stderr: true }).url;
    const r = await remoteCommand(url, { stdin: 'attached input' });
    assert.deepEqual(r, { stdout: 'attached input', stderr: '', error: SUCCESS });
  });

  it('runs many sessions at once', async () => {
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => {
      const url = server.getExec(execReq(['sh', '-c', `cat; echo " #${i}"`], { stdin: true })).url;
      return remoteCommand(url, { stdin: `session ${i}` });
    }));
    results.forEach((r, i) => assert.equal(r.stdout, `session ${i} #${i}\n`));
  });

  it('answers 404 to an unknown, used or wrong-kind token', async () => {
    const url = server.getExec(execReq(['true'])).url;
    await remoteCommand(url, {});
    for (const u of [url, url.replace(/\/exec\/.*/, '/exec/nosuchtk'), server.getExec(execReq(['true'])).url.replace('/exec/', '/attach/')]) {
      const r = await upgrade(u, ['v4.channel.k8s.io']);
      assert.equal(r.status, 404, u);
    }
  });

  it('answers 404 once a token has expired', async () => {
    const shortLived = new StreamingServer(runtime, { tokenTtlMs: 50 });
    await shortLived.start();
    try {
      const url = shortLived.getExec(execReq(['true'])).url;
      await sleep(120);
      assert.equal((await upgrade(url, ['v4.channel.k8s.io'])).status, 404);
    } finally {
      await shortLived.stop();
    }
  });

  it('refuses a missing or unknown protocol version and a request that does not upgrade', async () => {
    const none = await upgrade(server.getExec(execReq(['true'])).url, []);
    assert.equal(none.status, 400);
    assert.match(none.body, /X-Stream-Protocol-Version is required/);
    const unknown = await upgrade(server.getExec(execReq(['true'])).url, ['v9.channel.k8s.io']);
    assert.equal(unknown.status, 403);
    assert.equal(unknown.headers['x-accepted-stream-protocol-versions'], 'v4.channel.k8s.io, v3.channel.k8s.io, v2.channel.k8s.io, channel.k8s.io');
    const plain = await fetch(server.getExec(execReq(['true'])).url);
    assert.equal(plain.status, 400);
    assert.match(await plain.text(), /unable to upgrade/);
  });

  it('closes a session whose client does not open its streams in time', async () => {
    const up = await upgrade(server.getExec(execReq(['true'])).url, ['v4.channel.k8s.io']);
    await up.conn!.createStream({ streamtype: ['error'] });
    const closed = new Promise<void>((resolve) => up.conn!.once('close', resolve));
    const started = Date.now();
    await closed;
    assert.ok(Date.now() - started >= 800, 'closed after the creation timeout');
    await until('the server forgot the connection', () => server.stats.connections === 0);
  });

  it('leaks nothing when the client vanishes mid-stream', async () => {
    const url = server.getExec(execReq(['sh', '-c', 'echo started; exec sleep 60'], { stdin: true })).url;
    let sawOutput = false;
    await remoteCommand(url, {
      stdin: 'never sent',
      onStreams: async (streams, conn) => {
        await new Promise<void>((resolve) => streams.stdout!.once('data', () => resolve()));
        sawOutput = true;
        conn.destroy();
      },
    });
    assert.ok(sawOutput);
    await until('the process is gone and the session settled', () => runtime.running.size === 0 && runtime.active === 0);
    await until('the server closed the connection', () => server.stats.connections === 0 && server.stats.sockets === 0);
  });

  it('closes a silent connection after the idle timeout, ending its session', async () => {
    const idle = new StreamingServer(runtime, { streamIdleTimeoutMs: 300 });
    await idle.start();
    try {
      const started = Date.now();
      const r = await remoteCommand(idle.getExec(execReq(['sleep', '60'])).url, {});
      assert.ok(Date.now() - started >= 250, 'ended by the idle timeout');
      assert.equal(r.error, '', 'no status: the connection was cut');
      await until('the process is gone', () => runtime.running.size === 0 && runtime.active === 0);
      await until('the server forgot the connection', () => idle.stats.connections === 0);
    } finally {
      await idle.stop();
    }
  });

  it('survives a client that resets its streams mid-session', async () => {
    const url = server.getExec(execReq(['sh', '-c', 'while :; do echo tick; sleep 0.05; done'])).url;
    await remoteCommand(url, {
      onStreams: async (streams) => {
        await new Promise<void>((resolve) => streams.stdout!.once('data', () => resolve()));
        streams.stdout!.reset();
        streams.stderr!.reset();
        await sleep(200);
        streams.error!.reset();
        await sleep(100);
      },
    });
    // The output has nowhere to go; the session goes on until the connection is gone.
    const again = await remoteCommand(server.getExec(execReq(['echo', 'still serving'])).url, {});
    assert.equal(again.stdout, 'still serving\n');
    await until('the ticking process is gone', () => runtime.running.size === 0);
  });
});
