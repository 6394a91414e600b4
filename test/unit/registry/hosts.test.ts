// hosts.toml parsing (containerd's config_path format): host order, capabilities and their
// defaults, API roots with and without override_path, paths relative to the file, headers, and
// errors that name the file and the key.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { apiRoot, durationMs, findHostsFile, parseHostsFile } from '../../../src/registry/hosts.js';
import { cleanupDir } from '../../helpers/runtime.js';

const FILE = '/etc/berth/certs.d/registry.k8s.io/hosts.toml';
const parse = (text: string) => parseHostsFile(text, FILE);

describe('hosts.toml parsing', () => {
  it('lists the [host] tables in file order, then the server', () => {
    const { hosts } = parse(`
server = "https://registry.k8s.io"

[host."https://mirror-b.example"]
  capabilities = ["pull"]

[host."http://mirror-a.example:5000"]
  capabilities = ["pull", "resolve"]

[host."https://mirror-c.example/team"]
`);
    assert.deepEqual(hosts.map((h) => [h.root, h.capabilities]), [
      ['https://mirror-b.example/v2', ['pull']],
      ['http://mirror-a.example:5000/v2', ['pull', 'resolve']],
      ['https://mirror-c.example/team/v2', ['pull', 'resolve', 'push']],
      ['https://registry.k8s.io/v2', ['pull', 'resolve', 'push']],
    ]);
    assert.deepEqual(hosts.map((h) => h.table), ['[host."https://mirror-b.example"]', '[host."http://mirror-a.example:5000"]', '[host."https://mirror-c.example/team"]', 'the top level']);
  });

  it('a subtable before its host table does not change the order', () => {
    const { hosts } = parse(`
[host."https://first.example".header]
  x-a = "1"
[host."https://second.example"]
[host."https://first.example"]
  capabilities = ["pull"]
`);
    assert.deepEqual(hosts.map((h) => h.root), ['https://first.example/v2', 'https://second.example/v2', undefined]);
    assert.deepEqual(hosts[0]!.capabilities, ['pull']);
    assert.deepEqual(hosts[0]!.header, { 'x-a': ['1'] });
  });

  it('an unnamed server is the registry itself, with every capability whatever the top level says', () => {
    const { hosts } = parse('capabilities = ["pull"]\n[host."https://m.example"]\ncapabilities = ["pull", "resolve"]\n');
    assert.equal(hosts.length, 2);
    assert.equal(hosts[1]!.root, undefined);
    assert.deepEqual(hosts[1]!.capabilities, ['pull', 'resolve', 'push']);
    // A named server keeps the capabilities given to it.
    assert.deepEqual(parse('server = "https://upstream.example"\ncapabilities = ["pull", "resolve"]\n').hosts[0]!.capabilities, ['pull', 'resolve']);
  });

  it('an empty file is the registry alone', () => {
    assert.deepEqual(parse('').hosts.map((h) => [h.root, h.capabilities]), [[undefined, ['pull', 'resolve', 'push']]]);
  });

  it('API roots: /v2 added unless there or override_path; a server without scheme is https', () => {
    const bad = () => new Error('bad');
    assert.equal(apiRoot('registry.example:5000', false, bad), 'https://registry.example:5000/v2');
    assert.equal(apiRoot('https://m.example/', false, bad), 'https://m.example/v2');
    assert.equal(apiRoot('https://m.example/v2', false, bad), 'https://m.example/v2');
    assert.equal(apiRoot('https://m.example/a//b/../c/', false, bad), 'https://m.example/a/c/v2');
    assert.equal(apiRoot('https://m.example/v2/upstream', true, bad), 'https://m.example/v2/upstream');
    assert.equal(apiRoot('http://m.example', true, bad), 'http://m.example');
    const { hosts } = parse('[host."https://non-compliant.example/v2/k8s"]\n  capabilities = ["pull"]\n  override_path = true\n');
    assert.equal(hosts[0]!.root, 'https://non-compliant.example/v2/k8s');
    assert.equal(hosts[0]!.overridePath, true);
  });

  it('ca, client and skip_verify: paths relative to the file, every documented form', () => {
    const { hosts } = parse(`
ca = "upstream-ca.pem"
[host."https://a.example"]
  ca = ["/etc/certs/a.pem", "b.pem"]
  client = [["/etc/certs/client.cert", "client.key"], ["both.pem", ""]]
  skip_verify = true
[host."https://b.example"]
  client = "client.pem"
  skip_verify = false
[host."https://c.example"]
  client = ["one.pem", "/two.pem"]
`);
    const dir = '/etc/berth/certs.d/registry.k8s.io';
    assert.deepEqual(hosts[0]!.ca, ['/etc/certs/a.pem', `${dir}/b.pem`]);
    assert.deepEqual(hosts[0]!.client, [{ cert: '/etc/certs/client.cert', key: `${dir}/client.key` }, { cert: `${dir}/both.pem` }]);
    assert.equal(hosts[0]!.skipVerify, true);
    assert.deepEqual(hosts[1]!.client, [{ cert: `${dir}/client.pem` }]);
    assert.equal(hosts[1]!.skipVerify, false);
    assert.deepEqual(hosts[2]!.client, [{ cert: `${dir}/one.pem` }, { cert: '/two.pem' }]);
    assert.equal(hosts[2]!.skipVerify, undefined);
    assert.deepEqual(hosts[3]!.ca, [`${dir}/upstream-ca.pem`]);
  });

  it('headers: a string or a list of strings, per host', () => {
    const { hosts } = parse(`
[host."https://a.example".header]
  x-custom-1 = "custom header"
  x-custom-2 = ["value1", "value2"]
`);
    assert.deepEqual(hosts[0]!.header, { 'x-custom-1': ['custom header'], 'x-custom-2': ['value1', 'value2'] });
  });

  it("dial_timeout takes Go's durations", () => {
    assert.equal(parse('[host."https://a.example"]\ndial_timeout = "1.5s"\n').hosts[0]!.dialTimeoutMs, 1500);
    assert.equal(durationMs('1m30s'), 90_000);
    assert.equal(durationMs('250ms'), 250);
    assert.equal(durationMs('10'), undefined);
    assert.equal(durationMs('1s '), undefined);
  });

  it('a bad file is an error that names the file and the key', () => {
    const cases: Array<[string, RegExp]> = [
      ['server = \n', /^\/etc\/berth\/certs\.d\/registry\.k8s\.io\/hosts\.toml: not valid TOML at line 1, column \d+/],
      ['server = 5\n', /hosts\.toml: "server" in the top level: must be a string/],
      ['server = "ftp://x"\n', /hosts\.toml: server: "ftp:\/\/x" is not a URL/],
      ['[host."https://m.example"]\ncapabilities = ["pull", "pul"]\n', /hosts\.toml: "capabilities" in \[host\."https:\/\/m\.example"\]: unknown capability "pul"/],
      ['[host."https://m.example"]\ncapabilities = "pull"\n', /"capabilities" in \[host\."https:\/\/m\.example"\]: must be a list/],
      ['[host."https://m.example"]\ncapabilites = ["pull"]\n', /hosts\.toml: "capabilites" in \[host\."https:\/\/m\.example"\]: unknown key/],
      ['mirrors = ["x"]\n', /hosts\.toml: "mirrors" in the top level: unknown key/],
      ['[host."https://m.example"]\nskip_verify = "yes"\n', /"skip_verify" in \[host\."https:\/\/m\.example"\]: must be true or false/],
      ['[host."https://m.example"]\nca = 3\n', /"ca" in \[host\."https:\/\/m\.example"\]: must be a path or a list of paths/],
      ['[host."https://m.example"]\nclient = [["a"]]\n', /"client" in \[host\."https:\/\/m\.example"\]: must be a path/],
      ['[host."https://m.example".header]\nx = 1\n', /"header\.x" in \[host\."https:\/\/m\.example"\]: must be a string or a list of strings/],
      ['[host."https://m.example"]\noverride_path = 1\n', /"override_path" in \[host\."https:\/\/m\.example"\]: must be true or false/],
      ['[host."https://m.example"]\ndial_timeout = "soon"\n', /"dial_timeout" in \[host\."https:\/\/m\.example"\]: must be a duration/],
      ['[host."https://"]\n', /hosts\.toml: \[host\."https:\/\/"\]: "https:\/\/" is not a URL/],
      ['host = "https://m.example"\n', /"host" in the top level: must be tables/],
    ];
    for (const [text, message] of cases) {
      assert.throws(() => parse(text), (err: Error & { code?: string }) => {
        assert.match(err.message, message, text);
        assert.equal(err.code, 'INVALID_ARGUMENT');
        return true;
      }, text);
    }
  });
});

