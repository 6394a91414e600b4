// The built-in sandbox ("pause") image: one layer holding berth's static init binary as /pause,
// made on the node from the binary berth was built with, so a node runs pods without pulling
// anything. Its ID follows the binary's bytes (fixed times and owners), so it is made again only
// when berth's init changes. Another sandbox image can be configured; that one is pulled.
import { readFileSync } from 'node:fs';
import { digestOf } from '../common/digest.js';
import type { ImageConfig } from '../image/config.js';
import { TAR_END, tarEntry } from '../image/tar-writer.js';
import { storeLayerTar, withLease } from '../supervisor/images/layers.js';
import { configFor, writeImage } from '../supervisor/images/write-image.js';
import type { Supervisor } from '../supervisor/supervisor.js';
import { nativeBinaryPath } from '../sys/native.js';
import { PINNED_LABEL } from './images.js';

export const BUILTIN_SANDBOX_IMAGE = 'berth.local/pause:builtin';
export const PAUSE_PATH = '/pause';

const EPOCH = new Date(0);

function* layerTar(pause: Buffer): Generator<Buffer> {
  for (const dir of ['dev/', 'etc/', 'proc/', 'sys/']) yield tarEntry({ name: dir, type: 'dir', mode: 0o755, mtime: EPOCH });
  yield tarEntry({ name: PAUSE_PATH.slice(1), type: 'file', mode: 0o755, size: pause.length, mtime: EPOCH }, pause);
  yield TAR_END;
}

/** Makes (or refreshes) the built-in image in `ns` under `name`; returns nothing new if current. */
export async function ensureBuiltinSandboxImage(supervisor: Supervisor, ns: string, name = BUILTIN_SANDBOX_IMAGE): Promise<void> {
  const pause = readFileSync(nativeBinaryPath('berth-init', 'BERTH_INIT'));
  const content = supervisor.content(ns);
  const leases = supervisor.leases(ns);
  const snapshotter = supervisor.snapshotter(ns);
  await withLease(leases, { 'berth.cri': 'sandbox image' }, async (leaseId) => {
    const layer = await storeLayerTar({ content, leases }, (async function* () {
      yield* layerTar(pause);
    })(), leaseId);
    const config: ImageConfig = {
      architecture: 'amd64', os: 'linux', created: EPOCH.toISOString(),
      config: { Entrypoint: [PAUSE_PATH], Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], WorkingDir: '/' },
      rootfs: { type: 'layers', diff_ids: [] },
    } as ImageConfig;
    const configBytes = configFor(config, [layer]);
    const existing = supervisor.images.find(ns, name);
    const target = await writeImage({ content, leases, snapshotter, whiteouts: supervisor.snapshotterName === 'overlayfs' ? 'overlay' : 'remove' }, leaseId, configBytes, [layer]);
    if (existing?.target.digest === target.digest) return;
    const labels = { 'io.cri-containerd.image': 'managed', [PINNED_LABEL]: 'pinned' };
    supervisor.images.put(ns, { name, target, labels });
    supervisor.images.put(ns, { name: digestOf(configBytes), target, labels });
  });
}

