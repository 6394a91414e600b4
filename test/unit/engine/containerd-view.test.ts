// The engine's containers as containerd container records (the view the engine registers for
// namespace moby), and how the supervisor's container store serves a view: merged into lists and
// lookups, read-only, its IDs taken.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUNDLE_LABEL, containerBundleDir, containerdView } from '../../../src/engine/containers/containerd-view.js';
import { initialState, type ContainerRecord } from '../../../src/engine/containers/record.js';
import { ContainerStore as EngineStore } from '../../../src/engine/containers/store.js';
import { ContainerStore } from '../../../src/supervisor/containers/store.js';

const ID_A = 'a'.repeat(64);
const ID_B = 'b'.repeat(64);

function engineRecord(id: string, image: string, labels: Record<string, string> = {}): ContainerRecord {
  return {
    ID: id, Name: `/c-${id.slice(0, 4)}`, Created: '2026-11-26T05:00:00.000Z', Path: 'sleep', Args: ['60'],
    Config: { Image: image, Labels: labels, Env: ['PATH=/bin'], WorkingDir: '/srv', Hostname: 'h1' } as ContainerRecord['Config'],
    HostConfig: {} as ContainerRecord['HostConfig'], Image: `sha256:${'c'.repeat(64)}`, State: initialState(), RestartCount: 0,
    Platform: 'linux', Driver: 'overlayfs', LogPath: '', ResolvConfPath: '', HostnamePath: '', HostsPath: '', Networks: {},
    SnapshotKey: `moby-${id}`, ManuallyStopped: false, HasBeenStarted: false, MountPoints: [],
  };
}

function withDirs(fn: (dirs: { engine: string; exec: string; records: string }) => void): void {
  const root = mkdtempSync(join(tmpdir(), 'berth-view-'));
  try {
    fn({ engine: join(root, 'containers'), exec: join(root, 'exec'), records: join(root, 'records') });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

const specJson = (r: { spec?: { value: string } }) => JSON.parse(Buffer.from(r.spec!.value, 'base64').toString('utf8')) as { process: { args: string[]; cwd: string; env: string[] }; hostname: string; root: { path: string } };

describe('the engine\'s containers as containerd records', () => {
  it('shows Docker\'s fields as containerd holds them: runtime, image name, labels, snapshot, spec', () => {
    withDirs(({ engine, exec }) => {
      const store = new EngineStore(engine);
      store.add(engineRecord(ID_A, 'busybox', { team: 'qa' }));
      store.add(engineRecord(ID_B, 'cccccccccccc'));
      const view = containerdView(store, { execRoot: exec, snapshotter: 'overlayfs' });
      const a = view.find(ID_A)!;
      assert.equal(a.runtime.name, 'io.containerd.runc.v2');
      assert.equal(a.image, 'docker.io/library/busybox:latest');
      assert.deepEqual(a.labels, { team: 'qa', [BUNDLE_LABEL]: containerBundleDir(exec, ID_A) });
      assert.deepEqual([a.snapshotter, a.snapshotKey], ['overlayfs', `moby-${ID_A}`]);
      assert.equal(a.spec!.typeUrl, 'types.containerd.io/opencontainers/runtime-spec/1/Spec');
      const before = specJson(a);
      assert.deepEqual([before.process.args, before.process.cwd, before.hostname], [['sleep', '60'], '/srv', 'h1'], 'never started: the config\'s part of the spec');
      assert.equal(view.find(ID_B)!.image, `sha256:${'c'.repeat(64)}`, 'run by ID: the image ID');
      // Once started, the spec the engine wrote into the bundle.
      mkdirSync(containerBundleDir(exec, ID_A), { recursive: true });
      writeFileSync(join(containerBundleDir(exec, ID_A), 'config.json'), JSON.stringify({ ociVersion: '1.0.2', process: { args: ['from', 'bundle'] } }));
      assert.deepEqual(specJson(view.find(ID_A)!).process.args, ['from', 'bundle']);
      assert.deepEqual(view.list().map((r) => r.id).sort(), [ID_A, ID_B]);
      assert.equal(view.find('c-aaaa'), undefined, 'only full IDs, not names');
      assert.equal(view.find(ID_A.slice(0, 12)), undefined, 'nor prefixes');
    });
  });

  it('is served by the supervisor\'s store: listed and found beside its own records, never changed', () => {
    withDirs(({ engine, exec, records }) => {
      const store = new EngineStore(engine);
      store.add(engineRecord(ID_A, 'busybox'));
      const containers = new ContainerStore(records);
      containers.addView('moby', containerdView(store, { execRoot: exec, snapshotter: 'overlayfs' }));
      containers.create('moby', { id: 'zzz', labels: {}, image: 'x', runtime: { name: 'io.containerd.runc.v2' }, snapshotter: '', snapshotKey: '', extensions: {} });
      assert.deepEqual(containers.list('moby').map((r) => r.id), [ID_A, 'zzz']);
      assert.deepEqual(containers.list('other'), [], 'only in its namespace');
      assert.deepEqual(containers.namespaces(), ['moby']);
      assert.equal(containers.get('moby', ID_A).image, 'docker.io/library/busybox:latest');
      assert.ok(containers.viewOf('moby', ID_A));
      assert.equal(containers.viewOf('moby', 'zzz'), undefined);
      const own = { id: ID_A, labels: {}, image: 'x', runtime: { name: 'io.containerd.runc.v2' }, snapshotter: '', snapshotKey: '', extensions: {} };
      assert.throws(() => containers.create('moby', own), /already exists/);
      assert.throws(() => containers.update('moby', containers.get('moby', ID_A)), /cannot update container .* it belongs to the Docker engine/);
      assert.throws(() => containers.delete('moby', ID_A), /cannot delete container .* it belongs to the Docker engine/);
      store.remove(ID_A);
      assert.deepEqual(containers.list('moby').map((r) => r.id), ['zzz'], 'the engine\'s removal is seen at once');
    });
  });
});
