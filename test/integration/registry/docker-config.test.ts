// Docker's config.json as berth reads and writes it: `auth` base64 and username/password entries,
// identity tokens, Docker Hub's key, other keys of the file left alone, an atomic 0600 rewrite,
// and credential helpers through a fake docker-credential-test put on PATH.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanupDir } from '../../helpers/runtime.js';
import { defaultConfigPath, DOCKER_HUB_KEY, eraseCredentials, getCredentials, serverKey, storeCredentials } from '../../../src/client/docker-config.js';

/** A credential helper keeping its secrets in store.json beside itself, as the protocol asks. */
const HELPER = `#!${process.execPath}
const fs = require('node:fs');
const path = require('node:path');
const file = path.join(__dirname, 'store.json');
const store = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : {};
const input = fs.readFileSync(0, 'utf8').trim();
const action = process.argv[2];
fs.appendFileSync(path.join(__dirname, 'calls'), action + ' ' + (action === 'store' ? JSON.parse(input).ServerURL : input) + '\\n');
if (action === 'get') {
  if (!store[input]) { console.log('credentials not found in native keychain'); process.exit(1); }
  console.log(JSON.stringify({ ServerURL: input, ...store[input] }));
} else if (action === 'store') {
  const c = JSON.parse(input);
  store[c.ServerURL] = { Username: c.Username, Secret: c.Secret };
  fs.writeFileSync(file, JSON.stringify(store));
} else if (action === 'erase') {
  delete store[input];
  fs.writeFileSync(file, JSON.stringify(store));
}
`;

