// The WebSocket opening handshake (RFC 6455, section 4.2) for Kubernetes' channel protocols:
// the server picks the first of the client's Sec-WebSocket-Protocol values that it serves; a
// client that offers none gets the plain binary channel protocol, as kubelet does.
import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { Refusal } from '../upgrade.js';

const ACCEPT_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** What kubelet's WebSocket remote command serves: name → base64 or binary, and Status version. */
export const WEBSOCKET_REMOTE_COMMAND_PROTOCOLS: Record<string, { base64: boolean; version: number }> = {
  'v5.channel.k8s.io': { base64: false, version: 5 },
  'v4.channel.k8s.io': { base64: false, version: 4 },
  'v4.base64.channel.k8s.io': { base64: true, version: 4 },
  'channel.k8s.io': { base64: false, version: 1 },
  'base64.channel.k8s.io': { base64: true, version: 1 },
};

export function isWebSocketUpgrade(headers: IncomingHttpHeaders): boolean {
  return (headers.connection ?? '').toLowerCase().includes('upgrade') && (headers.upgrade ?? '').toLowerCase() === 'websocket';
}

/** The chosen protocol ('' when the client offered none), or a refusal. */
export function chooseWebSocketProtocol(headers: IncomingHttpHeaders, served: readonly string[]): { protocol: string } | Refusal {
  if (headers['sec-websocket-version'] !== '13') return { status: 400, message: 'unable to upgrade: Sec-WebSocket-Version 13 is required' };
  if (!headers['sec-websocket-key']) return { status: 400, message: 'unable to upgrade: Sec-WebSocket-Key is required' };
  const offered = (headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim()).filter((p) => p.length > 0);
  if (offered.length === 0) return { protocol: '' };
  const protocol = offered.find((p) => served.includes(p));
  if (protocol === undefined) {
    return { status: 400, message: `unable to upgrade: requested protocol(s) are not supported: [${offered.join(' ')}]; supports [${served.join(' ')}]` };
  }
  return { protocol };
}

export function webSocketAcceptResponse(key: string, protocol: string): string {
  const accept = createHash('sha1').update(key + ACCEPT_GUID).digest('base64');
  const lines = ['HTTP/1.1 101 Switching Protocols', 'Upgrade: websocket', 'Connection: Upgrade', `Sec-WebSocket-Accept: ${accept}`];
  if (protocol) lines.push(`Sec-WebSocket-Protocol: ${protocol}`);
  return `${lines.join('\r\n')}\r\n\r\n`;
}
