// The generated ruleset: berth's two tables only, replaced atomically, with the rules each network
// and published port needs.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkTableName, renderRuleset } from '../../../src/network/nftables.js';

const bridge = { bridge: 'br-1', subnet: '10.1.0.0/24', gateway: '10.1.0.1', internal: false, icc: true, masquerade: true, dns: true };

describe('renderRuleset', () => {
  const text = renderRuleset({
    table: 'bt',
    bridges: [bridge, { ...bridge, bridge: 'br-2', subnet: '10.2.0.0/24', gateway: '10.2.0.1', internal: true }],
    dnat: [
      { proto: 'tcp', hostIp: '0.0.0.0', hostPort: 8080, containerIp: '10.1.0.2', containerPort: 80 },
      { proto: 'udp', hostIp: '127.0.0.1', hostPort: 5353, containerIp: '10.1.0.2', containerPort: 53 },
    ],
  });
  it('replaces exactly berth\'s tables, in one script', () => {
    assert.ok(text.startsWith('table inet bt\ndelete table inet bt\ntable ip bt\ndelete table ip bt\n'));
    const tables = [...text.matchAll(/^table (\w+) (\w+)/gm)].map((m) => `${m[1]} ${m[2]}`);
    assert.deepEqual([...new Set(tables)], ['inet bt', 'ip bt']);
  });
  it('masquerades non-internal subnets only, and hairpin/localhost DNAT', () => {
    assert.match(text, /ip saddr 10\.1\.0\.0\/24 oifname != "br-1" masquerade/);
    assert.doesNotMatch(text, /ip saddr 10\.2\.0\.0\/24 oifname != "br-2" masquerade/);
    assert.match(text, /oifname "br-1" ct status dnat ip saddr \{ 10\.1\.0\.0\/24, 127\.0\.0\.0\/8 \} masquerade/);
  });
  it('publishes with DNAT, on every local address or one', () => {
    assert.match(text, /^\s+tcp dport 8080 dnat to 10\.1\.0\.2:80$/m);
    assert.match(text, /^\s+ip daddr 127\.0\.0\.1 udp dport 5353 dnat to 10\.1\.0\.2:53$/m);
    assert.match(text, /fib daddr type local jump published/);
  });
  it('isolates bridges and internal networks', () => {
    assert.match(text, /iifname "br-2" oifname != "br-2" drop/);
    assert.match(text, /oifname "br-2" iifname != "br-2" drop/);
    assert.match(text, /iifname \{ "br-1", "br-2" \} oifname \{ "br-1", "br-2" \} drop/);
    assert.match(text, /iifname "br-2" fib daddr type local ip daddr != 10\.2\.0\.1 drop/);
    // Internal drops come before "ct status dnat accept": a published port is no way out.
    assert.ok(text.indexOf('iifname "br-2" oifname != "br-2" drop') < text.indexOf('ct status dnat accept'));
  });
  it('keeps the embedded DNS to its own bridge', () => {
    assert.match(text, /ip daddr 10\.1\.0\.1 meta l4proto \{ tcp, udp \} th dport 53 iifname != \{ "br-1", "lo" \} drop/);
  });
  it('has no empty sets when there are no bridges', () => {
    assert.doesNotMatch(renderRuleset({ table: 'bt', bridges: [], dnat: [] }), /\{ \}/);
  });
  it('checks the table name', () => {
    assert.throws(() => checkTableName('bad name'));
    assert.throws(() => checkTableName('x'.repeat(40)));
    checkTableName('berth_test1');
  });
});
