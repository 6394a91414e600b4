// The local volume store on the real kernel: create/inspect/list/remove/prune as Docker answers
// them, in-use protection, users that survive a restart, and driver options (tmpfs, o=bind)
// mounted with mount(8) on first use and unmounted after the last.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mountAll, unmountAll } from '../../../src/sys/mount.js';
import { ANONYMOUS_LABEL } from '../../../src/volume/store.js';
import { mountsUnder, recordingStore, sha, tempRoot } from './helpers.js';

const errorOf = (fn: () => unknown): Error & { code?: string; httpStatus?: number } => {
  try {
    fn();
  } catch (err) {
    return err as Error & { code?: string };
  }
  assert.fail('expected an error');
};

describe('volume store', () => {
  const tmp = tempRoot();
  after(tmp.cleanup);
  let n = 0;
  const fresh = () => recordingStore(join(tmp.dir, `root${++n}`));

  it('creates named and anonymous volumes with Docker\'s inspect shape, on disk as Docker lays them out', () => {
    const { store, events } = fresh();
    const v = store.create({ Name: 'web-data', Labels: { app: 'web' } });
    assert.deepEqual(Object.keys(v), ['CreatedAt', 'Driver', 'Labels', 'Mountpoint', 'Name', 'Options', 'Scope']);
    assert.equal(v.Name, 'web-data');
    assert.equal(v.Driver, 'local');
    assert.equal(v.Scope, 'local');
    assert.deepEqual(v.Labels, { app: 'web' });
    assert.equal(v.Options, null);
    assert.match(v.CreatedAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.equal(v.Mountpoint, join(store.dir, 'web-data', '_data'));
    assert.equal(statSync(store.dir).mode & 0o777, 0o701);
    assert.equal(statSync(join(store.dir, 'web-data')).mode & 0o777, 0o701);
    assert.equal(statSync(v.Mountpoint).mode & 0o777, 0o755);
    const meta = JSON.parse(readFileSync(join(store.dir, 'web-data', 'opts.json'), 'utf8'));
    assert.equal(meta.Name, 'web-data');
    assert.equal(statSync(join(store.dir, 'web-data', 'opts.json')).mode & 0o777, 0o600);

    const anon = store.create({});
    assert.match(anon.Name, /^[0-9a-f]{64}$/);
    assert.deepEqual(anon.Labels, { [ANONYMOUS_LABEL]: '' });
    assert.deepEqual(events.map((e) => [e.action, e.name, e.attributes.driver]), [['create', 'web-data', 'local'], ['create', anon.Name, 'local']]);

    // The same name again: the existing volume, unchanged, and no second event.
    const again = store.create({ Name: 'web-data', Labels: { other: 'x' }, DriverOpts: { type: 'tmpfs', device: 'tmpfs' } });
    assert.deepEqual(again, v);
    assert.equal(events.length, 2);
    assert.deepEqual(store.get('web-data'), v);
  });

  it('refuses other drivers, bad names and bad options, leaving nothing behind', () => {
    const { store } = fresh();
    const driver = errorOf(() => store.create({ Name: 'qq', Driver: 'nfsx' }));
    assert.equal(driver.code, 'NOT_FOUND');
    assert.match(driver.message, /^create qq: error looking up volume plugin nfsx: plugin "nfsx" not found/);
    assert.equal(errorOf(() => store.create({ Name: 'x/y' })).code, 'INVALID_ARGUMENT');
    const opt = errorOf(() => store.create({ Name: 'qq', DriverOpts: { foo: 'bar' } }));
    assert.equal(opt.message, 'create qq: invalid option: "foo"');
    assert.equal(opt.code, 'INVALID_ARGUMENT');
    assert.equal(errorOf(() => store.create({ Name: 'qq', DriverOpts: { type: 'tmpfs' } })).message, 'create qq: missing required option: "device"');
    assert.deepEqual(readdirSync(store.dir), []);
    const missing = errorOf(() => store.get('nope'));
    assert.equal(missing.message, 'get nope: no such volume');
    assert.equal(missing.code, 'NOT_FOUND');
  });

  it('lists with the name, driver, label and dangling filters', () => {
    const { store } = fresh();
    store.create({ Name: 'web-data', Labels: { app: 'web', tier: 'front' } });
    store.create({ Name: 'db-data', Labels: { app: 'db' } });
    store.create({ Name: 'scratch' });
    store.reference('db-data', sha(1));
    const names = (f: Record<string, string[]>) => store.list(f).map((v) => v.Name);
    assert.deepEqual(names({}), ['db-data', 'scratch', 'web-data']);
    assert.deepEqual(names({ name: ['data'] }), ['db-data', 'web-data']);
    assert.deepEqual(names({ name: ['^web'] }), ['web-data']);
    assert.deepEqual(names({ label: ['app'] }), ['db-data', 'web-data']);
    assert.deepEqual(names({ label: ['app=web', 'tier=front'] }), ['web-data']);
    assert.deepEqual(names({ label: ['app=none'] }), []);
    assert.deepEqual(names({ driver: ['local'] }), ['db-data', 'scratch', 'web-data']);
    assert.deepEqual(names({ driver: ['nfs'] }), []);
    assert.deepEqual(names({ dangling: ['true'] }), ['scratch', 'web-data']);
    assert.deepEqual(names({ dangling: ['false'] }), ['db-data']);
    assert.equal(errorOf(() => store.list({ until: ['1h'] })).message, "invalid filter 'until'");
    assert.equal(errorOf(() => store.list({ dangling: ['maybe'] })).message, "invalid filter 'dangling=maybe'");
    assert.equal(store.list({}).every((v) => v.UsageData === undefined), true);
    writeFileSync(join(store.path('db-data'), 'f'), 'x'.repeat(1000));
    assert.deepEqual(store.list({ name: ['db'] }, { usage: true })[0]!.UsageData, { Size: 1000, RefCount: 1 });
  });

  it('refuses to remove a volume in use (409, Docker\'s message), force or not, until the container lets go', () => {
    const { store, events } = fresh();
    store.create({ Name: 'busy' });
    store.reference('busy', sha(1));
    store.reference('busy', sha(2));
    store.reference('busy', sha(2)); // twice is once
    const err = errorOf(() => store.remove('busy'));
    assert.equal(err.message, `remove busy: volume is in use - [${sha(1)}, ${sha(2)}]`);
    assert.equal(err.code, 'FAILED_PRECONDITION');
    assert.equal(err.httpStatus, 409);
    assert.equal(errorOf(() => store.remove('busy', { force: true })).code, 'FAILED_PRECONDITION');
    store.release('busy', sha(1));
    assert.deepEqual(store.users('busy'), [sha(2)]);
    store.release('busy', sha(2));
    store.remove('busy');
    assert.equal(store.has('busy'), false);
    assert.equal(existsSync(join(store.dir, 'busy')), false);
    assert.deepEqual(readdirSync(store.dir), []);
    assert.deepEqual(events.at(-1), { action: 'destroy', name: 'busy', attributes: { driver: 'local' } });
    assert.equal(errorOf(() => store.remove('busy')).message, 'get busy: no such volume');
    store.remove('busy', { force: true }); // force: a missing volume is no error
  });

  it('prunes unused anonymous volumes by default, named ones with all=true, by label', () => {
    const { store, events } = fresh();
    const anon1 = store.create({}).Name;
    const anon2 = store.create({ Labels: { keep: 'yes' } }).Name;
    const anonUsed = store.create({}).Name;
    store.create({ Name: 'named1', Labels: { env: 'test' } });
    store.create({ Name: 'named2' });
    store.create({ Name: 'named-used' });
    store.reference(anonUsed, sha(1));
    store.reference('named-used', sha(1));
    writeFileSync(join(store.path(anon1), 'f'), 'x'.repeat(4096));

    const first = store.prune({ 'label!': ['keep'] });
    assert.deepEqual(first.VolumesDeleted, [anon1]);
    assert.equal(first.SpaceReclaimed, 4096);
    assert.deepEqual(events.at(-1), { action: 'prune', name: '', attributes: { reclaimed: '4096' } });

    assert.deepEqual(store.prune({ all: ['true'], label: ['env=test'] }).VolumesDeleted, ['named1']);
    assert.deepEqual(store.prune({}).VolumesDeleted, [anon2]);
    assert.deepEqual(store.prune({ all: ['1'] }).VolumesDeleted, ['named2']);
    assert.deepEqual(store.list().map((v) => v.Name).sort(), [anonUsed, 'named-used'].sort());
    assert.equal(errorOf(() => store.prune({ dangling: ['true'] })).message, "invalid filter 'dangling'");
    assert.equal(errorOf(() => store.prune({ all: ['sure'] })).message, "invalid filter 'all=sure'");
  });

  it('keeps volumes and their users across a restart; restore() makes the containers the truth', () => {
    const root = join(tmp.dir, 'restart');
    const { store: first } = recordingStore(root);
    first.create({ Name: 'kept', Labels: { a: 'b' }, DriverOpts: { type: 'tmpfs', device: 'tmpfs', o: 'size=1m' } });
    first.reference('kept', sha(1));
    first.reference('kept', sha(2));
    // A crash left a half-made volume (no opts.json) and a half-removed one.
    mkdirSync(join(first.dir, 'halfmade', '_data'), { recursive: true });
    mkdirSync(join(first.dir, '.removing-gone-1234', '_data'), { recursive: true });
    writeFileSync(join(first.dir, '.removing-gone-1234', '_data', 'f'), 'x');
    // A directory with data but no metadata (copied in by hand) is adopted as a plain volume.
    mkdirSync(join(first.dir, 'adopted', '_data'), { recursive: true });
    writeFileSync(join(first.dir, 'adopted', '_data', 'f'), 'x');

    const { store: second } = recordingStore(root);
    assert.deepEqual(second.get('kept'), first.get('kept'));
    assert.deepEqual(second.users('kept'), [sha(1), sha(2)]);
    assert.deepEqual(second.list().map((v) => v.Name), ['adopted', 'kept']);
    assert.deepEqual(readdirSync(second.dir).sort(), ['adopted', 'kept']);

    // The engine knows better: container 2 is gone, container 3 uses it and runs; a container
    // naming a volume that no longer exists is reported.
    const warnings = second.restore([{ id: sha(1), volumes: ['kept'], running: false }, { id: sha(3), volumes: ['kept', 'lost'], running: true }]);
    assert.deepEqual(second.users('kept'), [sha(1), sha(3)]);
    assert.deepEqual(second.mountedBy('kept'), [sha(3)]);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /refers to volume lost, which no longer exists/);
    const { store: third } = recordingStore(root);
    assert.deepEqual(third.users('kept'), [sha(1), sha(3)]);
  });

  it('mounts a tmpfs volume on first use and unmounts it after the last user', () => {
    const { store, events } = fresh();
    const v = store.create({ Name: 'fast', DriverOpts: { type: 'tmpfs', device: 'tmpfs', o: 'size=10m,uid=1000,mode=0750' } });
    assert.deepEqual(v.Options, { type: 'tmpfs', device: 'tmpfs', o: 'size=10m,uid=1000,mode=0750' });
    assert.deepEqual(mountsUnder(store.dir), [], 'nothing mounted before a container uses it');
    const path = store.mount('fast', sha(1), { destination: '/cache', 'read/write': 'true', propagation: '' });
    assert.equal(path, v.Mountpoint);
    assert.deepEqual(mountsUnder(store.dir), [path]);
    const st = statSync(path);
    assert.equal(st.uid, 1000);
    assert.equal(st.mode & 0o777, 0o750);
    assert.match(readFileSync('/proc/self/mountinfo', 'utf8').split('\n').find((l) => l.split(' ')[4] === path)!, / - tmpfs tmpfs .*size=10240k/);
    writeFileSync(join(path, 'f'), 'in memory');
    store.mount('fast', sha(2));
    assert.deepEqual(mountsUnder(store.dir), [path], 'a second user shares the one mount');
    assert.equal(errorOf(() => store.remove('fast')).code, 'FAILED_PRECONDITION', 'mounted is in use');
    store.unmount('fast', sha(1));
    assert.equal(readFileSync(join(path, 'f'), 'utf8'), 'in memory');
    store.unmount('fast', sha(2));
    assert.deepEqual(mountsUnder(store.dir), []);
    assert.equal(existsSync(join(path, 'f')), false, 'the tmpfs content went with the mount');
    store.unmount('fast', sha(2)); // twice is harmless
    assert.deepEqual(events.filter((e) => e.name === 'fast').map((e) => [e.action, e.attributes.container ?? '']), [
      ['create', ''], ['mount', sha(1)], ['mount', sha(2)], ['unmount', sha(1)], ['unmount', sha(2)],
    ]);
    assert.deepEqual(events[1]!.attributes, { driver: 'local', container: sha(1), destination: '/cache', 'read/write': 'true', propagation: '' });
    store.remove('fast');
  });

  it('mounts an o=bind volume over its device and never deletes the device\'s files', () => {
    const { store } = fresh();
    const device = join(tmp.dir, 'device');
    mkdirSync(device);
    writeFileSync(join(device, 'precious'), 'keep me');
    store.create({ Name: 'bound', DriverOpts: { type: 'none', o: 'bind', device } });
    const path = store.mount('bound', sha(1));
    assert.equal(readFileSync(join(path, 'precious'), 'utf8'), 'keep me');
    writeFileSync(join(path, 'written'), 'through the volume');
    store.unmount('bound', sha(1));
    assert.deepEqual(readdirSync(path), []);
    store.remove('bound');
    assert.deepEqual(readdirSync(device).sort(), ['precious', 'written']);
    assert.equal(errorOf(() => store.create({ Name: 'nodev', DriverOpts: { type: 'none', o: 'bind', device: join(tmp.dir, 'missing') } })).code, 'INVALID_ARGUMENT');
  });

  it('a mount failure is a clear error and leaves the volume unmounted and unused', () => {
    const { store } = fresh();
    store.create({ Name: 'broken', DriverOpts: { type: 'tmpfs', device: 'tmpfs', o: 'size=lots' } });
    const err = errorOf(() => store.mount('broken', sha(1)));
    assert.match(err.message, /^error while mounting volume '.*broken\/_data': failed to mount local volume: /);
    assert.deepEqual(store.mountedBy('broken'), []);
    assert.deepEqual(mountsUnder(store.dir), []);
    store.remove('broken');
  });

  it('after a crash, restore() unmounts a volume no running container holds, and removal refuses foreign mounts', () => {
    const root = join(tmp.dir, 'crash');
    const { store: before } = recordingStore(root);
    before.create({ Name: 'leftover', DriverOpts: { type: 'tmpfs', device: 'tmpfs' } });
    before.mount('leftover', sha(1));
    before.reference('leftover', sha(1));
    const { store: afterCrash } = recordingStore(root);
    assert.deepEqual(afterCrash.restore([]), []);
    assert.deepEqual(mountsUnder(afterCrash.dir), []);
    assert.deepEqual(afterCrash.users('leftover'), []);

    // Something else mounted inside a plain volume: removal refuses rather than delete through it.
    afterCrash.create({ Name: 'plain' });
    const inner = join(afterCrash.path('plain'), 'inner');
    mkdirSync(inner);
    mountAll([{ type: 'tmpfs', source: 'tmpfs', options: [] }], inner);
    try {
      const err = errorOf(() => afterCrash.remove('plain'));
      assert.match(err.message, /is still mounted inside the volume/);
      assert.equal(afterCrash.has('plain'), true);
    } finally {
      unmountAll(inner);
    }
    afterCrash.remove('plain');
    afterCrash.remove('leftover');
  });
});
