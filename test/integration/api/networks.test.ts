// Networking through the docker CLI against berthd (in its own network namespace, which plays the
// host): user networks with names resolved by the embedded DNS, isolation between networks,
// published ports on 127.0.0.1 and with -P, network connect, and all of it after a berthd crash.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeBusyboxRootfs } from '../../helpers/busybox.js';
import { startBerthd, type TestBerthd } from '../../helpers/berthd.js';
import { cleanupDir, waitFor } from '../../helpers/runtime.js';

const work = mkdtempSync(join(tmpdir(), 'berth-netcli-'));
const serve = (text: string) => ['sh', '-c', `mkdir -p /www && echo ${text} > /www/index.html && exec httpd -f -p 80 -h /www`];

describe('networks through the docker CLI', () => {
  let d: TestBerthd;
  const ok = async (...args: string[]) => {
    const r = await d.docker(args);
    assert.equal(r.code, 0, `docker ${args.join(' ')} exited ${r.code}: ${r.stderr}\n--- berthd log ---\n${d.log().slice(-2000)}`);
    return r.stdout.trim();
  };
  /**
   * A one-off client container's wget, bounded by busybox timeout (with --init: as PID 1, wget
   * would ignore the timeout's SIGTERM, as any PID 1 ignores signals it has no handler for).
   */
  const fetch = (network: string, url: string) => d.docker(['run', '--rm', '--init', '--network', network, 'bb', 'timeout', '3', 'wget', '-qO-', url]);

  before(async () => {
    d = await startBerthd();
    makeBusyboxRootfs(join(work, 'rootfs'));
    execFileSync('tar', ['-C', join(work, 'rootfs'), '-cf', join(work, 'rootfs.tar'), '.']);
    await ok('import', join(work, 'rootfs.tar'), 'bb:latest');
  });
  after(async () => {
    await d?.stop();
    cleanupDir(work);
  });

  it('resolves container names on a user network and isolates networks from each other', async () => {
    await ok('network', 'create', '--subnet', '10.77.1.0/24', 'front');
    await ok('network', 'create', '--subnet', '10.77.2.0/24', 'back');
    await ok('run', '-d', '--name', 'web', '--network', 'front', '--network-alias', 'www', 'bb', ...serve('hello-web'));
    await waitFor(async () => (await fetch('front', 'http://web/')).stdout === 'hello-web\n', 10_000);
    assert.equal((await fetch('front', 'http://www/')).stdout, 'hello-web\n', 'by alias');
    const ip = await ok('inspect', '-f', '{{.NetworkSettings.Networks.front.IPAddress}}', 'web');
    assert.match(ip, /^10\.77\.1\.\d+$/);
    const blocked = await fetch('back', `http://${ip}/`);
    assert.notEqual(blocked.code, 0, 'another network cannot reach it');
    assert.match(await ok('network', 'inspect', '-f', '{{range .Containers}}{{.Name}} {{end}}', 'front'), /web/);
    const inUse = await d.docker(['network', 'rm', 'front']);
    assert.notEqual(inUse.code, 0);
    assert.match(inUse.stderr, /has active endpoints/);
  });

  it('publishes ports on the host (127.0.0.1, -P) and shows them in port and ps', async () => {
    await ok('run', '-d', '--name', 'pub', '-p', '8080:80', 'bb', ...serve('published'));
    await waitFor(async () => (await d.inHostNetns(['busybox', 'timeout', '3', 'busybox', 'wget', '-qO-', 'http://127.0.0.1:8080/'])).stdout === 'published\n', 10_000);
    assert.equal(await ok('port', 'pub'), '80/tcp -> 0.0.0.0:8080\n80/tcp -> [::]:8080', 'as Docker: IPv4 and IPv6');
    assert.equal(await ok('inspect', '-f', '{{json .NetworkSettings.Ports}}', 'pub'), '{"80/tcp":[{"HostIp":"0.0.0.0","HostPort":"8080"},{"HostIp":"::","HostPort":"8080"}]}');
    assert.equal(await ok('ps', '--filter', 'name=pub', '--format', '{{.Ports}}'), '0.0.0.0:8080->80/tcp, [::]:8080->80/tcp');
    assert.equal((await d.inHostNetns(['busybox', 'timeout', '3', 'busybox', 'wget', '-qO-', 'http://[::1]:8080/'])).stdout, 'published\n', 'over IPv6');
    await ok('run', '-d', '--name', 'pub6', '-p', '[::1]:8081:80', 'bb', ...serve('six'));
    assert.equal(await ok('port', 'pub6'), '80/tcp -> [::1]:8081');
    await waitFor(async () => (await d.inHostNetns(['busybox', 'timeout', '3', 'busybox', 'wget', '-qO-', 'http://[::1]:8081/'])).stdout === 'six\n', 10_000);
    const taken = await d.docker(['run', '-d', '-p', '8080:80', 'bb', 'sleep', '100']);
    assert.notEqual(taken.code, 0);
    assert.match(taken.stderr, /port is already allocated/);
    await ok('run', '-d', '--name', 'any', '--expose', '80', '-P', 'bb', ...serve('ephemeral'));
    const port = (await ok('port', 'any', '80')).split(':').pop()!;
    assert.ok(Number(port) >= 1024, port);
    await waitFor(async () => (await d.inHostNetns(['busybox', 'timeout', '3', 'busybox', 'wget', '-qO-', `http://127.0.0.1:${port}/`])).stdout === 'ephemeral\n', 10_000);
  });

  it('connects a running container to another network', async () => {
    await ok('run', '-d', '--name', 'client', '--network', 'back', 'bb', 'sleep', '1000');
    assert.notEqual((await d.docker(['exec', 'client', 'timeout', '3', 'wget', '-qO-', 'http://web/'])).code, 0);
    await ok('network', 'connect', 'front', 'client');
    assert.equal(await ok('exec', 'client', 'timeout', '3', 'wget', '-qO-', 'http://web/'), 'hello-web');
    await ok('network', 'disconnect', 'front', 'client');
    assert.notEqual((await d.docker(['exec', 'client', 'timeout', '3', 'wget', '-qO-', 'http://web/'])).code, 0);
  });

  it('keeps names, ports and addresses across a berthd crash; a new container gets a fresh address', async () => {
    const before = await ok('inspect', '-f', '{{.NetworkSettings.Networks.front.IPAddress}}', 'web');
    await d.restart('kill');
    await waitFor(async () => (await fetch('front', 'http://web/')).stdout === 'hello-web\n', 10_000);
    assert.equal((await d.inHostNetns(['busybox', 'timeout', '3', 'busybox', 'wget', '-qO-', 'http://127.0.0.1:8080/'])).stdout, 'published\n');
    assert.equal((await d.inHostNetns(['busybox', 'timeout', '3', 'busybox', 'wget', '-qO-', 'http://[::1]:8080/'])).stdout, 'published\n', 'the IPv6 listener is back');
    assert.equal((await d.inHostNetns(['busybox', 'timeout', '3', 'busybox', 'wget', '-qO-', 'http://[::1]:8081/'])).stdout, 'six\n');
    await ok('rm', '-f', 'pub6');
    assert.notEqual((await d.inHostNetns(['busybox', 'timeout', '3', 'busybox', 'wget', '-qO-', 'http://[::1]:8081/'])).code, 0, 'closed with its container');
    await ok('run', '-d', '--name', 'late', '--network', 'front', 'bb', 'sleep', '1000');
    const late = await ok('inspect', '-f', '{{.NetworkSettings.Networks.front.IPAddress}}', 'late');
    assert.notEqual(late, before);
    await ok('rm', '-f', 'web', 'late', 'client', 'pub', 'any');
    await ok('network', 'rm', 'front', 'back');
    assert.equal(await ok('network', 'ls', '--format', '{{.Name}}').then((s) => s.split('\n').sort().join(',')), 'bridge,host,none');
  });
});
