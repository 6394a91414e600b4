// WebSocket framing and handshake without a network.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Opcode, WsMessageParser, WsProtocolError, encodeWsFrame } from '../../../../src/cri/streaming/websocket/frames.js';
import { chooseWebSocketProtocol, webSocketAcceptResponse } from '../../../../src/cri/streaming/websocket/handshake.js';

function clientFrame(opcode: number, payload: Buffer, fin = true): Buffer {
  const mask = Buffer.from([1, 2, 3, 4]);
  const masked = Buffer.from(payload.map((b, i) => b ^ mask[i & 3]!));
  const head = payload.length < 126 ? Buffer.from([(fin ? 0x80 : 0) | opcode, 0x80 | payload.length])
    : Buffer.from([(fin ? 0x80 : 0) | opcode, 0x80 | 126, payload.length >> 8, payload.length & 0xff]);
  return Buffer.concat([head, mask, masked]);
}

describe('WebSocket frames', () => {
  it('unmasks client frames, joins fragments and passes control frames between them', () => {
    const bytes = Buffer.concat([
      clientFrame(Opcode.BINARY, Buffer.from('\x00hel'), false),
      clientFrame(Opcode.PING, Buffer.from('p')),
      clientFrame(Opcode.CONTINUATION, Buffer.from('lo')),
      clientFrame(Opcode.TEXT, Buffer.alloc(300, 'a')),
    ]);
    const parser = new WsMessageParser();
    const messages = [];
    for (let i = 0; i < bytes.length; i += 7) messages.push(...parser.push(bytes.subarray(i, i + 7)));
    assert.deepEqual(messages, [
      { opcode: Opcode.PING, payload: Buffer.from('p') },
      { opcode: Opcode.BINARY, payload: Buffer.from('\x00hello') },
      { opcode: Opcode.TEXT, payload: Buffer.alloc(300, 'a') },
    ]);
  });

  it('refuses unmasked frames and messages over the limit', () => {
    assert.throws(() => new WsMessageParser().push(Buffer.from([0x82, 0x01, 0x00])), WsProtocolError);
    assert.throws(() => new WsMessageParser(100).push(clientFrame(Opcode.BINARY, Buffer.alloc(200))), /too large/);
  });

  it('encodes the three length forms', () => {
    assert.deepEqual(encodeWsFrame(Opcode.BINARY, Buffer.from('hi')), Buffer.from([0x82, 2, 0x68, 0x69]));
    assert.deepEqual(encodeWsFrame(Opcode.BINARY, Buffer.alloc(200)).subarray(0, 4), Buffer.from([0x82, 126, 0, 200]));
    assert.deepEqual(encodeWsFrame(Opcode.BINARY, Buffer.alloc(70000)).subarray(0, 10), Buffer.from([0x82, 127, 0, 0, 0, 0, 0, 1, 0x11, 0x70]));
  });
});

describe('WebSocket handshake', () => {
  const base = { 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==' };

  it('answers RFC 6455\'s sample key with its sample accept value', () => {
    assert.match(webSocketAcceptResponse(base['sec-websocket-key'], 'v4.channel.k8s.io'), /Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK\+xOo=\r\nSec-WebSocket-Protocol: v4.channel.k8s.io\r\n\r\n$/);
  });

  it('picks the client\'s first served protocol, or none when none is offered', () => {
    const served = ['v4.channel.k8s.io', 'channel.k8s.io'];
    assert.deepEqual(chooseWebSocketProtocol({ ...base, 'sec-websocket-protocol': 'v5.channel.k8s.io, channel.k8s.io, v4.channel.k8s.io' }, served), { protocol: 'channel.k8s.io' });
    assert.deepEqual(chooseWebSocketProtocol(base, served), { protocol: '' });
    assert.equal(chooseWebSocketProtocol({ 'sec-websocket-key': 'x' }, served).hasOwnProperty('status'), true);
  });
});
