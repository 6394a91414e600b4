// The distribution token flow with the real thing: Debian's docker-registry configured for token
// auth trusts the certificate of a key made here with openssl, and a token server written here
// (token-server.ts) signs JWTs with it. Push and pull fetch tokens for the scopes the registry
// asks; a Docker identity token is traded through the OAuth2 refresh grant; anonymous users may
// pull but not push; wrong credentials, checkLogin and a missing credential helper give errors
// that say what to do.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRegistry, type TestRegistry } from '../../helpers/registry.js';
import { cleanupDir } from '../../helpers/runtime.js';
import { parseReference } from '../../../src/image/reference.js';
import { parseChallenge } from '../../../src/registry/auth.js';
import { checkLogin, RegistryClient } from '../../../src/registry/client.js';
import { configCredentials } from '../../../src/client/docker-config.js';
import { makeSigningCert } from './pki.js';
import { pullAndCheck, push } from './roundtrip.js';
import { startTokenServer, type TokenServer } from './token-server.js';

describe('registry token authentication', () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-token-'));
  let tokens: TokenServer | undefined;
  let registry: TestRegistry | undefined;
  let host = '';
  const alice = { username: 'alice', password: 's3cret' };

  before(async () => {
    const signing = makeSigningCert(dir);
    const service = 'berth-test-registry';
    const issuer = 'berth-test-issuer';
    tokens = await startTokenServer({ ...signing, issuer, service, users: { alice: alice.password }, refreshTokens: { 'refresh-abc': 'alice' }, anonymousPull: true });
    registry = await startRegistry({ token: { realm: tokens.realm, service, issuer, rootCertBundle: signing.cert } });
    host = registry.host;
  });
  after(async () => {
    await registry?.stop();
    await tokens?.close();
    cleanupDir(dir);
  });

  it('parses challenges', () => {
    assert.deepEqual(parseChallenge('Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push"'), {
      scheme: 'bearer', params: { realm: 'https://auth.example/token', service: 'registry.example', scope: 'repository:a/b:pull,push' },
    });
    assert.deepEqual(parseChallenge('Basic realm=basic-realm'), { scheme: 'basic', params: { realm: 'basic-realm' } });
  });

  it('pushes and pulls with tokens fetched for the scopes the registry asks', async () => {
    const client = new RegistryClient({ credentials: () => alice });
    const image = await push(client, `${host}/team/app:1`);
    await pullAndCheck(client, `${host}/team/app:1`, image);
    // distribution lists the actions in no fixed order.
    assert.ok(tokens!.requests.some((r) => /^alice repository:team\/app:(pull,push|push,pull)$/.test(r)), tokens!.requests.join('\n'));
    // The registry checks the tokens: one it did not get from the token server is refused.
    const forged = await fetch(`http://${host}/v2/team/app/manifests/1`, { headers: { authorization: 'Bearer e30.e30.c2ln' } });
    assert.equal(forged.status, 401);
    // A pull with a fresh client asks for pull only.
    tokens!.requests.length = 0;
    await pullAndCheck(new RegistryClient({ credentials: () => alice }), `${host}/team/app:1`, image);
    assert.deepEqual(tokens!.requests, ['alice repository:team/app:pull']);
  });

  it('trades an identity token from config.json for access tokens', async () => {
    const config = join(dir, 'config.json');
    writeFileSync(config, JSON.stringify({ auths: { [host]: { auth: Buffer.from('alice:').toString('base64'), identitytoken: 'refresh-abc' } } }));
    const client = new RegistryClient({ credentials: configCredentials(config) });
    const image = await push(client, `${host}/team/identity:1`);
    await pullAndCheck(client, `${host}/team/identity:1`, image);
  });

  it('without credentials a push is refused with a hint to log in; wrong ones are named as such', async () => {
    await assert.rejects(push(new RegistryClient(), `${host}/team/app:2`), new RegExp(`${host} refused .*: log in`));
    const client = new RegistryClient({ credentials: () => ({ username: 'alice', password: 'wrong' }) });
    await assert.rejects(client.getManifest(parseReference(`${host}/team/app:1`)),
      new RegExp(`token server 127\\.0\\.0\\.1:\\d+ answered 401 for ${host}: check the credentials \\(login\\)`));
  });

  it('checkLogin gets a token for the registry itself, and refuses a wrong password', async () => {
    await checkLogin({}, host, alice);
    await assert.rejects(checkLogin({}, host, { username: 'alice', password: 'wrong' }), /unauthorized: incorrect username or password/);
    await assert.rejects(checkLogin({}, host, { username: 'bob', password: 's3cret' }), /unauthorized: incorrect username or password/);
  });

  it('a credential helper that is not installed: anonymous pulls go on, a push names the helper', async () => {
    const config = join(dir, 'helper.json');
    writeFileSync(config, JSON.stringify({ credsStore: 'berth-test-missing' }));
    const client = new RegistryClient({ credentials: configCredentials(config) });
    const image = await push(new RegistryClient({ credentials: () => alice }), `${host}/team/public:1`);
    await pullAndCheck(client, `${host}/team/public:1`, image);
    await assert.rejects(push(client, `${host}/team/public:2`),
      new RegExp(`credential helper docker-credential-berth-test-missing \\(named in ${config}\\) is not installed: install it, or remove it from that file`));
  });
});
