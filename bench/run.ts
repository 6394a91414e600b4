// One table: each figure for berth, Docker and Podman (each when installed) measured in this run
// on the same inputs (networking through bench/network.ts; containerd's API for berth's
// supervisor and Docker's containerd, through bench/ctr.ts; the CRI for berth and containerd's CRI
// plugin, through bench/cri.ts), and berth's ratio to the best of the others (< 1: berth is better; for
// throughputs the ratio is theirs/berth, so < 1 still means berth is better).
// `node dist/bench/run.js [RUNS]` — berthd and a private Debian dockerd are started here; Podman
// runs daemonless with its own root (and the ulimits this machine needs).
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeBusyboxRootfs } from '../test/helpers/busybox.js';
import { startBerthd } from '../test/helpers/berthd.js';
import { haveDockerd, startDockerd } from '../test/helpers/dockerd.js';
import { startRegistry } from '../test/helpers/registry.js';
import { haveCommand, processesWhere } from '../test/helpers/runtime.js';
import { TAR_END, tarEntry } from '../src/image/tar-writer.js';
import { mountPoints } from '../src/sys/mount.js';

const RUNS = Number(process.argv[2] ?? 10);
const work = mkdtempSync(join(tmpdir(), 'berth-bench-run-'));
const rootfs = join(work, 'rootfs');
makeBusyboxRootfs(rootfs);
spawnSync('tar', ['-C', rootfs, '-cf', join(work, 'bb.tar'), '.']);
// The pulled image: one layer of 100 MB of random bytes (it does not compress), and the project built.
const layerFile = join(work, 'layer.tar');
writeFileSync(layerFile, Buffer.concat([tarEntry({ name: 'payload.bin', type: 'file', mode: 0o644 }, randomBytes(100 << 20)), TAR_END]));
const project = join(work, 'project');
mkdirSync(join(project, 'src'), { recursive: true });
for (let i = 0; i < 200; i++) writeFileSync(join(project, 'src', `f${i}.txt`), `${i}\n`.repeat(1000));
writeFileSync(join(project, 'Dockerfile'), 'FROM bb\nRUN mkdir -p /app && echo one > /app/one\nCOPY src/ /app/src/\nRUN find /app -type f | wc -l > /app/count\nENV MODE=prod\nWORKDIR /app\nLABEL bench=build\nCMD ["cat", "/app/count"]\n');
const LOG_MB = 64;

