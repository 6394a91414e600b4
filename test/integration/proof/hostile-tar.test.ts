// Hostile tar streams, written by hand, through every door a tar comes in by: the layer applier,
// POST /images/create?fromSrc=- (import), POST /images/load (a docker-archive around the layer,
// plus archives hostile in themselves) and PUT /containers/{id}/archive (docker cp, into a running
// container and through extraction points that are symlinks to "/" and ".." inside the rootfs).
// The corpus: "../" names, absolute paths, symlinks out and files written through them, symlink
// chains, hardlinks to outside paths and to /etc/shadow, whiteouts and opaque markers through a
// symlink out, device nodes, pax path and linkpath overrides, GNU long names with "..", and broken
// archives (a huge size over a short body, truncations, bad checksums, bad fields, unknown types).
// Asserted on disk after every case: a sentinel directory next to the data root is untouched, host
// /etc is unchanged; answers are clear 4xx errors (or an error in the stream) or a safe success;
// afterwards the store is intact: the test image still inspects and runs.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { call, callJson, importBusybox, type Answer } from '../../helpers/api.js';
import { startBerthd, type TestBerthd } from '../../helpers/berthd.js';
import { applyLayer } from '../../../src/image/apply-layer.js';
import { tarEntry, tarHeader, TAR_END, tarPadding } from '../../../src/image/tar-writer.js';
import { BerthError } from '../../../src/common/errors.js';

const T = randomBytes(4).toString('hex'); // in every name a case tries to plant
const once = async function* (b: Buffer) {
  yield b;
};
const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

// ---- writing archives by hand ----

const file = (name: string, body = 'x') => tarEntry({ name, type: 'file', mode: 0o644 }, Buffer.from(body));
const dir = (name: string) => tarEntry({ name, type: 'dir', mode: 0o755 });
const sym = (name: string, linkname: string) => tarEntry({ name, type: 'symlink', linkname });
const hard = (name: string, linkname: string) => tarEntry({ name, type: 'link', linkname });
const tar = (...entries: Buffer[]) => Buffer.concat([...entries, TAR_END]);

/** One ustar header block with fields as given (a pax 'x' or GNU 'L'/'K' header, or a broken one), checksummed unless told. */
function block(name: string, flag: string, sizeField: string, o: { checksum?: boolean } = {}): Buffer {
  const b = Buffer.alloc(512);
  b.write(name, 0, 100);
  b.write('0000644\0', 100);
  b.write('0000000\0', 108);
  b.write('0000000\0', 116);
  b.write(sizeField.padEnd(12, '\0').slice(0, 12), 124, 'latin1');
  b.write('00000000000\0', 136);
  b.write(flag, 156);
  b.write('ustar\x0000', 257, 'latin1');
  b.fill(0x20, 148, 156);
  const sum = b.reduce((a, x) => a + x, 0) + (o.checksum === false ? 1 : 0);
  b.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return b;
}
const octal = (n: number) => `${n.toString(8).padStart(11, '0')}\0`;

/** Extended-header data (pax records or a GNU long name) as its own entry before `entry`. */
function extended(flag: 'x' | 'L' | 'K', data: string, entry: Buffer): Buffer {
  const body = Buffer.from(data);
  return tar(block(flag === 'x' ? 'PaxHeaders/0' : '././@LongLink', flag, octal(body.length)), body, tarPadding(body.length), entry);
}
function pax(records: Record<string, string>, entry: Buffer): Buffer {
  const text = Object.entries(records).map(([k, v]) => {
    const rest = ` ${k}=${v}\n`;
    let n = rest.length + 1;
    while (String(n).length + rest.length !== n) n = String(n).length + rest.length;
    return `${n}${rest}`;
  }).join('');
  return extended('x', text, entry);
}

interface Case {
  what: string;
  tar: Buffer;
  /** Not a tar anyone may accept: refused on every path. */
  broken?: boolean;
}

