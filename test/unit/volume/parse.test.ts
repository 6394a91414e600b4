// Docker's mount syntax as berth reads it: -v strings, --mount objects, --volumes-from entries,
// tmpfs options, the local driver's options and the volume filters, with Docker's messages
// (checked against dockerd 20.10's answers to the same requests).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseBind, parseMountSpec, parseVolumesFrom, validMountMode, mergeTmpfsOptions } from '../../../src/volume/parse.js';
import { checkLocalOptions, localMountOf } from '../../../src/volume/local-options.js';
import { boolFilter, checkFilterKeys, labelMatches, LIST_FILTERS, nameMatches } from '../../../src/volume/filters.js';
import { checkVolumeName } from '../../../src/volume/store.js';

const throwsMessage = (fn: () => unknown, message: string | RegExp) =>
  assert.throws(fn, (err: Error & { code?: string }) => {
    if (typeof message === 'string') assert.equal(err.message, message);
    else assert.match(err.message, message);
    assert.equal(err.code, 'INVALID_ARGUMENT');
    return true;
  });

describe('-v (HostConfig.Binds)', () => {
  it('reads a named volume, a host path and an anonymous volume', () => {
    const named = parseBind('data:/var/lib/data');
    assert.equal(named.point.Type, 'volume');
    assert.equal(named.point.Name, 'data');
    assert.equal(named.point.Destination, '/var/lib/data');
    assert.equal(named.point.Mode, 'z');
    assert.equal(named.point.RW, true);
    assert.equal(named.point.CopyData, true);
    assert.equal(named.point.Anonymous, false);
    assert.deepEqual(named.volume, { name: 'data', driver: undefined, driverOpts: null, labels: null });

    const bind = parseBind('/srv/www/:/usr/share/nginx/html/:ro');
    assert.equal(bind.point.Type, 'bind');
    assert.equal(bind.point.Source, '/srv/www');
    assert.equal(bind.point.Destination, '/usr/share/nginx/html');
    assert.equal(bind.point.RW, false);
    assert.equal(bind.point.Mode, 'ro');
    assert.equal(bind.point.Propagation, 'rprivate');
    assert.equal(bind.point.CreateSource, true, 'the -v form creates a missing host directory');
    assert.equal(bind.volume, undefined);

    const anon = parseBind('/cache');
    assert.equal(anon.point.Type, 'volume');
    assert.equal(anon.point.Name, '');
    assert.equal(anon.point.Anonymous, true);
    assert.equal(anon.point.Destination, '/cache');
  });

  it('takes the modes: ro, z/Z, nocopy, a propagation, a consistency, one of each kind', () => {
    assert.equal(parseBind('v1:/d:nocopy').point.CopyData, false);
    assert.equal(parseBind('v1:/d:ro,nocopy,Z').point.RW, false);
    assert.equal(parseBind('/h:/d:rslave').point.Propagation, 'rslave');
    assert.equal(parseBind('/h:/d:shared,ro').point.Propagation, 'shared');
    assert.equal(parseBind('/h:/d:cached').point.RW, true);
    assert.equal(parseBind('v1:/d', 'local').volume?.driver, 'local');
    assert.ok(validMountMode('rw,z,rprivate,nocopy,delegated'));
    assert.ok(!validMountMode('ro,rw'));
    assert.ok(!validMountMode('shared,slave'));
  });

  it('refuses what Docker refuses, with its messages', () => {
    throwsMessage(() => parseBind('/x:/a:ro:z'), "invalid volume specification: '/x:/a:ro:z'");
    throwsMessage(() => parseBind(':/a'), "invalid volume specification: ':/a'");
    throwsMessage(() => parseBind('/a:ro'), "invalid volume specification: '/a:ro'");
    throwsMessage(() => parseBind('/a:/b:xx'), 'invalid mode: xx');
    throwsMessage(() => parseBind('/x:rel'), `invalid volume specification: '/x:rel': invalid mount config for type "bind": invalid mount path: 'rel' mount path must be absolute`);
    throwsMessage(() => parseBind('/a:/'), `invalid volume specification: '/a:/': invalid mount config for type "bind": invalid specification: destination can't be '/'`);
    throwsMessage(() => parseBind('foo:/a:shared'), `invalid volume specification: 'foo:/a:shared': invalid mount config for type "volume": field BindOptions must not be specified`);
    throwsMessage(() => parseBind('/a:/b:nocopy'), `invalid volume specification: '/a:/b:nocopy': invalid mount config for type "bind": field VolumeOptions must not be specified`);
    throwsMessage(() => parseBind('relative'), `invalid volume specification: 'relative': invalid mount config for type "volume": invalid mount path: 'relative' mount path must be absolute`);
  });
});

