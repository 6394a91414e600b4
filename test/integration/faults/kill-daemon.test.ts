// berthd killed with SIGKILL in the middle of create, start, stop, rm, pull, volume removal and
// network connect, at several moments each: after the restart the state is consistent — every
// container in a settled state whose process matches it, and no mount, namespace file, shim,
// cgroup, veth or DNAT rule that no running container owns — and the same operation then succeeds. Also: a
// shim killed with SIGKILL leaves its container exited with a reason.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeBusyboxRootfs } from '../../helpers/busybox.js';
import { startBerthd, type TestBerthd } from '../../helpers/berthd.js';
import { startRegistry, type TestRegistry } from '../../helpers/registry.js';
import { cleanupDir, haveCommand, processesWhere, waitFor } from '../../helpers/runtime.js';

const work = mkdtempSync(join(tmpdir(), 'berth-faults-'));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** The moments after an operation's start at which the daemon is killed. */
const DELAYS = [0, 20, 60, 150];

interface Inspected {
  Id: string;
  State: { Status: string; Running: boolean; Pid: number };
  HostConfig: { NetworkMode: string };
  NetworkSettings: { Networks: Record<string, unknown> };
}

describe('berthd killed mid-operation', () => {
  let d: TestBerthd;
  let registry: TestRegistry | undefined;
  const ok = async (...args: string[]) => {
    const r = await d.docker(args, { timeoutMs: 60_000 });
    assert.equal(r.code, 0, `docker ${args.join(' ')} exited ${r.code}: ${r.stderr}\n--- berthd log ---\n${d.log().slice(-2000)}`);
    return r.stdout.trim();
  };
  /** Starts `docker args`, kills berthd `delay` ms later, restarts it; returns how the command ended. */
  const killDuring = async (args: string[], delay: number) => {
    const child = spawn('docker', ['-H', d.host, ...args], { stdio: 'ignore' });
    const ended = new Promise<number>((r) => child.once('exit', (code) => r(code ?? -1)));
    await sleep(delay);
    await d.restart('kill');
    return ended;
  };

  /** What no running container owns: the leftovers a crash must not leave. */
  const assertConsistent = async (when: string) => {
    const ids = (await ok('ps', '-aq', '--no-trunc')).split('\n').filter(Boolean);
    const all = ids.length ? (JSON.parse(await ok('inspect', ...ids)) as Inspected[]) : [];
    const running = new Set<string>();
    for (const c of all) {
      assert.ok(['created', 'running', 'exited', 'paused'].includes(c.State.Status), `${when}: ${c.Id.slice(0, 12)} is ${c.State.Status}`);
      if (c.State.Running) {
        assert.ok(c.State.Pid > 0 && existsSync(`/proc/${c.State.Pid}`), `${when}: ${c.Id.slice(0, 12)} runs with pid ${c.State.Pid}`);
        running.add(c.Id);
      } else assert.equal(c.State.Pid, 0, `${when}: ${c.Id.slice(0, 12)} (${c.State.Status}) has a pid`);
    }
    const owner = (path: string) => /\/([0-9a-f]{64})(?:\/|$)/.exec(path)?.[1];
    const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4]).filter((m): m is string => !!m && m.startsWith(d.dir) && m !== join(d.dir, 'host.netns') && m !== join(d.dir, 'exec', 'netns'));
    for (const m of mounts) assert.ok(running.has(owner(m) ?? ''), `${when}: ${m} is mounted, and no running container owns it`);
    const netns = join(d.dir, 'exec', 'netns');
    for (const f of existsSync(netns) ? readdirSync(netns) : []) assert.ok(running.has(f), `${when}: network namespace file ${f.slice(0, 12)} left`);
    const shims = processesWhere('cmdline', (c) => c.includes('berth-shim') && c.includes(d.dir) && !c.includes('--exec'));
    assert.equal(shims.length, running.size, `${when}: ${shims.length} shims for ${running.size} running containers`);
    for (const h of ['memory', 'pids', 'cpu,cpuacct']) {
      const dir = join('/sys/fs/cgroup', h, d.cgroupParent);
      for (const c of existsSync(dir) ? readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()) : []) {
        assert.ok(running.has(c.name), `${when}: cgroup ${h}${d.cgroupParent}/${c.name.slice(0, 12)} left`);
      }
    }
    // published ports: every DNAT rule leads to a running container's address
    const addresses = new Set(all.filter((c) => c.State.Running).flatMap((c) => Object.values(c.NetworkSettings.Networks).map((n) => (n as { IPAddress?: string }).IPAddress)));
    const ruleset = (await d.inHostNetns(['nft', 'list', 'ruleset'])).stdout;
    for (const [, ip] of ruleset.matchAll(/dnat to ([\d.]+):\d+/g)) assert.ok(addresses.has(ip), `${when}: a DNAT rule to ${ip}, which no running container has`);
    const veths = (await d.inHostNetns(['ip', '-o', 'link', 'show', 'type', 'veth'])).stdout.split('\n').filter(Boolean);
    const endpoints = all.filter((c) => c.State.Running && !['none', 'host'].includes(c.HostConfig.NetworkMode) && !c.HostConfig.NetworkMode.startsWith('container:'))
      .reduce((n, c) => n + Object.keys(c.NetworkSettings.Networks).length, 0);
    assert.ok(veths.length <= endpoints, `${when}: ${veths.length} veths for ${endpoints} endpoints of running containers`);
  };

  before(async () => {
    const rootfs = join(work, 'rootfs');
    makeBusyboxRootfs(rootfs);
    execFileSync('tar', ['-C', rootfs, '-cf', join(work, 'rootfs.tar'), '.']);
    writeFileSync(join(rootfs, 'payload.bin'), randomBytes(48 << 20));
    execFileSync('tar', ['-C', rootfs, '-cf', join(work, 'big.tar'), '.']);
    d = await startBerthd();
    await ok('import', join(work, 'rootfs.tar'), 'bb:latest');
  });
  after(async () => {
    await registry?.stop();
    await d?.stop();
    cleanupDir(work);
  });

  it('during create, start, stop and rm: consistent, and the operation then succeeds', async () => {
    for (const delay of DELAYS) {
      const name = `c${delay}`;
      await killDuring(['create', '--name', name, 'bb', 'sleep', '1000'], delay);
      await assertConsistent(`create +${delay} ms`);
      // --type container: the names are hex, so a bare `inspect` could match an image ID prefix
      if ((await d.docker(['inspect', '--type', 'container', name])).code !== 0) await ok('create', '--name', name, 'bb', 'sleep', '1000');

      await killDuring(['start', name], delay);
      await assertConsistent(`start +${delay} ms`);
      await ok('start', name);
      assert.equal(await ok('inspect', '-f', '{{.State.Running}}', name), 'true');

      await killDuring(['stop', '-t', '1', name], delay);
      await assertConsistent(`stop +${delay} ms`);
      await ok('stop', '-t', '1', name);
      assert.equal(await ok('inspect', '-f', '{{.State.Status}}', name), 'exited');

      await ok('start', name);
      await killDuring(['rm', '-f', name], delay);
      await assertConsistent(`rm +${delay} ms`);
      await ok('rm', '-f', name);
      assert.equal((await d.docker(['inspect', '--type', 'container', name])).code, 1, 'gone');
    }
  });

  it('during volume removal and network connect', async () => {
    for (const delay of DELAYS) {
      await ok('volume', 'create', `v${delay}`);
      await ok('run', '--rm', '--network', 'none', '-v', `v${delay}:/v`, 'bb', 'sh', '-c', 'echo data > /v/f');
      await killDuring(['volume', 'rm', `v${delay}`], delay);
      await assertConsistent(`volume rm +${delay} ms`);
      const left = await d.docker(['volume', 'inspect', `v${delay}`]);
      if (left.code === 0) {
        assert.equal(await ok('run', '--rm', '--network', 'none', '-v', `v${delay}:/v`, 'bb', 'cat', '/v/f'), 'data', 'a volume still listed still has its data');
        await ok('volume', 'rm', `v${delay}`);
      }
      await ok('network', 'create', `n${delay}`);
      const id = await ok('run', '-d', '--name', `web${delay}`, '-p', '127.0.0.1::80', 'bb', 'sleep', '1000');
      await killDuring(['network', 'connect', `n${delay}`, id], delay);
      await assertConsistent(`network connect +${delay} ms`);
      const connected = await ok('inspect', '-f', `{{if index .NetworkSettings.Networks "n${delay}"}}yes{{end}}`, id);
      if (connected !== 'yes') await ok('network', 'connect', `n${delay}`, id);
      assert.match(await ok('exec', id, 'ip', '-o', '-4', 'addr'), /eth1/, 'the second endpoint is there');
      await ok('rm', '-f', id);
      await ok('network', 'rm', `n${delay}`);
      await assertConsistent(`after network rm +${delay} ms`);
    }
  });

  it('during pull: no half image, and the pull then succeeds', { skip: haveCommand('docker-registry') ? false : 'docker-registry not installed' }, async () => {
    registry = await startRegistry({ netns: join(d.dir, 'host.netns') });
    const ref = `${registry.host}/faults/big:1`;
    await ok('import', join(work, 'big.tar'), ref);
    await ok('push', ref);
    for (const delay of [50, 200, 400]) {
      await ok('rmi', ref);
      await killDuring(['pull', ref], delay);
      await assertConsistent(`pull +${delay} ms`);
      const after = await d.docker(['image', 'inspect', ref]);
      if (after.code === 0) {
        // listed means complete: it runs, with its payload whole
        assert.equal(await ok('run', '--rm', '--network', 'none', ref, 'sh', '-c', 'wc -c < /payload.bin'), String(48 << 20));
      } else {
        await ok('pull', ref);
      }
      assert.equal(await ok('run', '--rm', '--network', 'none', ref, 'sh', '-c', 'wc -c < /payload.bin'), String(48 << 20));
    }
    const ingests = join(d.dir, 'data', 'content', 'ingest');
    await ok('image', 'prune', '-f');
    assert.deepEqual(existsSync(ingests) ? readdirSync(ingests) : [], [], 'no partial download left after a restart');
  });

  it('a shim killed with SIGKILL: its container is reported exited, with a reason', async () => {
    const id = await ok('run', '-d', '--network', 'none', 'bb', 'sleep', '1000');
    const [shim] = processesWhere('cmdline', (c) => c.includes('berth-shim') && c.includes(id));
    assert.ok(shim, 'the container\'s shim');
    process.kill(shim, 'SIGKILL');
    await waitFor(async () => (await ok('inspect', '-f', '{{.State.Status}}', id)) === 'exited', 15_000);
    assert.equal(await ok('inspect', '-f', '{{.State.ExitCode}}', id), '137');
    assert.match(await ok('inspect', '-f', '{{.State.Error}}', id), /shim/);
    await assertConsistent('after a shim was killed');
    await ok('start', id);
    assert.equal(await ok('inspect', '-f', '{{.State.Running}}', id), 'true', 'it starts again');
    await ok('rm', '-f', id);
  });
});
