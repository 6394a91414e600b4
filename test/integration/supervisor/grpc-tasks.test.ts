// containerd's containers and tasks services driven by Debian's real ctr (containerd 1.6) against
// a test berthd: `ctr run` attached (output, exit status, --rm), detached with tasks ls/exec/kill/rm
// and containers ls/info/rm, through a pty (-t) and reattached (tasks attach), with runc as the
// BinaryName, namespaces kept apart (also from docker ps), a killed shim reported, a forced delete
// past a stopped shim, and nothing
// left behind: no mounts, cgroups or shims.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startBerthd, supervisorSocket, type TestBerthd } from '../../helpers/berthd.js';
import { cgroupsOf, ctrAt, HAVE_CTR, removeCtrFifos, rows, type Ctr } from '../../helpers/ctr.js';
import { testImageLayers } from '../../helpers/images.js';
import { pushTestImage, startRegistry, type PushedImage, type TestRegistry } from '../../helpers/registry.js';
import { cleanupDir, haveCommand, processesWhere, removeCgroupDir, runCommand, waitFor } from '../../helpers/runtime.js';
import { makeBusyboxRootfs } from '../../helpers/busybox.js';

const skip = !HAVE_CTR && 'ctr not installed (apt-get install containerd)';
const HAVE_SCRIPT = haveCommand('script');
const HAVE_RUNC = haveCommand('runc');

// ctr puts a task's cgroup at /<namespace>/<id>: namespaces unique to this run keep them apart
// from other runs on the machine.
const NS_A = `tasks-a-${process.pid}`;
const NS_B = `tasks-b-${process.pid}`;

/** berth-shims whose command line names `ns` (--namespace NS). */
const shimsOf = (ns: string) => processesWhere('cmdline', (c) => {
  const argv = c.split('\0');
  return /(^|\/)berth-shim$/.test(argv[0] ?? '') && argv.some((a, i) => a === '--namespace' && argv[i + 1] === ns);
});

const DETACHED = ['web', 'tty2', 'runc2', 'iso', 'survivor', 'doomed', 'frozen-shim'];

