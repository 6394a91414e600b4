// sys/new-netns.ts: a new network namespace made by berthd's own thread, which must come back to
// its own namespace whatever happens.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readlinkSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { withScratchDir } from './scratch.js';
import { bindNewNetworkNamespace } from '../../../src/sys/new-netns.js';

const ownNetns = () => readlinkSync('/proc/thread-self/ns/net');
/** `ip -o link show lo` run inside the namespace file. */
const loopbackIn = (file: string) => spawnSync('nsenter', [`--net=${file}`, 'ip', '-o', 'link', 'show', 'lo'], { encoding: 'utf8' }).stdout;


test('makes a namespace of its own, with lo up or down as asked, and stays in its own', withScratchDir('berth-test-netns-', (dir) => {
  const before = ownNetns();
  const up = join(dir, 'up');
  const down = join(dir, 'down');
  writeFileSync(up, '');
  writeFileSync(down, '');
  bindNewNetworkNamespace(up, { loopbackUp: true });
  bindNewNetworkNamespace(down, { loopbackUp: false });
  assert.equal(ownNetns(), before, 'the thread is back in its namespace');
  const ino = (p: string) => statSync(p).ino;
  assert.notEqual(ino(up), ino('/proc/self/ns/net'));
  assert.notEqual(ino(up), ino(down));
  assert.match(loopbackIn(up), /<LOOPBACK,UP,LOWER_UP>/);
  assert.doesNotMatch(loopbackIn(down), /UP/);
  // Only lo is there: nothing of the host's interfaces.
  assert.equal(spawnSync('nsenter', [`--net=${up}`, 'ip', '-o', 'link'], { encoding: 'utf8' }).stdout.trim().split('\n').length, 1);
}));

test('a failure on the way comes back to its own namespace and says why', withScratchDir('berth-test-netns-', (dir) => {
  const before = ownNetns();
  assert.throws(() => bindNewNetworkNamespace(join(dir, 'missing'), { loopbackUp: true }), /bind the network namespace on .*missing: No such file or directory/);
  assert.equal(ownNetns(), before);
}));
