// One scripted ctr session run against berth's supervisor API and against Debian's real
// containerd 1.6 in the same test: where the two differ, berth is wrong. Outputs are compared
// after removing what must differ (times, ages, socket and root paths, the progress display).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startBerthd, supervisorSocket, type TestBerthd } from '../../helpers/berthd.js';
import { HAVE_CONTAINERD, startContainerd, type TestContainerd } from '../../helpers/containerd.js';
import { ctrAt, HAVE_CTR } from '../../helpers/ctr.js';
import { testImageLayers } from '../../helpers/images.js';
import { pushTestImage, startRegistry, type PushedImage, type TestRegistry } from '../../helpers/registry.js';
import { digestOf } from '../../../src/common/digest.js';

interface Step {
  args: string[];
  ns?: string;
  input?: string;
  /** Compare only the exit status (the output differs by design: paths, progress). */
  statusOnly?: boolean;
  /** Must succeed on both (so that two servers failing alike do not pass for agreement). */
  ok?: boolean;
}

/** What must differ between two servers: times, ages, host paths; and containerd's doubled error suffix. */
function normalize(text: string): string {
  return text
    .replace(/time="[^"]*" level=(\w+)/g, 'level=$1')
    .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g, '<time>')
    .replace(/Less than a second|About a minute|\d+ (seconds?|minutes?)/g, '<age>')
    .replace(/(: invalid argument)+/g, ': invalid argument')
    // Label maps print in Go's random map order: compare them sorted.
    .replace(/\S+=\S*(,\S+=\S*)+/g, (labels) => labels.split(',').sort().join(','))
    .replace(/[ \t]+/g, ' ')
    .trim();
}

function session(image: PushedImage): Step[] {
  const blob = 'reference bytes\n';
  const digest = digestOf(blob);
  return [
    { args: ['namespaces', 'create', 'ref1', 'a=b'] },
    { args: ['namespaces', 'ls'] },
    { args: ['namespaces', 'label', 'ref1', 'a=c', 'x=y'] },
    { args: ['namespaces', 'ls'] },
    { args: ['namespaces', 'create', 'ref1'] },
    { args: ['namespaces', 'rm', 'ref1'] },
    { args: ['namespaces', 'ls'] },
    { args: ['content', 'ingest', '--expected-size', String(blob.length), '--expected-digest', digest, 'ref-blob'], ns: 'r', input: blob },
    { args: ['content', 'get', digest], ns: 'r', ok: true },
    { args: ['content', 'label', digest, 'team=qa'], ns: 'r' },
    { args: ['content', 'ls', 'labels.team==qa'], ns: 'r' },
    // The same bytes again with no expected digest: AlreadyExists at commit, which ctr takes as
    // done, and the labels stay.
    { args: ['content', 'ingest', 'ref-again'], ns: 'r', input: blob, ok: true },
    { args: ['content', 'ls'], ns: 'r' },
    { args: ['content', 'active'], ns: 'r' },
    { args: ['content', 'rm', digest], ns: 'r' },
    { args: ['content', 'get', digest], ns: 'r' },
    { args: ['images', 'pull', '--plain-http', image.name], ns: 'r', statusOnly: true, ok: true },
    { args: ['images', 'ls'], ns: 'r' },
    { args: ['images', 'check'], ns: 'r', ok: true },
    { args: ['images', 'ls'], ns: 'other' },
    { args: ['content', 'ls'], ns: 'r' },
    { args: ['snapshots', 'ls'], ns: 'r' },
    { args: ['snapshots', 'tree'], ns: 'r' },
    { args: ['images', 'tag', image.name, 'tagged:1'], ns: 'r' },
    { args: ['images', 'ls', '-q', 'name~=tagged'], ns: 'r' },
    { args: ['images', 'label', 'tagged:1', 'stage=test'], ns: 'r' },
    { args: ['images', 'ls', 'labels.stage==test'], ns: 'r' },
    { args: ['images', 'rm', 'tagged:1'], ns: 'r' },
    { args: ['snapshots', 'prepare', 'work', 'TOP'], ns: 'r' },
    { args: ['snapshots', 'mounts', '/mnt/x', 'work'], ns: 'r', statusOnly: true },
    { args: ['snapshots', 'commit', 'layer', 'work'], ns: 'r', ok: true },
    { args: ['snapshots', 'info', 'layer'], ns: 'r' },
    { args: ['snapshots', 'label', 'layer', 'k=v'], ns: 'r' },
    { args: ['snapshots', 'rm', 'TOP'], ns: 'r' },
    { args: ['snapshots', 'rm', 'layer'], ns: 'r' },
    { args: ['leases', 'create', '--id', 'L1'], ns: 'r' },
    { args: ['leases', 'ls'], ns: 'r' },
    { args: ['leases', 'rm', 'L1'], ns: 'r' },
    { args: ['leases', 'rm', 'L1'], ns: 'r' },
    { args: ['content', 'get', `sha256:${'0'.repeat(64)}`], ns: 'r' },
    { args: ['images', 'ls', 'name=x'], ns: 'r' },
    { args: ['images', 'ls', 'labels."open'], ns: 'r' },
    { args: ['snapshots', 'rm', 'no-such-key'], ns: 'r' },
    { args: ['snapshots', '--snapshotter', 'zfs', 'ls'], ns: 'r' },
    { args: ['images', 'ls'], ns: 'Bad!' },
    { args: ['namespaces', 'rm', 'r'] },
    { args: ['plugins', 'ls', 'type==io.containerd.snapshotter.v1,id==overlayfs'], statusOnly: true },
  ];
}

