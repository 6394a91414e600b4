// One scripted ctr session of containers and tasks run against berth's supervisor API and against
// Debian's real containerd 1.6 (with its runc shim) in the same test: where the answers differ,
// berth is wrong. Pids and times are masked; everything else must match.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startBerthd, supervisorSocket, type TestBerthd } from '../../helpers/berthd.js';
import { HAVE_CONTAINERD, startContainerd, type TestContainerd } from '../../helpers/containerd.js';
import { ctrAt, HAVE_CTR, rows, type Ctr } from '../../helpers/ctr.js';
import { testImageLayers } from '../../helpers/images.js';
import { pushTestImage, startRegistry, type PushedImage, type TestRegistry } from '../../helpers/registry.js';
import { haveCommand, removeCgroupDir } from '../../helpers/runtime.js';

interface Step {
  args: string[];
  input?: string;
  /** Compare only the exit status. */
  statusOnly?: boolean;
  /** Must succeed on both. */
  ok?: boolean;
  /** Wait this long first (a killed task's exit to be collected). */
  delayMs?: number;
  /** Mask every number (measurements): the shape must match, not the values. */
  numbers?: boolean;
}

// ctr puts cgroups at /<namespace>/<id>: each server gets a namespace of this run's own, or the
// two runtimes would share (and remove) each other's cgroups. The names are masked in outputs.
const NAMESPACES = { berth: `tref-b-${process.pid}`, containerd: `tref-c-${process.pid}` };

function normalize(text: string): string {
  return text
    .replace(new RegExp(`${NAMESPACES.berth}|${NAMESPACES.containerd}`, 'g'), '<ns>')
    .replace(/time="[^"]*" level=(\w+)/g, 'level=$1')
    .replace(/\b\d{3,}\b/g, '<n>') // pids
    // Label maps print in Go's random map order: compare them sorted.
    .replace(/\S+=\S*(,\S+=\S*)+/g, (labels) => labels.split(',').sort().join(','))
    .replace(/[ \t]+/g, ' ')
    .trim();
}

function session(image: PushedImage): Step[] {
  return [
    { args: ['images', 'pull', '--plain-http', image.name], statusOnly: true, ok: true },
    { args: ['run', '--rm', image.name, 'r1', 'echo', 'hello'], ok: true },
    { args: ['run', '--rm', image.name, 'r2', 'sh', '-c', 'echo out; echo err >&2; exit 3'] },
    { args: ['run', '--rm', image.name, 'r3', 'sh', '-c', 'kill -9 $$'] },
    { args: ['run', '-d', '--label', 'a=b', image.name, 'd1', 'sleep', '60'], ok: true },
    { args: ['tasks', 'ls'] },
    { args: ['containers', 'ls'] },
    { args: ['containers', 'ls', 'labels.a==b'] },
    { args: ['containers', 'label', 'd1', 'c=d'] },
    { args: ['tasks', 'exec', '--exec-id', 'e1', 'd1', 'echo', 'in-exec'] },
    { args: ['tasks', 'exec', '--exec-id', 'e2', 'd1', 'sh', '-c', 'exit 4'] },
    { args: ['tasks', 'metrics', 'd1'], numbers: true },
    { args: ['tasks', 'ps', 'd1'] },
    { args: ['tasks', 'pause', 'd1'] },
    { args: ['tasks', 'ls'] },
    { args: ['tasks', 'resume', 'd1'] },
    { args: ['tasks', 'rm', 'd1'] },
    { args: ['containers', 'rm', 'd1'] },
    { args: ['tasks', 'kill', '-s', 'SIGKILL', 'd1'] },
    { args: ['tasks', 'ls'], delayMs: 500 },
    { args: ['tasks', 'kill', 'd1'] },
    { args: ['tasks', 'rm', 'd1'], statusOnly: true },
    { args: ['containers', 'rm', 'd1'] },
    { args: ['tasks', 'kill', 'nothing'] },
    { args: ['tasks', 'start', 'nothing'] },
    { args: ['containers', 'info', 'nothing'] },
    { args: ['containers', 'rm', 'nothing'] },
    { args: ['containers', 'ls'] },
    { args: ['tasks', 'ls'] },
  ];
}

describe('the same ctr tasks session against berth and against containerd', { skip: (!HAVE_CTR || !HAVE_CONTAINERD || !haveCommand('containerd-shim-runc-v2')) && 'containerd, its runc shim and ctr not installed (apt-get install containerd)' }, () => {
  let berth: TestBerthd;
  let reference: TestContainerd;
  let registry: TestRegistry;
  let image: PushedImage;
  const servers: Record<string, Ctr> = {};
  before(async () => {
    registry = await startRegistry();
    image = await pushTestImage(registry.host, 'library/busybox:latest', testImageLayers());
    berth = await startBerthd({ supervisorOnly: true });
    reference = await startContainerd();
    servers.berth = ctrAt(supervisorSocket(berth));
    servers.containerd = ctrAt(reference.socket);
  });
  after(async () => {
    for (const [name, ctr] of Object.entries(servers)) {
      const ns = NAMESPACES[name as keyof typeof NAMESPACES];
      for (const [id] of rows((await ctr.run(['tasks', 'ls'], { ns })).stdout)) await ctr.run(['tasks', 'rm', '-f', id!], { ns });
      for (const [id] of rows((await ctr.run(['containers', 'ls'], { ns })).stdout)) await ctr.run(['containers', 'rm', id!], { ns });
    }
    await reference?.stop();
    await berth?.stop();
    await registry?.stop();
    for (const ns of Object.values(NAMESPACES)) {
      for (const h of ['', ...readdirSync('/sys/fs/cgroup')]) {
        try {
          for (const e of readdirSync(join('/sys/fs/cgroup', h, ns), { withFileTypes: true })) if (e.isDirectory()) removeCgroupDir(join(ns, e.name));
        } catch {
          // none there
        }
      }
      removeCgroupDir(ns);
    }
  });

  it('gives the same answers', { timeout: 300_000 }, async () => {
    const differences: string[] = [];
    for (const step of session(image)) {
      if (step.delayMs) await new Promise((r) => setTimeout(r, step.delayMs));
      const [b, c] = await Promise.all([servers.berth!.run(step.args, { ns: NAMESPACES.berth, input: step.input, timeoutMs: 120_000 }), servers.containerd!.run(step.args, { ns: NAMESPACES.containerd, input: step.input, timeoutMs: 120_000 })]);
      if (step.ok) assert.deepEqual([b.code, c.code], [0, 0], `ctr ${step.args.join(' ')}: berth ${b.stderr} / containerd ${c.stderr}`);
      const norm = (t: string) => (step.numbers ? normalize(t).replace(/<n>|\d+/g, '0') : normalize(t));
      const shown = (r: typeof b) => (step.statusOnly ? `exit ${r.code}` : `exit ${r.code}\n${norm(r.stdout)}\n${norm(r.stderr)}`);
      if (shown(b) !== shown(c)) differences.push(`ctr ${step.args.join(' ')}\n--- berth:\n${shown(b)}\n--- containerd:\n${shown(c)}`);
    }
    assert.deepEqual(differences, [], `\n${differences.join('\n\n')}`);
  });
});
