// docker logs from the json-file log and its rotated files: the whole log in order, a tail read
// from the end across a rotation, since/until, stdout/stderr selection, a half-written last line.
import { after, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readLogs, type LogOptions } from '../../../src/engine/containers/logs.js';

const dir = mkdtempSync(join(tmpdir(), 'berth-logs-'));
const path = join(dir, 'c-json.log');
const entry = (i: number, stream = 'stdout') => `${JSON.stringify({ log: `line ${i}\n`, stream, time: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString() })}\n`;
// 0..49 in the oldest file, 50..99 in the next, 100..149 in the current one (stderr every 10th)
const lines = (from: number) => Array.from({ length: 50 }, (_, k) => entry(from + k, (from + k) % 10 === 0 ? 'stderr' : 'stdout')).join('');
writeFileSync(`${path}.2`, lines(0));
writeFileSync(`${path}.1`, lines(50));
writeFileSync(path, `${lines(100)}{"log":"half wri`);

async function read(o: Partial<LogOptions>): Promise<string[]> {
  const out: string[] = [];
  for await (const b of readLogs(path, { stdout: true, stderr: true, timestamps: false, follow: false, ...o }, true, async () => {})) out.push(b.toString().trim());
  return out;
}

describe('readLogs', () => {
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('reads every file in order, the half-written last line left out', async () => {
    const all = await read({});
    assert.equal(all.length, 150);
    assert.equal(all[0], 'line 0');
    assert.equal(all[149], 'line 149');
  });

  it('tails from the end, across rotated files', async () => {
    assert.deepEqual(await read({ tail: 3 }), ['line 147', 'line 148', 'line 149']);
    const t = await read({ tail: 60 });
    assert.equal(t.length, 60);
    assert.equal(t[0], 'line 90');
    assert.deepEqual(await read({ tail: 0 }), []);
    assert.equal((await read({ tail: 1000 })).length, 150);
  });

  it('selects streams and times, also with a tail', async () => {
    assert.deepEqual(await read({ stdout: false, tail: 2 }), ['line 130', 'line 140']);
    const since = Date.UTC(2026, 0, 1, 0, 2, 0) / 1000; // second 120
    const s = await read({ since });
    assert.equal(s[0], 'line 120');
    assert.equal(s.length, 30);
    assert.deepEqual(await read({ until: Date.UTC(2026, 0, 1, 0, 0, 1) / 1000 }), ['line 0', 'line 1']);
  });
});
