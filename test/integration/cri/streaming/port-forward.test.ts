// The streaming server's port-forward, end to end: a SPDY client against the server, forwarding
// into a real network namespace (ip netns add) with TCP services listening inside it, through
// forwardInNetns (nsenter + the dial helper).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { StreamingServer } from '../../../../src/cri/streaming/server.js';
import { ProcessRuntime } from '../../../helpers/streaming-runtime.js';
import { PortForwardClient, readAll, upgrade } from '../../../helpers/spdy-client.js';
import { channelText, wsConnect } from '../../../helpers/websocket-client.js';

const LISTENER = fileURLToPath(new URL('../../../helpers/netns-listener.js', import.meta.url));
const NETNS = `berth-pf-${process.pid}`;
const NETNS_PATH = `/run/netns/${NETNS}`;

function run(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
}

function startListener(port: number, mode: 'echo' | 'greet' | 'chat'): Promise<ChildProcess> {
  const child = spawn('ip', ['netns', 'exec', NETNS, process.execPath, LISTENER, String(port), mode], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.stdout!.once('data', () => resolve(child));
    child.once('exit', (code) => reject(new Error(`listener on ${port} exited with ${code}`)));
  });
}

/** Dial helpers still running (their command line names netns-dial.js). */
function dialHelpers(): number {
  return readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
    try {
      return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('netns-dial.js');
    } catch {
      return false;
    }
  }).length;
}

async function until(what: string, check: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(20);
  }
}

