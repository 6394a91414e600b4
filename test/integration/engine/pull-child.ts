// A process that pulls one image and prints its progress, for the test that kills it:
// `node pull-child.js STORE_ROOT IMAGE`.
import { join } from 'node:path';
import { LeaseStore } from '../../../src/supervisor/content/leases.js';
import { ContentStore } from '../../../src/supervisor/content/store.js';
import { OverlaySnapshotter } from '../../../src/supervisor/snapshots/overlay.js';
import { parseReference } from '../../../src/image/reference.js';
import { RegistryClient } from '../../../src/registry/client.js';
import { pullImage } from '../../../src/supervisor/images/pull.js';

const [root, image] = process.argv.slice(2) as [string, string];
await pullImage({
  content: new ContentStore(join(root, 'content')),
  leases: new LeaseStore(join(root, 'leases')),
  snapshotter: new OverlaySnapshotter(join(root, 'snapshots')),
  whiteouts: 'overlay',
  registry: new RegistryClient(),
}, parseReference(image), { onProgress: (p) => process.stdout.write(`${p.status}\n`) });
