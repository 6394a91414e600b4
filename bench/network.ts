// Networking, berthd beside Docker (a private dockerd with its usual bridge and iptables, in a
// network namespace of its own, as berthd's is) and Podman (CNI's bridge, portmap and firewall
// plugins, in namespaces of its own: bench/podman.ts), each when installed, in the same run,
// through the docker CLI (podman's own for Podman) with the same busybox image: network set-up
// time per container start (bridge minus none), and throughput container→container over a user
// bridge network and host→published port, each fetching an MB-megabyte file from busybox httpd
// (on a tmpfs) with busybox wget, by the server's IP address (Podman's CNI here has no DNS
// plugin); the client container's own start is in the container→container time. The published
// port is fetched on 127.0.0.1 (berth: kernel DNAT) and on [::1] (berth and Docker: a userland
// proxy to the container's IPv4 address; missing where an engine does not publish on IPv6).
// `node dist/bench/network.js [MB] [RUNS]`
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeBusyboxRootfs } from '../test/helpers/busybox.js';
import { startBerthd } from '../test/helpers/berthd.js';
import { haveDockerd, startDockerd } from '../test/helpers/dockerd.js';
import { havePodman, startPodman } from './podman.js';
import type { Result } from '../test/helpers/runtime.js';

const MB = Number(process.argv[2] ?? 500);
const RUNS = Number(process.argv[3] ?? 10);
const work = mkdtempSync(join(tmpdir(), 'berth-bench-net-'));
makeBusyboxRootfs(join(work, 'rootfs'));
execFileSync('tar', ['-C', join(work, 'rootfs'), '-cf', join(work, 'rootfs.tar'), '.']);

interface Daemon {
  docker(args: string[], opts?: { timeoutMs?: number }): Promise<Result>;
  inHostNetns(cmd: string[]): Promise<Result>;
}
interface Figures {
  setupMs: number;
  c2cMBps: number;
  publishedMBps: number;
  /** Over [::1]; undefined when the engine does not answer there. */
  published6MBps?: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
async function must(d: Daemon, args: string[]): Promise<string> {
  const r = await d.docker(args, { timeoutMs: 300_000 });
  if (r.code !== 0) throw new Error(`docker ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}
async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

async function measure(d: Daemon): Promise<Figures> {
  await must(d, ['import', join(work, 'rootfs.tar'), 'netbench:1']);
  await must(d, ['run', '--rm', 'netbench:1', 'true']); // warm up
  const none: number[] = [];
  const bridge: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    none.push(await timed(() => must(d, ['run', '--rm', '--network', 'none', 'netbench:1', 'true'])));
    bridge.push(await timed(() => must(d, ['run', '--rm', 'netbench:1', 'true'])));
  }
  // An httpd serving an MB-megabyte file from memory, on a user network and with a published port.
  const server = ['sh', '-c', `dd if=/dev/zero of=/www/big bs=1M count=${MB} 2>/dev/null && exec httpd -f -p 80 -h /www`];
  const tmpfs = ['--tmpfs', `/www:size=${MB + 64}m`];
  await must(d, ['network', 'create', 'benchnet']);
  await must(d, ['run', '-d', '--name', 'sink', '--network', 'benchnet', ...tmpfs, '-p', '15000:80', 'netbench:1', ...server]);
  const fetchIn = (url: string) => must(d, ['run', '--rm', '--network', 'benchnet', 'netbench:1', 'wget', '-q', '-O', '/dev/null', url]);
  for (let i = 0; i < 100; i++) { // until the file is written and httpd answers
    if ((await d.docker(['exec', 'sink', 'sh', '-c', 'pidof httpd'])).code === 0) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  const ip = await must(d, ['inspect', '-f', '{{(index .NetworkSettings.Networks "benchnet").IPAddress}}', 'sink']);
  await fetchIn(`http://${ip}/big`); // warm up (caches, ARP)
  const c2c = await timed(() => fetchIn(`http://${ip}/big`));
  const fetchPublished = async (host: string): Promise<number | undefined> => {
    let code = 0;
    const ms = await timed(async () => {
      code = (await d.inHostNetns(['busybox', 'wget', '-q', '-O', '/dev/null', `http://${host}:15000/big`])).code;
    });
    return code === 0 ? MB / (ms / 1000) : undefined;
  };
  const publishedMBps = await fetchPublished('127.0.0.1');
  if (publishedMBps === undefined) throw new Error('published port: no answer on 127.0.0.1');
  const published6MBps = await fetchPublished('[::1]');
  await must(d, ['rm', '-f', 'sink']);
  await must(d, ['network', 'rm', 'benchnet']);
  return { setupMs: median(bridge) - median(none), c2cMBps: MB / (c2c / 1000), publishedMBps, published6MBps };
}

const berthd = await startBerthd();
let berth: Figures;
try {
  berth = await measure(berthd);
} finally {
  await berthd.stop();
}
/** The figures of an engine that may be missing here: undefined (and said why) when it is, or fails. */
async function measureIfInstalled(name: string, installed: boolean, start: () => Promise<Daemon & { stop(): Promise<void> }>): Promise<Figures | undefined> {
  if (!installed) {
    console.log(`${name}: not installed`);
    return undefined;
  }
  const d = await start();
  try {
    return await measure(d);
  } catch (err) {
    console.log(`${name}: ${(err as Error).message}`);
    return undefined;
  } finally {
    await d.stop();
  }
}
const docker = await measureIfInstalled('docker', haveDockerd(), () => startDockerd({ network: true }));
const podman = await measureIfInstalled('podman', havePodman(), () => startPodman());
const rows: Array<[string, keyof Figures, string]> = [
  ['network set-up per container start (bridge minus none, median)', 'setupMs', 'ms'],
  [`container → container over a bridge (${MB} MB, httpd → wget)`, 'c2cMBps', 'MB/s'],
  [`host → published port (${MB} MB, httpd → wget, 127.0.0.1)`, 'publishedMBps', 'MB/s'],
  [`host → published port (${MB} MB, httpd → wget, [::1])`, 'published6MBps', 'MB/s'],
];
// bench/run.ts reads the figures from this line.
if (process.env.BENCH_JSON) console.log(`BENCH_JSON ${JSON.stringify({ berth, docker, podman })}`);
const show = (v: number | undefined, unit: string) => (v === undefined ? 'no answer' : `${v.toFixed(1)} ${unit}`);
for (const [label, key, unit] of rows) {
  const b = berth[key];
  const others = ([['docker', docker], ['podman', podman]] as const).filter(([, f]) => f).map(([name, f]) => {
    const v = f![key];
    return `, ${name} ${show(v, unit)}${b !== undefined && v !== undefined ? ` (berth/${name} ${(b / v).toFixed(2)})` : ''}`;
  });
  console.log(`${label}: berth ${show(b, unit)}${others.join('')}`);
}
rmSync(work, { recursive: true, force: true });