function corpus(sentinel: string): Case[] {
  const S = sentinel;
  const R = sentinel.slice(1);
  const UP = '../'.repeat(12);
  const withHugeSize = Buffer.concat([tarHeader({ name: `huge-${T}`, type: 'file', size: 10 * 2 ** 30 }), Buffer.alloc(512, 0x61)]);
  const twoFiles = tar(file('a'), file('b'));
  const badChecksum = tar(block(`bad-${T}`, '0', octal(0), { checksum: false }));
  return [
    { what: '"../" climbing out', tar: tar(file(`${UP}${R}/dotdot-${T}`)) },
    { what: '"./a/../../" climbing out', tar: tar(file(`./a/../../${UP}${R}/dotdot2-${T}`)) },
    { what: 'an absolute path', tar: tar(file(`${S}/absolute-${T}`)) },
    { what: 'an absolute path in /etc', tar: tar(file(`/etc/berth-hostile-${T}`)) },
    { what: 'a symlink out, then a file through it', tar: tar(sym('evil', S), file(`evil/through-${T}`)) },
    { what: 'a relative symlink out, then a file through it', tar: tar(sym('up', UP.slice(0, -1)), file(`up/${R}/through-rel-${T}`)) },
    { what: 'a symlink chain to /', tar: tar(sym('a', 'b'), sym('b', '/'), file(`a/${R}/chain-${T}`)) },
    { what: 'a symlink to /etc, then entries under it', tar: tar(sym('etcdir', '/etc'), file(`etcdir/berth-hostile-${T}`), dir(`etcdir/berth-hostile-dir-${T}/`)) },
    { what: 'symlinks to .. and ../.., then entries under them', tar: tar(dir('x/'), sym('x/dd', '..'), sym('x/ddd', '../..'), file(`x/ddd/${R}/dd-${T}`), file(`x/dd/dd/dd/${R}/dd2-${T}`)) },
    { what: 'a directory written into, then replaced by a symlink out, then a file through it', tar: tar(dir('d/'), file('d/first'), sym('d', S), file(`d/through-dir-${T}`)) },
    { what: 'a symlink planted at a name, then a file of that name', tar: tar(sym(`planted-${T}`, `${S}/secret`), file(`planted-${T}`, 'overwritten')) },
    { what: 'a hardlink to an outside path', tar: tar(hard(`hl-${T}`, `${UP}${R}/secret`)) },
    { what: 'a hardlink to /etc/shadow', tar: tar(hard(`shadow-${T}`, '/etc/shadow')) },
    { what: 'a hardlink through a symlink out', tar: tar(sym('evil2', S), hard(`hl2-${T}`, 'evil2/secret')) },
    { what: 'a whiteout through a symlink out', tar: tar(sym('evil3', S), file('evil3/.wh.secret', '')) },
    { what: 'an opaque marker through a symlink out', tar: tar(sym('evil4', S), file('evil4/.wh..wh..opq', '')) },
    { what: 'device nodes (/dev/mem, /dev/sda)', tar: tar(tarEntry({ name: `mem-${T}`, type: 'char', devmajor: 1, devminor: 1 }), tarEntry({ name: `sda-${T}`, type: 'block', devmajor: 8, devminor: 0 })) },
    { what: 'a pax path override climbing out', tar: pax({ path: `${UP}${R}/pax-${T}` }, file('innocent')) },
    { what: 'a pax path override to an absolute path', tar: pax({ path: `${S}/pax-abs-${T}` }, file('innocent')) },
    { what: 'a pax linkpath to /etc/shadow', tar: Buffer.concat([file('innocent'), pax({ linkpath: '/etc/shadow' }, hard(`paxlink-${T}`, 'innocent'))]) },
    { what: 'a pax linkpath climbing out', tar: Buffer.concat([file('innocent'), pax({ linkpath: `${UP}etc/shadow` }, hard(`paxlink2-${T}`, 'innocent'))]) },
    { what: 'a GNU long name with ".."', tar: extended('L', `${'./'.repeat(60)}${UP}${R}/gnu-${T}\0`, file('short')) },
    { what: 'a GNU long link name out of the root', tar: extended('K', `${UP}${UP}${R}/secret\0`, hard(`gnulink-${T}`, 'x')) },
    { what: 'an entry named ".."', tar: tar(dir('..'), file(`../dotdot-entry-${T}`)) },
    { what: 'a huge size over a short body', tar: withHugeSize, broken: true },
    { what: 'a size that is not a number', tar: tar(block(`nan-${T}`, '0', 'zzzzzzzzzzz\0')), broken: true },
    { what: 'an archive cut in a header', tar: twoFiles.subarray(0, 1024 + 100), broken: true },
    { what: 'an archive cut in a body', tar: Buffer.concat([tarHeader({ name: `cut-${T}`, type: 'file', size: 4096 }), Buffer.alloc(1000)]), broken: true },
    { what: 'a bad header checksum', tar: badChecksum, broken: true },
    { what: 'an unknown entry type', tar: tar(block(`weird-${T}`, 'Z', octal(0))), broken: true },
    { what: 'a pax header that is not pax', tar: extended('x', 'nonsense without lengths', file('after')), broken: true },
  ];
}

