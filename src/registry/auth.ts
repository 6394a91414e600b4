// Registry authentication, as the distribution spec's token flow works: a 401 carries a
// WWW-Authenticate challenge; "Basic" wants the credentials on every request, "Bearer" wants a
// token fetched from the realm (with the credentials, if any) for the scope asked.
import { BerthError } from '../common/errors.js';
import { readBody, type Send } from './http.js';

export interface Credentials {
  username: string;
  password: string;
  /** An OAuth2 refresh token (Docker's "identitytoken"), used instead of the password for tokens. */
  identityToken?: string;
}

/** The registry or its token server refused the credentials (or wanted some and got none). */
export class AuthRefused extends BerthError {
  constructor(message: string) {
    super('FAILED_PRECONDITION', message);
  }
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

export interface ChallengeContext {
  /** The registry that challenged, for messages. */
  registry: string;
  credentials?: Credentials;
  /** How to reach the token server (the client's TLS settings). */
  send: Send;
}

/** The Authorization header that answers `challenge`. */
export async function answerChallenge(challenge: string, c: ChallengeContext): Promise<string> {
  const { scheme, params } = parseChallenge(challenge);
  if (scheme === 'basic') {
    if (!c.credentials) throw new AuthRefused(`no basic auth credentials for ${c.registry}: run login first`);
    return basicHeader(c.credentials);
  }
  if (scheme !== 'bearer' || !params.realm) throw new BerthError('INVALID_ARGUMENT', `unsupported authentication challenge "${challenge}"`);
  return `Bearer ${await fetchToken(params, c)}`;
}

async function fetchToken(params: Record<string, string>, c: ChallengeContext): Promise<string> {
  const url = new URL(params.realm!);
  const scopes = params.scope ? params.scope.split(' ') : [];
  const creds = c.credentials;
  let res;
  if (creds?.identityToken) {
    // The OAuth2 refresh-token grant, as Docker uses an identity token (distribution's auth/oauth spec).
    const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: creds.identityToken, client_id: 'berth', service: params.service ?? '', scope: scopes.join(' ') });
    res = await c.send(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: Buffer.from(form.toString()) });
  } else {
    if (params.service) url.searchParams.set('service', params.service);
    for (const s of scopes) url.searchParams.append('scope', s);
    res = await c.send(url, { headers: creds ? { authorization: basicHeader(creds) } : {} });
  }
  const body = await readBody(res, 1 << 20);
  if (res.statusCode === 401 || res.statusCode === 403) throw new AuthRefused(`token server ${url.host} answered ${res.statusCode} for ${c.registry}: check the credentials (login)`);
  if (res.statusCode !== 200) throw new BerthError('UNAVAILABLE', `token server ${url.host} answered ${res.statusCode} for ${c.registry}`);
  let answer: { token?: string; access_token?: string };
  try {
    answer = JSON.parse(body.toString()) as typeof answer;
  } catch {
    throw new BerthError('INVALID_ARGUMENT', `token server ${url.host} sent something that is not JSON`);
  }
  const token = answer.token ?? answer.access_token;
  if (!token) throw new BerthError('INVALID_ARGUMENT', `token server ${url.host} sent no token`);
  return token;
}
