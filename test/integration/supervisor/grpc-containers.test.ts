// The containers service and the task calls ctr has no command for, through a plain gRPC client:
// field-mask updates (labels, extensions, spec, immutable runtime and snapshotter), filters,
// containerd's codes for bad input, Update of a running task's resources, Checkpoint refused.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { Metadata, status } from '@grpc/grpc-js';
import { startBerthd, supervisorSocket, type TestBerthd } from '../../helpers/berthd.js';
import { ctrAt, HAVE_CTR, rows, type Ctr } from '../../helpers/ctr.js';
import { grpcClient, rejectsWith, type Call } from '../../helpers/grpc-client.js';
import { testImageLayers } from '../../helpers/images.js';
import { pushTestImage, startRegistry, type PushedImage, type TestRegistry } from '../../helpers/registry.js';
import { removeCgroupDir } from '../../helpers/runtime.js';

const NS = `ctrs-${process.pid}`;
const SPEC_TYPE = 'types.containerd.io/opencontainers/runtime-spec/1/Spec';
const any = (typeUrl: string, value: unknown) => ({ type_url: typeUrl, value: Buffer.from(JSON.stringify(value)) });

describe('containers and task updates through a gRPC client', { skip: !HAVE_CTR && 'ctr not installed (apt-get install containerd)' }, () => {
  let d: TestBerthd;
  let registry: TestRegistry;
  let image: PushedImage;
  let ctr: Ctr;
  let containers: ReturnType<typeof grpcClient>;
  let tasks: ReturnType<typeof grpcClient>;
  let c: Call;

  before(async () => {
    d = await startBerthd({ supervisorOnly: true });
    ctr = ctrAt(supervisorSocket(d));
    containers = grpcClient(supervisorSocket(d), 'containerd.services.containers.v1.Containers', NS);
    tasks = grpcClient(supervisorSocket(d), 'containerd.services.tasks.v1.Tasks', NS);
    c = containers.call;
    registry = await startRegistry();
    image = await pushTestImage(registry.host, 'library/busybox:latest', testImageLayers());
  });

  after(async () => {
    for (const [id] of rows((await ctr.run(['tasks', 'ls'], { ns: NS })).stdout)) await ctr.run(['tasks', 'rm', '-f', id!], { ns: NS });
    for (const [id] of rows((await ctr.run(['containers', 'ls'], { ns: NS })).stdout)) await ctr.run(['containers', 'rm', id!], { ns: NS });
    containers?.close();
    tasks?.close();
    await registry?.stop();
    await d?.stop();
    removeCgroupDir(`${NS}/upd`);
    removeCgroupDir(NS);
  });

  it('creates, updates with field masks, filters and deletes records', async () => {
    const created = (await c('Create', { container: { id: 'rec1', image: 'img:1', labels: { a: '1', b: '2' }, runtime: { name: 'io.containerd.runc.v2' }, spec: any(SPEC_TYPE, { ociVersion: '1.0.2' }), snapshotter: 'overlayfs', snapshot_key: 'rec1', extensions: { x: any('t/x', 1) } } })).container;
    assert.equal(created.id, 'rec1');
    assert.ok(Number(created.created_at.seconds) > 0);
    await rejectsWith(c('Create', { container: { id: 'rec1', runtime: { name: 'r' }, spec: any(SPEC_TYPE, {}) } }), status.ALREADY_EXISTS, /container "rec1": already exists/);
    await rejectsWith(c('Create', { container: { id: 'rec2', runtime: { name: 'r' } } }), status.INVALID_ARGUMENT, /Spec must be set/);
    await rejectsWith(c('Create', { container: { id: 'bad id!', runtime: { name: 'r' }, spec: any(SPEC_TYPE, {}) } }), status.INVALID_ARGUMENT, /identifier "bad id!"/);

    let u = (await c('Update', { container: { id: 'rec1', labels: { a: '', c: '3' } }, update_mask: { paths: ['labels.a', 'labels.c'] } })).container;
    assert.deepEqual(u.labels, { b: '2', c: '3' });
    u = (await c('Update', { container: { id: 'rec1', image: 'img:2', extensions: {} }, update_mask: { paths: ['image', 'extensions.x'] } })).container;
    assert.equal(u.image, 'img:2');
    assert.deepEqual(Object.keys(u.extensions), []);
    await rejectsWith(c('Update', { container: { id: 'rec1', runtime: { name: 'other' } }, update_mask: { paths: ['runtime'] } }), status.INVALID_ARGUMENT, /cannot update "runtime" field on "rec1"/);
    await rejectsWith(c('Update', { container: { id: 'rec1', runtime: { name: 'other' }, snapshotter: 'overlayfs', spec: any(SPEC_TYPE, {}) } }), status.INVALID_ARGUMENT, /Runtime.Name field is immutable/);
    u = (await c('Update', { container: { id: 'rec1', runtime: { name: 'io.containerd.runc.v2' }, snapshotter: 'overlayfs', spec: any(SPEC_TYPE, { ociVersion: '1.1.0' }), labels: { only: 'this' }, image: 'img:3', snapshot_key: 'rec1' } })).container;
    assert.deepEqual(u.labels, { only: 'this' });
    assert.equal(JSON.parse(Buffer.from(u.spec.value).toString()).ociVersion, '1.1.0');
    await rejectsWith(c('Update', { container: { id: 'nope' } }), status.NOT_FOUND, /container "nope" in namespace "[^"]+": not found/);

    assert.deepEqual((await c('List', { filters: ['labels.only==this'] })).containers.map((x: { id: string }) => x.id), ['rec1']);
    assert.deepEqual((await c('List', { filters: ['image==img:1'] })).containers, []);
    assert.deepEqual((await c('List', { filters: ['runtime.name==io.containerd.runc.v2,id==rec1'] })).containers.map((x: { id: string }) => x.id), ['rec1']);
    await c('Delete', { id: 'rec1' });
    await rejectsWith(c('Delete', { id: 'rec1' }), status.NOT_FOUND, /not found/);
    await rejectsWith(c('Get', { id: 'rec1' }, new Metadata()), status.FAILED_PRECONDITION, /namespace is required/);
  });

  it('updates a running task\'s resources, refuses checkpoints and a task for no container', async () => {
    await ctr.ok(['images', 'pull', '--plain-http', image.name], { ns: NS, timeoutMs: 120_000 });
    await ctr.ok(['run', '-d', image.name, 'upd', 'sleep', '60'], { ns: NS });
    await tasks.call('Update', { container_id: 'upd', resources: any('types.containerd.io/opencontainers/runtime-spec/1/LinuxResources', { memory: { limit: 64 << 20 } }) });
    const v1 = `/sys/fs/cgroup/memory/${NS}/upd/memory.limit_in_bytes`;
    const v2 = `/sys/fs/cgroup/${NS}/upd/memory.max`;
    const limit = (() => {
      try {
        return readFileSync(v1, 'utf8');
      } catch {
        return readFileSync(v2, 'utf8');
      }
    })();
    assert.equal(Number(limit), 64 << 20);
    await rejectsWith(tasks.call('Checkpoint', { container_id: 'upd' }), status.UNIMPLEMENTED, /checkpoints are not supported/);
    await rejectsWith(tasks.call('Create', { container_id: 'ghost' }), status.NOT_FOUND, /container "ghost" in namespace "[^"]+": not found/);
    await rejectsWith(tasks.call('Create', { container_id: 'upd' }), status.ALREADY_EXISTS, /task upd: already exists/);
    await rejectsWith(tasks.call('Exec', { container_id: 'upd', exec_id: 'x' }), status.INVALID_ARGUMENT, /exec process spec must be set/);
    await rejectsWith(c('Delete', { id: 'upd' }), status.FAILED_PRECONDITION, /it has a task/);
    await ctr.ok(['tasks', 'rm', '-f', 'upd'], { ns: NS });
    await ctr.ok(['containers', 'rm', 'upd'], { ns: NS });
  });
});
