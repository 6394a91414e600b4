// berth-init's pause mode (started as /pause), the CRI's pod sandbox process, in a real container
// whose rootfs holds nothing but that binary: it stays up as PID 1, reaps what another container
// of the pod leaves orphaned in the shared PID namespace, and exits 0 on SIGTERM at once.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeBundle, type Bundle } from '../../helpers/busybox.js';
import { cleanupDir, removeCgroupDir, waitFor } from '../../helpers/runtime.js';
import { TaskService } from '../../../src/supervisor/tasks/service.js';
import { defaultSpec } from '../../../src/runtime/spec/default.js';
import { nativeBinaryPath } from '../../../src/sys/native.js';

/** A process's status field (e.g. "NSpid", "State"). */
function status(pid: number, field: string): string | undefined {
  try {
    return new RegExp(`^${field}:\\s*(.*)$`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  } catch {
    return undefined; // gone
  }
}

function children(pid: number): number[] {
  return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean).map(Number);
}

describe('pause (berth-init started as /pause)', () => {
  const execRoot = mkdtempSync(join(tmpdir(), 'berth-pause-'));
  const service = new TaskService({ execRoot });
  const cgroupParent = `/berth-test-pause/${process.pid}`;
  const dirs: string[] = [];
  after(async () => {
    for (const t of service.list()) await service.delete(t.namespace, t.id, true).catch(() => {});
    for (const d of dirs) cleanupDir(d);
    cleanupDir(execRoot);
    removeCgroupDir(cgroupParent);
    removeCgroupDir('berth-test-pause');
  });

  /** A bundle whose rootfs is empty but for /pause, as the CRI's sandbox image is. */
  function sandboxBundle(): { dir: string; rootfs: string } {
    const dir = mkdtempSync(join(tmpdir(), 'berth-sandbox-'));
    dirs.push(dir);
    chmodSync(dir, 0o755);
    const rootfs = join(dir, 'rootfs');
    mkdirSync(rootfs);
    copyFileSync(nativeBinaryPath('berth-init', 'BERTH_INIT'), join(rootfs, 'pause'));
    chmodSync(join(rootfs, 'pause'), 0o755);
    const spec = defaultSpec();
    spec.process!.terminal = false;
    spec.process!.args = ['/pause'];
    spec.linux!.cgroupsPath = `${cgroupParent}/sandbox`;
    writeFileSync(join(dir, 'config.json'), JSON.stringify(spec));
    return { dir, rootfs };
  }

  it('stays up as PID 1 with nothing else in its rootfs, reaps an orphan, and exits 0 on SIGTERM', async () => {
    const sandbox = sandboxBundle();
    assert.deepEqual(readdirSync(sandbox.rootfs), ['pause']);
    const log = join(sandbox.dir, 'pause.log');
    const rec = await service.create('k8s', 'sandbox', { bundle: sandbox.dir, log: { path: log, format: 'cri' } });
    await service.start('k8s', 'sandbox');
    await new Promise((r) => setTimeout(r, 500));
    assert.equal((await service.status('k8s', 'sandbox')).status, 'running');
    assert.equal(status(rec.pid, 'NSpid')!.split(/\s+/).at(-1), '1', 'PID 1 in its namespace');
    assert.match(status(rec.pid, 'State')!, /^S/, 'asleep');

    // A container of the pod joins the sandbox's PID namespace and leaves a child behind: the
    // kernel hands the orphan to the namespace's PID 1, which must reap it when it exits.
    // (The orphan lets go of the output pipes: the shim would otherwise drain them until it ends.)
    const app: Bundle = makeBundle(['sh', '-c', 'sleep 2 >/dev/null 2>&1 & exit 0'], (s) => {
      s.linux!.cgroupsPath = `${cgroupParent}/app`;
      s.linux!.namespaces = s.linux!.namespaces!.map((ns) => (ns.type === 'pid' ? { type: 'pid', path: `/proc/${rec.pid}/ns/pid` } : ns));
    });
    dirs.push(app.dir);
    await service.create('k8s', 'app', { bundle: app.dir });
    await service.start('k8s', 'app');
    assert.equal((await service.wait('k8s', 'app')).status, 0);
    let orphan = 0;
    await waitFor(() => (orphan = children(rec.pid)[0] ?? 0) > 0, 2000);
    assert.equal(status(orphan, 'Name'), 'sleep', 'the orphan now belongs to pause');
    await waitFor(() => !existsSync(`/proc/${orphan}`), 5000); // reaped, not left a zombie
    await service.delete('k8s', 'app');

    assert.equal((await service.status('k8s', 'sandbox')).status, 'running');
    const t0 = Date.now();
    await service.kill('k8s', 'sandbox', 15);
    const exit = await service.wait('k8s', 'sandbox');
    assert.equal(exit.status, 0, 'SIGTERM is a clean exit');
    assert.ok(Date.now() - t0 < 1000, `exited within 1 s (took ${Date.now() - t0} ms)`);
    assert.equal(readFileSync(log, 'utf8'), '', 'nothing to say as PID 1');
    await service.delete('k8s', 'sandbox');
  });

  it('exits 0 on SIGINT too', async () => {
    const sandbox = sandboxBundle();
    await service.create('k8s', 'sigint', { bundle: sandbox.dir });
    await service.start('k8s', 'sigint');
    await new Promise((r) => setTimeout(r, 200));
    await service.kill('k8s', 'sigint', 2);
    assert.equal((await service.wait('k8s', 'sigint')).status, 0);
    await service.delete('k8s', 'sigint');
  });
});
