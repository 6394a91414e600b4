// Appending through the thread pool: every byte lands in order (also past the batch size, and in
// chunks of every size), flush waits for the last write, and a failed write is reported.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WriteBehind } from '../../../src/common/write-behind.js';

describe('WriteBehind', () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-write-behind-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('writes every chunk in order, across many batches', async () => {
    const data = randomBytes(20 << 20);
    const path = join(dir, 'out');
    const fd = openSync(path, 'w');
    const out = new WriteBehind(fd);
    // Chunks of uneven sizes, from 1 byte to 3 MiB, as network reads and zlib output come.
    for (let off = 0, i = 0; off < data.length; i++) {
      const n = Math.min(data.length - off, [1, 511, 65536, 3 << 20, 100_000][i % 5]!);
      await out.push(data.subarray(off, off + n));
      off += n;
    }
    await out.flush();
    closeSync(fd);
    assert.equal(out.written, data.length);
    assert.ok(readFileSync(path).equals(data));
  });

  it('reports a write that failed, at the latest at flush', async () => {
    const fd = openSync(join(dir, 'ro'), 'w');
    closeSync(fd);
    const readOnly = openSync(join(dir, 'ro'), 'r');
    const out = new WriteBehind(readOnly);
    try {
      await assert.rejects((async () => {
        for (let i = 0; i < 4; i++) await out.push(Buffer.alloc(1 << 20));
        await out.flush();
      })(), /EBADF/);
    } finally {
      closeSync(readOnly);
    }
  });
});
