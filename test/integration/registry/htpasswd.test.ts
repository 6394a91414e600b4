// Basic authentication with Debian's docker-registry checking an htpasswd file made by `htpasswd
// -B`: no credentials, a wrong password and a good login from ~/.docker/config.json (in a temp
// HOME), what `login` checks (checkLogin), and a config file both berth and skopeo read.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRegistry, type TestRegistry } from '../../helpers/registry.js';
import { cleanupDir } from '../../helpers/runtime.js';
import { parseReference } from '../../../src/image/reference.js';
import { checkLogin, RegistryClient } from '../../../src/registry/client.js';
import { configCredentials, defaultConfigPath, getCredentials, storeCredentials } from '../../../src/client/docker-config.js';
import { pullAndCheck, push, type SmallImage } from './roundtrip.js';

describe('htpasswd (Basic) authentication', () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-htpasswd-'));
  let registry: TestRegistry | undefined;
  let host = '';
  let image: SmallImage;
  const alice = { username: 'alice', password: 's3cret:with colon' };

  before(async () => {
    const file = join(dir, 'htpasswd');
    writeFileSync(file, execFileSync('htpasswd', ['-Bbn', alice.username, alice.password]));
    registry = await startRegistry({ htpasswd: file });
    host = registry.host;
  });
  after(async () => {
    await registry?.stop();
    cleanupDir(dir);
  });

  it('without credentials: says to log in', async () => {
    await assert.rejects(new RegistryClient().getManifest(parseReference(`${host}/team/app:1`)),
      new RegExp(`no basic auth credentials for ${host}: run login first`));
  });

  it('with credentials from config.json in $HOME/.docker: pushes and pulls', async () => {
    const home = join(dir, 'home');
    mkdirSync(join(home, '.docker'), { recursive: true });
    const saved = { HOME: process.env.HOME, DOCKER_CONFIG: process.env.DOCKER_CONFIG };
    process.env.HOME = home;
    delete process.env.DOCKER_CONFIG;
    try {
      // As `docker login` writes it: base64 of user:password under the host.
      writeFileSync(join(home, '.docker', 'config.json'), JSON.stringify({ auths: { [host]: { auth: Buffer.from(`${alice.username}:${alice.password}`).toString('base64') } } }));
      const client = new RegistryClient({ credentials: configCredentials() });
      image = await push(client, `${host}/team/app:1`);
      await pullAndCheck(client, `${host}/team/app:1`, image);
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });

  it('with a wrong password: the registry refusal and what to do', async () => {
    const client = new RegistryClient({ credentials: () => ({ username: 'alice', password: 'wrong' }) });
    await assert.rejects(client.getManifest(parseReference(`${host}/team/app:1`)),
      new RegExp(`${host} refused manifest for ${host}/team/app:1 \\(401: UNAUTHORIZED: authentication required\\): log in`));
  });

  it('checkLogin accepts the right password and refuses a wrong one', async () => {
    await checkLogin({}, host, alice);
    await assert.rejects(checkLogin(new RegistryClient(), host, { ...alice, password: 'wrong' }),
      new RegExp(`login attempt to http://${host}/v2/ failed with status: 401 Unauthorized`));
  });

  it('stores credentials in a config file that skopeo reads, and reads the one skopeo writes', async () => {
    const ours = defaultConfigPath({ DOCKER_CONFIG: join(dir, 'ours') });
    await storeCredentials(host, alice, ours);
    const inspected = JSON.parse(execFileSync('skopeo', ['inspect', '--raw', '--authfile', ours, '--tls-verify=false', `docker://${host}/team/app:1`]).toString()) as unknown;
    assert.deepEqual(inspected, JSON.parse(image.manifest.toString()));
    const theirs = join(dir, 'skopeo-auth.json');
    execFileSync('skopeo', ['login', '--authfile', theirs, '--tls-verify=false', '-u', alice.username, '-p', alice.password, host]);
    assert.deepEqual(await getCredentials(host, theirs), alice);
  });
});
