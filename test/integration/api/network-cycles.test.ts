// 100 create/start/rm cycles on a user network through the docker CLI (half of them with a
// published port) leave nothing behind: no veth, no network namespace file, no nftables rule, no
// IPAM allocation, no endpoint.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeBusyboxRootfs } from '../../helpers/busybox.js';
import { startBerthd, type TestBerthd } from '../../helpers/berthd.js';
import { cleanupDir } from '../../helpers/runtime.js';

const work = mkdtempSync(join(tmpdir(), 'berth-netcycles-'));

describe('network cycles leave nothing behind', () => {
  let d: TestBerthd;
  const ok = async (...args: string[]) => {
    const r = await d.docker(args);
    assert.equal(r.code, 0, `docker ${args.join(' ')}: ${r.stderr}`);
    return r.stdout.trim();
  };
  /** What berth has in the kernel and on disk: veths, namespace files, rules, allocations. */
  const footprint = async () => {
    const links = (await d.inHostNetns(['ip', '-o', 'link', 'show', 'type', 'veth'])).stdout.split('\n').filter(Boolean).length;
    const rules = (await d.inHostNetns(['nft', 'list', 'ruleset'])).stdout.split('\n').filter((l) => /dnat|masquerade|accept|drop/.test(l)).length;
    let netns: string[] = [];
    try {
      netns = readdirSync(join(d.dir, 'exec', 'netns'));
    } catch {
      // none made yet
    }
    const state = JSON.parse(readFileSync(join(d.dir, 'data', 'network', 'networks.json'), 'utf8')) as { networks: Array<{ name: string; ipam: { allocated: Record<string, string> }; endpoints: Record<string, unknown> }>; ports: Record<string, unknown> };
    const cyc = state.networks.find((n) => n.name === 'cycles')!;
    return { links, rules, netns: netns.length, allocated: Object.keys(cyc.ipam.allocated).length, endpoints: Object.keys(cyc.endpoints).length, ports: Object.keys(state.ports).length };
  };

  before(async () => {
    d = await startBerthd();
    makeBusyboxRootfs(join(work, 'rootfs'));
    execFileSync('tar', ['-C', join(work, 'rootfs'), '-cf', join(work, 'rootfs.tar'), '.']);
    await ok('import', join(work, 'rootfs.tar'), 'bb:latest');
    await ok('network', 'create', 'cycles');
  });
  after(async () => {
    await d?.stop();
    cleanupDir(work);
  });

  it('100 create/start/rm cycles', async () => {
    const baseline = await footprint();
    for (let i = 0; i < 100; i++) {
      const args = ['run', '-d', '--network', 'cycles', ...(i % 2 ? ['-p', '18080:80'] : []), 'bb', 'sleep', '1000'];
      const id = await ok(...args);
      await ok('rm', '-f', id);
    }
    assert.deepEqual(await footprint(), baseline);
    assert.equal(await ok('network', 'inspect', '-f', '{{len .Containers}}', 'cycles'), '0');
  });
});