/** A docker-archive (docker save's layout) with `layer` as its one layer. */
function dockerArchive(layer: Buffer, tag: string): Buffer {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Cmd: ['sh'] }, rootfs: { type: 'layers', diff_ids: [`sha256:${sha256(layer)}`] } }));
  return tar(file('c.json', config.toString()), tarEntry({ name: 'l/layer.tar', type: 'file' }, layer),
    file('manifest.json', JSON.stringify([{ Config: 'c.json', RepoTags: [tag], Layers: ['l/layer.tar'] }])));
}

// ---- what must not change ----

/** Every entry under `dir` with what would show a change: type, size, links, mode, content. */
function treeState(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    for (const n of readdirSync(join(root, rel)).sort()) {
      const p = join(root, rel, n);
      const st = lstatSync(p);
      out[join(rel, n)] = `${st.mode} ${st.nlink} ${st.size} ${st.isFile() ? sha256(readFileSync(p)) : ''}`;
      if (st.isDirectory()) walk(join(rel, n));
    }
  };
  walk('');
  return out;
}

function hostEtcState(): Record<string, string> {
  const state: Record<string, string> = {};
  for (const f of ['/etc/shadow', '/etc/passwd', '/etc/group']) {
    const st = lstatSync(f);
    state[f] = `${st.mode} ${st.nlink} ${st.uid} ${sha256(readFileSync(f))}`;
  }
  for (const p of [`/etc/berth-hostile-${T}`, `/etc/berth-hostile-dir-${T}`, `/berth-hostile-${T}`, `/tmp/berth-hostile-${T}`]) state[p] = existsSync(p) ? 'exists' : 'absent';
  return state;
}

/** A 4xx with a JSON message. */
function clearRefusal(a: Answer): boolean {
  return a.status >= 400 && a.status < 500 && typeof (JSON.parse(a.body) as { message?: unknown }).message === 'string';
}

/** A streamed answer (import, load): a success or an error message in the stream, never a 5xx. */
function streamOutcome(a: Answer): 'ok' | 'error' {
  assert.equal(a.status, 200, a.body);
  const lines = a.body.split(/\r?\n/).filter(Boolean).map((l) => JSON.parse(l) as { error?: string; errorDetail?: { message?: string } });
  const err = lines.find((l) => l.error !== undefined);
  if (!err) return 'ok';
  assert.equal(typeof err.errorDetail?.message, 'string');
  return 'error';
}

