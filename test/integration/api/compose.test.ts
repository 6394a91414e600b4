// docker-compose (Debian's 1.29, through docker-py) against berthd, unchanged: a two-service
// project comes up with `up -d` (its own network, the client reaching the web service by name),
// then ps, logs, exec and down. Skipped when docker-compose is not installed.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeBusyboxRootfs } from '../../helpers/busybox.js';
import { startBerthd, type TestBerthd } from '../../helpers/berthd.js';
import { cleanupDir, haveCommand, runCommand, waitFor } from '../../helpers/runtime.js';

const work = mkdtempSync(join(tmpdir(), 'berth-compose-'));
const project = join(work, 'shop');

describe('docker-compose against berthd', { skip: !haveCommand('docker-compose') && 'docker-compose not installed (apt-get install docker-compose)' }, () => {
  let d: TestBerthd;
  const compose = async (...args: string[]) => {
    const r = await runCommand('sh', ['-c', `cd ${project} && DOCKER_HOST=${d.host} docker-compose ${args.map((a) => `'${a}'`).join(' ')}`], { timeoutMs: 90_000 });
    assert.equal(r.code, 0, `docker-compose ${args.join(' ')}: ${r.stderr}\n--- berthd ---\n${d.log().slice(-1500)}`);
    return r.stdout;
  };

  before(async () => {
    d = await startBerthd();
    makeBusyboxRootfs(join(work, 'rootfs'));
    execFileSync('tar', ['-C', join(work, 'rootfs'), '-cf', join(work, 'rootfs.tar'), '.']);
    assert.equal((await d.docker(['import', join(work, 'rootfs.tar'), 'bb:latest'])).code, 0);
    mkdirSync(project);
    writeFileSync(join(project, 'docker-compose.yml'), [
      'version: "3.8"',
      'services:',
      '  web:',
      '    image: bb:latest',
      '    command: ["sh", "-c", "mkdir -p /www && echo hello-compose > /www/index.html && exec httpd -f -p 80 -h /www"]',
      '  client:',
      '    image: bb:latest',
      '    command: ["sh", "-c", "until wget -qO- http://web/; do sleep 0.2; done; exec sleep 1000"]',
      '    depends_on: [web]',
      '',
    ].join('\n'));
  });
  after(async () => {
    await d?.stop();
    cleanupDir(work);
  });

  it('brings the project up, lists it, shows logs, runs exec, and takes it down', async () => {
    await compose('up', '-d');
    const ps = await compose('ps');
    assert.match(ps, /shop_web_1 .* Up/);
    assert.match(ps, /shop_client_1 .* Up/);
    await waitFor(async () => (await compose('logs', '--no-color', 'client')).includes('hello-compose'), 15_000);
    assert.equal((await compose('exec', '-T', 'client', 'wget', '-qO-', 'http://web/')).trim(), 'hello-compose');
    await compose('down');
    assert.equal((await d.docker(['ps', '-aq'])).stdout.trim(), '');
    assert.doesNotMatch((await d.docker(['network', 'ls', '--format', '{{.Name}}'])).stdout, /shop_default/);
  });
});
