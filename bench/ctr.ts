// containerd's API, berth's supervisor beside Debian's containerd 1.6, in the same run, driven by
// the same ctr with the same image (pulled by ctr into both from one local registry):
// `ctr run --rm IMAGE id true`, N times each, alternating between the two, medians and the ratio;
// and the supervisor's RSS (berthd --supervisor-only holding the image with no containers, and
// after the runs) beside containerd's.
// `node dist/bench/ctr.js [RUNS]`; with BENCH_JSON=1 it also prints one `BENCH_JSON {...}` line
// for bench/run.ts (containerd's figures under "docker": it is Docker's supervisor).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { startBerthd, supervisorSocket } from '../test/helpers/berthd.js';
import { HAVE_CONTAINERD, startContainerd } from '../test/helpers/containerd.js';
import { testImageLayers } from '../test/helpers/images.js';
import { pushTestImage, startRegistry } from '../test/helpers/registry.js';
import { processesWhere, removeCgroupDir } from '../test/helpers/runtime.js';

const RUNS = Number(process.argv[2] ?? 20);
// ctr puts each task's cgroup under /<namespace>: one of this run's own.
const NS = `bench-ctr-${process.pid}`;

const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const rssMb = (pids: number[]) => pids.reduce((s, pid) => s + Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0), 0) / 1024;

function ctr(socket: string, args: string[]): string {
  const r = spawnSync('ctr', ['--address', socket, '--namespace', NS, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ctr ${args.join(' ')} (${socket}): ${r.stderr}`);
  return r.stdout;
}

interface Target {
  name: string;
  socket: string;
  /** The supervisor's own processes (not its shims). */
  pids(): number[];
  runs: number[];
}

const registry = await startRegistry();
const berthd = await startBerthd({ supervisorOnly: true });
const containerd = HAVE_CONTAINERD ? await startContainerd() : undefined;
try {
  const image = await pushTestImage(registry.host, 'library/busybox:latest', testImageLayers());
  const targets: Target[] = [{
    name: 'berth', socket: supervisorSocket(berthd), runs: [],
    pids: () => processesWhere('cmdline', (c) => c.includes('berthd.mjs') && c.includes(berthd.dir)),
  }];
  if (containerd) {
    const dir = containerd.socket.slice(0, containerd.socket.lastIndexOf('/'));
    targets.push({ name: 'containerd', socket: containerd.socket, runs: [], pids: () => processesWhere('cmdline', (c) => c.startsWith('containerd\0') && c.includes(dir)) });
  } else console.log('containerd: not installed (apt-get install containerd)');

  const rssIdle: Record<string, number> = {};
  for (const t of targets) {
    ctr(t.socket, ['images', 'pull', '--plain-http', image.name]);
    ctr(t.socket, ['run', '--rm', image.name, 'warm-up', 'true']);
    rssIdle[t.name] = rssMb(t.pids());
  }
  // Alternating, so that whatever else the machine does weighs on both alike.
  for (let i = 0; i < RUNS; i++) {
    for (const t of targets) {
      const t0 = process.hrtime.bigint();
      ctr(t.socket, ['run', '--rm', image.name, `run-${i}`, 'true']);
      t.runs.push(ms(t0));
    }
  }

  const [berth, theirs] = targets;
  const figures: Record<string, Record<string, number>> = {};
  console.log(`\`ctr run --rm IMAGE id true\`, median of ${RUNS}, ctr 1.6 against each socket:`);
  for (const t of targets) {
    const rss = rssMb(t.pids());
    figures[t.name === 'berth' ? 'berth' : 'docker'] = { ctrRunRm: median(t.runs), supervisorRssMb: rssIdle[t.name]!, supervisorRssAfterMb: rss };
    console.log(`  ${t.name}: ${median(t.runs).toFixed(1)} ms (min ${Math.min(...t.runs).toFixed(1)}, max ${Math.max(...t.runs).toFixed(1)}); RSS ${rssIdle[t.name]!.toFixed(1)} MB with the image and no containers, ${rss.toFixed(1)} MB after the runs`);
  }
  if (theirs) console.log(`  berth / containerd: ${(median(berth!.runs) / median(theirs.runs)).toFixed(2)} (time), ${(rssIdle.berth! / rssIdle.containerd!).toFixed(2)} (RSS with the image)`);
  if (process.env.BENCH_JSON) console.log(`BENCH_JSON ${JSON.stringify(figures)}`);

  for (const t of targets) ctr(t.socket, ['images', 'rm', image.name]);
} finally {
  await containerd?.stop();
  await berthd.stop();
  await registry.stop();
  removeCgroupDir(NS);
}
