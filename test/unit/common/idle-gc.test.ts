// The idle collector: garbage left by a burst is collected once the event loop goes quiet, and
// the young generation, grown by the burst, is shrunk by the second collection.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { getHeapSpaceStatistics } from 'node:v8';
import { collectWhenIdle } from '../../../src/common/idle-gc.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const newSpaceMb = () => getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')!.space_size / 1048576;

it('collects the garbage of a burst once idle, then shrinks the young generation', async () => {
  const afterCollection: number[] = [];
  const stop = collectWhenIdle({ checkMs: 200, growthBytes: 1 << 20, afterCollection: () => afterCollection.push(process.memoryUsage().heapUsed) });
  try {
    let garbage: Array<{ n: number; s: string }> | undefined = [];
    for (let i = 0; i < 400_000; i++) garbage.push({ n: i, s: `item ${i}` });
    garbage = undefined; // tens of MB of dead objects, and nothing allocating to collect them
    const before = process.memoryUsage().heapUsed;
    await sleep(1000);
    const after = process.memoryUsage().heapUsed;
    assert.ok(after < before - (10 << 20), `heap used ${(before / 1048576).toFixed(0)} MB before, ${(after / 1048576).toFixed(0)} MB after`);
    // The hook (berthd's malloc_trim) ran after the collection, on a later quiet check.
    assert.equal(afterCollection.length, 1);
    assert.ok(afterCollection[0]! < before - (10 << 20));
    await sleep(7000); // the second collection, once the 5 s allocation rate is low
    assert.ok(newSpaceMb() <= 2, `young generation ${newSpaceMb()} MB`);
    assert.equal(afterCollection.length, 2, 'the hook ran after the second collection too');
  } finally {
    stop();
  }
});