describe('--mount (HostConfig.Mounts)', () => {
  it('reads bind, volume and tmpfs mounts with their options', () => {
    const b = parseMountSpec({ Type: 'bind', Source: '/tmp', Target: '/t/', ReadOnly: true, BindOptions: { Propagation: 'rshared', NonRecursive: true } });
    assert.deepEqual(b.point, { Type: 'bind', Name: '', Source: '/tmp', Destination: '/t', Driver: '', Mode: '', RW: false, Propagation: 'rshared', CopyData: false, Anonymous: false, NonRecursive: true, CreateSource: undefined });
    assert.equal(b.explicitPropagation, true);

    const v = parseMountSpec({ Type: 'volume', Source: 'v1', Target: '/v', VolumeOptions: { NoCopy: true, Labels: { a: 'b' }, DriverConfig: { Name: 'local', Options: { type: 'tmpfs', device: 'tmpfs' } } } });
    assert.equal(v.point.CopyData, false);
    assert.equal(v.point.Mode, 'z');
    assert.deepEqual(v.volume, { name: 'v1', driver: 'local', driverOpts: { type: 'tmpfs', device: 'tmpfs' }, labels: { a: 'b' } });

    const anon = parseMountSpec({ Type: 'volume', Target: '/anon' });
    assert.equal(anon.point.Anonymous, true);

    const t = parseMountSpec({ Type: 'tmpfs', Target: '/run', TmpfsOptions: { SizeBytes: 64 << 20, Mode: 0o1777 } });
    assert.deepEqual(t.point.TmpfsOptions, ['noexec', 'nosuid', 'nodev', 'rprivate', 'mode=1777', 'size=64m']);
    const tro = parseMountSpec({ Type: 'tmpfs', Target: '/run', ReadOnly: true, TmpfsOptions: { SizeBytes: 1000 } });
    assert.deepEqual(tro.point.TmpfsOptions, ['noexec', 'nosuid', 'nodev', 'rprivate', 'ro', 'size=1000']);
  });

  it('a bind source must exist unless CreateMountpoint', () => {
    throwsMessage(() => parseMountSpec({ Type: 'bind', Source: '/nonexistent-berth-src', Target: '/a' }), 'invalid mount config for type "bind": bind source path does not exist: /nonexistent-berth-src');
    const ok = parseMountSpec({ Type: 'bind', Source: '/nonexistent-berth-src', Target: '/a', BindOptions: { CreateMountpoint: true } });
    assert.equal(ok.point.CreateSource, true);
  });

  it('refuses what Docker refuses, with its messages', () => {
    throwsMessage(() => parseMountSpec({ Type: 'npipe', Source: '/tmp', Target: '/a' } as never), 'invalid mount config for type "npipe": mount type unknown');
    throwsMessage(() => parseMountSpec({ Type: 'bind', Source: '/tmp', Target: '' }), 'invalid mount config for type "bind": field Target must not be empty');
    throwsMessage(() => parseMountSpec({ Type: 'bind', Source: '/tmp', Target: 'rel' }), `invalid mount config for type "bind": invalid mount path: 'rel' mount path must be absolute`);
    throwsMessage(() => parseMountSpec({ Type: 'bind', Source: 'tmp', Target: '/a' }), `invalid mount config for type "bind": invalid mount path: 'tmp' mount path must be absolute`);
    throwsMessage(() => parseMountSpec({ Type: 'bind', Source: '/tmp', Target: '/a', VolumeOptions: {} }), 'invalid mount config for type "bind": field VolumeOptions must not be specified');
    throwsMessage(() => parseMountSpec({ Type: 'bind', Source: '/tmp', Target: '/a', BindOptions: { Propagation: 'sideways' } }), 'invalid mount config for type "bind": invalid propagation mode: sideways');
    throwsMessage(() => parseMountSpec({ Type: 'volume', Target: '/a', ReadOnly: true }), 'invalid mount config for type "volume": must not set ReadOnly mode when using anonymous volumes');
    throwsMessage(() => parseMountSpec({ Type: 'volume', Source: 'v', Target: '/a', BindOptions: {} }), 'invalid mount config for type "volume": field BindOptions must not be specified');
    throwsMessage(() => parseMountSpec({ Type: 'tmpfs', Source: 'x', Target: '/a' }), 'invalid mount config for type "tmpfs": field Source must not be specified');
    throwsMessage(() => parseMountSpec({ Type: 'tmpfs', Target: '/a', TmpfsOptions: { SizeBytes: -1 } }), /invalid mount config for type "tmpfs": TmpfsOptions.SizeBytes: invalid size -1/);
  });
});