describe('streaming server: port-forward into a network namespace', () => {
  const runtime = new ProcessRuntime();
  const server = new StreamingServer(runtime, { streamCreationTimeoutMs: 1000 });
  const listeners: ChildProcess[] = [];

  before(async () => {
    run('ip', ['netns', 'add', NETNS]);
    run('ip', ['-n', NETNS, 'link', 'set', 'lo', 'up']);
    runtime.sandboxes.set('sb1', NETNS_PATH);
    listeners.push(await startListener(8080, 'echo'), await startListener(8081, 'echo'), await startListener(7000, 'greet'), await startListener(7001, 'chat'));
    await server.start();
  });
  after(async () => {
    await server.stop();
    for (const l of listeners) l.kill('SIGKILL');
    await sleep(50);
    spawnSync('ip', ['netns', 'del', NETNS]);
  });

  it('forwards a connection to a port inside the namespace', async () => {
    const client = await PortForwardClient.connect(server.getPortForward({ podSandboxId: 'sb1', port: [8080] }).url);
    try {
      assert.deepEqual(await client.roundTrip(8080, 'hello'), { reply: 'echo:hello', error: '' });
    } finally {
      client.close();
    }
  });

  it('serves several ports and requests, at once, over one connection', async () => {
    const client = await PortForwardClient.connect(server.getPortForward({ podSandboxId: 'sb1', port: [] }).url);
    try {
      const trips = await Promise.all([8080, 8081, 8080, 8081, 8080, 8081].map((port, i) => client.roundTrip(port, `request ${i} to ${port}`)));
      trips.forEach((t, i) => assert.deepEqual(t, { reply: `echo:request ${i} to ${[8080, 8081][i % 2]}`, error: '' }));
      const greet = await client.open(7000);
      assert.equal((await readAll(greet.data)).toString(), 'hello from port 7000\n');
      assert.equal(await greet.error, '');
    } finally {
      client.close();
    }
  });

  it('reports a refused connection on the error stream in containerd\'s words', async () => {
    const client = await PortForwardClient.connect(server.getPortForward({ podSandboxId: 'sb1', port: [9] }).url);
    try {
      const { reply, error } = await client.roundTrip(9, 'anyone?');
      assert.equal(reply, '');
      assert.equal(error,
        `error forwarding port 9 to pod sb1, uid : failed to execute portforward in network namespace "${NETNS_PATH}": ` +
        'failed to connect to localhost:9 inside namespace "sb1", IPv4: dial tcp4 127.0.0.1:9: connect: connection refused ' +
        'IPv6 dial tcp6 [::1]:9: connect: connection refused');
    } finally {
      client.close();
    }
  });

  it('reports an unknown sandbox on the error stream', async () => {
    const client = await PortForwardClient.connect(server.getPortForward({ podSandboxId: 'nosuch', port: [80] }).url);
    try {
      assert.deepEqual(await client.roundTrip(80, 'x'), { reply: '', error: 'error forwarding port 80 to pod nosuch, uid : sandbox "nosuch" not found' });
    } finally {
      client.close();
    }
  });

  it('refuses streams without a valid port or type, and the remote-command protocols', async () => {
    const client = await PortForwardClient.connect(server.getPortForward({ podSandboxId: 'sb1', port: [] }).url);
    try {
      await assert.rejects(client.conn.createStream({ streamtype: ['data'], requestid: ['1'] }), /reset by the peer/);
      await assert.rejects(client.conn.createStream({ streamtype: ['data'], port: ['0'], requestid: ['1'] }), /reset by the peer/);
      await assert.rejects(client.conn.createStream({ streamtype: ['stdout'], port: ['80'], requestid: ['1'] }), /reset by the peer/);
      assert.deepEqual(await client.roundTrip(8080, 'still fine'), { reply: 'echo:still fine', error: '' });
    } finally {
      client.close();
    }
    const wrong = await upgrade(server.getPortForward({ podSandboxId: 'sb1', port: [] }).url, ['v4.channel.k8s.io']);
    assert.equal(wrong.status, 403);
  });

  it('times out a request whose second stream never comes', async () => {
    const client = await PortForwardClient.connect(server.getPortForward({ podSandboxId: 'sb1', port: [] }).url);
    try {
      const errorStream = await client.conn.createStream({ streamtype: ['error'], port: ['8080'], requestid: ['lonely'] });
      errorStream.end();
      assert.equal((await readAll(errorStream)).toString(), '(request=lonely) timed out waiting for streams');
    } finally {
      client.close();
    }
  });

  it('leaks nothing when the client vanishes mid-forward', async () => {
    const client = await PortForwardClient.connect(server.getPortForward({ podSandboxId: 'sb1', port: [] }).url);
    const { data } = await client.open(8080);
    data.write('half a request, and never the end');
    await until('the dial helper runs', () => runtime.active === 1 && dialHelpers() === 1);
    client.close();
    await until('the forward settled and its helper is gone', () => runtime.active === 0 && dialHelpers() === 0);
    await until('the server closed the connection', () => server.stats.connections === 0);
  });

  it('forwards the request\'s ports over a WebSocket, channels 2i and 2i+1', async () => {
    const ws = await wsConnect(server.getPortForward({ podSandboxId: 'sb1', port: [7001, 7000, 9] }).url, ['v4.channel.k8s.io']);
    assert.equal(ws.protocol, 'v4.channel.k8s.io');
    ws.send(0, 'hi there, bye');
    await ws.closed;
    const portOf = (channel: number): number => ws.messages.find((m) => m.channel === channel)!.data.readUInt16LE(0);
    assert.deepEqual([0, 1, 2, 3, 4, 5].map(portOf), [7001, 7001, 7000, 7000, 9, 9]);
    const after = (channel: number): string => Buffer.concat(ws.messages.filter((m) => m.channel === channel).slice(1).map((m) => m.data)).toString();
    assert.equal(after(0), 'echo:hi there, bye');
    assert.equal(after(2), 'hello from port 7000\n');
    assert.equal(after(3), '');
    assert.match(after(5), /^error forwarding port 9 to pod sb1, uid : failed to execute portforward .* connection refused/);
    assert.equal(channelText(ws, 1).length, 2, 'nothing but the port on a good error channel');
    await until('the forwards settled', () => runtime.active === 0 && dialHelpers() === 0);
  });
});
