// berthd on TCP: only with TLS and client certificates (--tlsverify), as Docker's -H tcp:// with
// --tlsverify. The docker CLI with a client certificate gets in (a container runs, attached, over
// the TLS connection); without one it is refused; and a TCP address without TLS is refused at start.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importBusyboxImage } from '../../helpers/busybox.js';
import { BERTHD_BIN, startBerthd, type TestBerthd } from '../../helpers/berthd.js';
import { cleanupDir, runCommand } from '../../helpers/runtime.js';
import { makePki, type Pki } from '../registry/pki.js';

const work = mkdtempSync(join(tmpdir(), 'berth-tcp-'));
const ADDRESS = 'tcp://127.0.0.1:2376';

describe('berthd over TCP with TLS', () => {
  let d: TestBerthd;
  let pki: Pki;
  const docker = (tls: string[], args: string[]) => d.inHostNetns(['docker', ...tls, '-H', ADDRESS, ...args]);

  before(async () => {
    pki = makePki(work);
    d = await startBerthd({ extraArgs: ['-H', ADDRESS, '--tlsverify', '--tlscacert', pki.caCert, '--tlscert', pki.serverCert, '--tlskey', pki.serverKey] });
    await importBusyboxImage(d, work);
  });
  after(async () => {
    await d?.stop();
    cleanupDir(work);
  });

  it('serves a client with a certificate signed by the CA, hijacked streams included', async () => {
    const tls = ['--tlsverify', '--tlscacert', pki.caCert, '--tlscert', pki.clientCert, '--tlskey', pki.clientKey];
    const v = await docker(tls, ['version', '--format', '{{.Server.APIVersion}}']);
    assert.equal(v.stdout.trim(), '1.45', v.stderr);
    const run = await docker(tls, ['run', '--rm', '--network', 'none', 'bb', 'echo', 'over tls']);
    assert.equal(run.stdout, 'over tls\n', run.stderr);
  });

  it('refuses a client without a certificate', async () => {
    const r = await docker(['--tls', '--tlscacert', pki.caCert], ['version', '--format', '{{.Server.APIVersion}}']);
    assert.notEqual(r.code, 0);
    assert.doesNotMatch(r.stdout, /1\.45/);
  });

  it('refuses to listen on TCP without TLS', async () => {
    const r = await runCommand('unshare', ['--net', '--', process.execPath, BERTHD_BIN, '--data-root', join(work, 'plain-data'), '--exec-root', join(work, 'plain-exec'),
      '--config-file', join(work, 'none.json'), '--cgroup-parent', '/berth-tcp-plain', '-H', 'tcp://127.0.0.1:2377'], { timeoutMs: 30_000 });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /refusing to listen on tcp:\/\/127\.0\.0\.1:2377 without TLS/);
  });
});
