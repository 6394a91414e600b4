// Registry authentication, as the distribution spec's token flow works: a 401 carries a
// WWW-Authenticate challenge; "Basic" wants the credentials on every request, "Bearer" wants a
// token fetched from the realm (with the credentials, if any) for the scope asked.
import { BerthError } from '../common/errors.js';
import { readBody, send } from './http.js';

export interface Credentials {
  username: string;
  password: string;
}

/** Parses `Bearer realm="…",service="…",scope="…"` into its scheme and parameters. */
export function parseChallenge(header: string): { scheme: string; params: Record<string, string> } {
  const m = /^(\w+)\s*(.*)$/.exec(header.trim());
  if (!m) throw new BerthError('INVALID_ARGUMENT', `unreadable authentication challenge "${header}"`);
  const params: Record<string, string> = {};
  for (const p of m[2]!.matchAll(/(\w+)="([^"]*)"|(\w+)=([^,\s]*)/g)) params[(p[1] ?? p[3])!.toLowerCase()] = p[2] ?? p[4]!;
  return { scheme: m[1]!.toLowerCase(), params };
}

export function basicHeader(c: Credentials): string {
  return `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;
}

/** The Authorization header that answers `challenge`. */
export async function answerChallenge(challenge: string, creds: Credentials | undefined, ca?: Buffer): Promise<string> {
  const { scheme, params } = parseChallenge(challenge);
  if (scheme === 'basic') {
    if (!creds) throw new BerthError('FAILED_PRECONDITION', 'the registry wants a user name and password: run login first');
    return basicHeader(creds);
  }
  if (scheme !== 'bearer' || !params.realm) throw new BerthError('INVALID_ARGUMENT', `unsupported authentication challenge "${challenge}"`);
  const url = new URL(params.realm);
  if (params.service) url.searchParams.set('service', params.service);
  if (params.scope) for (const s of params.scope.split(' ')) url.searchParams.append('scope', s);
  const res = await send(url, { headers: creds ? { authorization: basicHeader(creds) } : {}, ca });
  const body = await readBody(res, 1 << 20);
  if (res.statusCode !== 200) throw new BerthError(res.statusCode === 401 || res.statusCode === 403 ? 'FAILED_PRECONDITION' : 'UNAVAILABLE', `token server ${url.host} answered ${res.statusCode}: check the credentials (login)`);
  const token = (JSON.parse(body.toString()) as { token?: string; access_token?: string });
  const t = token.token ?? token.access_token;
  if (!t) throw new BerthError('INVALID_ARGUMENT', `token server ${url.host} sent no token`);
  return `Bearer ${t}`;
}
