// Pull speed: a 5-layer image of about 100 MB from a local docker-registry, pulled by berth into
// fresh stores and by Docker (when a daemon is running here), in the same run; prints the ratio.
// `node dist/bench/pull.js [ROUNDS]`
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pushTestImage, startRegistry } from '../test/helpers/registry.js';
import { tarEntry, TAR_END } from '../src/image/tar-writer.js';
import { parseReference } from '../src/image/reference.js';
import { pullImage } from '../src/supervisor/images/pull.js';
import { ContentStore } from '../src/supervisor/content/store.js';
import { LeaseStore } from '../src/supervisor/content/leases.js';
import { OverlaySnapshotter } from '../src/supervisor/snapshots/overlay.js';
import { RegistryClient } from '../src/registry/client.js';

const ROUNDS = Number(process.argv[2] ?? 3);
const registry = await startRegistry();
const dir = mkdtempSync(join(tmpdir(), 'berth-bench-pull-'));
try {
  // Random bytes do not compress: each layer is ~20 MB on the wire and on disk.
  const layers = Array.from({ length: 5 }, (_, i) => Buffer.concat([tarEntry({ name: `data-${i}`, type: 'file' }, randomBytes(20 << 20)), TAR_END]));
  const image = await pushTestImage(registry.host, 'bench/big:1', layers);
  const time = async (fn: () => Promise<void> | void) => {
    const t0 = process.hrtime.bigint();
    await fn();
    return Number(process.hrtime.bigint() - t0) / 1e6;
  };
  const berth: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const root = join(dir, `berth-${r}`);
    berth.push(await time(async () => {
      await pullImage({
        content: new ContentStore(join(root, 'content')), leases: new LeaseStore(join(root, 'leases')),
        snapshotter: new OverlaySnapshotter(join(root, 'snapshots')), whiteouts: 'overlay', registry: new RegistryClient(),
      }, parseReference(image.name));
    }));
    rmSync(root, { recursive: true, force: true });
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  console.log(`berth pull of 5 × 20 MB layers: ${median(berth).toFixed(0)} ms (median of ${ROUNDS})`);
  const dockerUp = spawnSync('docker', ['info'], { stdio: 'ignore' }).status === 0;
  if (!dockerUp) {
    console.log('docker: no daemon running here (start containerd and dockerd to compare)');
  } else {
    const docker: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      spawnSync('docker', ['rmi', '-f', image.name], { stdio: 'ignore' });
      docker.push(await time(() => {
        const p = spawnSync('docker', ['pull', '-q', image.name], { encoding: 'utf8' });
        if (p.status !== 0) throw new Error(`docker pull: ${p.stderr}`);
      }));
    }
    spawnSync('docker', ['rmi', '-f', image.name], { stdio: 'ignore' });
    console.log(`docker pull of the same image: ${median(docker).toFixed(0)} ms (median of ${ROUNDS})`);
    console.log(`berth / docker: ${(median(berth) / median(docker)).toFixed(2)}`);
  }
} finally {
  await registry.stop();
  rmSync(dir, { recursive: true, force: true });
}
