// The command line itself: spec, global flags, log formats and usage errors, as runc has them.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanupDir, errorMessage, RuntimeHarness } from '../../helpers/runtime.js';

describe('berth-runtime command line', () => {
  const rt = new RuntimeHarness();
  const dir = mkdtempSync(join(tmpdir(), 'berth-cli-'));
  after(async () => {
    await rt.cleanup();
    cleanupDir(dir);
  });

  it('spec writes runc\'s default config and refuses to overwrite it', async () => {
    assert.equal((await rt.cli(['spec', '--bundle', dir])).code, 0);
    const spec = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    assert.deepEqual(spec.process.args, ['sh']);
    assert.equal(spec.root.path, 'rootfs');
    assert.deepEqual(spec.linux.namespaces.map((n: { type: string }) => n.type), ['pid', 'network', 'ipc', 'uts', 'mount']);
    const again = await rt.cli(['spec', '--bundle', dir]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /File config\.json exists\. Remove it first/);
  });

  it('spec --rootless maps root to the caller and drops the network namespace', async () => {
    const d = mkdtempSync(join(dir, 'rootless-'));
    assert.equal((await rt.cli(['spec', '--rootless', '-b', d])).code, 0);
    const spec = JSON.parse(readFileSync(join(d, 'config.json'), 'utf8'));
    assert.deepEqual(spec.linux.uidMappings, [{ containerID: 0, hostID: 0, size: 1 }]);
    assert.ok(spec.linux.namespaces.some((n: { type: string }) => n.type === 'user'));
    assert.ok(!spec.linux.namespaces.some((n: { type: string }) => n.type === 'network'));
  });

  it('--log with --log-format json writes the error there and the bare message to stderr', async () => {
    const log = join(dir, 'log.json');
    const r = await rt.cli(['--log', log, '--log-format', 'json', 'state', 'nosuch']);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'container does not exist\n');
    const entry = JSON.parse(readFileSync(log, 'utf8').trim());
    assert.equal(entry.level, 'error');
    assert.equal(entry.msg, 'container does not exist');
    assert.match(entry.time, /^\d{4}-\d\d-\d\dT/);
  });

  it('reports unknown commands, flags and missing arguments with status 1', async () => {
    assert.match(errorMessage((await rt.cli(['frobnicate'])).stderr), /No help topic for 'frobnicate'/);
    assert.match(errorMessage((await rt.cli(['state', '--bogus', 'x'])).stderr), /flag provided but not defined: -bogus/);
    const r = await rt.cli(['start']);
    assert.equal(r.code, 1);
    assert.match(errorMessage(r.stderr), /"start" requires exactly 1 argument/);
    assert.match(errorMessage((await rt.cli(['create', '--bundle', dir, '../escape'])).stderr), /invalid container id/);
  });

  it('list prints only the header when there are no containers', async () => {
    const r = await rt.cli(['list']);
    assert.equal(r.stdout, 'ID          PID         STATUS      BUNDLE      CREATED     OWNER\n');
  });
});
