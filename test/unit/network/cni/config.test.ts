// CNI configuration: which file of a conf dir is the network, and clear errors for broken ones.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { confFiles, loadNetwork, parseConfFile, parseConfList } from '../../../../src/network/cni/config.js';

const list = (o: Record<string, unknown> = {}) => JSON.stringify({ cniVersion: '1.0.0', name: 'pods', plugins: [{ type: 'bridge' }], ...o });

describe('CNI config files', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'berth-cni-conf-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('takes the lexically first .conf/.conflist/.json file, ignoring other names and directories', async () => {
    const d = join(dir, 'pick');
    mkdirSync(join(d, '00-dir.conflist'), { recursive: true });
    writeFileSync(join(d, '05-notes.txt'), 'not a config');
    writeFileSync(join(d, '20-b.conf'), JSON.stringify({ cniVersion: '0.4.0', name: 'single', type: 'ptp' }));
    writeFileSync(join(d, '10-a.conflist'), list({ name: 'first' }));
    writeFileSync(join(d, '99-z.json'), list({ name: 'last' }));
    assert.deepEqual((await confFiles(d)).map((f) => f.slice(d.length + 1)), ['10-a.conflist', '20-b.conf', '99-z.json']);
    const net = await loadNetwork(d);
    assert.equal(net.name, 'first');
    assert.equal(net.source, join(d, '10-a.conflist'));
  });

  it('turns a .conf into a list of one plugin, and reads a .json list as a list', () => {
    const one = parseConfFile(JSON.stringify({ cniVersion: '0.3.1', name: 'single', type: 'ptp', ipMasq: true }), '/x/10-single.conf');
    assert.equal(one.name, 'single');
    assert.equal(one.cniVersion, '0.3.1');
    assert.equal(one.plugins.length, 1);
    assert.equal(one.plugins[0]!.type, 'ptp');
    assert.equal(one.plugins[0]!['ipMasq'], true);
    const l = parseConfFile(list({ disableCheck: true }), '/x/10-list.json');
    assert.equal(l.disableCheck, true);
    assert.equal(l.plugins[0]!.type, 'bridge');
  });

  it('a missing or empty conf dir is "cni plugin not initialized"', async () => {
    await assert.rejects(loadNetwork(join(dir, 'nope')), /cni plugin not initialized: no network config found in .*nope/);
    mkdirSync(join(dir, 'empty'));
    await assert.rejects(loadNetwork(join(dir, 'empty')), /no network config found/);
  });

  it('names the file and the field that is wrong', () => {
    const f = '/etc/cni/net.d/10-x.conflist';
    const cases: Array<[string, RegExp]> = [
      ['{', /10-x.conflist: invalid JSON/],
      ['[]', /10-x.conflist: must be a JSON object/],
      [list({ cniVersion: undefined }), /10-x.conflist: cniVersion is required/],
      [list({ cniVersion: '0.2.0' }), /10-x.conflist: cniVersion "0.2.0" is not supported \(supported: 0.3.0, 0.3.1, 0.4.0, 1.0.0\)/],
      [list({ name: '' }), /10-x.conflist: name is required/],
      [list({ name: 'a b' }), /10-x.conflist: name "a b" has characters other than/],
      [list({ plugins: undefined }), /10-x.conflist: plugins is required/],
      [list({ plugins: [] }), /10-x.conflist: plugins is empty/],
      [list({ plugins: [{ type: 'bridge' }, { ipam: {} }] }), /10-x.conflist: plugins\[1\].type is required/],
      [list({ plugins: [{ type: '../../bin/sh' }] }), /plugins\[0\].type "..\/..\/bin\/sh" must be a plain file name/],
      [list({ plugins: [{ type: 'portmap', capabilities: { portMappings: 'yes' } }] }), /plugins\[0\].capabilities.portMappings must be true or false/],
      [list({ disableCheck: 'true' }), /disableCheck must be true or false/],
    ];
    for (const [text, re] of cases) assert.throws(() => parseConfList(text, f), (e: Error) => re.test(e.message), `${text} → ${re}`);
    assert.throws(() => parseConfFile(JSON.stringify({ cniVersion: '1.0.0', name: 'n' }), '/d/1.conf'), /\/d\/1.conf: the configuration.type is required/);
  });

  it('a broken first file is the error, even when a later one is fine (as go-cni)', async () => {
    const d = join(dir, 'broken');
    mkdirSync(d);
    writeFileSync(join(d, '10-bad.conflist'), list({ plugins: [{}] }));
    writeFileSync(join(d, '20-good.conflist'), list());
    await assert.rejects(loadNetwork(d), /10-bad.conflist: plugins\[0\].type is required/);
  });
});
