// exec and attach over WebSocket (Kubernetes' channel protocol), end to end against real host
// processes: binary and base64 framing, the v4 Status and the v5 close channel.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { StreamingServer } from '../../../../src/cri/streaming/server.js';
import type { ExecRequest } from '../../../../src/cri/streaming/requests.js';
import { ProcessRuntime } from '../../../helpers/streaming-runtime.js';
import { channelText, wsConnect } from '../../../helpers/websocket-client.js';

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

describe('streaming server: exec and attach over WebSocket', () => {
  const runtime = new ProcessRuntime();
  const server = new StreamingServer(runtime);

  before(async () => {
    await server.start();
  });
  after(async () => {
    await server.stop();
    for (const child of runtime.running) child.kill('SIGKILL');
  });

  it('v4.channel.k8s.io: announces stdout, then output, then the exit code as a Status', async () => {
    const ws = await wsConnect(server.getExec(execReq(['sh', '-c', 'echo out; echo err >&2; exit 3'])).url, ['v4.channel.k8s.io']);
    assert.equal(ws.protocol, 'v4.channel.k8s.io');
    assert.equal((await ws.closed).code, 1000);
    assert.deepEqual(ws.messages[0], { channel: 1, data: Buffer.alloc(0) });
    assert.equal(channelText(ws, 1), 'out\n');
    assert.equal(channelText(ws, 2), 'err\n');
    const status = JSON.parse(channelText(ws, 3));
    assert.equal(status.reason, 'NonZeroExitCode');
    assert.deepEqual(status.details.causes, [{ reason: 'ExitCode', message: '3' }]);
  });

  it('v4.base64.channel.k8s.io: the same, in base64 text frames', async () => {
    const ws = await wsConnect(server.getExec(execReq(['printf', '\\001\\377 binary'], { stderr: false })).url, ['v4.base64.channel.k8s.io']);
    await ws.closed;
    assert.equal(ws.protocol, 'v4.base64.channel.k8s.io');
    assert.deepEqual(Buffer.concat(ws.messages.filter((m) => m.channel === 1).map((m) => m.data)), Buffer.from('\x01\xff binary', 'latin1'));
    assert.equal(channelText(ws, 3), SUCCESS);
  });

  it('v5.channel.k8s.io: the client can close stdin', async () => {
    const ws = await wsConnect(server.getExec(execReq(['cat'], { stdin: true })).url, ['v5.channel.k8s.io', 'v4.channel.k8s.io']);
    assert.equal(ws.protocol, 'v5.channel.k8s.io');
    ws.send(0, 'through stdin');
    ws.send(255, Buffer.from([0]));
    await ws.closed;
    assert.equal(channelText(ws, 1), 'through stdin');
    assert.equal(channelText(ws, 3), SUCCESS);
  });

  it('gives a terminal and passes the sizes from the resize channel', async () => {
    const before = runtime.resizes.length;
    const ws = await wsConnect(server.getExec(execReq(['sh', '-c', 'read l; echo "got $l"'], { tty: true, stdin: true, stderr: false })).url, ['v5.channel.k8s.io']);
    ws.send(4, '{"Width":90,"Height":20}\n');
    ws.send(0, 'typed\n');
    await ws.closed;
    assert.match(channelText(ws, 1), /got typed/);
    await until('the size arrived', () => runtime.resizes.length > before);
    assert.deepEqual(runtime.resizes.slice(before), [{ width: 90, height: 20 }]);
  });

  it('channel.k8s.io and no protocol at all: binary frames, plain-text failures', async () => {
    for (const protocols of [['channel.k8s.io'], []]) {
      const ws = await wsConnect(server.getExec(execReq(['sh', '-c', 'exit 4'])).url, protocols);
      await ws.closed;
      assert.equal(channelText(ws, 3), 'command terminated with non-zero exit code: error executing command [sh -c exit 4], exit code 4');
    }
  });

  it('attaches', async () => {
    const ws = await wsConnect(server.getAttach({ containerId: 'c1', tty: false, stdin: true, stdout: true, stderr: false }).url, ['v5.channel.k8s.io']);
    ws.send(0, 'attach me');
    ws.send(255, Buffer.from([0]));
    await ws.closed;
    assert.equal(channelText(ws, 1), 'attach me');
    assert.equal(channelText(ws, 3), SUCCESS);
  });

  it('refuses unknown protocols, and port-forward without ports', async () => {
    const unknown = await wsConnect(server.getExec(execReq(['true'])).url, ['v9.channel.k8s.io']);
    assert.equal(unknown.status, 400);
    assert.match(unknown.body, /requested protocol\(s\) are not supported/);
    const pf = await wsConnect(server.getPortForward({ podSandboxId: 's', port: [] }).url, ['v4.channel.k8s.io']);
    assert.equal(pf.status, 400);
    assert.match(pf.body, /port-forward over WebSocket needs the ports/);
  });

  it('leaks nothing when the client vanishes', async () => {
    const ws = await wsConnect(server.getExec(execReq(['sh', '-c', 'echo started; exec sleep 60'], { stdin: true })).url, ['v4.channel.k8s.io']);
    await until('output arrived', () => channelText(ws, 1) === 'started\n');
    ws.socket.destroy();
    await until('the process is gone', () => runtime.running.size === 0 && runtime.active === 0);
    await until('the server forgot the connection', () => server.stats.connections === 0 && server.stats.sockets === 0);
  });
});