const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const rssKb = (pid: number) => {
  try {
    return Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
};

/** One engine as the benchmark drives it: its CLI, and how to find its daemon and per-container processes. */
interface Engine {
  name: string;
  cli(args: string[], opts?: { env?: NodeJS.ProcessEnv }): string;
  cliAsync(args: string[]): Promise<void>;
  /** Flags every `run`/`create` gets. */
  runFlags: string[];
  daemonPids(): number[];
  /** The processes one running container adds (shim, conmon). */
  isContainerHelper(cmdline: string): boolean;
  /** A registry this engine reaches on its 127.0.0.1, holding the bench image. */
  pullRef: string;
  build(args: string[]): void;
}

type Figures = Record<string, number>;

function cliOf(argv0: string, base: string[]): Pick<Engine, 'cli' | 'cliAsync'> {
  return {
    cli(args, opts = {}) {
      const r = spawnSync(argv0, [...base, ...args], { encoding: 'utf8', maxBuffer: 1 << 26, env: { ...process.env, ...opts.env } });
      if (r.status !== 0) throw new Error(`${argv0} ${args.join(' ')}: ${r.stderr}`);
      return r.stdout.trim();
    },
    cliAsync: (args) => new Promise((resolve, reject) => {
      const c = spawn(argv0, [...base, ...args], { stdio: 'ignore' });
      c.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${argv0} ${args.join(' ')}: exit ${code}`))));
    }),
  };
}

async function measure(e: Engine): Promise<Figures> {
  const f: Figures = {};
  e.cli(['import', join(work, 'bb.tar'), 'bb:latest']);
  const run = (args: string[]) => e.cli(['run', ...e.runFlags, ...args]);
  run(['--rm', 'bb', 'true']);
  const rm: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = process.hrtime.bigint();
    run(['--rm', 'bb', 'true']);
    rm.push(ms(t0));
  }
  f.runRm = median(rm);

  const daemonRss = () => e.daemonPids().reduce((s, p) => s + rssKb(p), 0);
  const before = daemonRss();
  const helpersBefore = processesWhere('cmdline', e.isContainerHelper).length;
  let t0 = process.hrtime.bigint();
  for (let i = 0; i < 50; i++) run(['-d', '--label', 'bench=1', 'bb', 'sleep', '1000']);
  f.seq50 = ms(t0) / 1000;
  t0 = process.hrtime.bigint();
  await Promise.all(Array.from({ length: 20 }, () => e.cliAsync(['run', '-d', ...e.runFlags, '--label', 'bench=1', 'bb', 'sleep', '1000'])));
  f.conc20 = ms(t0) / 1000;
  const helpers = processesWhere('cmdline', e.isContainerHelper);
  const helperKb = helpers.reduce((s, p) => s + rssKb(p), 0);
  f.perContainerMb = (helperKb + (daemonRss() - before)) / 1024 / Math.max(1, helpers.length - helpersBefore);
  for (let i = 0; i < 130; i++) e.cli(['create', ...e.runFlags, '--label', 'bench=1', 'bb', 'true']);
  const ps: number[] = [];
  for (let i = 0; i < 5; i++) {
    t0 = process.hrtime.bigint();
    e.cli(['ps', '-a', '--filter', 'label=bench=1']);
    ps.push(ms(t0));
  }
  f.ps200 = median(ps);
  f.daemonRssMb = daemonRss() / 1024;
  const ids = e.cli(['ps', '-aq', '--filter', 'label=bench=1']).split('\n').filter(Boolean);
  for (let i = 0; i < ids.length; i += 50) e.cli(['rm', '-f', ...ids.slice(i, i + 50)]);

  const pulls: number[] = [];
  for (let i = 0; i < 3; i++) {
    t0 = process.hrtime.bigint();
    e.cli(['pull', '-q', e.pullRef]);
    pulls.push(ms(t0));
    e.cli(['rmi', e.pullRef]);
  }
  f.pull = median(pulls);

  e.build(['-t', 'bench', project]);
  const cold: number[] = [];
  const cached: number[] = [];
  for (let i = 0; i < 3; i++) {
    t0 = process.hrtime.bigint();
    e.build(['--no-cache', '-t', 'bench', project]);
    cold.push(ms(t0));
    t0 = process.hrtime.bigint();
    e.build(['-t', 'bench', project]);
    cached.push(ms(t0));
  }
  f.buildCold = median(cold);
  f.buildCached = median(cached);

  // Log throughput: one container writing LOG_MB of short lines to its json log.
  const logs: number[] = [];
  for (let i = 0; i < 3; i++) {
    t0 = process.hrtime.bigint();
    const id = run(['-d', 'bb', 'sh', '-c', `yes 'a log line of some fifty characters, as services write' | head -c ${LOG_MB * 1000000}`]);
    e.cli(['wait', id]);
    logs.push(LOG_MB / (ms(t0) / 1000));
    e.cli(['rm', id]);
  }
  f.logMBps = median(logs);
  return f;
}

/** The bench image in a registry on `netns`'s 127.0.0.1 (the host's without one), pushed from there. */
async function registryWithImage(netns?: string): Promise<{ ref: string; stop(): Promise<void> }> {
  const registry = await startRegistry({ netns });
  const helper = fileURLToPath(new URL('../test/helpers/registry.js', import.meta.url));
  const script = `import(${JSON.stringify(helper)}).then((m) => m.pushTestImage(${JSON.stringify(registry.host)}, 'bench/big:1', [require('fs').readFileSync(${JSON.stringify(layerFile)})]))`;
  const argv = [process.execPath, '-e', script];
  const r = netns ? spawnSync('nsenter', [`--net=${netns}`, '--', ...argv], { encoding: 'utf8' }) : spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`pushing the bench image: ${r.stderr}`);
  return { ref: `${registry.host}/bench/big:1`, stop: () => registry.stop() };
}

const results: Array<[string, Figures]> = [];
const shimPath = join(process.cwd(), 'native/build/berth-shim');

{
  const d = await startBerthd();
  const reg = await registryWithImage(join(d.dir, 'host.netns'));
  try {
    const cli = cliOf('docker', ['-H', d.host]);
    results.push(['berth', await measure({
      name: 'berth', ...cli, runFlags: ['--network', 'none'], pullRef: reg.ref,
      daemonPids: () => processesWhere('cmdline', (c) => c.includes('berthd.mjs') && c.includes(d.dir)),
      isContainerHelper: (c) => c.startsWith(shimPath) && c.includes(d.dir),
      build: (args) => void cli.cli(['build', '--network', 'none', ...args], { env: { DOCKER_BUILDKIT: '0' } }),
    })]);
  } finally {
    await reg.stop();
    await d.stop();
  }
}
if (haveDockerd()) {
  const d = await startDockerd();
  const reg = await registryWithImage();
  try {
    const cli = cliOf('docker', ['-H', d.host]);
    const dir = d.socket.slice(0, d.socket.lastIndexOf('/'));
    results.push(['docker', await measure({
      name: 'docker', ...cli, runFlags: ['--network', 'none'], pullRef: reg.ref,
      daemonPids: () => processesWhere('cmdline', (c) => /^(dockerd|containerd)\0/.test(c) && c.includes(dir)),
      isContainerHelper: (c) => c.startsWith('/usr/bin/containerd-shim') && c.includes(dir),
      build: (args) => void cli.cli(['build', '--network', 'none', ...args], { env: { DOCKER_BUILDKIT: '0' } }),
    })]);
  } finally {
    await reg.stop();
    await d.stop();
  }
} else console.log('docker: dockerd not installed (apt-get install docker.io containerd)');
if (haveCommand('podman')) {
  const root = join(work, 'podman');
  const reg = await registryWithImage();
  try {
    // This machine's root lacks CAP_SYS_RESOURCE: Podman's default rlimits cannot be set.
    // crun refuses this machine's hybrid cgroups: runc, as Docker uses.
    const base = ['--root', join(root, 'root'), '--runroot', join(root, 'run'), '--cgroup-manager', 'cgroupfs', '--events-backend', 'none', '--runtime', 'runc'];
    const cli = cliOf('podman', base);
    const ulimits = ['--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=4096:4096'];
    results.push(['podman', await measure({
      name: 'podman', ...cli, runFlags: ['--network', 'none', ...ulimits], pullRef: reg.ref,
      cli: (args, opts) => cli.cli(args[0] === 'pull' ? ['pull', '--tls-verify=false', ...args.slice(1)] : args, opts),
      daemonPids: () => [],
      isContainerHelper: (c) => c.startsWith('/usr/bin/conmon') && c.includes(root),
      build: (args) => void cli.cli(['build', '--network', 'none', ...ulimits, ...args]),
    })]);
    spawnSync('podman', [...base, 'system', 'reset', '-f'], { stdio: 'ignore' });
  } catch (err) {
    console.log(`podman: ${(err as Error).message}`);
  } finally {
    await reg.stop();
  }
} else console.log('podman: not installed (apt-get install podman)');

/** Merges the figures another bench script prints on its `BENCH_JSON {...}` line, by engine name. */
function mergeFiguresOf(script: string, args: string[]): void {
  const r = spawnSync(process.execPath, [fileURLToPath(new URL(script, import.meta.url)), ...args], { encoding: 'utf8', env: { ...process.env, BENCH_JSON: '1' } });
  const line = r.stdout.split('\n').find((l) => l.startsWith('BENCH_JSON '));
  if (!line) return void console.log(`${script}: ${r.stderr.trim().split('\n').pop()}`);
  const figures = JSON.parse(line.slice('BENCH_JSON '.length)) as Record<string, Figures | undefined>;
  for (const [name, f] of results) Object.assign(f, figures[name] ?? {});
}
// Networking from bench/network.ts (berthd, a private dockerd with its bridge, iptables and
// userland proxy, and Podman with CNI's bridge and portmap, each in a network namespace of its own).
mergeFiguresOf('./network.js', ['200', '5']);
// containerd's API from bench/ctr.ts: berthd --supervisor-only beside a private Debian containerd
// 1.6 (in the Docker column: it is Docker's supervisor), driven by the same ctr.
mergeFiguresOf('./ctr.js', [String(RUNS)]);
// The Kubernetes CRI from bench/cri.ts: berthd --supervisor-only beside a private Debian containerd
// 1.6 with its CRI plugin (in the Docker column), each with its own CNI bridge network.
mergeFiguresOf('./cri.js', [String(RUNS)]);

const rows: Array<[string, string, string, 'lower' | 'higher']> = [
  ['runRm', '`run --rm busybox true` (median)', 'ms', 'lower'],
  ['seq50', '`run -d` × 50, one after another', 's', 'lower'],
  ['conc20', '`run -d` × 20 at once', 's', 'lower'],
  ['ps200', '`ps -a` with 200 containers (median)', 'ms', 'lower'],
  ['pull', 'pull + extract, one 100 MB layer from a local registry (median)', 'ms', 'lower'],
  ['buildCold', 'cold build, 8 steps, 200 files (median)', 'ms', 'lower'],
  ['buildCached', 'rebuild, all cache hits (median)', 'ms', 'lower'],
  ['logMBps', `log throughput, ${LOG_MB} MB of short lines to the json log`, 'MB/s', 'higher'],
  ['setupMs', 'network set-up per container start (bridge minus none, median)', 'ms', 'lower'],
  ['c2cMBps', 'container → container over a user bridge (200 MB, httpd → wget)', 'MB/s', 'higher'],
  ['publishedMBps', 'host → published port on 127.0.0.1 (200 MB)', 'MB/s', 'higher'],
  ['published6MBps', 'host → published port on [::1] (200 MB; berth and Docker: userland proxy)', 'MB/s', 'higher'],
  ['ctrRunRm', '`ctr run --rm IMAGE id true` on the supervisor socket (Docker column: containerd 1.6; median)', 'ms', 'lower'],
  ['supervisorRssMb', 'supervisor RSS, `--supervisor-only` with the image, no containers (Docker column: containerd)', 'MB', 'lower'],
  ['criPodStart', 'CRI pod start: RunPodSandbox + CreateContainer + StartContainer, CNI bridge (Docker column: containerd 1.6 CRI; median)', 'ms', 'lower'],
  ['criPodTeardown', 'CRI pod teardown: StopPodSandbox + RemovePodSandbox (Docker column: containerd 1.6 CRI; median)', 'ms', 'lower'],
  ['criDaemonRssMb', 'CRI daemon RSS after a pod ran, none left (berthd --supervisor-only; Docker column: containerd)', 'MB', 'lower'],
  ['daemonRssMb', 'daemon RSS with 200 containers', 'MB', 'lower'],
  ['perContainerMb', 'memory per running container (shim/conmon + daemon growth)', 'MB', 'lower'],
];
const names = results.map(([n]) => n);
console.log(`\n${new Date().toISOString().slice(0, 10)}, ${spawnSync('nproc').stdout.toString().trim()} CPUs, \`node dist/bench/run.js ${RUNS}\`\n`);
console.log(`| figure | ${names.join(' | ')} | berth vs best other |`);
console.log(`|---|${names.map(() => '---').join('|')}|---|`);
for (const [key, label, unit, better] of rows) {
  const values = results.map(([, f]) => f[key]);
  const berth = values[0]!;
  const others = values.slice(1).filter((v): v is number => v !== undefined && v > 0);
  const best = others.length ? (better === 'lower' ? Math.min(...others) : Math.max(...others)) : undefined;
  const ratio = best === undefined ? '–' : (better === 'lower' ? berth / best : best / berth).toFixed(2);
  const cells = values.map((v) => (v === undefined || (key === 'daemonRssMb' && v === 0) ? '–' : `${v < 10 ? v.toFixed(2) : v.toFixed(0)} ${unit}`));
  console.log(`| ${label} | ${cells.join(' | ')} | ${ratio} |`);
}
// Podman leaves its storage's bind mount behind even after `system reset`.
for (const m of mountPoints().filter((p) => p.startsWith(work)).reverse()) spawnSync('umount', [m]);
rmSync(work, { recursive: true, force: true });
