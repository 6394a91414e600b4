// Hijacked connections (attach, exec start): the 101 answer Docker gives to "Upgrade: tcp", then
// bytes both ways between the client and the shim's attach socket. The client's stdin is watched
// for the detach keys (ctrl-p ctrl-q by default): on them the client is let go and the container
// keeps running.
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { invalid } from '../common/errors.js';
import { API_VERSION } from './server.js';

export function answerUpgrade(socket: Duplex, upgraded: boolean): void {
  socket.write(upgraded
    ? `HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nApi-Version: ${API_VERSION}\r\n\r\n`
    : `HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.raw-stream\r\nApi-Version: ${API_VERSION}\r\n\r\n`);
}

/**
 * The body of an upgraded request (exec start sends its JSON with the upgrade): Content-Length
 * bytes from what came with the headers and then from the connection. What follows is the
 * client's stdin, returned as `rest`.
 */
export async function readUpgradeBody(socket: Duplex, head: Buffer | undefined, contentLength: number): Promise<{ body: Buffer; rest: Buffer }> {
  let got = head ?? Buffer.alloc(0);
  if (contentLength > 1 << 20) throw invalid('request body too large');
  while (got.length < contentLength) {
    const chunk = await new Promise<Buffer | undefined>((resolve) => {
      const onData = (d: Buffer) => {
        cleanup();
        resolve(d);
      };
      const onEnd = () => {
        cleanup();
        resolve(undefined);
      };
      const cleanup = () => {
        socket.off('data', onData);
        socket.off('end', onEnd);
        socket.off('close', onEnd);
        socket.pause();
      };
      socket.on('data', onData);
      socket.once('end', onEnd);
      socket.once('close', onEnd);
      socket.resume();
    });
    if (!chunk) break;
    got = Buffer.concat([got, chunk]);
  }
  return { body: got.subarray(0, contentLength), rest: got.subarray(contentLength) };
}

/** "ctrl-p,ctrl-q" → [0x10, 0x11]; single characters stand for themselves. */
export function parseDetachKeys(text: string | undefined): number[] {
  if (text === undefined || text === '') return [0x10, 0x11];
  return text.split(',').map((k) => {
    const m = /^ctrl-(.)$/i.exec(k);
    if (m) {
      const c = m[1]!.toLowerCase();
      if (c >= 'a' && c <= 'z') return c.charCodeAt(0) - 0x60;
      const special: Record<string, number> = { '@': 0, '[': 27, '\\': 28, ']': 29, '^': 30, _: 31 };
      if (c in special) return special[c]!;
    } else if (k.length === 1) return k.charCodeAt(0);
    throw invalid(`invalid detach keys "${text}": use ctrl-<letter> or single characters, separated by commas`);
  });
}

export interface BridgeOptions {
  stdin: boolean;
  detachKeys: number[];
  /** The client closed its side: its stdin is over. */
  onStdinEnd?: () => void;
}

/**
 * Joins the client connection and the shim's attach socket (already past its "ok"); resolves
 * when either side is done. `head` is what the client sent with its request.
 */
export function bridge(client: Duplex, head: Buffer | undefined, shim: Socket, o: BridgeOptions): Promise<'detached' | 'ended'> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (how: 'detached' | 'ended') => {
      if (done) return;
      done = true;
      shim.destroy();
      client.end();
      resolve(how);
    };
    let matched: number[] = []; // detach-key bytes seen so far, held back
    const input = (data: Buffer) => {
      if (!o.stdin) return;
      const out: number[] = [];
      for (const byte of data) {
        if (o.detachKeys.length && byte === o.detachKeys[matched.length]) {
          matched.push(byte);
          if (matched.length === o.detachKeys.length) {
            if (out.length) shim.write(Buffer.from(out));
            return finish('detached');
          }
          continue;
        }
        out.push(...matched, byte);
        matched = [];
      }
      if (out.length) shim.write(Buffer.from(out));
    };
    shim.on('data', (d: Buffer) => {
      if (!client.write(d)) {
        shim.pause();
        client.once('drain', () => shim.resume());
      }
    });
    shim.once('end', () => finish('ended'));
    shim.once('close', () => finish('ended'));
    shim.on('error', () => finish('ended'));
    client.on('data', input);
    client.once('end', () => {
      if (!o.stdin) return;
      if (matched.length) shim.write(Buffer.from(matched));
      o.onStdinEnd?.();
    });
    client.once('close', () => finish('ended'));
    client.on('error', () => finish('ended'));
    if (head?.length) input(head);
    shim.resume();
    client.resume();
  });
}