describe('--volumes-from', () => {
  it('reads container[:ro|rw]', () => {
    assert.deepEqual(parseVolumesFrom('data'), { ref: 'data', rw: true });
    assert.deepEqual(parseVolumesFrom('data:ro'), { ref: 'data', rw: false });
    assert.deepEqual(parseVolumesFrom('data:rw,z'), { ref: 'data', rw: true });
  });
  it('refuses propagation and copy modes', () => {
    throwsMessage(() => parseVolumesFrom('data:rshared'), 'invalid mode: rshared');
    throwsMessage(() => parseVolumesFrom('data:nocopy'), 'invalid mode: nocopy');
    throwsMessage(() => parseVolumesFrom('data:bogus'), 'invalid mode: bogus');
    throwsMessage(() => parseVolumesFrom(''), 'volumes-from specification cannot be an empty string');
  });
});

describe('tmpfs options', () => {
  it('keeps the last option of each kind', () => {
    assert.deepEqual(mergeTmpfsOptions(['noexec', 'nosuid', 'nodev', 'rprivate', 'exec', 'size=1m', 'size=2m']), ['nosuid', 'nodev', 'rprivate', 'exec', 'size=2m']);
    assert.throws(() => mergeTmpfsOptions(['bogus']), /invalid tmpfs option "bogus"/);
  });
});

describe('local driver options', () => {
  it('accepts tmpfs and bind options and says how to mount them', () => {
    checkLocalOptions({ type: 'tmpfs', device: 'tmpfs', o: 'size=100m,uid=1000' });
    assert.deepEqual(localMountOf({ type: 'tmpfs', device: 'tmpfs', o: 'size=100m,uid=1000' }), { type: 'tmpfs', device: 'tmpfs', options: ['size=100m', 'uid=1000'] });
    checkLocalOptions({ type: 'none', o: 'bind', device: '/tmp' });
    assert.equal(localMountOf(null), undefined);
    assert.equal(localMountOf({}), undefined);
  });
  it("refuses what Docker's local driver refuses, and binds of missing paths", () => {
    throwsMessage(() => checkLocalOptions({ foo: 'bar' }), 'invalid option: "foo"');
    throwsMessage(() => checkLocalOptions({ type: 'tmpfs' }), 'missing required option: "device"');
    throwsMessage(() => checkLocalOptions({ o: 'bind' }), 'missing required option: "device"');
    throwsMessage(() => checkLocalOptions({ device: '/x' }), 'missing required option: "type"');
    throwsMessage(() => checkLocalOptions({ size: '10m' }), 'quota size requested but no quota support');
    throwsMessage(() => checkLocalOptions({ size: 'lots' }), "invalid size: 'lots'");
    throwsMessage(() => checkLocalOptions({ type: 'none', o: 'bind', device: '/nonexistent-berth-dev' }), /device \/nonexistent-berth-dev does not exist/);
    throwsMessage(() => checkLocalOptions({ type: 'none', o: 'bind', device: 'rel' }), /must be an absolute host path/);
    throwsMessage(() => checkLocalOptions({ type: 'none', o: 'ro', device: '/tmp' }), /type "none" needs o=bind/);
  });
  it('checks names as the local driver does', () => {
    checkVolumeName('ab');
    checkVolumeName('my-vol_1.data');
    throwsMessage(() => checkVolumeName('a'), 'create a: volume name is too short, names should be at least two alphanumeric characters');
    throwsMessage(() => checkVolumeName('x/y'), 'create x/y: "x/y" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path');
    throwsMessage(() => checkVolumeName('..'), /includes invalid characters/);
    throwsMessage(() => checkVolumeName('_x'), /includes invalid characters/);
  });
});

describe('volume filters', () => {
  it('labels, names, booleans and unknown keys', () => {
    assert.ok(labelMatches({ a: 'b' }, 'a'));
    assert.ok(labelMatches({ a: 'b' }, 'a=b'));
    assert.ok(!labelMatches({ a: 'b' }, 'a=c'));
    assert.ok(!labelMatches(null, 'a'));
    assert.ok(labelMatches({ 'com.docker.volume.anonymous': '' }, 'com.docker.volume.anonymous'));
    assert.ok(nameMatches('web-data', ['data']), 'a name filter is a regular expression found in the name');
    assert.ok(nameMatches('web-data', ['^web']));
    assert.ok(!nameMatches('web-data', ['^data']));
    assert.equal(boolFilter({ dangling: ['true'] }, 'dangling'), true);
    assert.equal(boolFilter({ dangling: ['0'] }, 'dangling'), false);
    assert.equal(boolFilter({}, 'dangling'), undefined);
    throwsMessage(() => boolFilter({ dangling: ['maybe'] }, 'dangling'), "invalid filter 'dangling=maybe'");
    throwsMessage(() => checkFilterKeys({ until: ['1h'] }, LIST_FILTERS), "invalid filter 'until'");
  });
});
