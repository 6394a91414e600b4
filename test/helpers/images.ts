// An image service over fresh stores in a directory, and the layers of a test image made from
// busybox-static: a base, then a layer with a whiteout, an opaque directory, a hard link and a
// symlink, so every tar feature the layer code handles goes through pulls, pushes and archives.
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeBusyboxRootfs } from './busybox.js';
import { cleanupDir } from './runtime.js';
import { ImageService } from '../../src/engine/images/service.js';
import { LeaseStore } from '../../src/supervisor/content/leases.js';
import { ContentStore } from '../../src/supervisor/content/store.js';
import { ImageStore } from '../../src/supervisor/images/store.js';
import { OverlaySnapshotter } from '../../src/supervisor/snapshots/overlay.js';
import { RegistryClient } from '../../src/registry/client.js';
import { tarEntry, TAR_END } from '../../src/image/tar-writer.js';

export function makeImageService(root: string, extra: Partial<ConstructorParameters<typeof ImageService>[0]> = {}): ImageService {
  return new ImageService({
    content: new ContentStore(join(root, 'content')),
    leases: new LeaseStore(join(root, 'leases')),
    snapshotter: new OverlaySnapshotter(join(root, 'snapshots')),
    images: new ImageStore(join(root, 'images')),
    whiteouts: 'overlay',
    registry: new RegistryClient(),
    namespace: 'moby',
    ...extra,
  });
}

/** Uncompressed layer tars: busybox, then etc/motd, a whiteout of bin/vi, an opaque dir, links. */
export function testImageLayers(): Buffer[] {
  const dir = mkdtempSync(join(tmpdir(), 'berth-layers-'));
  try {
    makeBusyboxRootfs(join(dir, 'rootfs'));
    const base = execFileSync('tar', ['-C', join(dir, 'rootfs'), '--numeric-owner', '-cf', '-', '.'], { maxBuffer: 1 << 28 });
    const top = Buffer.concat([
      tarEntry({ name: 'etc/motd', type: 'file', mode: 0o644 }, Buffer.from('made by berth\n')),
      tarEntry({ name: 'etc/motd.link', type: 'link', linkname: 'etc/motd' }),
      tarEntry({ name: 'etc/issue', type: 'symlink', linkname: 'motd' }),
      tarEntry({ name: 'bin/.wh.vi', type: 'file' }),
      tarEntry({ name: 'home/', type: 'dir', mode: 0o755 }),
      tarEntry({ name: 'home/.wh..wh..opq', type: 'file' }),
      tarEntry({ name: 'home/user', type: 'file' }, Buffer.from('fresh\n')),
      TAR_END,
    ]);
    return [base, top];
  } finally {
    cleanupDir(dir);
  }
}
