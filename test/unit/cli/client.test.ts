// The Engine API client against a small fake daemon on a unix socket: version negotiation, Docker's
// JSON errors, streamed bodies, hijacked connections that half-close, and starting berthd when
// nothing answers on the default socket.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { EngineClient, readText } from '../../../src/client/engine.js';
import { ApiError, DaemonUnreachableError } from '../../../src/client/errors.js';
import { DockerApi } from '../../../src/client/api.js';
import type { DaemonHost } from '../../../src/client/host.js';
import { ensureDaemon } from '../../../src/cli/daemon.js';
import { streamHijacked } from '../../../src/cli/hijack.js';
import { muxFrame } from '../../../src/client/streams.js';
import type { Context } from '../../../src/cli/command.js';

const dir = mkdtempSync(join(tmpdir(), 'berth-cli-unit-'));
const unix = (path: string, isDefault = false): DaemonHost => ({ kind: 'unix', path, url: `unix://${path}`, isDefault });

interface Seen { method: string; url: string; headers: http.IncomingHttpHeaders; body: string }

function fakeDaemon(path: string, apiVersion: string | undefined, seen: Seen[]): Promise<http.Server> {
  const server = http.createServer(async (req, res) => {
    const body = await readText(req);
    seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
    if (apiVersion) res.setHeader('Api-Version', apiVersion);
    if (req.url === '/_ping') return res.end('OK');
    if (req.url!.includes('/containers/nope/json')) {
      res.writeHead(404, { 'Content-Type': 'application/json' });
      return res.end('{"message":"No such container: nope"}\n');
    }
    if (req.url!.includes('/containers/json')) {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      return res.end('[]');
    }
    if (req.url!.includes('/images/create')) {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.write('{"status":"Pulling from library/x","id":"latest"}\n');
      return res.end('{"errorDetail":{"message":"manifest unknown"},"error":"manifest unknown"}\n');
    }
    res.writeHead(500);
    res.end('plain text failure');
  });
  server.on('upgrade', (req, socket) => {
    seen.push({ method: req.method!, url: req.url!, headers: req.headers, body: '' });
    socket.write('HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.multiplexed-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n');
    let input = '';
    socket.on('data', (d: Buffer) => (input += d.toString()));
    // only after the client half-closes its side: answer on ours, then close
    socket.on('end', () => {
      socket.write(muxFrame(1, Buffer.from(`got:${input}`)));
      socket.end(muxFrame(2, Buffer.from('bye')));
    });
  });
  return new Promise((resolve) => server.listen(path, () => resolve(server)));
}

function testContext(stdin: PassThrough) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d) => (out += d));
  stderr.on('data', (d) => (err += d));
  const ctx = { stdin, stdout, stderr, env: {}, configPath: join(dir, 'config.json'), debug: false, api: async () => { throw new Error('unused'); } } as unknown as Context;
  return { ctx, text: () => ({ out, err }) };
}

