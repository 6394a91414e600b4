import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TIMED_OUT, within } from '../../../src/common/deadline.js';

describe('within', () => {
  // within's timers are unref'd: something must keep the test process alive while they run.
  let alive: NodeJS.Timeout;
  before(() => { alive = setInterval(() => {}, 1000); });
  after(() => clearInterval(alive));

  it('gives the value when the promise settles first, TIMED_OUT when the deadline does', async () => {
    assert.equal(await within(Promise.resolve(7), 1000), 7);
    assert.equal(await within(new Promise(() => {}), 10), TIMED_OUT);
    assert.equal(await within(new Promise(() => {}), -5), TIMED_OUT);
  });

  it('waits through a deadline longer than one timer can hold, instead of ending at once', async () => {
    // Node fires a timer over 2^31-1 ms after 1 ms: a stop with t of a month once SIGKILLed at once.
    let settle!: (v: string) => void;
    const waiting = within(new Promise<string>((r) => { settle = r; }), 2 ** 31 + 5000);
    const early = await within(waiting, 100);
    assert.equal(early, TIMED_OUT, 'the long deadline must not have fired');
    settle('done');
    assert.equal(await waiting, 'done');
  });
});
