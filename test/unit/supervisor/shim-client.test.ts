// The shim client's deadlines and parsing, against small socket servers standing in for shims:
// one that answers, one that never does. A stuck shim fails its own call and blocks no other.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ShimClient } from '../../../src/supervisor/tasks/shim-client.js';

const dir = mkdtempSync(join(tmpdir(), 'berth-shimclient-'));
const servers: Server[] = [];
const sockets: Socket[] = [];

function serve(name: string, onLine: (line: string, sock: Socket) => void): string {
  const path = join(dir, name);
  const server = createServer((sock) => {
    sockets.push(sock);
    let buf = '';
    sock.on('data', (d) => {
      buf += d.toString();
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        onLine(line, sock);
      }
    });
    sock.on('error', () => {});
  });
  server.listen(path);
  servers.push(server);
  return path;
}

describe('shim client', () => {
  after(() => {
    for (const s of sockets) s.destroy();
    for (const s of servers) s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const healthy = serve('healthy.sock', (line, sock) => {
    if (line === 'control' || line === 'wait') return;
    if (line === 'state') sock.write('running 42\n');
    else if (line.startsWith('signal ')) sock.write('error no such process\n');
    else if (line === 'attach stdout') sock.write('ok\n\u0001\u0000\u0000\u0000\u0000\u0000\u0000\u0002hi');
  });
  const exiting = serve('exiting.sock', (line, sock) => {
    if (line === 'wait') setTimeout(() => sock.end('exit 137 1 1764045600123456789\n'), 50);
  });
  const stuck = serve('stuck.sock', () => {});

  it('parses control answers and turns "error" into a rejection with the shim\'s text', async () => {
    const c = new ShimClient(healthy, 1000);
    assert.equal(await c.state(), 'running 42');
    await assert.rejects(c.signal(9), /no such process/);
  });

  it('a stuck shim fails its caller at the deadline while another shim answers at once', async () => {
    const started = Date.now();
    const [stuckResult, healthyResult] = await Promise.allSettled([new ShimClient(stuck, 300).state(), new ShimClient(healthy, 300).state()]);
    assert.equal(healthyResult.status, 'fulfilled');
    assert.equal(stuckResult.status, 'rejected');
    assert.match(String((stuckResult as PromiseRejectedResult).reason), /no answer within 300 ms/);
    assert.ok(Date.now() - started < 1500);
  });

  it('wait has no deadline and parses status, oom and time', async () => {
    const exit = await new ShimClient(exiting, 10).wait();
    assert.equal(exit.status, 137);
    assert.equal(exit.oomKilled, true);
    assert.equal(exit.exitedAt.toISOString(), '2025-11-25T04:40:00.123Z');
  });

  it('attach hands over the connection after "ok" with the bytes that followed it', async () => {
    const sock = await new ShimClient(healthy, 1000).attach(['stdout']);
    const data = await new Promise<Buffer>((resolve) => {
      let buf = Buffer.alloc(0);
      sock.on('data', (d: Buffer) => { buf = Buffer.concat([buf, d]); if (buf.length >= 10) resolve(buf); });
      sock.resume();
    });
    assert.equal(data[0], 1);
    assert.equal(data.subarray(8).toString(), 'hi');
    sock.destroy();
  });

  it('a missing shim socket is "unavailable", not a hang', async () => {
    await assert.rejects(new ShimClient(join(dir, 'nobody.sock'), 300).state(), /ENOENT|unavailable|nobody/);
  });
});
