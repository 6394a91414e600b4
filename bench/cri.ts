// The Kubernetes CRI (runtime.v1), berthd's beside Debian's containerd 1.6 with its CRI plugin, in
// the same run, driven by the same gRPC client: N times each, alternating between the two,
// "pod start" (RunPodSandbox + CreateContainer + StartContainer of busybox `sleep 3600`) and
// "teardown" (StopPodSandbox + RemovePodSandbox); medians, min/max, each step's median, the
// berth/containerd ratios, and each daemon's RSS.
// Both run as a node would: berthd --supervisor-only, containerd with its CRI plugin, each in a
// network namespace of its own with its own CNI network (bridge + host-local + portmap, own bridge,
// subnet and IPAM dir), the same busybox imported into k8s.io with ctr, and a sandbox image used
// offline: berth's built-in one, which is exported from berth and imported into containerd as its
// `sandbox_image`. Pods go under each daemon's own parent cgroup.
// `node dist/bench/cri.js [RUNS]`; with BENCH_JSON=1 it also prints one `BENCH_JSON {...}` line
// for bench/run.ts (containerd's figures under "docker": it is Docker's supervisor).
import { createHash } from 'node:crypto';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Message } from '../src/common/grpc/service-def.js';
import { startBerthd, supervisorSocket } from '../test/helpers/berthd.js';
import { makeBusyboxRootfs } from '../test/helpers/busybox.js';
import { HAVE_CONTAINERD, startContainerd } from '../test/helpers/containerd.js';
import { containerConfig, criClient, podConfig, type CriClient } from '../test/helpers/cri.js';
import { processesWhere, waitFor } from '../test/helpers/runtime.js';

const RUNS = Number(process.argv[2] ?? 20);
if (!Number.isInteger(RUNS) || RUNS < 1) throw new Error(`usage: node dist/bench/cri.js [RUNS] (a positive integer, not "${process.argv[2]}")`);
const SANDBOX_IMAGE = 'berth.local/pause:builtin';
const BUSYBOX_REF = 'docker.io/library/busybox:latest';
const STEPS = ['RunPodSandbox', 'CreateContainer', 'StartContainer', 'StopPodSandbox', 'RemovePodSandbox'] as const;
type Step = (typeof STEPS)[number];

const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const rssMb = (pids: number[]) => pids.reduce((s, pid) => {
  try {
    return s + Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  } catch {
    return s; // gone meanwhile
  }
}, 0) / 1024;

/** busybox as a `docker save` archive (manifest.json, config, one layer) that ctr imports on both sockets. */
function busyboxArchive(work: string): string {
  const dir = join(work, 'busybox');
  makeBusyboxRootfs(join(dir, 'rootfs'));
  const layer = execFileSync('tar', ['-C', join(dir, 'rootfs'), '--numeric-owner', '-cf', '-', '.'], { maxBuffer: 1 << 28 });
  writeFileSync(join(dir, 'layer.tar'), layer);
  const config = Buffer.from(JSON.stringify({
    architecture: 'amd64', os: 'linux',
    config: { Cmd: ['sh'], Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'] },
    rootfs: { type: 'layers', diff_ids: [`sha256:${createHash('sha256').update(layer).digest('hex')}`] },
  }));
  const configName = `${createHash('sha256').update(config).digest('hex')}.json`;
  writeFileSync(join(dir, configName), config);
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify([{ Config: configName, RepoTags: [BUSYBOX_REF], Layers: ['layer.tar'] }]));
  const archive = join(work, 'busybox.tar');
  execFileSync('tar', ['-C', dir, '-cf', archive, 'manifest.json', configName, 'layer.tar']);
  return archive;
}

/** A pod network like a node's: bridge (with masquerading), host-local IPAM, portmap; the loopback each daemon adds itself. */
function writeCniConfig(confDir: string, o: { name: string; bridge: string; subnet: string; dataDir: string }): void {
  mkdirSync(confDir, { recursive: true });
  writeFileSync(join(confDir, '10-bench.conflist'), JSON.stringify({
    cniVersion: '1.0.0', name: o.name,
    plugins: [
      { type: 'bridge', bridge: o.bridge, isGateway: true, ipMasq: true, hairpinMode: true, ipam: { type: 'host-local', ranges: [[{ subnet: o.subnet }]], routes: [{ dst: '0.0.0.0/0' }], dataDir: o.dataDir } },
      { type: 'portmap', capabilities: { portMappings: true } },
    ],
  }));
}

