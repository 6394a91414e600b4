// The HTTP side of a streaming request: negotiating the sub-protocol (X-Stream-Protocol-Version)
// and switching the connection to SPDY/3.1, with kubelet's status codes and messages when that
// cannot be done.
import type { IncomingHttpHeaders } from 'node:http';

export const REMOTE_COMMAND_PROTOCOLS = ['v4.channel.k8s.io', 'v3.channel.k8s.io', 'v2.channel.k8s.io', 'channel.k8s.io'] as const;
export const PORT_FORWARD_PROTOCOLS = ['portforward.k8s.io'] as const;

export type RemoteCommandProtocol = (typeof REMOTE_COMMAND_PROTOCOLS)[number];

/** An HTTP answer that refuses the upgrade. */
export interface Refusal {
  status: number;
  message: string;
  headers?: Record<string, string[]>;
}

/** The protocol to speak: the first of the client's that the server knows, or a refusal. */
export function negotiate(headers: IncomingHttpHeaders, serverProtocols: readonly string[]): { protocol: string } | Refusal {
  const raw = headers['x-stream-protocol-version'];
  const offered = (Array.isArray(raw) ? raw : raw === undefined ? [] : [raw])
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter((v) => v.length > 0);
  if (offered.length === 0) return { status: 400, message: 'unable to upgrade: X-Stream-Protocol-Version is required' };
  const protocol = offered.find((p) => serverProtocols.includes(p));
  if (protocol === undefined) {
    return {
      status: 403,
      message: `unable to upgrade: unable to negotiate protocol: client supports [${offered.join(' ')}], server accepts [${serverProtocols.join(' ')}]`,
      headers: { 'X-Accepted-Stream-Protocol-Versions': [...serverProtocols] },
    };
  }
  return { protocol };
}

/** A refusal unless the request asks to upgrade to SPDY/3.1. */
export function checkSpdyUpgrade(headers: IncomingHttpHeaders): Refusal | undefined {
  const connection = (headers.connection ?? '').toLowerCase();
  const upgrade = (headers.upgrade ?? '').toLowerCase();
  if (connection.includes('upgrade') && upgrade.includes('spdy/3.1')) return undefined;
  return { status: 400, message: 'unable to upgrade: missing upgrade headers in request: need "Connection: Upgrade" and "Upgrade: SPDY/3.1"' };
}

/** The raw HTTP/1.1 response that switches the socket to SPDY. */
export function switchingProtocolsResponse(protocol: string): string {
  return `HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: ${protocol}\r\n\r\n`;
}

/** A raw HTTP/1.1 error response, plain text as Go's http.Error writes it. */
export function refusalResponse(refusal: Refusal): string {
  const body = `${refusal.message}\n`;
  const lines = [
    `HTTP/1.1 ${refusal.status} ${STATUS_TEXT[refusal.status] ?? 'Error'}`,
    'Content-Type: text/plain; charset=utf-8',
    'X-Content-Type-Options: nosniff',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Connection: close',
  ];
  for (const [name, values] of Object.entries(refusal.headers ?? {})) for (const v of values) lines.push(`${name}: ${v}`);
  return `${lines.join('\r\n')}\r\n\r\n${body}`;
}

const STATUS_TEXT: Record<number, string> = { 400: 'Bad Request', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed', 500: 'Internal Server Error' };