describe('Docker config.json credentials', () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-dockercfg-'));
  const bin = join(dir, 'bin');
  const savedPath = process.env.PATH;
  let n = 0;
  /** A fresh config file path, with `content` written to it when given. */
  const configFile = (content?: unknown) => {
    const path = join(dir, `c${++n}`, 'config.json');
    if (content !== undefined) {
      mkdirSync(join(dir, `c${n}`));
      writeFileSync(path, JSON.stringify(content));
    }
    return path;
  };

  before(() => {
    mkdirSync(bin);
    writeFileSync(join(bin, 'docker-credential-test'), HELPER);
    chmodSync(join(bin, 'docker-credential-test'), 0o755);
    process.env.PATH = `${bin}:${savedPath}`;
  });
  after(() => {
    process.env.PATH = savedPath;
    cleanupDir(dir);
  });

  it('finds the file as the docker CLI does', () => {
    assert.equal(defaultConfigPath({ HOME: '/home/u' }), '/home/u/.docker/config.json');
    assert.equal(defaultConfigPath({ HOME: '/home/u', DOCKER_CONFIG: '/etc/dc' }), '/etc/dc/config.json');
  });

  it('reads auth (base64 user:password), username/password and identity tokens', async () => {
    const path = configFile({
      auths: {
        'reg.example:5000': { auth: Buffer.from('alice:pa:ss').toString('base64') },
        'https://other.example/v2/': { username: 'bob', password: 'pw' },
        'tok.example': { auth: Buffer.from('carol:').toString('base64'), identitytoken: 'refresh-1' },
        'bad.example': { auth: Buffer.from('no colon').toString('base64') },
      },
    });
    assert.deepEqual(await getCredentials('reg.example:5000', path), { username: 'alice', password: 'pa:ss' });
    assert.deepEqual(await getCredentials('other.example', path), { username: 'bob', password: 'pw' }, 'a URL key names its host');
    assert.deepEqual(await getCredentials('tok.example', path), { username: 'carol', password: '', identityToken: 'refresh-1' });
    assert.equal(await getCredentials('nobody.example', path), undefined);
    assert.equal(await getCredentials('x', join(dir, 'missing', 'config.json')), undefined, 'no file: no credentials');
    await assert.rejects(getCredentials('bad.example', path), /"auth" of bad\.example is not base64 of user:password/);
    const broken = configFile();
    mkdirSync(join(broken, '..'));
    writeFileSync(broken, '{ not json');
    await assert.rejects(getCredentials('reg.example', broken), new RegExp(`${broken} is not a Docker config file .*: fix or remove it`));
  });

  it("keys Docker Hub under https://index.docker.io/v1/ as the docker CLI does", async () => {
    assert.equal(serverKey('docker.io'), DOCKER_HUB_KEY);
    assert.equal(serverKey('127.0.0.1:5000'), '127.0.0.1:5000');
    const path = configFile({ auths: { [DOCKER_HUB_KEY]: { auth: Buffer.from('hubuser:hubpass').toString('base64') } } });
    assert.deepEqual(await getCredentials('docker.io', path), { username: 'hubuser', password: 'hubpass' });
    assert.deepEqual(await getCredentials('registry-1.docker.io', path), { username: 'hubuser', password: 'hubpass' });
    const other = configFile({ auths: { 'index.docker.io': { auth: Buffer.from('old:style').toString('base64') } } });
    assert.deepEqual(await getCredentials('docker.io', other), { username: 'old', password: 'style' }, 'an alias key still counts');
  });

  it('stores and erases credentials atomically, mode 0600, keeping the rest of the file', async () => {
    const original = {
      auths: { 'keep.example': { auth: 'a2VlcDptZQ==', email: 'x@example.com' }, 'https://reg.example:5000': { auth: 'b2xkOm9sZA==' } },
      HttpHeaders: { 'User-Agent': 'Docker-Client' },
      proxies: { default: { httpProxy: 'http://proxy:3128' } },
      currentContext: 'default',
    };
    const path = configFile(original);
    await storeCredentials('reg.example:5000', { username: 'alice', password: 'secret' }, path);
    await storeCredentials('docker.io', { username: 'hub', password: 'hubpw' }, path);
    const written = JSON.parse(readFileSync(path, 'utf8')) as typeof original & { auths: Record<string, unknown> };
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.deepEqual(readdirSync(join(path, '..')), ['config.json'], 'no temporary file left');
    assert.deepEqual({ ...written, auths: undefined }, { ...original, auths: undefined }, 'other keys as they were');
    assert.deepEqual(written.auths, {
      'keep.example': { auth: 'a2VlcDptZQ==', email: 'x@example.com' },
      'reg.example:5000': { auth: Buffer.from('alice:secret').toString('base64') },
      [DOCKER_HUB_KEY]: { auth: Buffer.from('hub:hubpw').toString('base64') },
    }, 'the old URL key of the same registry replaced');
    assert.deepEqual(await getCredentials('reg.example:5000', path), { username: 'alice', password: 'secret' });

    assert.equal(await eraseCredentials('reg.example:5000', path), true);
    assert.equal(await eraseCredentials('reg.example:5000', path), false, 'nothing left to erase');
    assert.equal(await getCredentials('reg.example:5000', path), undefined);
    assert.deepEqual(Object.keys((JSON.parse(readFileSync(path, 'utf8')) as typeof original).auths), ['keep.example', DOCKER_HUB_KEY]);

    const fresh = configFile();
    await storeCredentials('new.example', { username: 'n', password: 'p' }, fresh);
    assert.equal(statSync(fresh).mode & 0o777, 0o600, 'a new file too');
  });

  it('uses credHelpers and credsStore through docker-credential-<name>', async () => {
    const path = configFile({ credHelpers: { 'helped.example': 'test' }, auths: { 'plain.example': { auth: Buffer.from('p:q').toString('base64') } } });
    assert.equal(await getCredentials('helped.example', path), undefined, "the helper's 'not found' is no credentials");
    await storeCredentials('helped.example', { username: 'dave', password: 'hunter2' }, path);
    assert.deepEqual(await getCredentials('helped.example', path), { username: 'dave', password: 'hunter2' });
    assert.deepEqual(await getCredentials('plain.example', path), { username: 'p', password: 'q' }, 'other registries from the file');
    const file = JSON.parse(readFileSync(path, 'utf8')) as { auths: Record<string, unknown>; credHelpers: unknown };
    assert.deepEqual(file.auths['helped.example'], {}, 'listed without secrets, as Docker does');
    assert.deepEqual(file.credHelpers, { 'helped.example': 'test' });

    const store = configFile({ credsStore: 'test' });
    await storeCredentials('docker.io', { username: '', password: '', identityToken: 'refresh-9' }, store);
    assert.deepEqual(await getCredentials('docker.io', store), { username: '', password: '', identityToken: 'refresh-9' }, 'Username "<token>" marks an identity token');
    assert.equal(await eraseCredentials('docker.io', store), true);
    assert.equal(await getCredentials('docker.io', store), undefined);
    const calls = readFileSync(join(bin, 'calls'), 'utf8').trim().split('\n');
    assert.ok(calls.includes(`store ${DOCKER_HUB_KEY}`) && calls.includes(`erase ${DOCKER_HUB_KEY}`), 'the helper gets Docker Hub\'s key');

    const missing = configFile({ credsStore: 'berth-test-missing' });
    await assert.rejects(getCredentials('any.example', missing), new RegExp(`credential helper docker-credential-berth-test-missing \\(named in ${missing}\\) is not installed`));
  });
});