describe('finding the hosts.toml of a registry', () => {
  it('host_port_, then host:port, then _default; a directory without hosts.toml stops the search', () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-hosts-find-'));
    try {
      const put = (name: string, text = 'server = "https://x.example"\n') => {
        mkdirSync(join(dir, name), { recursive: true });
        if (text !== undefined) writeFileSync(join(dir, name, 'hosts.toml'), text);
      };
      assert.equal(findHostsFile(dir, 'registry.example:5000'), undefined);
      put('_default');
      assert.equal(findHostsFile(dir, 'registry.example:5000'), join(dir, '_default', 'hosts.toml'));
      put('registry.example:5000');
      assert.equal(findHostsFile(dir, 'registry.example:5000'), join(dir, 'registry.example:5000', 'hosts.toml'));
      put('registry.example_5000_');
      assert.equal(findHostsFile(dir, 'registry.example:5000'), join(dir, 'registry.example_5000_', 'hosts.toml'));
      // Docker's certs.d directory with only a ca.crt: its certificates apply, and no hosts.toml (not _default's).
      mkdirSync(join(dir, 'certs-only.example'));
      writeFileSync(join(dir, 'certs-only.example', 'ca.crt'), '');
      assert.equal(findHostsFile(dir, 'certs-only.example'), undefined);
      // An empty hosts.toml counts as none.
      put('empty.example', '');
      assert.equal(findHostsFile(dir, 'empty.example'), undefined);
      assert.equal(findHostsFile(dir, 'docker.io'), join(dir, '_default', 'hosts.toml'));
      assert.equal(findHostsFile(join(dir, 'missing'), 'docker.io'), undefined);
    } finally {
      cleanupDir(dir);
    }
  });
});
