// Fails when a file under src/ imports a higher layer than its own (see ARCHITECTURE.md):
// imports run downward only, and nothing imports a front end (cli, api, cri, supervisor/grpc).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, dirname, resolve, relative, sep } from 'node:path';

const src = resolve('src');
// Which layers each layer may import besides itself. `common` is importable by all.
const allowed = {
  common: [],
  sys: ['common'],
  image: ['common', 'sys'],
  runtime: ['common', 'sys'],
  registry: ['common', 'sys', 'image'],
  supervisor: ['common', 'sys', 'runtime', 'image'],
  network: ['common', 'sys'],
  volume: ['common', 'sys'],
  build: ['common', 'sys', 'supervisor', 'runtime', 'image'],
  engine: ['common', 'sys', 'supervisor', 'runtime', 'image', 'registry', 'build', 'network', 'volume'],
  api: ['common', 'sys', 'engine', 'supervisor', 'runtime', 'image', 'registry', 'build', 'network', 'volume'],
  cri: ['common', 'sys', 'supervisor', 'runtime', 'image', 'registry', 'network'],
  'supervisor/grpc': ['common', 'sys', 'supervisor', 'runtime', 'image'],
  client: ['common'],
  cli: ['common', 'client'],
};

function layerOf(file) {
  const parts = relative(src, file).split(sep);
  if (parts[0] === 'supervisor' && parts[1] === 'grpc') return 'supervisor/grpc';
  return parts.length > 1 ? parts[0] : undefined;
}
function walk(dir, out = []) {
  for (const n of readdirSync(dir)) {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (n.endsWith('.ts')) out.push(p);
  }
  return out;
}

const problems = [];
for (const file of walk(src)) {
  const from = layerOf(file);
  if (from === undefined) continue;
  if (!(from in allowed)) { problems.push(`${relative('.', file)}: folder src/${from} is not a layer of ARCHITECTURE.md`); continue; }
  const text = readFileSync(file, 'utf8');
  for (const m of text.matchAll(/(?:from\s+|import\s*\(\s*)['"](\.{1,2}\/[^'"]+)['"]/g)) {
    const to = layerOf(resolve(dirname(file), m[1]));
    if (to === undefined || to === from) continue;
    if (!allowed[from].includes(to)) problems.push(`${relative('.', file)} imports ${m[1]}: layer ${from} may not import ${to}`);
  }
}
if (problems.length) {
  console.error(`layer check failed:\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log('layer check: ok');
