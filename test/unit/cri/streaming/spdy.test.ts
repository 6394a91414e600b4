// SPDY/3.1 pieces without a network: frame encoding and parsing, header blocks, the dictionary,
// and the zlib context that spans a connection's header blocks.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import zlib from 'node:zlib';
import { SPDY3_HEADER_DICTIONARY } from '../../../../src/cri/streaming/spdy/dictionary.js';
import { decodeHeaderBlock, encodeHeaderBlock, HeaderBlockError } from '../../../../src/cri/streaming/spdy/header-block.js';
import { HeaderCompressor, HeaderDecompressor } from '../../../../src/cri/streaming/spdy/header-compression.js';
import {
  FrameError, FrameParser, encodeData, encodeGoAway, encodePing, encodeRstStream, encodeSettings, encodeSynReply, encodeSynStream, encodeWindowUpdate,
} from '../../../../src/cri/streaming/spdy/frames.js';

describe('SPDY/3 header dictionary', () => {
  it('is the 1,423 bytes of the SPDY/3 draft (the bytes moby/spdystream uses)', () => {
    assert.equal(SPDY3_HEADER_DICTIONARY.length, 1423);
    assert.equal(createHash('sha256').update(SPDY3_HEADER_DICTIONARY).digest('hex'), '51d27341373f923f3cd88e1eb7162aeaa3723d7585ff2399201dc06498407f02');
  });
});

describe('SPDY frames', () => {
  it('round-trips every frame berth sends', () => {
    const bytes = Buffer.concat([
      encodeSynStream(1, Buffer.from('hdrs'), { fin: true, priority: 3 }),
      encodeSynReply(1, Buffer.from('reply')),
      encodeData(1, Buffer.from('payload'), true),
      encodeRstStream(3, 5),
      encodeSettings([{ id: 7, value: 65536 }]),
      encodePing(2),
      encodeGoAway(5, 0),
      encodeWindowUpdate(1, 1000),
    ]);
    const frames = new FrameParser().push(bytes);
    assert.deepEqual(frames, [
      { kind: 'syn_stream', streamId: 1, associatedTo: 0, priority: 3, fin: true, unidirectional: false, headerBlock: Buffer.from('hdrs') },
      { kind: 'syn_reply', streamId: 1, fin: false, headerBlock: Buffer.from('reply') },
      { kind: 'data', streamId: 1, fin: true, data: Buffer.from('payload') },
      { kind: 'rst_stream', streamId: 3, status: 5 },
      { kind: 'settings', entries: [{ flags: 0, id: 7, value: 65536 }] },
      { kind: 'ping', id: 2 },
      { kind: 'goaway', lastGoodStreamId: 5, status: 0 },
      { kind: 'window_update', streamId: 1, delta: 1000 },
    ]);
  });

  it('writes the control frame head of the SPDY/3 draft', () => {
    // 0x8003 (control, version 3), type 6, flags 0, length 4, id.
    assert.equal(encodePing(1).toString('hex'), '80030006000000040000000' + '1');
    // A data frame: stream id, flags (FIN), 24-bit length.
    assert.equal(encodeData(5, Buffer.from('ab'), true).toString('hex'), '00000005010000026162');
  });

  it('keeps a partial frame until the rest arrives, byte by byte', () => {
    const bytes = Buffer.concat([encodeData(1, Buffer.from('hello'), false), encodePing(4)]);
    const parser = new FrameParser();
    const frames = [];
    for (const byte of bytes) frames.push(...parser.push(Buffer.from([byte])));
    assert.deepEqual(frames.map((f) => f.kind), ['data', 'ping']);
  });

  it('refuses another SPDY version and data for stream 0', () => {
    const v2 = encodePing(1);
    v2.writeUInt16BE(0x8002, 0);
    assert.throws(() => new FrameParser().push(v2), FrameError);
    assert.throws(() => new FrameParser().push(encodeData(0, Buffer.alloc(0), false)), /stream 0/);
  });

  it('passes unknown control frame types over', () => {
    const unknown = encodePing(1);
    unknown.writeUInt16BE(0x42, 2);
    assert.deepEqual(new FrameParser().push(unknown), [{ kind: 'unknown', type: 0x42 }]);
  });
});

describe('SPDY header blocks', () => {
  it('round-trip, with several values joined by NUL', () => {
    const headers = { streamtype: ['stdout'], port: ['80'], multi: ['a', 'b'] };
    const block = encodeHeaderBlock(headers);
    assert.equal(block.readUInt32BE(0), 3);
    assert.deepEqual(decodeHeaderBlock(block), headers);
  });

  it('lower-cases names when writing and refuses upper-case or duplicate names when reading', () => {
    assert.deepEqual(decodeHeaderBlock(encodeHeaderBlock({ StreamType: ['error'] })), { streamtype: ['error'] });
    const upper = Buffer.concat([u32(1), u32(1), Buffer.from('A'), u32(1), Buffer.from('x')]);
    assert.throws(() => decodeHeaderBlock(upper), HeaderBlockError);
    const dup = Buffer.concat([u32(2), u32(1), Buffer.from('a'), u32(1), Buffer.from('x'), u32(1), Buffer.from('a'), u32(1), Buffer.from('y')]);
    assert.throws(() => decodeHeaderBlock(dup), /appears twice/);
    assert.throws(() => decodeHeaderBlock(Buffer.from([0, 0, 0, 1, 0, 0])), /runs past the end/);
  });
});

describe('SPDY header compression', () => {
  it('shares one zlib context across blocks, each readable as soon as it arrives', async () => {
    const compressor = new HeaderCompressor();
    const decompressor = new HeaderDecompressor();
    try {
      const blocks = [encodeHeaderBlock({ streamtype: ['error'] }), encodeHeaderBlock({ streamtype: ['stdout'] }), encodeHeaderBlock({})];
      const compressed = await Promise.all(blocks.map((b) => compressor.compress(b)));
      // The second block refers back to the first: alone, it would not decompress.
      assert.ok(compressed[1]!.length < blocks[1]!.length);
      const plain = [];
      for (const c of compressed) plain.push(await decompressor.decompress(c));
      assert.deepEqual(plain, blocks);
    } finally {
      compressor.close();
      decompressor.close();
    }
  });

  it('makes a zlib stream primed with the SPDY dictionary, as the Go peer expects', async () => {
    const compressor = new HeaderCompressor();
    try {
      const block = encodeHeaderBlock({ 'x-stream-protocol-version': ['v4.channel.k8s.io'] });
      const first = await compressor.compress(block);
      // FDICT is set in the zlib header, followed by the dictionary's Adler-32.
      assert.equal(first[1]! & 0x20, 0x20);
      const out = zlib.inflateSync(first, { dictionary: SPDY3_HEADER_DICTIONARY, finishFlush: zlib.constants.Z_SYNC_FLUSH });
      assert.deepEqual(out, block);
    } finally {
      compressor.close();
    }
  });

  it('fails cleanly on bytes that are not a header stream', async () => {
    const decompressor = new HeaderDecompressor();
    await assert.rejects(decompressor.decompress(Buffer.from('not zlib at all')), /decompression failed/);
    await assert.rejects(decompressor.decompress(Buffer.from('again')), /decompression failed/);
    decompressor.close();
  });
});

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}
