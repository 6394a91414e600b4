// CniManager against fake plugins (small Node scripts that log what they were given): call order,
// the injected configuration, prevResult threading, the result cache, undoing a failed set-up,
// and the errors of plugins that fail, hang or print nonsense. The real plugins run in
// test/integration/network/cni.
import { describe, it, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CniManager, kubernetesPodArgs } from '../../../../src/network/cni/manager.js';
import { CniPluginError } from '../../../../src/network/cni/invoke.js';

const FAKE = `
const fs = require('fs');
const name = require('path').basename(process.argv[1]);
const conf = JSON.parse(fs.readFileSync(0, 'utf8'));
const e = process.env;
fs.appendFileSync(e.FAKE_CNI_LOG, JSON.stringify({ name, cmd: e.CNI_COMMAND, id: e.CNI_CONTAINERID, ifName: e.CNI_IFNAME, netns: e.CNI_NETNS, args: e.CNI_ARGS, path: e.CNI_PATH, conf }) + '\\n');
const out = (v) => process.stdout.write(JSON.stringify(v));
if (e.CNI_COMMAND !== 'ADD') {
  if (name === 'ifc' && e.CNI_COMMAND === 'CHECK' && !conf.prevResult) { out({ code: 11, msg: 'no prevResult' }); process.exit(1); }
  process.exit(0);
}
switch (name) {
  case 'loopback': out({ cniVersion: conf.cniVersion, interfaces: [{ name: 'lo', sandbox: e.CNI_NETNS }], ips: [{ version: '4', address: '127.0.0.1/8', interface: 0 }] }); break;
  case 'ifc': out({ cniVersion: conf.cniVersion, interfaces: [{ name: e.CNI_IFNAME, mac: '02:00:00:00:00:01', sandbox: e.CNI_NETNS }], ips: [{ address: conf.ip || '10.9.9.2/24', gateway: '10.9.9.1', interface: 0 }] }); break;
  case 'meta': out({ ...conf.prevResult, dns: { nameservers: ['10.9.9.53'] } }); break;
  case 'fail': out({ cniVersion: conf.cniVersion, code: 7, msg: 'invalid network config', details: 'no subnet' }); process.exit(1);
  case 'stderr': process.stderr.write('something broke\\n'); process.exit(2);
  case 'garbage': process.stdout.write('hello'); break;
  case 'slow': setTimeout(() => {}, 60000); break;
}
`;

interface Call { name: string; cmd: string; id: string; ifName: string; netns: string; args: string; path: string; conf: Record<string, unknown> }