describe('the same ctr session against berth and against containerd', { skip: (!HAVE_CTR || !HAVE_CONTAINERD) && 'containerd and ctr not installed (apt-get install containerd)' }, () => {
  let berth: TestBerthd;
  let reference: TestContainerd;
  let registry: TestRegistry;
  let image: PushedImage;
  before(async () => {
    registry = await startRegistry();
    image = await pushTestImage(registry.host, 'library/busybox:latest', testImageLayers());
    berth = await startBerthd({ supervisorOnly: true });
    reference = await startContainerd();
  });
  after(async () => {
    await reference?.stop();
    await berth?.stop();
    await registry?.stop();
  });

  it('gives the same answers', { timeout: 300_000 }, async () => {
    const top = (chain: string[]) => {
      let id = chain[0]!;
      for (const d of chain.slice(1)) id = digestOf(`${id} ${d}`);
      return id;
    };
    const topKey = top(image.diffIds);
    const servers = { berth: ctrAt(supervisorSocket(berth)), containerd: ctrAt(reference.socket) };
    const differences: string[] = [];
    for (const step of session(image)) {
      const args = step.args.map((a) => (a === 'TOP' ? topKey : a));
      const [b, c] = await Promise.all([servers.berth.run(args, { ns: step.ns, input: step.input, timeoutMs: 120_000 }), servers.containerd.run(args, { ns: step.ns, input: step.input, timeoutMs: 120_000 })]);
      if (step.ok) assert.deepEqual([b.code, c.code], [0, 0], `ctr ${args.join(' ')}: berth ${b.stderr} / containerd ${c.stderr}`);
      const shown = (r: typeof b) => (step.statusOnly ? `exit ${r.code}` : `exit ${r.code}\n${normalize(r.stdout)}\n${normalize(r.stderr)}`);
      if (shown(b) !== shown(c)) differences.push(`ctr ${step.ns ? `-n ${step.ns} ` : ''}${args.join(' ')}\n--- berth:\n${shown(b)}\n--- containerd:\n${shown(c)}`);
    }
    assert.deepEqual(differences, [], `\n${differences.join('\n\n')}`);
  });
});
