// The engine's containers as containerd sees them: `ctr -n moby containers ls` shows what
// `docker ps -a` shows (same IDs, image, runtime, labels, snapshot, spec), `tasks ls` the running
// ones, which ctr can exec in and kill (the engine records the exit); their creation and removal
// are containerd's container events; ctr cannot change or remove the containers (the engine keeps
// them); and what ctr makes, even in moby, never shows up in `docker ps`.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startBerthd, supervisorSocket, type TestBerthd } from '../../helpers/berthd.js';
import { makeBusyboxRootfs } from '../../helpers/busybox.js';
import { ctrAt, HAVE_CTR, rows, type Ctr } from '../../helpers/ctr.js';
import { cleanupDir, waitFor } from '../../helpers/runtime.js';

const skip = !HAVE_CTR && 'ctr not installed (apt-get install containerd)';

interface ContainerInfo {
  ID: string;
  Labels: Record<string, string>;
  Image: string;
  Runtime: { Name: string };
  Spec?: { process: { args: string[] }; root: { path: string } };
  Snapshotter: string;
  SnapshotKey: string;
}

describe('the engine\'s containers in namespace moby', { skip }, () => {
  let d: TestBerthd;
  let ctr: Ctr;
  const work = mkdtempSync(join(tmpdir(), 'berth-grpc-engine-'));
  const ids: Record<string, string> = {};

  const docker = async (args: string[]) => {
    const r = await d.docker(args);
    assert.equal(r.code, 0, `docker ${args.join(' ')}: ${r.stderr}`);
    return r.stdout.trim();
  };

  before(async () => {
    d = await startBerthd();
    ctr = ctrAt(supervisorSocket(d), () => `\n--- berthd ---\n${d.log().slice(-2000)}`);
    makeBusyboxRootfs(join(work, 'rootfs'));
    execFileSync('tar', ['-C', join(work, 'rootfs'), '-cf', join(work, 'rootfs.tar'), '.']);
    await docker(['import', join(work, 'rootfs.tar'), 'bb:latest']);
    ids.web = await docker(['run', '-d', '--name', 'web', '--label', 'team=qa', '--network', 'none', 'bb', 'sleep', '60']);
    ids.made = await docker(['create', '--name', 'made', '--network', 'none', 'bb', 'true']);
    await d.docker(['run', '--name', 'done', '--network', 'none', 'bb', 'sh', '-c', 'exit 3']);
    ids.done = await docker(['inspect', '--format', '{{.Id}}', 'done']);
  });

  after(async () => {
    for (const [id] of rows((await ctr.run(['tasks', 'ls'], { ns: 'moby' })).stdout)) if (!Object.values(ids).includes(id!)) await ctr.run(['tasks', 'rm', '-f', id!], { ns: 'moby' });
    await ctr.run(['containers', 'rm', 'ctr-made'], { ns: 'moby' });
    await d?.stop();
    cleanupDir(work);
  });

  it('lists what docker ps -a lists: the same IDs, image and runtime', async () => {
    const listed = rows(await ctr.ok(['containers', 'ls'], { ns: 'moby' }));
    const ps = (await docker(['ps', '-aq', '--no-trunc'])).split('\n').sort();
    assert.deepEqual(listed.map(([id]) => id), ps);
    assert.deepEqual(ps, Object.values(ids).sort());
    for (const [, image, runtime] of listed) {
      assert.equal(image, 'docker.io/library/bb:latest');
      assert.equal(runtime, 'io.containerd.runc.v2');
    }
    assert.deepEqual(rows(await ctr.ok(['containers', 'ls', 'labels.team==qa'], { ns: 'moby' })).map(([id]) => id), [ids.web], 'containerd\'s filters on Docker\'s labels');
    assert.deepEqual(rows(await ctr.ok(['containers', 'ls'], { ns: 'default' })), [], 'only in moby');
  });

  it('shows a container\'s labels, snapshot and spec (containers info)', async () => {
    const info = JSON.parse(await ctr.ok(['containers', 'info', ids.web!], { ns: 'moby' })) as ContainerInfo;
    assert.equal(info.ID, ids.web);
    assert.equal(info.Image, 'docker.io/library/bb:latest');
    assert.equal(info.Runtime.Name, 'io.containerd.runc.v2');
    assert.equal(info.Labels.team, 'qa');
    assert.equal(info.Labels['com.docker/engine.bundle.path'], join(d.dir, 'exec', 'containers', ids.web!), 'Docker\'s bundle label');
    assert.deepEqual(info.Spec?.process.args, ['sleep', '60'], 'the spec it runs with');
    assert.equal(info.Snapshotter, 'overlayfs');
    const active = rows(await ctr.ok(['snapshots', 'ls'], { ns: 'moby' })).filter(([, , kind]) => kind === 'Active').map(([key]) => key);
    assert.ok(active.includes(info.SnapshotKey), `its writable snapshot ${info.SnapshotKey} is one of moby's: ${active.join(', ')}`);
    const created = JSON.parse(await ctr.ok(['containers', 'info', ids.made!], { ns: 'moby' })) as ContainerInfo;
    assert.deepEqual(created.Spec?.process.args, ['true'], 'a container never started: the spec\'s process as far as its config fixes it');
    assert.ok(created.SnapshotKey);
  });

  it('lists the running containers\' tasks', async () => {
    const tasks = rows(await ctr.ok(['tasks', 'ls'], { ns: 'moby' }));
    const pid = await docker(['inspect', '--format', '{{.State.Pid}}', 'web']);
    assert.deepEqual(tasks, [[ids.web, pid, 'RUNNING']]);
    assert.match(await ctr.ok(['tasks', 'ps', ids.web!], { ns: 'moby' }), new RegExp(`^${pid}\\b`, 'm'));
    assert.equal(await ctr.ok(['tasks', 'exec', '--exec-id', 'e1', ids.web!, 'echo', 'from ctr'], { ns: 'moby' }), 'from ctr\n', 'one task, whichever front end drives it');
  });

  it('refuses to change or remove them, and the engine is unharmed', async () => {
    // A running one: ctr itself refuses, having seen its task (as against containerd).
    const running = await ctr.run(['containers', 'rm', ids.web!], { ns: 'moby' });
    assert.notEqual(running.code, 0);
    assert.match(running.stderr, /cannot delete a non stopped container: \{running 0 0001-01-01 00:00:00 \+0000 UTC\}/, 'a running task\'s exit time is Go\'s zero time, as containerd sends it');
    const exited = await ctr.run(['containers', 'rm', ids.done!], { ns: 'moby' });
    assert.notEqual(exited.code, 0);
    assert.match(exited.stderr, /cannot delete container "[0-9a-f]{64}": it belongs to the Docker engine .*: failed precondition/);
    const label = await ctr.run(['containers', 'label', ids.done!, 'x=y'], { ns: 'moby' });
    assert.match(label.stderr, /cannot update container .* it belongs to the Docker engine/);
    const start = await ctr.run(['tasks', 'start', ids.made!], { ns: 'moby' });
    assert.notEqual(start.code, 0);
    assert.match(start.stderr, /cannot create a task for container "[0-9a-f]{64}": it belongs to the Docker engine/);
    assert.equal((await docker(['ps', '-aq'])).split('\n').length, 3, 'docker ps still lists all three');
    assert.equal(await docker(['inspect', '--format', '{{.State.Status}}', 'web']), 'running');
    assert.equal(await docker(['inspect', '--format', '{{.State.Status}}', 'made']), 'created');
    // The engine's removal is seen at once: a view, not a copy.
    await docker(['rm', 'done']);
    assert.ok(!rows(await ctr.ok(['containers', 'ls'], { ns: 'moby' })).some(([id]) => id === ids.done));
    delete ids.done;
  });

  it('keeps their writable layers through collections made over the containerd API', async () => {
    const info = JSON.parse(await ctr.ok(['containers', 'info', ids.made!], { ns: 'moby' })) as ContainerInfo;
    // A lease removal with --sync collects the namespace at once.
    await ctr.ok(['leases', 'create', '--id', 'gc-now'], { ns: 'moby' });
    await ctr.ok(['leases', 'rm', '--sync', 'gc-now'], { ns: 'moby' });
    assert.ok(rows(await ctr.ok(['snapshots', 'ls'], { ns: 'moby' })).some(([key]) => key === info.SnapshotKey));
    await docker(['start', '-a', 'made']);
  });

  it('announces the engine\'s creations and removals as containerd\'s container events', async () => {
    const child = spawn('ctr', ['--address', supervisorSocket(d), 'events', 'namespace==moby,topic~=^/containers/'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    try {
      await new Promise((r) => setTimeout(r, 500)); // subscribed
      const id = await docker(['create', '--network', 'none', 'bb', 'true']);
      await docker(['rm', id]);
      await waitFor(() => out.includes('/containers/delete'), 10_000);
      const lines = out.trim().split('\n');
      assert.equal(lines.length, 2, out);
      assert.match(lines[0]!, new RegExp(` moby /containers/create \\{"id":"${id}","image":"docker.io/library/bb:latest","runtime":\\{"name":"io.containerd.runc.v2"\\}\\}$`));
      assert.match(lines[1]!, new RegExp(` moby /containers/delete \\{"id":"${id}"\\}$`));
    } finally {
      child.kill();
    }
  });

  it('stops under a ctr kill, and the engine records the exit', async () => {
    await ctr.ok(['tasks', 'kill', '-s', 'SIGKILL', ids.web!], { ns: 'moby' });
    assert.equal(await docker(['wait', 'web']), '137');
    assert.equal(await docker(['inspect', '--format', '{{.State.Status}} {{.State.ExitCode}}', 'web']), 'exited 137');
    assert.deepEqual(rows(await ctr.ok(['tasks', 'ls'], { ns: 'moby' })), [], 'the engine removed the task');
  });

  it('never shows ctr\'s containers in docker ps, even in moby', async () => {
    const image = 'docker.io/library/bb:latest';
    await ctr.ok(['run', '--rm', image, 'ctr-rm', 'true'], { ns: 'moby' });
    await ctr.ok(['containers', 'create', image, 'ctr-made', 'true'], { ns: 'moby' });
    assert.ok(rows(await ctr.ok(['containers', 'ls'], { ns: 'moby' })).some(([id]) => id === 'ctr-made'));
    assert.deepEqual((await docker(['ps', '-aq', '--no-trunc'])).split('\n').sort(), Object.values(ids).sort());
    const clash = await ctr.run(['containers', 'create', image, ids.web!, 'true'], { ns: 'moby' });
    assert.match(clash.stderr, /already exists/, 'an engine container\'s ID is taken');
    await ctr.ok(['containers', 'rm', 'ctr-made'], { ns: 'moby' });
  });
});
