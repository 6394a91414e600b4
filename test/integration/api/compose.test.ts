// docker-compose (Debian's 1.29, through docker-py) against berthd, unchanged: a two-service
// project comes up with `up -d` (its own network, the client reaching the web service by name),
// then ps, logs, exec and down; a second project builds its image, waits for a healthy service
// (depends_on: condition), runs a one-off, follows logs and removes its volume. Skipped when
// docker-compose is not installed.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importBusyboxImage } from '../../helpers/busybox.js';
import { startBerthd, type TestBerthd } from '../../helpers/berthd.js';
import { cleanupDir, haveCommand, runCommand, waitFor } from '../../helpers/runtime.js';

const work = mkdtempSync(join(tmpdir(), 'berth-compose-'));
const project = join(work, 'shop');

describe('docker-compose against berthd', { skip: !haveCommand('docker-compose') && 'docker-compose not installed (apt-get install docker-compose)' }, () => {
  let d: TestBerthd;
  /** docker-compose in the project directory `dir`, killed after `timeoutMs`. */
  const composeIn = (dir: string, args: string[], timeoutMs = 90_000) =>
    runCommand('sh', ['-c', `cd ${dir} && DOCKER_HOST=${d.host} docker-compose ${args.map((a) => `'${a}'`).join(' ')}`], { timeoutMs });
  const composeOk = async (dir: string, args: string[]) => {
    const r = await composeIn(dir, args);
    assert.equal(r.code, 0, `docker-compose ${args.join(' ')}: ${r.stderr}\n--- berthd ---\n${d.log().slice(-1500)}`);
    return r.stdout;
  };
  const compose = (...args: string[]) => composeOk(project, args);

  before(async () => {
    d = await startBerthd();
    await importBusyboxImage(d, work);
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

  it('builds, waits for a healthy service, runs one-offs, follows logs, and removes volumes', async () => {
    const app = join(work, 'app');
    mkdirSync(join(app, 'web'), { recursive: true });
    writeFileSync(join(app, 'web', 'Dockerfile'), ['FROM bb:latest', 'ARG GREETING', 'RUN mkdir -p /www && echo $GREETING > /www/index.html', 'CMD ["httpd", "-f", "-p", "80", "-h", "/www"]', ''].join('\n'));
    writeFileSync(join(app, 'docker-compose.yml'), [
      'services:',
      '  web:',
      '    build: { context: ./web, args: { GREETING: hello-build } }',
      '    image: app-web:dev',
      '    volumes: ["data:/data"]',
      '    healthcheck: { test: ["CMD", "wget", "-qO-", "http://127.0.0.1/"], interval: 1s, retries: 10 }',
      '  client:',
      '    image: bb:latest',
      '    command: ["sh", "-c", "wget -qO- http://web/ && exec sleep 1000"]',
      '    depends_on: { web: { condition: service_healthy } }',
      'volumes:',
      '  data: {}',
      '',
    ].join('\n'));
    const okIn = (...args: string[]) => composeOk(app, args);
    await okIn('up', '-d');
    assert.equal(await d.docker(['inspect', '-f', '{{.State.Health.Status}}', 'app_web_1']).then((r) => r.stdout.trim()), 'healthy', 'client started only once web was healthy');
    assert.equal((await okIn('run', '--rm', 'client', 'wget', '-qO-', 'http://web/')).trim(), 'hello-build');
    // Follows the logs of the project's containers; the one-off removed above must not trip it.
    const follow = await composeIn(app, ['logs', '-f', '--no-color', 'client'], 4000);
    assert.doesNotMatch(follow.stderr, /Traceback/);
    assert.match(follow.stdout, /hello-build/);
    await okIn('down', '-v');
    assert.doesNotMatch((await d.docker(['volume', 'ls', '--format', '{{.Name}}'])).stdout, /app_data/);
  });
});