describe('CniManager with fake plugins', () => {
  let dir: string;
  let bin: string;
  let conf: string;
  let log: string;
  let netns: string;
  const calls = (): Call[] => readFileSync(log, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Call);
  const brief = (): string[] => calls().map((c) => `${c.cmd} ${c.name} ${c.ifName}`);
  const writeList = (plugins: unknown[], o: Record<string, unknown> = {}): void => {
    rmSync(conf, { recursive: true, force: true });
    mkdirSync(conf);
    writeFileSync(join(conf, '10-pods.conflist'), JSON.stringify({ cniVersion: '1.0.0', name: 'pods', plugins, ...o }));
  };
  const manager = (o: Partial<ConstructorParameters<typeof CniManager>[0]> = {}) =>
    new CniManager({ confDir: conf, binDirs: [join(dir, 'empty-bin'), bin], cacheDir: join(dir, 'cache'), ...o });
  const cacheFiles = () => { try { return readdirSync(join(dir, 'cache', 'results')); } catch { return []; } };

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'berth-cni-fake-'));
    bin = join(dir, 'bin');
    conf = join(dir, 'conf');
    log = join(dir, 'calls.log');
    netns = join(dir, 'netns-file'); // set-up only needs the path to exist: the fakes never enter it
    mkdirSync(bin);
    mkdirSync(join(dir, 'empty-bin'));
    writeFileSync(netns, '');
    for (const n of ['loopback', 'ifc', 'meta', 'fail', 'stderr', 'garbage', 'slow']) {
      writeFileSync(join(bin, n), `#!${process.execPath}\n${FAKE}`);
      chmodSync(join(bin, n), 0o755);
    }
    process.env['FAKE_CNI_LOG'] = log;
  });
  after(() => {
    delete process.env['FAKE_CNI_LOG'];
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    writeFileSync(log, '');
    rmSync(join(dir, 'cache'), { recursive: true, force: true });
  });

  it('status: not ready without a config, as containerd words it; ready with one', async () => {
    rmSync(conf, { recursive: true, force: true });
    const s = await manager().status();
    assert.equal(s.ready, false);
    assert.equal(s.reason, 'NetworkPluginNotReady');
    assert.equal(s.message, 'Network plugin returns error: cni plugin not initialized');
    assert.match(s.detail!, /no network config found in .*conf/);
    writeList([{ type: 'ifc' }, { type: 'meta' }]);
    assert.deepEqual((await manager().status()).network, { name: 'pods', file: join(conf, '10-pods.conflist'), cniVersion: '1.0.0', plugins: ['ifc', 'meta'] });
  });

  it('ADD runs loopback then the list in order, threading prevResult; DEL runs the cached config in reverse', async () => {
    writeList([{ type: 'ifc', ip: '10.9.9.7/24' }, { type: 'meta', capabilities: { portMappings: true, bandwidth: true } }]);
    const m = manager();
    const args = kubernetesPodArgs({ namespace: 'default', name: 'web', uid: 'u-1', infraContainerId: 'pod1' });
    const net = await m.setup('pod1', netns, { args, portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'TCP' }], dns: { servers: ['1.1.1.1'] } });
    assert.deepEqual(brief(), ['ADD loopback lo', 'ADD ifc eth0', 'ADD meta eth0']);
    const [lo, ifc, meta] = calls();
    assert.equal(lo!.conf['name'], 'cni-loopback');
    assert.equal(lo!.conf['cniVersion'], '0.3.1');
    assert.deepEqual(ifc!.conf, { type: 'ifc', ip: '10.9.9.7/24', name: 'pods', cniVersion: '1.0.0' }, 'no prevResult for the first plugin, no runtimeConfig without capabilities');
    assert.equal(ifc!.args, 'IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web;K8S_POD_INFRA_CONTAINER_ID=pod1;K8S_POD_UID=u-1');
    assert.equal(ifc!.path, `${join(dir, 'empty-bin')}:${bin}`);
    assert.equal(ifc!.netns, netns);
    assert.equal(ifc!.id, 'pod1');
    assert.deepEqual((meta!.conf['prevResult'] as { ips: unknown[] }).ips, [{ address: '10.9.9.7/24', gateway: '10.9.9.1', interface: 0 }]);
    assert.deepEqual(meta!.conf['runtimeConfig'], { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] }, 'only declared capabilities; dns is not declared');
    assert.equal(net.ip, '10.9.9.7');
    assert.deepEqual(net.interfaces['eth0']!.ips, [{ ip: '10.9.9.7', prefixLength: 24, gateway: '10.9.9.1' }]);
    assert.deepEqual(net.dns[1], { nameservers: ['10.9.9.53'] });
    assert.deepEqual(cacheFiles().sort(), ['cni-loopback-pod1-lo', 'pods-pod1-eth0']);
    assert.deepEqual(m.podNetwork('pod1')?.ip, '10.9.9.7', 'read back from the cache');
    await assert.rejects(m.setup('pod1', netns), /pod pod1 already has its network set up/);

    // The conf dir changes; teardown still undoes what set-up did, with its arguments.
    writeList([{ type: 'ifc' }], { name: 'other' });
    writeFileSync(log, '');
    await manager().teardown('pod1', netns);
    assert.deepEqual(brief(), ['DEL meta eth0', 'DEL ifc eth0', 'DEL loopback lo']);
    const del = calls();
    assert.equal(del[0]!.conf['name'], 'pods');
    assert.deepEqual(del[0]!.conf['prevResult'], { cniVersion: '1.0.0', interfaces: [{ name: 'eth0', mac: '02:00:00:00:00:01', sandbox: netns }], ips: [{ address: '10.9.9.7/24', gateway: '10.9.9.1', interface: 0 }], dns: { nameservers: ['10.9.9.53'] } });
    assert.deepEqual(del[0]!.conf['runtimeConfig'], { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] });
    assert.equal(del[0]!.args, ifc!.args, 'the CNI_ARGS of ADD');
    assert.equal(del[2]!.conf['prevResult'], undefined, 'no prevResult on DEL before 0.4.0 (loopback is 0.3.1)');
    assert.deepEqual(cacheFiles(), []);
    assert.equal(m.podNetwork('pod1'), undefined);

    // Again, and with the namespace gone: nothing cached, so DEL by the current config; fine.
    writeFileSync(log, '');
    await manager().teardown('pod1', join(dir, 'gone'));
    assert.deepEqual(brief(), ['DEL ifc eth0', 'DEL loopback lo']);
    rmSync(conf, { recursive: true });
    await manager().teardown('pod1', ''); // no cache, no config: nothing to do
  });

  it('CHECK passes the cached result (0.4.0+), honours disableCheck, refuses older lists and unknown pods', async () => {
    writeList([{ type: 'ifc' }]);
    const m = manager();
    await assert.rejects(m.check('podc', netns), /pod podc has no network set up/);
    await m.setup('podc', netns);
    writeFileSync(log, '');
    await m.check('podc', netns);
    assert.deepEqual(brief(), ['CHECK ifc eth0'], 'the built-in 0.3.1 loopback network is skipped');
    assert.ok(calls()[0]!.conf['prevResult']);
    await m.teardown('podc', netns);

    writeList([{ type: 'ifc' }], { disableCheck: true });
    await m.setup('podc', netns);
    writeFileSync(log, '');
    await m.check('podc', netns);
    assert.deepEqual(brief(), []);
    await m.teardown('podc', netns);

    writeList([{ type: 'ifc' }], { cniVersion: '0.3.1' });
    await m.setup('podc', netns);
    await assert.rejects(m.check('podc', netns), /cniVersion 0.3.1 has no CHECK/);
    await m.teardown('podc', netns);
  });

  it('a failing plugin: its error object in the message, and everything set up is deleted again', async () => {
    writeList([{ type: 'ifc' }, { type: 'fail' }]);
    const err = await manager().setup('podf', netns).catch((e: unknown) => e);
    assert.ok(err instanceof CniPluginError);
    assert.equal(err.message, 'CNI plugin fail (ADD, plugin 2 of 2 of network "pods") failed: invalid network config; no subnet (code 7)');
    assert.equal(err.cniCode, 7);
    assert.equal(err.details, 'no subnet');
    assert.deepEqual(brief(), ['ADD loopback lo', 'ADD ifc eth0', 'ADD fail eth0', 'DEL fail eth0', 'DEL ifc eth0', 'DEL loopback lo']);
    assert.deepEqual(cacheFiles(), []);
  });

  it('a missing plugin fails before any plugin runs, naming it and the dirs searched', async () => {
    writeList([{ type: 'ifc' }, { type: 'nosuch' }]);
    await assert.rejects(manager().setup('podm', netns), (e: Error) => {
      assert.equal(e.message, `network "pods" (${join(conf, '10-pods.conflist')}): CNI plugin "nosuch" not found in ${join(dir, 'empty-bin')}, ${bin}: install it there or fix the network config's "type"`);
      return true;
    });
    assert.deepEqual(brief(), []);
    assert.deepEqual(cacheFiles(), []);
  });

  it('stderr, non-JSON output and a hanging plugin give clear errors', async () => {
    writeList([{ type: 'stderr' }]);
    await assert.rejects(manager().setup('pods1', netns), /CNI plugin stderr \(ADD, network "pods"\) failed: something broke/);
    writeList([{ type: 'garbage' }]);
    await assert.rejects(manager().setup('pods2', netns), /CNI plugin garbage \(ADD, network "pods"\) printed something other than JSON: hello/);
    writeList([{ type: 'slow' }]);
    const t = Date.now();
    await assert.rejects(manager({ pluginTimeoutMs: 300, loopback: false }).setup('pods3', netns), /CNI plugin slow \(ADD, network "pods"\) timed out after 300 ms and was killed/);
    assert.ok(Date.now() - t < 5000, 'the timeout is per call: ADD and the DEL of the undo');
    assert.deepEqual(cacheFiles(), []);
  });

  it('refuses bad arguments', async () => {
    writeList([{ type: 'ifc' }]);
    const m = manager();
    await assert.rejects(m.setup('bad id', netns), /pod sandbox ID "bad id" must be/);
    await assert.rejects(m.setup('p', 'relative'), /must be an absolute path/);
    await assert.rejects(m.setup('p', join(dir, 'no-such-netns')), /network namespace .*no-such-netns of pod p does not exist/);
    await assert.rejects(m.setup('p', netns, { args: [['A;B', '1']] }), /CNI argument name "A;B"/);
    await assert.rejects(m.setup('p', netns, { args: [['A', '1;2']] }), /CNI argument A's value "1;2"/);
    assert.throws(() => new CniManager({ confDir: 'rel', cacheDir: '/x' }), /CNI confDir "rel" must be an absolute path/);
    assert.throws(() => manager({ ifName: 'a/b' }), /interface name "a\/b"/);
    assert.deepEqual(brief(), []);
  });
});
