// The token flow of the distribution spec, with a token server written here and a registry
// stand-in that only checks authorization (distribution's own token auth needs a JWT issuer):
// a 401 Bearer challenge is answered with a token fetched with the user's credentials, Basic is
// answered directly, and bad credentials give an error that says to log in.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { parseReference } from '../../../src/image/reference.js';
import { parseChallenge } from '../../../src/registry/auth.js';
import { RegistryClient } from '../../../src/registry/client.js';

const BASIC = `Basic ${Buffer.from('alice:secret').toString('base64')}`;

describe('registry authentication', () => {
  const servers: Server[] = [];
  let host = '';
  const scopes: string[] = [];
  const listen = (s: Server) => new Promise<number>((r) => s.listen(0, '127.0.0.1', () => r((s.address() as { port: number }).port)));

  before(async () => {
    const tokens = createServer((req, res) => {
      const url = new URL(req.url!, 'http://x');
      scopes.push(url.searchParams.getAll('scope').join(' '));
      if (req.headers.authorization !== BASIC) return res.writeHead(401).end();
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: 'tok-123' }));
    });
    const tokenPort = await listen(tokens);
    const registry = createServer((req, res) => {
      const basicRepo = req.url!.includes('/basic/');
      if (basicRepo ? req.headers.authorization === BASIC : req.headers.authorization === 'Bearer tok-123') {
        return res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' }).end('{"schemaVersion":2}');
      }
      const challenge = basicRepo ? 'Basic realm="r"' : `Bearer realm="http://127.0.0.1:${tokenPort}/token",service="test-registry",scope="repository:team/app:pull"`;
      res.writeHead(401, { 'www-authenticate': challenge }).end('{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}');
    });
    host = `127.0.0.1:${await listen(registry)}`;
    servers.push(tokens, registry);
  });
  after(() => servers.forEach((s) => s.close()));

  it('parses challenges', () => {
    assert.deepEqual(parseChallenge('Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push"'), {
      scheme: 'bearer', params: { realm: 'https://auth.example/token', service: 'registry.example', scope: 'repository:a/b:pull,push' },
    });
  });

  it('answers a Bearer challenge with a token fetched with the credentials, and Basic directly', async () => {
    const client = new RegistryClient({ credentials: () => ({ username: 'alice', password: 'secret' }) });
    assert.equal((await client.getManifest(parseReference(`${host}/team/app:1`))).bytes.toString(), '{"schemaVersion":2}');
    assert.deepEqual(scopes, ['repository:team/app:pull']);
    assert.equal((await client.getManifest(parseReference(`${host}/basic/app:1`))).bytes.toString(), '{"schemaVersion":2}');
  });

  it('tells the user to log in when the credentials are missing or wrong', async () => {
    await assert.rejects(new RegistryClient().getManifest(parseReference(`${host}/basic/app:1`)), /run login first/);
    const wrong = new RegistryClient({ credentials: () => ({ username: 'alice', password: 'nope' }) });
    await assert.rejects(wrong.getManifest(parseReference(`${host}/team/app:1`)), /token server 127\.0\.0\.1:\d+ answered 401: check the credentials/);
  });
});
