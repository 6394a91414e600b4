// SIGKILL of a paused task under an external runtime CLI: on cgroup v1 a frozen process acts on no
// signal until thawed. runc thaws after SIGKILL itself; crun (1.8, and upstream still) does not, so
// the supervisor resumes the container after the kill. Each runtime is skipped when not installed.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TaskService } from '../../../src/supervisor/tasks/service.js';
import { within, TIMED_OUT } from '../../../src/common/deadline.js';
import { makeBundle, type Bundle } from '../../helpers/busybox.js';
import { cleanupDir, haveCommand, removeCgroupDir } from '../../helpers/runtime.js';

const PARENT = `berth-test-oci-kill/${process.pid}`;
const FREEZER = '/sys/fs/cgroup/freezer';

/**
 * crun refuses a hybrid host whose cgroup v2 hierarchy has controllers ("cgroups in hybrid mode
 * not supported"); Docker with crun fails there the same way. The test runs it through a wrapper
 * that unmounts the v2 hierarchy in a private mount namespace, so crun sees the v1-only host the
 * defect needs. Elsewhere crun runs as it is.
 */
function crunBinary(dir: string): string {
  let controllers = '';
  try {
    controllers = readFileSync('/sys/fs/cgroup/unified/cgroup.controllers', 'utf8').trim();
  } catch {
    return 'crun';
  }
  if (!controllers) return 'crun';
  const wrapper = join(dir, 'crun-v1');
  writeFileSync(wrapper, `#!/bin/sh\nexec unshare -m sh -c 'umount /sys/fs/cgroup/unified && exec crun "$@"' crun "$@"\n`);
  chmodSync(wrapper, 0o755);
  return wrapper;
}

describe('task service: SIGKILL of a paused task under runc and crun', () => {
  const execRoot = mkdtempSync(join(tmpdir(), 'berth-sup-ocikill-'));
  const service = new TaskService({ execRoot, runtimes: { runc: 'runc', crun: crunBinary(execRoot) } });
  const bundles: Bundle[] = [];
  after(async () => {
    for (const t of service.list()) {
      await service.resume(t.namespace, t.id).catch(() => {});
      await service.delete(t.namespace, t.id, true).catch(() => {});
    }
    for (const b of bundles) cleanupDir(b.dir);
    cleanupDir(execRoot);
    removeCgroupDir(PARENT);
    removeCgroupDir('berth-test-oci-kill');
  });

  for (const runtime of ['runc', 'crun']) {
    const skip = haveCommand(runtime) ? false : `${runtime} is not installed`;
    it(`a paused task dies of SIGKILL and its cgroup is not left frozen (${runtime})`, { skip }, async () => {
      const b = makeBundle(['sleep', '1000'], (s) => {
        s.linux!.cgroupsPath = `/${PARENT}/${runtime}`;
        s.ociVersion = '1.0.2'; // crun 1.8 knows no later version ("unknown version specified")
      });
      bundles.push(b);
      await service.create('ocikill', runtime, { bundle: b.dir, runtime });
      await service.start('ocikill', runtime);
      await service.pause('ocikill', runtime);
      const state = join(FREEZER, PARENT, runtime, 'freezer.state');
      if (existsSync(state)) assert.equal(readFileSync(state, 'utf8').trim(), 'FROZEN');
      await service.kill('ocikill', runtime, 9); // the container's process, not --all
      const exit = await within(service.wait('ocikill', runtime), 5000);
      assert.notEqual(exit, TIMED_OUT, 'the killed process exited (its cgroup was thawed)');
      assert.equal(exit !== TIMED_OUT && exit.status, 137);
      assert.equal((await service.delete('ocikill', runtime)).status, 137);
      assert.equal(existsSync(join(FREEZER, PARENT, runtime)), false, 'the cgroup is gone');
    });
  }
});
