// The `docker cp` symlink-exchange race (CVE-2018-15664): while a container swaps a path between a
// directory and a symlink to "/" as fast as it can, GET and PUT /containers/{id}/archive through
// that path many times. Resolved inside the container (chroot-style), the symlink leads to the
// container's own root; resolved by the host kernel between berth's check and its use, it leads to
// the host's. The host keeps a secret and an empty sentinel directory that the container cannot
// see: no answer may carry the secret or a host file, and nothing may appear in the sentinel.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { call, callJson, importBusybox } from '../../helpers/api.js';
import { startBerthd, type TestBerthd } from '../../helpers/berthd.js';
import { tarEntry, TAR_END } from '../../../src/image/tar-writer.js';

const ROUNDS = 150;

/** The names in a tar answer (GNU tar reads it). */
const tarNames = (tar: Buffer) => execFileSync('tar', ['-t'], { input: tar }).toString().split('\n').filter(Boolean);

describe('cp against a symlink-exchange race', () => {
  let d: TestBerthd;
  let id: string;
  let sentinel: string;
  const secret = `host-secret-${randomBytes(8).toString('hex')}`;

  before(async () => {
    d = await startBerthd();
    sentinel = join(d.dir, 'sentinel');
    mkdirSync(sentinel);
    writeFileSync(join(sentinel, 'secret'), secret);
    await importBusybox(d.socket, 'bb:latest');
    // /w/x is, in turn, a directory, nothing, and a symlink to "/", swapped by rename.
    const flip = 'mkdir -p /w/dir && ln -s / /w/link && while :; do mv /w/dir /w/x; mv /w/x /w/dir; mv /w/link /w/x; mv /w/x /w/link; done';
    id = (await callJson<{ Id: string }>(d.socket, 'POST', '/containers/create', { Image: 'bb', Cmd: ['sh', '-c', flip], HostConfig: { NetworkMode: 'none' } })).Id;
    assert.equal((await call(d.socket, 'POST', `/containers/${id}/start`)).status, 204);
  });
  after(async () => {
    await d?.stop();
  });

  it('never reads a host file through the swapped path', async () => {
    const hostPath = join(sentinel, 'secret'); // no such path inside the container
    const containerPasswd = readFileSync(join(d.dir, 'exec', 'containers', id, 'rootfs', 'etc', 'passwd'), 'utf8');
    const seen = new Set<number>();
    for (let i = 0; i < ROUNDS; i++) {
      const [secretAnswer, passwd] = await Promise.all([
        call(d.socket, 'GET', `/containers/${id}/archive?path=${encodeURIComponent(`/w/x${hostPath}`)}`),
        call(d.socket, 'GET', `/containers/${id}/archive?path=/w/x/etc/passwd`),
      ]);
      assert.equal(secretAnswer.status, 404, `round ${i}: ${secretAnswer.body.slice(0, 200)}`);
      assert.ok(!secretAnswer.body.includes(secret), `round ${i}: the host's secret came out`);
      seen.add(passwd.status);
      if (passwd.status === 200) {
        // Through the symlink: the container's /etc/passwd, never the host's.
        assert.ok(passwd.body.includes(containerPasswd), `round ${i}: /w/x/etc/passwd was not the container's`);
      } else assert.equal(passwd.status, 404, passwd.body);
    }
    // Both shapes of /w/x were met: the race was on.
    assert.deepEqual([...seen].sort(), [200, 404]);
  });

  it('never writes a host file through the swapped path', async () => {
    const seen = new Set<number>();
    for (let i = 0; i < ROUNDS; i++) {
      const tar = Buffer.concat([tarEntry({ name: `pwned-${i}`, type: 'file', mode: 0o644 }, Buffer.from('written by cp\n')), TAR_END]);
      const [intoSentinel, intoTmp] = await Promise.all([
        call(d.socket, 'PUT', `/containers/${id}/archive?path=${encodeURIComponent(`/w/x${sentinel}`)}`, tar, { 'Content-Type': 'application/x-tar' }),
        call(d.socket, 'PUT', `/containers/${id}/archive?path=/w/x/tmp`, tar, { 'Content-Type': 'application/x-tar' }),
      ]);
      assert.equal(intoSentinel.status, 404, `round ${i}: ${intoSentinel.body}`);
      seen.add(intoTmp.status);
      assert.ok([200, 404].includes(intoTmp.status), intoTmp.body);
    }
    assert.deepEqual(readdirSync(sentinel), ['secret'], 'nothing was written in the host directory');
    assert.deepEqual([...seen].sort(), [200, 404], 'both shapes of /w/x were met');
    // What did land went into the container's own /tmp.
    const a = await call(d.socket, 'GET', `/containers/${id}/archive?path=/tmp`);
    assert.equal(a.status, 200);
    const landed = tarNames(a.raw);
    assert.ok(landed.some((n) => /^tmp\/pwned-\d+$/.test(n)), landed.join(' '));
  });
});
