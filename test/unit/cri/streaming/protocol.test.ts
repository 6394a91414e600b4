// The streaming protocol's rules without a network: tokens, request validation, sub-protocol
// negotiation, the error stream's Status JSON and the resize messages.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { RequestCache } from '../../../../src/cri/streaming/request-cache.js';
import { validateExec, validatePortForward } from '../../../../src/cri/streaming/requests.js';
import { checkSpdyUpgrade, negotiate, REMOTE_COMMAND_PROTOCOLS } from '../../../../src/cri/streaming/upgrade.js';
import { errorStreamMessage } from '../../../../src/cri/streaming/exit-status.js';
import { parseSize, terminalSizes } from '../../../../src/cri/streaming/resize.js';
import { protocolVersion } from '../../../../src/cri/streaming/remote-command.js';

const execReq = { containerId: 'c', cmd: ['sh'], tty: false, stdin: true, stdout: true, stderr: false };

describe('streaming request cache', () => {
  it('hands out 8-character URL-safe tokens, each usable once', () => {
    const cache = new RequestCache();
    const token = cache.insert({ kind: 'exec', request: execReq });
    assert.match(token, /^[A-Za-z0-9_-]{8}$/);
    assert.deepEqual(cache.consume(token), { kind: 'exec', request: execReq });
    assert.equal(cache.consume(token), undefined);
  });

  it('expires tokens after the TTL and collects them', () => {
    let now = 1000;
    const cache = new RequestCache({ ttlMs: 60_000, now: () => now });
    const old = cache.insert({ kind: 'exec', request: execReq });
    now += 60_001;
    assert.equal(cache.consume(old), undefined);
    cache.insert({ kind: 'exec', request: execReq });
    const stale = cache.insert({ kind: 'exec', request: execReq });
    now += 60_001;
    cache.insert({ kind: 'exec', request: execReq });
    assert.equal(cache.size, 1, 'expired entries are dropped on insert');
    assert.equal(cache.consume(stale), undefined);
  });

  it('refuses more than the in-flight limit', () => {
    const cache = new RequestCache({ maxInFlight: 2 });
    cache.insert({ kind: 'exec', request: execReq });
    cache.insert({ kind: 'exec', request: execReq });
    assert.throws(() => cache.insert({ kind: 'exec', request: execReq }), { code: 'UNAVAILABLE' });
  });
});

describe('streaming request validation', () => {
  it('needs a command, and ports in range', () => {
    assert.throws(() => validateExec({ ...execReq, cmd: [] }), /missing required cmd/);
    assert.throws(() => validatePortForward({ podSandboxId: 's', port: [70000] }), /not a TCP port/);
    validatePortForward({ podSandboxId: 's', port: [] });
  });
});

describe('sub-protocol negotiation', () => {
  it('takes the first of the client\'s protocols that the server knows', () => {
    assert.deepEqual(negotiate({ 'x-stream-protocol-version': 'v5.channel.k8s.io, v3.channel.k8s.io,v4.channel.k8s.io' }, REMOTE_COMMAND_PROTOCOLS), { protocol: 'v3.channel.k8s.io' });
    assert.deepEqual(negotiate({ 'x-stream-protocol-version': 'channel.k8s.io' }, REMOTE_COMMAND_PROTOCOLS), { protocol: 'channel.k8s.io' });
  });

  it('refuses with kubelet\'s codes and messages', () => {
    assert.deepEqual(negotiate({}, REMOTE_COMMAND_PROTOCOLS), { status: 400, message: 'unable to upgrade: X-Stream-Protocol-Version is required' });
    const refused = negotiate({ 'x-stream-protocol-version': 'portforward.k8s.io' }, REMOTE_COMMAND_PROTOCOLS);
    assert.equal('status' in refused && refused.status, 403);
    assert.equal(checkSpdyUpgrade({ connection: 'Upgrade', upgrade: 'SPDY/3.1' }), undefined);
    assert.equal(checkSpdyUpgrade({ connection: 'keep-alive' })?.status, 400);
  });

  it('numbers the remote-command versions', () => {
    assert.deepEqual(REMOTE_COMMAND_PROTOCOLS.map(protocolVersion), [4, 3, 2, 1]);
  });
});

describe('error stream messages', () => {
  it('writes metav1.Status JSON in v4, as Go marshals it', () => {
    assert.equal(errorStreamMessage({ kind: 'success' }, 4)!.toString(), '{"metadata":{},"status":"Success"}');
    assert.equal(
      errorStreamMessage({ kind: 'exit', exitCode: 3, command: ['sh', '-c', 'exit 3'] }, 4)!.toString(),
      '{"metadata":{},"status":"Failure","message":"command terminated with non-zero exit code: error executing command [sh -c exit 3], exit code 3",' +
        '"reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"3"}]}}',
    );
    assert.equal(
      errorStreamMessage({ kind: 'error', message: 'boom' }, 4)!.toString(),
      '{"metadata":{},"status":"Failure","message":"Internal error occurred: boom","reason":"InternalError","details":{"causes":[{"message":"boom"}]},"code":500}',
    );
  });

  it('writes only a failure\'s text before v4', () => {
    assert.equal(errorStreamMessage({ kind: 'success' }, 3), undefined);
    assert.equal(errorStreamMessage({ kind: 'error', message: 'boom' }, 1)!.toString(), 'Internal error occurred: boom');
  });
});

describe('resize messages', () => {
  it('parses Go\'s encoding, any case, and skips what is not a size', () => {
    assert.deepEqual(parseSize('{"Width":80,"Height":24}'), { width: 80, height: 24 });
    assert.deepEqual(parseSize('{"width":1,"height":2}'), { width: 1, height: 2 });
    assert.equal(parseSize('{"Width":-1,"Height":2}'), undefined);
    assert.equal(parseSize('nonsense'), undefined);
  });

  it('yields sizes split across chunks, in order', async () => {
    const stream = Readable.from([Buffer.from('{"Width":80,"Hei'), Buffer.from('ght":24}\n{"Width":100,"Height":30}\n{"Width":1'), Buffer.from(',"Height":2}')]);
    const sizes = [];
    for await (const s of terminalSizes(stream)) sizes.push(s);
    assert.deepEqual(sizes, [{ width: 80, height: 24 }, { width: 100, height: 30 }, { width: 1, height: 2 }]);
  });
});
