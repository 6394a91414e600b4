// `node dist/scripts/make-bundle.js DIR [ARGS...]`: writes an OCI bundle with a busybox rootfs
// (made offline from busybox-static) and runc's default config running ARGS, without a terminal.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeBusyboxRootfs } from '../test/helpers/busybox.js';
import { defaultSpec } from '../src/runtime/spec/default.js';

const [dir, ...args] = process.argv.slice(2);
if (!dir) {
  console.error('usage: make-bundle DIR [ARGS...]');
  process.exit(2);
}
mkdirSync(join(dir, 'rootfs'), { recursive: true });
makeBusyboxRootfs(join(dir, 'rootfs'));
const spec = defaultSpec();
spec.process!.terminal = false;
spec.process!.args = args.length ? args : ['sh'];
writeFileSync(join(dir, 'config.json'), JSON.stringify(spec, null, 2));
