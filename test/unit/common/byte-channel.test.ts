// The bounded channel between a download and an unpacker: the consumer gets every chunk in order
// and the producer's error at the end; the producer waits while the channel is full, and is let
// go at once when the consumer is gone.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ByteChannel } from '../../../src/common/byte-channel.js';

const tick = () => new Promise((r) => setImmediate(r));

describe('ByteChannel', () => {
  it('hands over every chunk in order, then the end', async () => {
    const ch = new ByteChannel(1 << 20);
    const got: string[] = [];
    const consumer = (async () => {
      for await (const c of ch) got.push(c.toString());
    })();
    for (const s of ['a', 'bc', 'def']) await ch.push(Buffer.from(s));
    ch.end();
    await consumer;
    assert.deepEqual(got, ['a', 'bc', 'def']);
  });

  it('makes the producer wait while `limit` bytes are queued', async () => {
    const ch = new ByteChannel(10);
    await ch.push(Buffer.alloc(6)); // under the limit: at once
    let second = false;
    const pushing = ch.push(Buffer.alloc(6)).then(() => (second = true));
    await tick();
    assert.equal(second, false, '12 bytes queued: the producer waits');
    const it = ch[Symbol.asyncIterator]();
    assert.equal((await it.next()).value?.length, 6);
    await pushing;
    assert.equal(second, true, 'room again once the consumer took a chunk');
  });

  it('gives the consumer the producer\'s error once the queue is read', async () => {
    const ch = new ByteChannel(1 << 20);
    await ch.push(Buffer.from('first'));
    ch.end(new Error('the download broke off'));
    const got: string[] = [];
    await assert.rejects((async () => {
      for await (const c of ch) got.push(c.toString());
    })(), /the download broke off/);
    assert.deepEqual(got, ['first']);
  });

  it('lets a waiting producer go, and drops its chunks, once the consumer stopped', async () => {
    const ch = new ByteChannel(4);
    const blocked = ch.push(Buffer.alloc(8));
    let released = false;
    void blocked.then(() => (released = true));
    await tick();
    assert.equal(released, false);
    ch.stop(); // the unpacker failed: the download goes on into the store alone
    await blocked;
    await ch.push(Buffer.alloc(1 << 20)); // dropped, and does not wait
    ch.end();
    const rest: Buffer[] = [];
    for await (const c of ch) rest.push(c);
    assert.deepEqual(rest, []);
  });

  it('refuses a push after the end: a producer bug, not data to lose quietly', async () => {
    const ch = new ByteChannel(8);
    ch.end();
    await assert.rejects(ch.push(Buffer.from('late')), /push after end/);
  });
});
