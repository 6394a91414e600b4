// dockerode (the Node SDK people use) against berthd, unchanged: create, attach with stdin over a
// hijacked connection, start, wait, inspect, logs, list and remove a container.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import Docker from 'dockerode';
import { makeBusyboxRootfs } from '../../helpers/busybox.js';
import { startBerthd, type TestBerthd } from '../../helpers/berthd.js';
import { cleanupDir } from '../../helpers/runtime.js';

const work = mkdtempSync(join(tmpdir(), 'berth-dockerode-'));

describe('dockerode against berthd', () => {
  let d: TestBerthd;
  let docker: Docker;

  before(async () => {
    d = await startBerthd();
    makeBusyboxRootfs(join(work, 'rootfs'));
    execFileSync('tar', ['-C', join(work, 'rootfs'), '-cf', join(work, 'rootfs.tar'), '.']);
    const r = await d.docker(['import', join(work, 'rootfs.tar'), 'bb:latest']);
    assert.equal(r.code, 0, r.stderr);
    docker = new Docker({ socketPath: d.socket });
  });
  after(async () => {
    await d?.stop();
    cleanupDir(work);
  });

  it('creates, attaches with stdin, starts, waits, inspects, reads logs and removes', async () => {
    const c = await docker.createContainer({
      Image: 'bb', name: 'sdk', Cmd: ['sh', '-c', 'read line; echo "got:$line"; echo oops >&2; exit 5'],
      OpenStdin: true, StdinOnce: true, AttachStdin: true, AttachStdout: true, AttachStderr: true,
      HostConfig: { NetworkMode: 'none' },
    });
    const stream = await c.attach({ stream: true, stdin: true, stdout: true, stderr: true, hijack: true });
    const out = new PassThrough();
    const err = new PassThrough();
    let stdout = '';
    let stderr = '';
    out.on('data', (b: Buffer) => (stdout += b.toString()));
    err.on('data', (b: Buffer) => (stderr += b.toString()));
    docker.modem.demuxStream(stream, out, err);
    const ended = new Promise((r) => stream.once('end', r));
    await c.start();
    stream.write('hello sdk\n');
    stream.end();
    const exit = await c.wait();
    await ended;
    assert.equal(exit.StatusCode, 5);
    assert.equal(stdout, 'got:hello sdk\n');
    assert.equal(stderr, 'oops\n');
    const info = await c.inspect();
    assert.equal(info.State.ExitCode, 5);
    assert.equal(info.Name, '/sdk');
    assert.equal(info.Config.Image, 'bb');
    const logs = (await c.logs({ stdout: true, stderr: false })) as unknown as Buffer;
    assert.match(logs.toString(), /got:hello sdk/);
    const listed = await docker.listContainers({ all: true, filters: { name: ['sdk'] } });
    assert.deepEqual(listed.map((x) => x.Names), [['/sdk']]);
    await c.remove();
    await assert.rejects(c.inspect(), (e: { statusCode?: number }) => e.statusCode === 404);
  });

  it('lists images and answers ping and version', async () => {
    assert.equal(String(await docker.ping()), 'OK');
    const v = await docker.version();
    assert.equal(v.ApiVersion, '1.45');
    const images = await docker.listImages();
    assert.deepEqual(images.map((i) => i.RepoTags), [['bb:latest']]);
  });
});
