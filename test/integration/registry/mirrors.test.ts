// Mirrors with Debian's docker-registry: reads go to each mirror in order and then to the
// registry, a mirror that is down or lacks the image gives way to the next, docker.io names keep
// their library/ prefix on a mirror, and pushes go to the registry alone.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startRegistry, type TestRegistry } from '../../helpers/registry.js';
import { cleanupDir } from '../../helpers/runtime.js';
import { digestOf } from '../../../src/common/digest.js';
import { parseReference } from '../../../src/image/reference.js';
import { RegistryClient } from '../../../src/registry/client.js';
import { pullAndCheck, push, smallImage } from './roundtrip.js';

describe('registry mirrors', () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-mirrors-'));
  let mirror: TestRegistry | undefined;
  let upstream: TestRegistry | undefined;
  /** Hosts with nothing listening. */
  let down = '';
  let downMirror = '';

  before(async () => {
    mirror = await startRegistry();
    upstream = await startRegistry();
    down = `127.0.0.1:${await freePort()}`;
    downMirror = `http://127.0.0.1:${await freePort()}`;
  });
  after(async () => {
    await mirror?.stop();
    await upstream?.stop();
    cleanupDir(dir);
  });

  it('reads manifest and blobs from a mirror when the registry is down', async () => {
    const image = await push(new RegistryClient(), `${mirror!.host}/team/app:1`);
    const client = new RegistryClient({ mirrors: { [down]: [mirror!.url] } });
    await pullAndCheck(client, `${down}/team/app:1`, image);
  });

  it('a mirror that is down gives way to the next one', async () => {
    const image = await push(new RegistryClient(), `${mirror!.host}/team/next:1`);
    const client = new RegistryClient({ mirrors: { [down]: [downMirror, mirror!.url] } });
    await pullAndCheck(client, `${down}/team/next:1`, image);
  });

  it('a mirror without the image (404) gives way to the registry', async () => {
    const image = await push(new RegistryClient(), `${upstream!.host}/team/only-upstream:1`);
    const client = new RegistryClient({ mirrors: { [upstream!.host]: [downMirror, mirror!.url] } });
    await pullAndCheck(client, `${upstream!.host}/team/only-upstream:1`, image);
  });

  it('when every mirror and the registry fail, the error is the registry’s', async () => {
    const client = new RegistryClient({ mirrors: { [down]: [downMirror, mirror!.url] } });
    await assert.rejects(client.getManifest(parseReference(`${down}/team/nowhere:1`)), /ECONNREFUSED/);
    const withUpstream = new RegistryClient({ mirrors: { [upstream!.host]: [mirror!.url] } });
    await assert.rejects(withUpstream.getManifest(parseReference(`${upstream!.host}/team/nowhere:1`)), new RegExp(`not found in ${upstream!.host}`));
  });

  it('docker.io names keep library/ on the mirror', async () => {
    const image = await push(new RegistryClient(), `${mirror!.host}/library/berth-mirror-test:1`);
    const client = new RegistryClient({ mirrors: { 'docker.io': [mirror!.url] } });
    await pullAndCheck(client, 'berth-mirror-test:1', image);
  });

  it('pushes go to the registry, never to a mirror, even for blobs the mirror has', async () => {
    const image = await push(new RegistryClient(), `${mirror!.host}/team/pushed:1`);
    const client = new RegistryClient({ mirrors: { [upstream!.host]: [mirror!.url] } });
    const ref = parseReference(`${upstream!.host}/team/pushed:1`);
    assert.ok(await client.hasBlob(ref, digestOf(image.layer)), 'readable through the mirror');
    assert.equal(await client.putBlob(ref, digestOf(image.layer), image.layer.length, async function* () {
      yield image.layer;
    }), 'uploaded');
    const other = smallImage();
    await push(client, `${upstream!.host}/team/pushed:2`, other);
    await pullAndCheck(new RegistryClient(), `${upstream!.host}/team/pushed:2`, other);
    await assert.rejects(new RegistryClient().getManifest(parseReference(`${mirror!.host}/team/pushed:2`)), /not found/);
  });
});