describe('engine client', () => {
  const servers: http.Server[] = [];
  const seen: Seen[] = [];
  before(async () => {
    servers.push(await fakeDaemon(join(dir, 'v143.sock'), '1.43', seen));
    servers.push(await fakeDaemon(join(dir, 'v150.sock'), '1.50', seen));
    servers.push(await fakeDaemon(join(dir, 'none.sock'), undefined, seen));
  });
  after(() => {
    for (const s of servers) s.close();
  });

  it('negotiates min(daemon, 1.45), 1.24 when the daemon does not say', async () => {
    for (const [sock, want] of [['v143.sock', '1.43'], ['v150.sock', '1.45'], ['none.sock', '1.24']] as const) {
      const client = new EngineClient({ host: unix(join(dir, sock)) });
      await new DockerApi(client).listContainers({ all: true, filters: { status: ['exited'] } });
      assert.equal(await client.apiVersion(), want);
      const last = seen.at(-1)!;
      assert.equal(last.url, `/v${want}/containers/json?all=1&filters=${encodeURIComponent('{"status":{"exited":true}}')}`);
      client.close();
    }
    const fixed = new EngineClient({ host: unix(join(dir, 'v150.sock')), apiVersion: '1.41' });
    await new DockerApi(fixed).listContainers({});
    assert.equal(seen.at(-1)!.url, '/v1.41/containers/json');
    fixed.close();
  });

  it('turns error responses into ApiError with the status and the daemon\'s message', async () => {
    const client = new EngineClient({ host: unix(join(dir, 'v143.sock')) });
    const api = new DockerApi(client);
    await assert.rejects(api.inspectContainer('nope'), (e: unknown) => e instanceof ApiError && e.status === 404 && e.message === 'No such container: nope' && e.code === 'NOT_FOUND');
    await assert.rejects(api.inspectImage('x'), (e: unknown) => e instanceof ApiError && e.status === 500 && e.message === 'plain text failure');
    client.close();
  });

  it('sends X-Registry-Auth with pulls and reports a stream\'s error', async () => {
    const client = new EngineClient({ host: unix(join(dir, 'v143.sock')) });
    const res = await new DockerApi(client).pull({ fromImage: 'docker.io/library/x', tag: 'latest' }, 'e30=');
    assert.equal(seen.at(-1)!.headers['x-registry-auth'], 'e30=');
    assert.equal(seen.at(-1)!.url, '/v1.43/images/create?fromImage=docker.io%2Flibrary%2Fx&tag=latest');
    const { displayJSONMessages } = await import('../../../src/cli/output/progress.js');
    const out = new PassThrough();
    let text = '';
    out.on('data', (d) => (text += d));
    await assert.rejects(displayJSONMessages(res, out, { isTerminal: false }), /manifest unknown/);
    assert.equal(text, 'latest: Pulling from library/x\n');
    client.close();
  });

  it('says the daemon is not running when nothing listens', async () => {
    const client = new EngineClient({ host: unix(join(dir, 'missing.sock')) });
    await assert.rejects(client.ping(), (e: unknown) => e instanceof DaemonUnreachableError && /Cannot connect to the berth daemon at unix:\/\/.*missing\.sock\. Is the berth daemon running\?/.test((e as Error).message));
  });

  it('speaks TCP too (-H tcp://host:port)', async () => {
    const seenTcp: Seen[] = [];
    const server = http.createServer((req, res) => {
      seenTcp.push({ method: req.method!, url: req.url!, headers: req.headers, body: '' });
      res.setHeader('Api-Version', '1.44');
      res.end(req.url === '/_ping' ? 'OK' : '{"Version":"x"}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const client = new EngineClient({ host: { kind: 'tcp', host: '127.0.0.1', port, url: `tcp://127.0.0.1:${port}`, isDefault: false } });
    assert.deepEqual(await new DockerApi(client).version(), { Version: 'x' });
    assert.deepEqual(seenTcp.map((s) => s.url), ['/_ping', '/v1.44/version']);
    client.close();
    server.close();
  });

  it('hijacks attach: stdin goes up, EOF half-closes, output keeps coming back', async () => {
    const client = new EngineClient({ host: unix(join(dir, 'v143.sock')) });
    const api = new DockerApi(client);
    const hijacked = await api.attachContainer('c1', { stdin: true, stdout: true, stderr: true, detachKeys: 'ctrl-x,x' });
    const req = seen.at(-1)!;
    assert.equal(req.url, '/v1.43/containers/c1/attach?detachKeys=ctrl-x%2Cx&stderr=1&stdin=1&stdout=1&stream=1');
    assert.equal(req.headers.upgrade, 'tcp');
    assert.match(String(req.headers.connection), /upgrade/i);
    const stdin = new PassThrough();
    const { ctx, text } = testContext(stdin);
    const done = streamHijacked(ctx, { hijacked, tty: false, input: stdin });
    stdin.write('hello ');
    stdin.end('world');
    assert.equal(await done, 'done');
    assert.deepEqual(text(), { out: 'got:hello world', err: 'bye' });
    client.close();
  });
});

describe('starting berthd on demand', () => {
  const sock = join(dir, 'auto', 'berth.sock');
  const fake = join(dir, 'fake-berthd.mjs');
  const pidFile = join(dir, 'fake.pid');
  before(() => {
    writeFileSync(fake, `import http from 'node:http';
import { writeFileSync } from 'node:fs';
writeFileSync(${JSON.stringify(pidFile)}, String(process.pid));
console.log('fake berthd up');
http.createServer((req, res) => { res.setHeader('Api-Version', '1.44'); res.end('OK'); }).listen(${JSON.stringify(sock)});
`);
  });
  after(() => {
    if (existsSync(pidFile)) {
      try {
        process.kill(Number(readFileSync(pidFile, 'utf8')), 'SIGKILL');
      } catch {
        // already gone
      }
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('fails clearly when bin/berthd.mjs is missing', async () => {
    const client = new EngineClient({ host: unix(sock, true) });
    const { ctx } = testContext(new PassThrough());
    await assert.rejects(ensureDaemon(client, { autoStart: true, stderr: ctx.stderr, bin: join(dir, 'no-berthd.mjs') }),
      /Cannot connect to the berth daemon at unix:\/\/.*berth\.sock, and berthd cannot be started: .*no-berthd\.mjs is missing/);
  });

  it('leaves explicit hosts and opted-out users alone', async () => {
    const { ctx, text } = testContext(new PassThrough());
    await ensureDaemon(new EngineClient({ host: unix(sock, false) }), { autoStart: true, stderr: ctx.stderr, bin: fake });
    await ensureDaemon(new EngineClient({ host: unix(sock, true) }), { autoStart: false, stderr: ctx.stderr, bin: fake });
    assert.equal(text().err, '');
    assert.equal(existsSync(pidFile), false);
  });

  it('starts it, says so, and waits for /_ping', async () => {
    const client = new EngineClient({ host: unix(sock, true) });
    const { ctx, text } = testContext(new PassThrough());
    await ensureDaemon(client, { autoStart: true, stderr: ctx.stderr, bin: fake });
    assert.equal(text().err, `berth: starting berthd (logs: ${join(dir, 'auto', 'berthd.log')})\n`);
    assert.equal((await client.ping()).apiVersion, '1.44');
    assert.match(readFileSync(join(dir, 'auto', 'berthd.log'), 'utf8'), /fake berthd up/);
    // a second CLI finds it running and says nothing
    const again = testContext(new PassThrough());
    await ensureDaemon(new EngineClient({ host: unix(sock, true) }), { autoStart: true, stderr: again.ctx.stderr, bin: fake });
    assert.equal(again.text().err, '');
    client.close();
  });
});
