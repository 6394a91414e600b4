// The :authority repair in front of grpc-js: header blocks keep their shape and size (so HPACK
// tables stay in step), and a request the way Go's gRPC sends it over a unix socket (the socket's
// path as :authority) reaches a grpc-js server instead of being reset by Node's HTTP/2.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Server, ServerCredentials, type ServerUnaryCall, type sendUnaryData } from '@grpc/grpc-js';
import HPACK from 'hpack';
import { AuthorityFilter, rewriteBlock, sameLengthAuthority } from '../../../src/common/grpc/authority-filter.js';

test('an invalid :authority becomes a valid one of the same length; other fields and later references follow', () => {
  const client = new HPACK();
  const server = new HPACK();
  const shadow = new HPACK(); // what the filter keeps of the client's table
  const fields: Array<[string, string]> = [[':method', 'POST'], [':scheme', 'http'], [':path', '/x.Y/Z'], [':authority', '/run/berth/supervisor.sock'], ['content-type', 'application/grpc'], ['te', 'trailers']];
  for (let i = 0; i < 3; i++) { // the second and third blocks refer to the dynamic table
    const block = client.encode(fields);
    const repaired = rewriteBlock(block, shadow.decode(block));
    const seen = server.decode(repaired);
    assert.deepEqual(seen.find(([n]) => n === ':authority'), [':authority', sameLengthAuthority('/run/berth/supervisor.sock'.length)]);
    assert.deepEqual(seen.filter(([n]) => n !== ':authority'), fields.filter(([n]) => n !== ':authority'));
  }
  const valid = client.encode([[':authority', 'localhost']]);
  assert.equal(rewriteBlock(valid, shadow.decode(valid)), valid, 'a valid block passes through as it is');
  assert.equal(sameLengthAuthority(3), 'loc');
  assert.equal(sameLengthAuthority(12), 'localhost---');
});

test('a Go-style request with the socket path as :authority is answered by grpc-js through the filter', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-authority-'));
  const path = join(dir, 'grpc.sock');
  const server = new Server();
  const echo = { path: '/test.Echo/Say', requestStream: false, responseStream: false, requestSerialize: (b: Buffer) => b, requestDeserialize: (b: Buffer) => b, responseSerialize: (b: Buffer) => b, responseDeserialize: (b: Buffer) => b };
  server.addService({ Say: echo }, { Say: (call: ServerUnaryCall<Buffer, Buffer>, cb: sendUnaryData<Buffer>) => cb(null, Buffer.concat([Buffer.from('echo:'), call.request])) });
  const injector = server.createConnectionInjector(ServerCredentials.createInsecure());
  const listener = createServer((s) => injector.injectConnection(new AuthorityFilter(s)));
  await new Promise<void>((r) => listener.listen(path, () => r()));
  try {
    const hpack = new HPACK();
    const frame = (type: number, flags: number, stream: number, payload: Buffer) => {
      const h = Buffer.alloc(9);
      h.writeUIntBE(payload.length, 0, 3);
      h[3] = type;
      h[4] = flags;
      h.writeUInt32BE(stream, 5);
      return Buffer.concat([h, payload]);
    };
    const headers = hpack.encode([[':method', 'POST'], [':scheme', 'http'], [':path', '/test.Echo/Say'], [':authority', path], ['content-type', 'application/grpc'], ['te', 'trailers']]);
    const message = Buffer.concat([Buffer.from([0, 0, 0, 0, 2]), Buffer.from('hi')]);
    const sock = connect(path);
    const received: Buffer[] = [];
    sock.on('data', (d) => received.push(d));
    sock.write(Buffer.concat([
      Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'),
      frame(0x4, 0, 0, Buffer.alloc(0)), // SETTINGS
      frame(0x1, 0x4, 1, headers), // HEADERS, END_HEADERS
      frame(0x0, 0x1, 1, message), // DATA, END_STREAM
    ]));
    const deadline = Date.now() + 5000;
    while (!Buffer.concat(received).includes('echo:hi') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    sock.destroy();
    const all = Buffer.concat(received);
    assert.ok(all.includes('echo:hi'), 'the handler answered');
    // No RST_STREAM (type 3) for stream 1.
    for (let i = 0; i + 9 <= all.length; i += 9 + all.readUIntBE(i, 3)) assert.notEqual(all[i + 3], 0x3, 'the stream was not reset');
  } finally {
    listener.close();
    injector.destroy();
    server.forceShutdown();
    rmSync(dir, { recursive: true, force: true });
  }
});