describe('tasks through ctr', { skip }, () => {
  const started = Date.now() - 1000;
  let d: TestBerthd;
  let registry: TestRegistry;
  let image: PushedImage;
  let ctr: Ctr;

  before(async () => {
    d = await startBerthd();
    ctr = ctrAt(supervisorSocket(d), () => `\n--- berthd ---\n${d.log().slice(-3000)}`);
    registry = await startRegistry();
    image = await pushTestImage(registry.host, 'library/busybox:latest', testImageLayers());
    for (const ns of [NS_A, NS_B]) await ctr.ok(['images', 'pull', '--plain-http', image.name], { ns, timeoutMs: 120_000 });
  });

  after(async () => {
    for (const ns of [NS_A, NS_B]) {
      // Whatever a failed test left: tasks killed and removed, then containers with their snapshots.
      for (const [id] of rows((await ctr.run(['tasks', 'ls'], { ns })).stdout)) await ctr.run(['tasks', 'rm', '-f', id!], { ns });
      for (const [id] of rows((await ctr.run(['containers', 'ls'], { ns })).stdout)) await ctr.run(['containers', 'rm', id!], { ns });
    }
    await registry?.stop();
    await d?.stop();
    removeCtrFifos(DETACHED, started);
    for (const ns of [NS_A, NS_B]) {
      for (const c of cgroupsOf(ns)) removeCgroupDir(join(ns, basename(c)));
      removeCgroupDir(ns);
    }
  });

  it('runs a container attached: its output, its exit status, and --rm', async () => {
    const events = spawn('ctr', ['--address', supervisorSocket(d), '--namespace', NS_A, 'events'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let seen = '';
    events.stdout.on('data', (b: Buffer) => (seen += b.toString()));
    await new Promise((r) => setTimeout(r, 300)); // subscribed
    assert.equal(await ctr.ok(['run', '--rm', image.name, 'hello', 'echo', 'hello from ctr'], { ns: NS_A }), 'hello from ctr\n');
    await waitFor(() => seen.includes('/containers/delete'), 5000).finally(() => events.kill());
    const topics = seen.split('\n').map((l) => / (\/\S+) /.exec(l)?.[1]).filter(Boolean);
    assert.deepEqual(topics.filter((t) => !t!.startsWith('/snapshot')), ['/containers/create', '/tasks/create', '/tasks/start', '/tasks/exit', '/tasks/delete', '/containers/delete']);
    const r = await ctr.run(['run', '--rm', image.name, 'three', 'sh', '-c', 'echo out; echo err >&2; exit 3'], { ns: NS_A });
    assert.equal(r.code, 3, r.stderr);
    assert.equal(r.stdout, 'out\n');
    assert.equal(r.stderr, 'err\n');
    // Input reaches the container; its end is CloseIO's to tell, as with containerd (ctr sends it
    // only once its stdin ends after the task was made: a head that stops by itself is used here).
    const piped = await ctr.run(['run', '--rm', image.name, 'head', 'head', '-n', '1'], { ns: NS_A, input: 'piped in\n' });
    assert.equal(piped.stdout, 'piped in\n', piped.stderr);
    assert.deepEqual(rows(await ctr.ok(['containers', 'ls'], { ns: NS_A })), [], '--rm removed the containers');
    assert.deepEqual(rows(await ctr.ok(['tasks', 'ls'], { ns: NS_A })), []);
    assert.deepEqual(rows(await ctr.ok(['snapshots', 'ls'], { ns: NS_A })).filter(([, , kind]) => kind === 'Active'), [], 'and their snapshots');
  });

  it('runs detached: tasks ls, ps, exec, kill, rm and containers ls, info, rm', async () => {
    await ctr.ok(['run', '-d', '--label', 'team=qa', image.name, 'web', 'sh', '-c', 'trap "exit 9" TERM; while true; do sleep 0.1; done'], { ns: NS_A });
    const [task] = rows(await ctr.ok(['tasks', 'ls'], { ns: NS_A }));
    assert.equal(task?.[0], 'web');
    assert.equal(task?.[2], 'RUNNING');
    assert.ok(Number(task?.[1]) > 0);
    const ps = rows(await ctr.ok(['tasks', 'ps', 'web'], { ns: NS_A }));
    assert.ok(ps.some(([pid]) => pid === task?.[1]), 'tasks ps lists the init process');
    assert.equal(shimsOf(NS_A).length, 1, 'one shim, named by its namespace on its command line');
    const containers = rows(await ctr.ok(['containers', 'ls'], { ns: NS_A }));
    assert.deepEqual(containers.map((c) => [c[0], c[2]]), [['web', 'io.containerd.runc.v2']]);
    assert.equal(containers[0]?.[1], image.name);
    const info = JSON.parse(await ctr.ok(['containers', 'info', 'web'], { ns: NS_A })) as { ID: string; Labels: Record<string, string>; Spec: { process: { args: string[] } }; SnapshotKey: string; Snapshotter: string };
    assert.equal(info.ID, 'web');
    assert.equal(info.Labels.team, 'qa');
    assert.equal(info.Spec.process.args[0], 'sh');
    assert.equal(info.Snapshotter, 'overlayfs');
    assert.equal(info.SnapshotKey, 'web');
    await ctr.ok(['containers', 'label', 'web', 'tier=1', 'team='], { ns: NS_A });
    assert.deepEqual(rows(await ctr.ok(['containers', 'ls', 'labels.tier==1'], { ns: NS_A })).map((r) => r[0]), ['web']);
    assert.deepEqual(rows(await ctr.ok(['containers', 'ls', 'labels.team==qa'], { ns: NS_A })), [], 'an empty value removes a label');
    const checkpoint = await ctr.run(['tasks', 'checkpoint', 'web'], { ns: NS_A });
    assert.match(checkpoint.stderr, /checkpoints are not supported by berth: not implemented/, 'Unimplemented, in ctr\'s words');
    assert.equal(await ctr.ok(['tasks', 'exec', '--exec-id', 'e1', 'web', 'cat', '/etc/motd'], { ns: NS_A }), 'made by berth\n');
    assert.equal(await ctr.ok(['tasks', 'exec', '--exec-id', 'e3', 'web', 'head', '-n', '1'], { ns: NS_A, input: 'into exec\n' }), 'into exec\n');
    const failing = await ctr.run(['tasks', 'exec', '--exec-id', 'e2', 'web', 'sh', '-c', 'exit 4'], { ns: NS_A });
    assert.equal(failing.code, 4);
    const busy = await ctr.run(['containers', 'rm', 'web'], { ns: NS_A });
    assert.notEqual(busy.code, 0, 'a container with a task is not removed');
    const running = await ctr.run(['tasks', 'rm', 'web'], { ns: NS_A });
    assert.notEqual(running.code, 0, 'a running task is not removed');
    await ctr.ok(['tasks', 'kill', 'web'], { ns: NS_A });
    await waitFor(async () => rows(await ctr.ok(['tasks', 'ls'], { ns: NS_A }))[0]?.[2] === 'STOPPED', 10_000);
    const rm = await ctr.ok(['tasks', 'rm', 'web'], { ns: NS_A });
    assert.match(rm, /^(WARN.*\n)?$/);
    await ctr.ok(['containers', 'rm', 'web'], { ns: NS_A });
    assert.deepEqual(rows(await ctr.ok(['containers', 'ls'], { ns: NS_A })), []);
    assert.equal(shimsOf(NS_A).length, 0, 'the shim is gone');
  });

  it('runs with a terminal (-t), detached and reattached', { skip: !HAVE_SCRIPT && 'script not installed' }, async () => {
    const pty = (keys: string, command: string) => runCommand('sh', ['-c', `(${keys}) | script -qfec ${JSON.stringify(command)} /dev/null`], { timeoutMs: 30_000 });
    const base = `ctr --address ${supervisorSocket(d)} --namespace ${NS_A}`;
    const run = await pty(`sleep 1; printf 'id -u\\r'; sleep 0.5; printf 'echo hi-$((40+2))\\r'; sleep 0.5; printf 'exit 7\\r'; sleep 1`, `${base} run --rm -t ${image.name} tty1 sh`);
    assert.equal(run.code, 7, run.stdout);
    assert.match(run.stdout, /hi-42/);
    assert.match(run.stdout, /id -u\r+\n0\r+\n/, 'id -u prints root');
    assert.deepEqual(rows(await ctr.ok(['containers', 'ls'], { ns: NS_A })), []);

    const detached = await pty('sleep 0.5', `${base} run -d -t ${image.name} tty2 sh`); // -t wants a console even with -d
    assert.equal(detached.code, 0, detached.stdout);
    assert.equal(rows(await ctr.ok(['tasks', 'ls'], { ns: NS_A }))[0]?.[2], 'RUNNING', 'the shell outlives the detached ctr');
    const exec = await pty(`sleep 1; printf 'tty; echo in-exec\\r'; sleep 0.5; printf 'exit 3\\r'; sleep 0.5`, `${base} tasks exec -t --exec-id x1 tty2 sh`);
    assert.equal(exec.code, 3, exec.stdout);
    assert.match(exec.stdout, /\/dev\/pts\/\d+\r+\nin-exec/, 'the exec has its own terminal');
    const attach = await pty(`sleep 1; printf 'echo attached-$((1+1))\\r'; sleep 0.5; printf 'exit 5\\r'; sleep 1`, `${base} tasks attach tty2`);
    assert.match(attach.stdout, /attached-2/, attach.stderr);
    assert.equal(attach.code, 5, 'tasks attach ends with the shell\'s status');
    assert.deepEqual(rows(await ctr.ok(['tasks', 'ls'], { ns: NS_A })), [], 'and removes the task, as ctr does');
    await ctr.ok(['containers', 'rm', 'tty2'], { ns: NS_A });
  });

  it('runs io.containerd.runc.v2 with runc as its BinaryName', { skip: !HAVE_RUNC && 'runc not installed' }, async () => {
    const out = await ctr.ok(['run', '--rm', '--runtime', 'io.containerd.runc.v2', '--runc-binary', 'runc', image.name, 'viarunc', 'sh', '-c', 'echo via runc'], { ns: NS_A });
    assert.equal(out, 'via runc\n');
    await ctr.ok(['run', '-d', '--runc-binary', 'runc', image.name, 'runc2', 'sleep', '60'], { ns: NS_A });
    const listed = await runCommand('runc', ['--root', join(d.dir, 'exec', 'runtime', 'runc', NS_A), 'list', '-q']);
    assert.equal(listed.stdout.trim(), 'runc2', 'runc holds the container');
    await ctr.ok(['tasks', 'pause', 'runc2'], { ns: NS_A });
    assert.equal(rows(await ctr.ok(['tasks', 'ls'], { ns: NS_A }))[0]?.[2], 'PAUSED');
    await ctr.ok(['tasks', 'resume', 'runc2'], { ns: NS_A });
    assert.match(await ctr.ok(['tasks', 'metrics', 'runc2'], { ns: NS_A }), /pids\.current\s+1\b/);
    await ctr.ok(['tasks', 'rm', '-f', 'runc2'], { ns: NS_A });
    await ctr.ok(['containers', 'rm', 'runc2'], { ns: NS_A });
    assert.equal((await runCommand('runc', ['--root', join(d.dir, 'exec', 'runtime', 'runc', NS_A), 'list', '-q'])).stdout.trim(), '');
  });

  it('runs a root filesystem directory (--rootfs): no snapshot, no mount', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-rootfs-'));
    try {
      makeBusyboxRootfs(join(dir, 'rootfs'));
      // ctr gives such a spec no environment (no PATH): the command by its path, as with runc.
      assert.equal(await ctr.ok(['run', '--rm', '--rootfs', join(dir, 'rootfs'), 'rootfs1', '/bin/sh', '-c', 'echo from a directory'], { ns: NS_A }), 'from a directory\n');
    } finally {
      cleanupDir(dir);
    }
  });

  it('keeps namespaces apart, also from the Docker API', async () => {
    await ctr.ok(['run', '-d', image.name, 'iso', 'sleep', '60'], { ns: NS_A });
    assert.deepEqual(rows(await ctr.ok(['tasks', 'ls'], { ns: NS_B })), []);
    assert.deepEqual(rows(await ctr.ok(['containers', 'ls'], { ns: NS_B })), []);
    const missing = await ctr.run(['tasks', 'kill', 'iso'], { ns: NS_B });
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /not found/);
    assert.equal((await d.docker(['ps', '-aq'])).stdout.trim(), '', 'docker ps does not show it');
    assert.deepEqual(rows(await ctr.ok(['containers', 'ls'], { ns: 'moby' })), []);
    await ctr.ok(['tasks', 'kill', '-s', 'SIGKILL', 'iso'], { ns: NS_A });
    await waitFor(async () => rows(await ctr.ok(['tasks', 'ls'], { ns: NS_A }))[0]?.[2] === 'STOPPED', 10_000);
    await ctr.ok(['tasks', 'rm', 'iso'], { ns: NS_A });
    await ctr.ok(['containers', 'rm', 'iso'], { ns: NS_A });
  });

  it('refuses bad runtimes and missing objects with containerd\'s codes, leaving nothing mounted', async () => {
    const noBinary = await ctr.run(['run', '--rm', '--runc-binary', 'no-such-runtime', image.name, 'bad1', 'true'], { ns: NS_A });
    assert.match(noBinary.stderr, /unknown runtime "no-such-runtime": .* nor an executable on PATH: invalid argument/);
    const kata = await ctr.run(['run', '--rm', '--runtime', 'io.containerd.kata.v2', image.name, 'bad2', 'true'], { ns: NS_A });
    assert.match(kata.stderr, /runtime "io.containerd.kata.v2" is not supported.*: invalid argument/);
    const noCmd = await ctr.run(['run', '--rm', image.name, 'bad3', '/no/such/cmd'], { ns: NS_A });
    assert.notEqual(noCmd.code, 0);
    assert.match((await ctr.run(['tasks', 'start', 'nothing'], { ns: NS_A })).stderr, /not found/);
    assert.match((await ctr.run(['containers', 'info', 'nothing'], { ns: NS_A })).stderr, /container "nothing" in namespace "[^"]+": not found/);
    assert.deepEqual(rows(await ctr.ok(['containers', 'ls'], { ns: NS_A })), [], '--rm removed the records');
    assert.deepEqual(readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(join(d.dir, 'exec', 'bundles'))), []);
  });

  it('keeps a task that ctr started through a berthd crash', async () => {
    await ctr.ok(['run', '-d', image.name, 'survivor', 'sh', '-c', 'sleep 2; exit 6'], { ns: NS_B });
    // What a kill between mounting a bundle and recording its task leaves: swept at start.
    const stray = join(d.dir, 'exec', 'bundles', NS_B, 'stray', 'rootfs');
    mkdirSync(stray, { recursive: true });
    await runCommand('mount', ['-t', 'tmpfs', 'tmpfs', stray]);
    await d.restart('kill');
    assert.ok(!existsSync(join(d.dir, 'exec', 'bundles', NS_B, 'stray')), 'the stray bundle is unmounted and removed');
    assert.ok(existsSync(join(d.dir, 'exec', 'bundles', NS_B, 'survivor', 'config.json')), 'a live task keeps its bundle');
    assert.equal(rows(await ctr.ok(['tasks', 'ls'], { ns: NS_B }))[0]?.[2], 'RUNNING');
    await waitFor(async () => rows(await ctr.ok(['tasks', 'ls'], { ns: NS_B }))[0]?.[2] === 'STOPPED', 10_000);
    const info = await ctr.ok(['tasks', 'rm', 'survivor'], { ns: NS_B });
    assert.match(info, /exit code 6|^$/);
    await ctr.ok(['containers', 'rm', 'survivor'], { ns: NS_B });
  });

  it('reports a task whose shim was killed as stopped', async () => {
    await ctr.ok(['run', '-d', image.name, 'doomed', 'sleep', '60'], { ns: NS_B });
    const [shim] = shimsOf(NS_B);
    assert.ok(shim, 'the shim runs');
    process.kill(shim, 'SIGKILL');
    await waitFor(async () => rows(await ctr.ok(['tasks', 'ls'], { ns: NS_B }))[0]?.[2] === 'STOPPED', 10_000);
    await ctr.ok(['tasks', 'rm', 'doomed'], { ns: NS_B });
    await ctr.ok(['containers', 'rm', 'doomed'], { ns: NS_B });
  });

  it('ends ctr task delete --force of a task whose shim is stopped within the kill timeout', { timeout: 60_000 }, async () => {
    await ctr.ok(['run', '-d', image.name, 'frozen-shim', 'sleep', '60'], { ns: NS_B });
    const [shim] = shimsOf(NS_B);
    assert.ok(shim, 'the shim runs');
    process.kill(shim, 'SIGSTOP');
    try {
      // ctr kills, waits for the exit, then deletes: the wait ends once the silent shim is killed.
      const t0 = Date.now();
      const r = await ctr.run(['tasks', 'rm', '-f', 'frozen-shim'], { ns: NS_B, timeoutMs: 30_000 });
      assert.equal(r.code, 0, r.stderr);
      assert.ok(Date.now() - t0 < 10_000 + 5000, `ctr returned in ${Date.now() - t0} ms`);
      assert.deepEqual(rows(await ctr.ok(['tasks', 'ls'], { ns: NS_B })), []);
      assert.deepEqual(shimsOf(NS_B), []);
      await ctr.ok(['containers', 'rm', 'frozen-shim'], { ns: NS_B });
    } finally {
      try { process.kill(shim, 'SIGKILL'); } catch { /* gone, as it should be */ }
    }
  });

  it('leaves no mounts, cgroups or shims behind', async () => {
    const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(join(d.dir, 'exec', 'bundles')));
    assert.deepEqual(mounts, []);
    for (const ns of [NS_A, NS_B]) {
      assert.deepEqual(cgroupsOf(ns), [], `no cgroup left under /${ns}`);
      assert.deepEqual(shimsOf(ns), []);
      assert.ok(!existsSync(join(d.dir, 'exec', 'bundles', ns)) || readdirSync(join(d.dir, 'exec', 'bundles', ns)).length === 0, 'no bundle left');
    }
  });
});
