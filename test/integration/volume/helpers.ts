// A temp data root per test file, with everything mounted under it taken away on cleanup (also
// after a failed assertion), and the volume events a store emitted.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unmountAll } from '../../../src/sys/mount.js';
import { VolumeStore } from '../../../src/volume/store.js';

export interface Recorded {
  action: string;
  name: string;
  attributes: Record<string, string>;
}

export function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4]).filter((m): m is string => !!m && (m === dir || m.startsWith(`${dir}/`)));
}

export function tempRoot(prefix = 'berth-vol-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const cleanup = () => {
    for (const m of mountsUnder(dir).sort((a, b) => b.length - a.length)) {
      try {
        unmountAll(m);
      } catch {
        // gone with a parent
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };
  return { dir, cleanup };
}

export function recordingStore(root: string): { store: VolumeStore; events: Recorded[]; warnings: string[] } {
  const events: Recorded[] = [];
  const warnings: string[] = [];
  const store = new VolumeStore({ root, onEvent: (action, name, attributes) => events.push({ action, name, attributes }), warn: (m) => warnings.push(m) });
  return { store, events, warnings };
}

export const sha = (n: number): string => n.toString(16).padStart(64, 'c');