describe('hostile tar streams', () => {
  let d: TestBerthd;
  let sentinel: string;
  let cases: Case[];
  let sentinelBefore: Record<string, string>;
  let etcBefore: Record<string, string>;
  let running: string;

  const nothingOutside = (what: string) => {
    assert.deepEqual(treeState(sentinel), sentinelBefore, `${what}: the sentinel directory changed`);
    assert.deepEqual(hostEtcState(), etcBefore, `${what}: host /etc changed`);
  };

  before(async () => {
    d = await startBerthd();
    // Next to the data root: what a climb out of a snapshot, a rootfs or a volume reaches first.
    sentinel = join(d.dir, 'sentinel');
    mkdirSync(join(sentinel, 'sub'), { recursive: true });
    writeFileSync(join(sentinel, 'secret'), 'host secret\n');
    writeFileSync(join(sentinel, 'sub', 'keep'), 'keep me\n');
    sentinelBefore = treeState(sentinel);
    etcBefore = hostEtcState();
    cases = corpus(sentinel);
    await importBusybox(d.socket, 'bb:latest');
    running = (await callJson<{ Id: string }>(d.socket, 'POST', '/containers/create', { Image: 'bb', Cmd: ['sleep', '1000'], HostConfig: { NetworkMode: 'none' } })).Id;
    assert.equal((await call(d.socket, 'POST', `/containers/${running}/start`)).status, 204);
  });
  after(async () => {
    await d?.stop();
  });

  it('the layer applier refuses or contains each one', async () => {
    for (const [i, c] of cases.entries()) {
      const target = join(d.dir, 'apply', String(i));
      mkdirSync(target, { recursive: true });
      const r = await applyLayer(target, once(c.tar), 'remove').then(() => 'ok', (err: unknown) => err);
      if (r !== 'ok') assert.ok(r instanceof BerthError && r.code === 'INVALID_ARGUMENT', `${c.what}: ${String((r as Error)?.stack ?? r)}`);
      if (c.broken) assert.notEqual(r, 'ok', `${c.what}: accepted`);
      nothingOutside(c.what);
    }
  });

  it('import refuses or contains each one', async () => {
    for (const [i, c] of cases.entries()) {
      const a = await call(d.socket, 'POST', `/images/create?fromSrc=-&repo=hostile-import&tag=${i}`, c.tar, { 'Content-Type': 'application/x-tar' });
      const outcome = streamOutcome(a);
      if (c.broken) assert.equal(outcome, 'error', `${c.what}: imported`);
      nothingOutside(c.what);
    }
  });

  it('load refuses or contains each one, and archives hostile in themselves', async () => {
    const archiveLevel: Case[] = [
      { what: 'archive: "../" names and a manifest that is a symlink to /etc/passwd', tar: tar(file(`../../../../${sentinel.slice(1)}/load-${T}`), sym('manifest.json', '/etc/passwd')), broken: true },
      { what: 'archive: a layer that is a symlink to /etc/shadow', tar: tar(file('c.json', JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [`sha256:${sha256(readFileSync('/etc/shadow'))}`] } })),
        sym('l/layer.tar', '/etc/shadow'), file('manifest.json', JSON.stringify([{ Config: 'c.json', RepoTags: [`shadow:${T}`], Layers: ['l/layer.tar'] }]))), broken: true },
      { what: 'archive: a config that climbs out', tar: tar(file('manifest.json', JSON.stringify([{ Config: `../../../../etc/passwd`, RepoTags: ['x:1'], Layers: [] }]))), broken: true },
    ];
    for (const [i, c] of [...cases.map((c, i) => ({ ...c, tar: dockerArchive(c.tar, `hostile-load:${i}`) })), ...archiveLevel].entries()) {
      const a = await call(d.socket, 'POST', '/images/load', c.tar, { 'Content-Type': 'application/x-tar' });
      const outcome = streamOutcome(a);
      if (c.broken) assert.equal(outcome, 'error', `${c.what}: loaded (${i})`);
      nothingOutside(c.what);
    }
    assert.equal((await call(d.socket, 'GET', `/images/shadow:${T}/json`)).status, 404, 'no image made of the host\'s /etc/shadow');
  });

  it('cp into a running container refuses or contains each one', async () => {
    for (const c of cases) {
      const a = await call(d.socket, 'PUT', `/containers/${running}/archive?path=/`, c.tar, { 'Content-Type': 'application/x-tar' });
      assert.ok(a.status === 200 || clearRefusal(a), `${c.what}: ${a.status} ${a.body}`);
      if (c.broken) assert.notEqual(a.status, 200, `${c.what}: accepted`);
      nothingOutside(c.what);
    }
    // What did land stayed in the container: an absolute /etc path and one through a symlink to /etc.
    for (const p of [`/etc/berth-hostile-${T}`, `/etc/berth-hostile-dir-${T}`]) assert.equal((await call(d.socket, 'HEAD', `/containers/${running}/archive?path=${p}`)).status, 200, p);
    // Device nodes may be written into a rootfs (as Docker does), but the device cgroup keeps the
    // container from opening them.
    for (const dev of [`/mem-${T}`, `/sda-${T}`]) {
      const r = await d.docker(['exec', running, 'sh', '-c', `head -c 1 ${dev} >/dev/null`]);
      assert.notEqual(r.code, 0, `${dev} was readable`);
      assert.match(r.stderr + r.stdout, /Operation not permitted/);
    }
  });

  it('cp through extraction points that are symlinks to "/" and ".." stays in the container', async () => {
    const links = tar(sym('rootlink', '/'), dir('deep/'), dir('deep/er/'), sym('deep/er/up', '../../../../..'), sym('uplink', '..'), sym('hostlink', sentinel));
    const id = (await callJson<{ Id: string }>(d.socket, 'POST', '/containers/create', { Image: 'bb', Cmd: ['true'] })).Id;
    assert.equal((await call(d.socket, 'PUT', `/containers/${id}/archive?path=/`, links, { 'Content-Type': 'application/x-tar' })).status, 200);
    for (const [n, point] of ['/rootlink', '/uplink', '/deep/er/up', '/rootlink/uplink/deep/er/up/', '/../../..'].entries()) {
      const a = await call(d.socket, 'PUT', `/containers/${id}/archive?path=${encodeURIComponent(point)}`, tar(file(`berth-hostile-${T}-${n}`)), { 'Content-Type': 'application/x-tar' });
      assert.equal(a.status, 200, `${point}: ${a.body}`);
      // It is in the container's own root, as a chroot resolves the path.
      assert.equal((await call(d.socket, 'HEAD', `/containers/${id}/archive?path=/berth-hostile-${T}-${n}`)).status, 200, point);
      assert.equal(existsSync(`/berth-hostile-${T}-${n}`), false, `${point}: written in the host's /`);
      nothingOutside(point);
    }
    // A symlink to a host path is a path in the container: not there, so nothing to extract into.
    const a = await call(d.socket, 'PUT', `/containers/${id}/archive?path=/hostlink`, tar(file(`berth-hostile-${T}`)), { 'Content-Type': 'application/x-tar' });
    assert.ok(clearRefusal(a), `${a.status} ${a.body}`);
    const outside = await call(d.socket, 'PUT', `/containers/${id}/archive?path=${encodeURIComponent(`/../../../..${sentinel}`)}`, tar(file(`berth-hostile-${T}`)), { 'Content-Type': 'application/x-tar' });
    assert.equal(outside.status, 404, outside.body);
    nothingOutside('symlinked extraction points');
  });

  it('leaves the store intact: the image still inspects and runs', async () => {
    assert.equal((await call(d.socket, 'GET', '/images/bb/json')).status, 200);
    const images = await callJson<Array<{ RepoTags: string[] }>>(d.socket, 'GET', '/images/json');
    assert.ok(images.some((i) => i.RepoTags.includes('bb:latest')));
    const r = await d.docker(['run', '--rm', '--network', 'none', 'bb', 'cat', '/etc/passwd']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^root:x:0:0:/);
    nothingOutside('the end');
  });
});
