// The daemon through the real docker CLI, berthd beside Docker (a daemon on the default socket,
// when one runs) in the same run, both driven by the same client with the same busybox image:
// `run --rm true`, 50 `run -d` one after another, 20 at once, `ps -a` with 200 containers, and
// memory (the daemon's RSS; per running container, the shim's and the daemon's growth).
// `node dist/bench/engine.js [RUNS]`
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeBusyboxRootfs } from '../test/helpers/busybox.js';
import { startBerthd } from '../test/helpers/berthd.js';
import { processesWhere } from '../test/helpers/runtime.js';

const RUNS = Number(process.argv[2] ?? 20);
const work = mkdtempSync(join(tmpdir(), 'berth-bench-engine-'));
makeBusyboxRootfs(join(work, 'rootfs'));
spawnSync('tar', ['-C', join(work, 'rootfs'), '-cf', join(work, 'rootfs.tar'), '.']);

const docker = (host: string, args: string[]) => {
  const r = spawnSync('docker', ['-H', host, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`docker ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
};
const dockerAsync = (host: string, args: string[]) => new Promise<void>((resolve, reject) => {
  const c = spawn('docker', ['-H', host, ...args], { stdio: 'ignore' });
  c.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`docker ${args.join(' ')}: exit ${code}`))));
});
const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const rssKb = (pid: number) => Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);

interface Figures {
  runRm: number;
  sequential50: number;
  concurrent20: number;
  ps200: number;
  daemonRssMb: number;
  perContainerMb: number;
}

async function measure(host: string, daemonPids: () => number[], isShim: (cmdline: string) => boolean): Promise<Figures> {
  const image = `bench-bb:${process.pid}`;
  docker(host, ['import', join(work, 'rootfs.tar'), image]);
  const run = (args: string[]) => docker(host, ['run', '--network', 'none', ...args]);
  run(['--rm', image, 'true']); // warm up
  const rm: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = process.hrtime.bigint();
    run(['--rm', image, 'true']);
    rm.push(ms(t0));
  }
  const daemonRss = () => daemonPids().reduce((s, p) => s + rssKb(p), 0);
  const before = daemonRss();
  const shimsBefore = processesWhere('cmdline', isShim).length;
  let t0 = process.hrtime.bigint();
  for (let i = 0; i < 50; i++) run(['-d', '--label', 'bench=1', image, 'sleep', '1000']);
  const sequential50 = ms(t0);
  t0 = process.hrtime.bigint();
  await Promise.all(Array.from({ length: 20 }, () => dockerAsync(host, ['run', '-d', '--network', 'none', '--label', 'bench=1', image, 'sleep', '1000'])));
  const concurrent20 = ms(t0);
  const shims = processesWhere('cmdline', isShim);
  const shimKb = shims.reduce((s, p) => s + rssKb(p), 0);
  const perContainerMb = (shimKb + (daemonRss() - before)) / 1024 / Math.max(1, shims.length - shimsBefore);
  for (let i = 0; i < 130; i++) docker(host, ['create', '--network', 'none', '--label', 'bench=1', image, 'true']);
  const ps: number[] = [];
  for (let i = 0; i < 5; i++) {
    t0 = process.hrtime.bigint();
    docker(host, ['ps', '-a', '--filter', 'label=bench=1']);
    ps.push(ms(t0));
  }
  const daemonRssMb = daemonRss() / 1024;
  const ids = docker(host, ['ps', '-aq', '--filter', 'label=bench=1']).split('\n').filter(Boolean);
  for (let i = 0; i < ids.length; i += 50) docker(host, ['rm', '-f', ...ids.slice(i, i + 50)]);
  docker(host, ['rmi', image]);
  return { runRm: median(rm), sequential50, concurrent20, ps200: median(ps), daemonRssMb, perContainerMb };
}

const rows: Array<[string, keyof Figures, string]> = [
  ['run --rm busybox true (median)', 'runRm', 'ms'],
  ['run -d × 50, one after another', 'sequential50', 'ms'],
  ['run -d × 20 at once', 'concurrent20', 'ms'],
  ['ps -a with 200 containers (median)', 'ps200', 'ms'],
  ['daemon RSS with 200 containers', 'daemonRssMb', 'MB'],
  ['memory per running container (shim + daemon growth)', 'perContainerMb', 'MB'],
];

const d = await startBerthd();
let berth: Figures;
try {
  berth = await measure(d.host, () => processesWhere('cmdline', (c) => c.includes('berthd.mjs') && c.includes(d.dir)), (c) => c.startsWith(`${join(process.cwd(), 'native/build/berth-shim')}`) && c.includes(d.dir));
} finally {
  await d.stop();
}
let reference: Figures | undefined;
if (spawnSync('docker', ['-H', 'unix:///var/run/docker.sock', 'info'], { stdio: 'ignore' }).status === 0) {
  // Docker's own daemons and shims: the ones on the default sockets, not a test's private ones.
  const system = (c: string) => !c.includes('--data-root') && !c.includes('--root\0');
  reference = await measure('unix:///var/run/docker.sock', () => processesWhere('cmdline', (c) => /^(dockerd|containerd)\0/.test(c) && system(c)), (c) => c.startsWith('/usr/bin/containerd-shim') && c.includes('/run/containerd/containerd.sock'));
} else console.log('docker: no daemon on /var/run/docker.sock (start containerd and dockerd to compare)');
for (const [label, key, unit] of rows) {
  const b = berth[key];
  const line = `${label}: berth ${b.toFixed(1)} ${unit}`;
  console.log(reference ? `${line}, docker ${reference[key].toFixed(1)} ${unit}, berth/docker ${(b / reference[key]).toFixed(2)}` : line);
}
spawnSync('rm', ['-rf', work]);
