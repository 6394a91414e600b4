// berthd --supervisor-only (what a Kubernetes node runs): no engine, so the supervisor re-adopts
// ctr's tasks itself after a kill -9. A task still running is RUNNING again and its exit is
// collected when it comes, with its output through the FIFOs ctr named (`ctr tasks attach`); one
// that ended while berthd was down is STOPPED with its own status.
import assert from 'node:assert/strict';
import { basename, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startBerthd, supervisorSocket, type TestBerthd } from '../../helpers/berthd.js';
import { cgroupsOf, ctrAt, HAVE_CTR, removeCtrFifos, rows, type Ctr } from '../../helpers/ctr.js';
import { testImageLayers } from '../../helpers/images.js';
import { pushTestImage, startRegistry, type PushedImage, type TestRegistry } from '../../helpers/registry.js';
import { removeCgroupDir, waitFor } from '../../helpers/runtime.js';

const skip = !HAVE_CTR && 'ctr not installed (apt-get install containerd)';
const NS = `sonly-${process.pid}`;
const IDS = ['long', 'short'];

describe('berthd --supervisor-only across a kill -9', { skip }, () => {
  const started = Date.now() - 1000;
  let d: TestBerthd;
  let registry: TestRegistry;
  let image: PushedImage;
  let ctr: Ctr;
  const status = async (id: string) => rows(await ctr.ok(['tasks', 'ls'], { ns: NS })).find(([t]) => t === id)?.[2];

  before(async () => {
    d = await startBerthd({ supervisorOnly: true });
    ctr = ctrAt(supervisorSocket(d), () => `\n--- berthd ---\n${d.log().slice(-3000)}`);
    registry = await startRegistry();
    image = await pushTestImage(registry.host, 'library/busybox:latest', testImageLayers());
    await ctr.ok(['images', 'pull', '--plain-http', image.name], { ns: NS, timeoutMs: 120_000 });
  });

  after(async () => {
    for (const [id] of rows((await ctr.run(['tasks', 'ls'], { ns: NS })).stdout)) await ctr.run(['tasks', 'rm', '-f', id!], { ns: NS });
    for (const [id] of rows((await ctr.run(['containers', 'ls'], { ns: NS })).stdout)) await ctr.run(['containers', 'rm', id!], { ns: NS });
    await registry?.stop();
    await d?.stop();
    removeCtrFifos(IDS, started);
    for (const c of cgroupsOf(NS)) removeCgroupDir(join(NS, basename(c)));
    removeCgroupDir(NS);
  });

  it('re-adopts running tasks and collects their output and exit status', async () => {
    // `ctr run -d` copies output until it exits: the tasks wait a moment before they write.
    await ctr.ok(['run', '-d', image.name, 'long', 'sh', '-c', 'sleep 0.5; echo before; sleep 4; echo after; exit 6'], { ns: NS });
    await ctr.ok(['run', '-d', image.name, 'short', 'sh', '-c', 'sleep 0.5; echo short; exit 5'], { ns: NS });
    await d.restart('kill');
    assert.match(d.log(), /supervisor API only/);
    assert.equal(await status('long'), 'RUNNING', 'the task that still runs');
    await waitFor(async () => (await status('short')) === 'STOPPED', 10_000);

    // attach reopens the task's FIFOs, prints what the task wrote, waits for its exit and removes it.
    const long = await ctr.run(['tasks', 'attach', 'long'], { ns: NS, timeoutMs: 20_000 });
    assert.equal(long.stdout, 'before\nafter\n', long.stderr);
    assert.equal(long.code, 6, 'its exit status, collected after the restart');
    const short = await ctr.run(['tasks', 'attach', 'short'], { ns: NS, timeoutMs: 20_000 });
    // Only its status: berth-shim ends a second after its process, and bytes nobody read from the
    // FIFOs go with it (containerd's shim stays until the task is deleted, and keeps them).
    assert.equal(short.code, 5, `the status of an exit while berthd was down: ${short.stderr}`);
    assert.deepEqual(rows(await ctr.ok(['tasks', 'ls'], { ns: NS })), []);
    for (const id of IDS) await ctr.ok(['containers', 'rm', id], { ns: NS });
  });
});
