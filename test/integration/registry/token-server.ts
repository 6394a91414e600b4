// A token server as distribution's token auth expects one: GET /token with Basic credentials (or
// POST with an OAuth2 refresh token) answers a JWT signed ES256 with the key whose certificate
// the registry trusts (the `x5c` header), granting each scope asked for to a known user (and,
// with `anonymousPull`, pull alone to anyone).
import { createServer, type IncomingMessage } from 'node:http';
import { randomBytes, sign, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';

export interface TokenServer {
  realm: string;
  /** What each token request asked for: "user scope scope...". */
  requests: string[];
  close(): Promise<void>;
}

export interface TokenServerOptions {
  cert: string;
  key: string;
  issuer: string;
  service: string;
  users: Record<string, string>;
  /** Refresh tokens (Docker's identity tokens) → user. */
  refreshTokens?: Record<string, string>;
  /** Requests without credentials get tokens for pull only, as Docker Hub's public images. */
  anonymousPull?: boolean;
}

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');

function jwt(o: TokenServerOptions, subject: string, scopes: string[]): string {
  const der = new X509Certificate(readFileSync(o.cert)).raw;
  const header = { typ: 'JWT', alg: 'ES256', x5c: [der.toString('base64')] };
  const now = Math.floor(Date.now() / 1000);
  const access = scopes.map((s) => {
    const parts = s.split(':');
    return { type: parts[0], name: parts.slice(1, -1).join(':'), actions: parts.at(-1)!.split(',') };
  });
  const claims = { iss: o.issuer, sub: subject, aud: o.service, exp: now + 300, nbf: now - 10, iat: now, jti: randomBytes(8).toString('hex'), access };
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  // JOSE wants ES256 signatures as r||s, not DER.
  const signature = sign('sha256', Buffer.from(input), { key: readFileSync(o.key), dsaEncoding: 'ieee-p1363' });
  return `${input}.${b64url(signature)}`;
}

async function body(req: IncomingMessage): Promise<string> {
  let text = '';
  for await (const chunk of req) text += chunk;
  return text;
}

export async function startTokenServer(o: TokenServerOptions): Promise<TokenServer> {
  const requests: string[] = [];
  const server = createServer(async (req, res) => {
    const url = new URL(req.url!, 'http://x');
    let user: string | undefined;
    let scopes: string[];
    if (req.method === 'POST') {
      const form = new URLSearchParams(await body(req));
      user = form.get('grant_type') === 'refresh_token' ? o.refreshTokens?.[form.get('refresh_token') ?? ''] : undefined;
      scopes = (form.get('scope') ?? '').split(' ').filter(Boolean);
    } else {
      const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? '');
      const [name, ...rest] = basic ? Buffer.from(basic[1]!, 'base64').toString().split(':') : [];
      user = name !== undefined && o.users[name] === rest.join(':') ? name : undefined;
      scopes = url.searchParams.getAll('scope');
    }
    if (!user && !req.headers.authorization && req.method !== 'POST' && o.anonymousPull) {
      user = 'anonymous';
      scopes = scopes.map((s) => s.replace(/:[^:]*$/, (actions) => (actions.includes('pull') ? ':pull' : ':'))).filter((s) => !s.endsWith(':'));
    }
    requests.push([user ?? '-', ...scopes].join(' '));
    if (!user) return res.writeHead(401, { 'content-type': 'application/json' }).end('{"details":"incorrect username or password"}');
    const token = jwt(o, user, scopes);
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token, access_token: token, expires_in: 300, issued_at: new Date().toISOString() }));
  });
  const port = await new Promise<number>((r) => server.listen(0, '127.0.0.1', () => r((server.address() as { port: number }).port)));
  return {
    realm: `http://127.0.0.1:${port}/token`,
    requests,
    close: () => new Promise((r) => server.close(() => r())),
  };
}
