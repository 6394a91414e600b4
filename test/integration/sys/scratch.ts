// A scratch directory for a sys test: whatever the test mounted below it is detached and the
// directory removed, even when the test fails.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unmountAll } from '../../../src/sys/mount.js';

export function withScratchDir(prefix: string, fn: (dir: string) => void): () => void {
  return () => {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    try {
      fn(dir);
    } finally {
      unmountAll(dir, { lazy: true });
      rmSync(dir, { recursive: true, force: true });
    }
  };
}
