// Runs the compiled test suites with node's test runner: `unit`, `integration`, or both (default).
// Integration tests need root and the kernel features the README lists; they clean up after themselves.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const kinds = process.argv.slice(2).length ? process.argv.slice(2) : ['unit', 'integration'];
const files = [];
function walk(dir) {
  let names = [];
  try { names = readdirSync(dir); } catch { return; }
  for (const n of names.sort()) {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) walk(p);
    else if (n.endsWith('.test.js')) files.push(p);
  }
}
for (const kind of kinds) walk(join('dist', 'test', kind));
if (files.length === 0) {
  console.error(`no compiled tests under dist/test/{${kinds.join(',')}}: run npm run build first`);
  process.exit(1);
}
// Integration tests share the kernel (cgroups, mounts), so files run one at a time.
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=1', '--test-reporter=spec', ...files], { stdio: 'inherit' });
process.exit(r.status ?? 1);
