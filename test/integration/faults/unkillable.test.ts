// A container whose process cannot die: frozen in a cgroup whose parent someone else froze, so no
// thaw of its own cgroup undoes it and SIGKILL never lands. `docker rm -f` fails with Docker's
// words and keeps the container (no record removed over a live task, shim and cgroup); the daemon
// goes on serving meanwhile; once the parent is thawed, the same `rm -f` removes everything.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeBusyboxRootfs } from '../../helpers/busybox.js';
import { startBerthd, type TestBerthd } from '../../helpers/berthd.js';
import { cleanupDir, processesWhere, removeCgroupDir, waitFor } from '../../helpers/runtime.js';

const work = mkdtempSync(join(tmpdir(), 'berth-unkillable-'));
const PARENT = `berth-test-unkillable-${process.pid}`;
const FREEZER = join('/sys/fs/cgroup/freezer', PARENT);
const noFreezer = existsSync('/sys/fs/cgroup/freezer/cgroup.procs') ? false : 'no cgroup v1 freezer (on cgroup v2 a frozen process still dies of SIGKILL)';

describe('a container that cannot be killed', { skip: noFreezer }, () => {
  let d: TestBerthd;
  const ok = async (...args: string[]) => {
    const r = await d.docker(args, { timeoutMs: 60_000 });
    assert.equal(r.code, 0, `docker ${args.join(' ')} exited ${r.code}: ${r.stderr}\n--- berthd log ---\n${d.log().slice(-2000)}`);
    return r.stdout.trim();
  };
  const thaw = () => {
    if (existsSync(FREEZER)) writeFileSync(join(FREEZER, 'freezer.state'), 'THAWED');
  };

  before(async () => {
    makeBusyboxRootfs(join(work, 'rootfs'));
    execFileSync('tar', ['-C', join(work, 'rootfs'), '-cf', join(work, 'bb.tar'), '.']);
    d = await startBerthd();
    await ok('import', join(work, 'bb.tar'), 'bb:latest');
  });
  after(async () => {
    thaw();
    await d?.stop();
    // If the test failed midway, the container may still run under PARENT: kill it first.
    for (const pid of existsSync(FREEZER) ? readFileSync(join(FREEZER, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean) : []) process.kill(Number(pid), 'SIGKILL');
    for (const dir of existsSync(FREEZER) ? readdirSync(FREEZER, { withFileTypes: true }).filter((e) => e.isDirectory()) : []) {
      for (const pid of readFileSync(join(FREEZER, dir.name, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) process.kill(Number(pid), 'SIGKILL');
      await waitFor(() => readFileSync(join(FREEZER, dir.name, 'cgroup.procs'), 'utf8').trim() === '', 5000).catch(() => {});
      removeCgroupDir(`${PARENT}/${dir.name}`);
    }
    removeCgroupDir(PARENT);
    cleanupDir(work);
  });

  it('rm -f fails with Docker\'s words and keeps it; thawed, rm -f removes it', async () => {
    const id = await ok('run', '-d', '--network', 'none', '--cgroup-parent', `/${PARENT}`, 'bb', 'sleep', '1000');
    writeFileSync(join(FREEZER, 'freezer.state'), 'FROZEN');
    await waitFor(() => readFileSync(join(FREEZER, 'freezer.state'), 'utf8').trim() === 'FROZEN');

    const removal = d.docker(['rm', '-f', id], { timeoutMs: 60_000 });
    // The daemon serves others meanwhile.
    assert.equal(await ok('run', '--rm', '--network', 'none', 'bb', 'echo', 'still here'), 'still here');
    const r = await removal;
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Could not kill running container [0-9a-f]{64}, cannot remove - tried to kill container, but did not receive an exit event/);
    assert.equal(await ok('inspect', '-f', '{{.State.Status}}', id), 'running', 'kept, as it still runs');
    assert.equal(processesWhere('cmdline', (c) => c.includes('berth-shim') && c.includes(id)).length, 1, 'its shim is still there');

    thaw();
    await ok('rm', '-f', id);
    assert.equal((await d.docker(['inspect', '--type', 'container', id])).code, 1, 'gone');
    await waitFor(() => processesWhere('cmdline', (c) => c.includes('berth-shim') && c.includes(id)).length === 0, 5000);
    assert.equal(existsSync(join(FREEZER, id)), false, 'its cgroup is gone');
  });
});