function ctr(socket: string, args: string[]): string {
  const r = spawnSync('ctr', ['--address', socket, '--namespace', 'k8s.io', ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ctr ${args.join(' ')} (${socket}): ${r.stderr}`);
  return r.stdout;
}

interface Target {
  name: string;
  socket: string;
  cri: CriClient;
  cgroupParent: string;
  logDir: string;
  /** The daemon's own processes (not its shims). */
  pids(): number[];
  steps: Record<Step, number[]>;
  start: number[];
  teardown: number[];
}

/** One pod with one container, started and torn down through the CRI; each step's time goes into `t.steps`. */
async function podCycle(t: Target, name: string): Promise<void> {
  const timed = async (step: Step, req: Message) => {
    const t0 = process.hrtime.bigint();
    const res = await t.cri.runtime(step, req);
    t.steps[step].push(ms(t0));
    return res;
  };
  const config = podConfig(name, t.logDir, { linux: { cgroup_parent: t.cgroupParent } });
  const t0 = process.hrtime.bigint();
  const { pod_sandbox_id: pod } = await timed('RunPodSandbox', { config });
  const { container_id: id } = await timed('CreateContainer', { pod_sandbox_id: pod, config: containerConfig('app', ['sleep', '3600']), sandbox_config: config });
  await timed('StartContainer', { container_id: id });
  t.start.push(ms(t0));
  const t1 = process.hrtime.bigint();
  await timed('StopPodSandbox', { pod_sandbox_id: pod });
  await timed('RemovePodSandbox', { pod_sandbox_id: pod });
  t.teardown.push(ms(t1));
}

/** Removes whatever pods are left (a failed run): CNI DEL releases their addresses and portmap rules. */
async function removeAllPods(cri: CriClient): Promise<void> {
  for (const p of (await cri.runtime('ListPodSandbox', {})).items as Array<{ id: string }>) {
    await cri.runtime('StopPodSandbox', { pod_sandbox_id: p.id }).catch(() => {});
    await cri.runtime('RemovePodSandbox', { pod_sandbox_id: p.id }).catch(() => {});
  }
}

const newTarget = (name: string, socket: string, cgroupParent: string, logDir: string, pids: () => number[]): Target => ({
  name, socket, cri: criClient(socket), cgroupParent, logDir, pids, start: [], teardown: [],
  steps: Object.fromEntries(STEPS.map((s) => [s, []])) as unknown as Record<Step, number[]>,
});

const work = mkdtempSync(join(tmpdir(), 'berth-bench-cri-'));
// info, as a node runs it and as containerd logs by default (the test helper asks for debug first)
const berthd = await startBerthd({ supervisorOnly: true, extraArgs: ['--log-level', 'info'] });
let containerd: Awaited<ReturnType<typeof startContainerd>> | undefined;
const targets: Target[] = [];
try {
  const busybox = busyboxArchive(work);
  writeCniConfig(join(berthd.dir, 'cni'), { name: 'bench-berth', bridge: 'bench-berth0', subnet: '10.233.1.0/24', dataDir: join(berthd.dir, 'cni-ipam') });
  const berth = newTarget('berth', supervisorSocket(berthd), berthd.cgroupParent, join(work, 'logs-berth'),
    () => processesWhere('cmdline', (c) => c.includes('berthd.mjs') && c.includes(berthd.dir)));
  targets.push(berth);
  // gzip layers, as a registry's: berth's image reader refuses the uncompressed Docker layer type
  // (application/vnd.docker.image.rootfs.diff.tar) that ctr's import of a docker-save archive makes
  ctr(berth.socket, ['images', 'import', '--compress-blobs', busybox]);
  // The first pod makes berth's built-in sandbox image; containerd gets a copy of it.
  await podCycle(berth, 'warm-up');
  const pause = join(work, 'pause.tar');
  ctr(berth.socket, ['images', 'export', pause, SANDBOX_IMAGE]);

  if (HAVE_CONTAINERD) {
    containerd = await startContainerd({ cri: { sandboxImage: SANDBOX_IMAGE } });
    const dir = containerd.socket.slice(0, containerd.socket.lastIndexOf('/'));
    writeCniConfig(containerd.cniConfDir, { name: 'bench-containerd', bridge: 'bench-ctrd0', subnet: '10.233.2.0/24', dataDir: join(dir, 'cni-ipam') });
    const theirs = newTarget('containerd', containerd.socket, containerd.cgroupParent, join(work, 'logs-containerd'),
      () => processesWhere('cmdline', (c) => c.startsWith('containerd\0') && c.includes(dir)));
    targets.push(theirs);
    ctr(theirs.socket, ['images', 'import', pause]);
    ctr(theirs.socket, ['images', 'import', '--compress-blobs', busybox]);
    // containerd loads the CNI configuration it finds in its directory after start-up
    await waitFor(async () => {
      const conditions = (await theirs.cri.runtime('Status', {})).status.conditions as Array<{ type: string; status: boolean }>;
      return conditions.every((c) => c.status);
    }, 15_000).catch(() => {
      throw new Error(`containerd's CRI not ready: ${containerd!.log().slice(-2000)}`);
    });
    await podCycle(theirs, 'warm-up');
  } else console.log('containerd: not installed (apt-get install containerd)');

  const rssIdle = Object.fromEntries(targets.map((t) => [t.name, rssMb(t.pids())]));
  for (const t of targets) {
    for (const list of [t.start, t.teardown, ...Object.values(t.steps)]) list.length = 0; // the warm-up does not count
  }
  // Alternating, so that whatever else the machine does weighs on both alike.
  for (let i = 0; i < RUNS; i++) {
    for (const t of targets) await podCycle(t, `pod-${i}`);
  }

  const range = (xs: number[]) => `${median(xs).toFixed(1)} ms (min ${Math.min(...xs).toFixed(1)}, max ${Math.max(...xs).toFixed(1)})`;
  console.log(`CRI pod start (RunPodSandbox + CreateContainer + StartContainer, busybox sleep 3600) and teardown (StopPodSandbox + RemovePodSandbox), ${RUNS} each, alternating:`);
  const figures: Record<string, Record<string, number>> = {};
  for (const t of targets) {
    const rss = rssMb(t.pids());
    figures[t.name === 'berth' ? 'berth' : 'docker'] = { criPodStart: median(t.start), criPodTeardown: median(t.teardown), criDaemonRssMb: rssIdle[t.name]! };
    console.log(`  ${t.name}: pod start ${range(t.start)}; teardown ${range(t.teardown)}`);
    console.log(`    steps (median ms): ${STEPS.map((s) => `${s} ${median(t.steps[s]).toFixed(1)}`).join(', ')}`);
    console.log(`    daemon RSS ${rssIdle[t.name]!.toFixed(1)} MB after a warm-up pod, ${rss.toFixed(1)} MB after the runs`);
  }
  const [b, c] = targets;
  if (c) {
    const ratio = (f: (t: Target) => number) => (f(b!) / f(c)).toFixed(2);
    console.log(`  berth / containerd: pod start ${ratio((t) => median(t.start))}, teardown ${ratio((t) => median(t.teardown))}, daemon RSS ${(rssIdle.berth! / rssIdle.containerd!).toFixed(2)}`);
    console.log(`    per step: ${STEPS.map((s) => `${s} ${ratio((t) => median(t.steps[s]))}`).join(', ')}`);
  }
  if (process.env.BENCH_JSON) console.log(`BENCH_JSON ${JSON.stringify(figures)}`);
} finally {
  for (const t of targets) {
    await removeAllPods(t.cri).catch(() => {});
    t.cri.close();
  }
  await containerd?.stop();
  await berthd.stop();
  rmSync(work, { recursive: true, force: true });
}
