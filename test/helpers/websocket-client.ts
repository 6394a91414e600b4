// A WebSocket client for the streaming tests, speaking Kubernetes' channel protocol: the opening
// handshake, masked frames out, messages in, sorted by channel.
import { createHash, randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

export interface WsSession {
  status: number;
  protocol: string;
  body: string;
  /** Every message from the server: channel and data (base64 already decoded). */
  messages: Array<{ channel: number; data: Buffer }>;
  send(channel: number, data: Buffer | string): void;
  /** Resolves when the server has closed the connection. */
  closed: Promise<{ code: number | undefined }>;
  socket: Socket;
}

function frame(opcode: number, payload: Buffer): Buffer {
  const mask = randomBytes(4);
  const masked = Buffer.from(payload);
  for (let i = 0; i < masked.length; i++) masked[i]! ^= mask[i & 3]!;
  const len = payload.length;
  const head = len < 126 ? Buffer.from([0x80 | opcode, 0x80 | len])
    : len <= 0xffff ? Buffer.from([0x80 | opcode, 0x80 | 126, len >> 8, len & 0xff])
    : (() => { const h = Buffer.alloc(10); h[0] = 0x80 | opcode; h[1] = 0x80 | 127; h.writeBigUInt64BE(BigInt(len), 2); return h; })();
  return Buffer.concat([head, mask, masked]);
}

export function wsConnect(url: string, protocols: string[]): Promise<WsSession> {
  const u = new URL(url);
  const key = randomBytes(16).toString('base64');
  return new Promise((resolve, reject) => {
    const socket = connect({ host: u.hostname, port: Number(u.port) });
    let buf = Buffer.alloc(0);
    let session: WsSession | undefined;
    let closeCode: number | undefined;
    let resolveClosed!: (v: { code: number | undefined }) => void;
    const closed = new Promise<{ code: number | undefined }>((r) => (resolveClosed = r));
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.write([
        `GET ${u.pathname} HTTP/1.1`, `Host: ${u.host}`, 'Connection: Upgrade', 'Upgrade: websocket',
        `Sec-WebSocket-Key: ${key}`, 'Sec-WebSocket-Version: 13',
        ...(protocols.length ? [`Sec-WebSocket-Protocol: ${protocols.join(', ')}`] : []), '', '',
      ].join('\r\n'));
    });
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (!session) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const [statusLine, ...lines] = buf.subarray(0, end).toString('latin1').split('\r\n');
        const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
        const status = Number(statusLine!.split(' ')[1]);
        buf = buf.subarray(end + 4);
        if (status === 101 && headers['sec-websocket-accept'] !== createHash('sha1').update(key + GUID).digest('base64')) {
          reject(new Error('bad Sec-WebSocket-Accept'));
          return;
        }
        const protocol = headers['sec-websocket-protocol'] ?? '';
        const base64 = protocol.includes('base64');
        session = {
          status, protocol, body: '', messages: [], socket, closed,
          send(channel, data) {
            const bytes = Buffer.from(data);
            socket.write(base64 ? frame(1, Buffer.from(String.fromCharCode(48 + channel) + bytes.toString('base64'))) : frame(2, Buffer.concat([Buffer.from([channel]), bytes])));
          },
        };
        if (status !== 101) return;
        resolve(session);
      }
      if (session.status !== 101) return;
      // Server frames: unmasked, short enough here to need no fragment handling.
      while (buf.length >= 2) {
        let len = buf[1]! & 0x7f;
        let off = 2;
        if (len === 126) { if (buf.length < 4) return; len = buf.readUInt16BE(2); off = 4; }
        else if (len === 127) { if (buf.length < 10) return; len = Number(buf.readBigUInt64BE(2)); off = 10; }
        if (buf.length < off + len) return;
        const opcode = buf[0]! & 0x0f;
        const payload = buf.subarray(off, off + len);
        buf = buf.subarray(off + len);
        if (opcode === 8) {
          closeCode = payload.length >= 2 ? payload.readUInt16BE(0) : undefined;
          socket.write(frame(8, payload.subarray(0, 2)));
          socket.end();
        } else if (opcode === 2) {
          session.messages.push({ channel: payload[0]!, data: Buffer.from(payload.subarray(1)) });
        } else if (opcode === 1) {
          session.messages.push({ channel: payload[0]! - 48, data: Buffer.from(payload.subarray(1).toString(), 'base64') });
        }
      }
    });
    socket.once('close', () => {
      if (session && session.status !== 101) {
        session.body = buf.toString();
        resolve(session);
      }
      resolveClosed({ code: closeCode });
    });
  });
}

/** Everything the server sent on one channel, joined. */
export function channelText(session: WsSession, channel: number): string {
  return Buffer.concat(session.messages.filter((m) => m.channel === channel).map((m) => m.data)).toString();
}
