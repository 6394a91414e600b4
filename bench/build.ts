// Builds through the real docker CLI's classic builder (DOCKER_BUILDKIT=0): berthd beside a
// private Debian dockerd in the same run, the same project and busybox base for both — a cold
// build (--no-cache) and a rebuild with nothing changed (all cache hits), medians of RUNS.
// `node dist/bench/build.js [RUNS]`
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeBusyboxRootfs } from '../test/helpers/busybox.js';
import { startBerthd } from '../test/helpers/berthd.js';
import { haveDockerd, startDockerd } from '../test/helpers/dockerd.js';

const RUNS = Number(process.argv[2] ?? 5);
const work = mkdtempSync(join(tmpdir(), 'berth-bench-build-'));
makeBusyboxRootfs(join(work, 'rootfs'));
spawnSync('tar', ['-C', join(work, 'rootfs'), '-cf', join(work, 'rootfs.tar'), '.']);
const project = join(work, 'project');
mkdirSync(join(project, 'src'), { recursive: true });
for (let i = 0; i < 200; i++) writeFileSync(join(project, 'src', `f${i}.txt`), `${i}\n`.repeat(1000));
writeFileSync(join(project, 'Dockerfile'), `FROM bb
RUN mkdir -p /app && echo one > /app/one
COPY src/ /app/src/
RUN find /app -type f | wc -l > /app/count
ENV MODE=prod
WORKDIR /app
LABEL bench=build
CMD ["cat", "/app/count"]
`);

const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function measure(host: string): { cold: number; cached: number } {
  const docker = (args: string[]) => {
    const r = spawnSync('docker', ['-H', host, ...args], { encoding: 'utf8', env: { ...process.env, DOCKER_BUILDKIT: '0' } });
    if (r.status !== 0) throw new Error(`docker ${args.join(' ')}: ${r.stderr}`);
  };
  docker(['import', join(work, 'rootfs.tar'), 'bb:latest']);
  docker(['build', '--network', 'none', '-t', 'bench', project]); // warm up
  const cold: number[] = [];
  const cached: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    let t0 = process.hrtime.bigint();
    docker(['build', '--network', 'none', '--no-cache', '-t', 'bench', project]);
    cold.push(ms(t0));
    t0 = process.hrtime.bigint();
    docker(['build', '--network', 'none', '-t', 'bench', project]);
    cached.push(ms(t0));
  }
  return { cold: median(cold), cached: median(cached) };
}

const d = await startBerthd();
let berth: { cold: number; cached: number };
try {
  berth = measure(d.host);
} finally {
  await d.stop();
}
let docker: { cold: number; cached: number } | undefined;
if (haveDockerd()) {
  const ref = await startDockerd();
  try {
    docker = measure(ref.host);
  } finally {
    await ref.stop();
  }
} else console.log('docker: dockerd not installed, berth figures only');
for (const [label, key] of [['cold build, 8 steps, 200 files (median)', 'cold'], ['rebuild, all cache hits (median)', 'cached']] as const) {
  const line = `${label}: berth ${berth[key].toFixed(0)} ms`;
  console.log(docker ? `${line}, docker ${docker[key].toFixed(0)} ms, berth/docker ${(berth[key] / docker[key]).toFixed(2)}` : line);
}
spawnSync('rm', ['-rf', work]);
