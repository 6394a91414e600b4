// Docker's human units, the tabwriter, ps's columns (ports, command, names), timestamps, the
// run/create body docker sends for a command line, detach keys and the client's stream decoders.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough, Readable } from 'node:stream';
import { bytesSize, formatGoDuration, humanDuration, humanSize, parseGoDuration, ramInBytes } from '../../../src/cli/output/units.js';
import { tabwrite } from '../../../src/cli/output/tabwriter.js';
import { containerRow, displayablePorts, ellipsis } from '../../../src/cli/commands/ps.js';
import { naturalCompare, toApiTimestamp } from '../../../src/cli/commands/util.js';
import { buildCreateRequest, containerFlags, parsePortSpec, runOnlyFlags } from '../../../src/cli/commands/container-opts.js';
import { parseFlags } from '../../../src/cli/flags.js';
import { detachKeyBytes, EscapeDetector } from '../../../src/cli/hijack.js';
import { progressString } from '../../../src/cli/output/progress.js';
import { cpuPercent, statsRow } from '../../../src/cli/commands/stats.js';
import { demux, jsonStream, muxFrame } from '../../../src/client/streams.js';
import { parseHost, resolveHost } from '../../../src/client/host.js';
import { encodeFilters, encodeQuery } from '../../../src/client/engine.js';
import { encodeAuth } from '../../../src/client/registry-auth.js';
import { familiarString, fullName, parseImageRef } from '../../../src/client/reference.js';
import type { ContainerSummary, StatsResponse } from '../../../src/client/types.js';

describe('units', () => {
  it('sizes as go-units prints them', () => {
    assert.equal(humanSize(0), '0B');
    assert.equal(humanSize(999), '999B');
    assert.equal(humanSize(1000), '1kB');
    assert.equal(humanSize(1984000), '1.984MB');
    assert.equal(humanSize(1984000, 3), '1.98MB');
    assert.equal(humanSize(22, 3), '22B');
    assert.equal(humanSize(3.969e6), '3.969MB');
    assert.equal(humanSize(1.5e12), '1.5TB');
    assert.equal(bytesSize(744 * 1024), '744KiB');
    assert.equal(bytesSize(23.54 * 1024 ** 3), '23.54GiB');
    assert.equal(ramInBytes('64m'), 64 * 1024 * 1024);
    assert.equal(ramInBytes('1g'), 1024 ** 3);
    assert.equal(ramInBytes('512k'), 512 * 1024);
    assert.equal(ramInBytes('100'), 100);
    assert.throws(() => ramInBytes('lots'), /invalid size/);
  });

  it('durations as go-units and Go print them', () => {
    assert.equal(humanDuration(500), 'Less than a second');
    assert.equal(humanDuration(1000), '1 second');
    assert.equal(humanDuration(45_000), '45 seconds');
    assert.equal(humanDuration(90_000), 'About a minute');
    assert.equal(humanDuration(5 * 60_000), '5 minutes');
    assert.equal(humanDuration(3_600_000), 'About an hour');
    assert.equal(humanDuration(30 * 3_600_000), '30 hours');
    assert.equal(humanDuration(3 * 86_400_000), '3 days');
    assert.equal(humanDuration(20 * 86_400_000), '2 weeks');
    assert.equal(humanDuration(100 * 86_400_000), '3 months');
    assert.equal(humanDuration(800 * 86_400_000), '2 years');
    assert.equal(parseGoDuration('1h30m'), 5400e9);
    assert.equal(parseGoDuration('300ms'), 300e6);
    assert.equal(parseGoDuration('1.5s'), 1.5e9);
    assert.throws(() => parseGoDuration('5'), /missing unit/);
    assert.equal(formatGoDuration(5400e9), '1h30m0s');
    assert.equal(formatGoDuration(2e9), '2s');
  });

  it('sorts names naturally, as docker volume/network ls do', () => {
    assert.deepEqual(['net10', 'net9', 'Net1', 'net-a', 'net_a', 'net'].sort(naturalCompare), ['Net1', 'net', 'net9', 'net10', 'net-a', 'net_a']);
  });

  it('turns --since/--until values into the API\'s timestamps', () => {
    const now = Date.UTC(2024, 0, 1, 12, 0, 0);
    assert.equal(toApiTimestamp('10m', now), String(now / 1000 - 600));
    assert.equal(toApiTimestamp('0s', now), String(now / 1000));
    assert.equal(toApiTimestamp('1700000000'), '1700000000');
    assert.equal(toApiTimestamp('1700000000.5'), '1700000000.5');
    assert.equal(toApiTimestamp('2024-01-01T00:00:00Z'), '1704067200.000000000');
    assert.equal(toApiTimestamp('2024-01-01T00:00:00.123456789Z'), '1704067200.123456789');
    assert.equal(toApiTimestamp('2024-01-01T01:00:00+01:00'), '1704067200.000000000');
    assert.throws(() => toApiTimestamp('yesterday'), /failed to parse value as time or duration/);
  });
});

describe('tabwriter', () => {
  it('pads columns to the widest cell plus 3, at least 10, last column unpadded', () => {
    assert.equal(tabwrite('A\tBB\tC\nlonger-cell\tx\tlast\n'), 'A             BB        C\nlonger-cell   x         last\n');
    assert.equal(tabwrite('UID\tPID\n0\t1\n', { minWidth: 20, padding: 3 }), `UID${' '.repeat(17)}PID\n0${' '.repeat(19)}1\n`);
    assert.equal(tabwrite('a\tb\n'), 'a         b\n');
    assert.equal(tabwrite('…é\tx\n'), `…é${' '.repeat(8)}x\n`, 'widths count characters, not bytes');
  });
});

describe('ps columns', () => {
  it('groups ports as docker does', () => {
    assert.equal(displayablePorts([]), '');
    assert.equal(displayablePorts([{ PrivatePort: 80, Type: 'tcp' }]), '80/tcp');
    assert.equal(displayablePorts([{ IP: '0.0.0.0', PrivatePort: 80, PublicPort: 8080, Type: 'tcp' }, { IP: '::', PrivatePort: 80, PublicPort: 8080, Type: 'tcp' }]),
      '0.0.0.0:8080->80/tcp, [::]:8080->80/tcp');
    assert.equal(displayablePorts([80, 81, 82, 90].map((p) => ({ PrivatePort: p, Type: 'tcp' }))), '80-82/tcp, 90/tcp');
    assert.equal(displayablePorts([{ IP: '0.0.0.0', PrivatePort: 53, PublicPort: 53, Type: 'udp' }]), '0.0.0.0:53->53/udp');
  });

  it('quotes and cuts the command, trims names, truncates IDs', () => {
    assert.equal(ellipsis('abcdefghijklmnopqrstuvwxyz', 20), 'abcdefghijklmnopqrs…');
    const c: ContainerSummary = {
      Id: 'a'.repeat(64), Names: ['/web', '/other/link'], Image: 'docker.io/library/busybox:latest', ImageID: `sha256:${'b'.repeat(64)}`,
      Command: "sh -c 'while true; do sleep 1; done'", Created: Math.floor(Date.now() / 1000) - 120, Ports: [], Labels: { b: '2', a: '1' },
      State: 'running', Status: 'Up 2 minutes', Mounts: [{ Name: 'vol', Destination: '/v', Driver: 'local' }], SizeRw: 0, SizeRootFs: 1984000,
      NetworkSettings: { Networks: { none: {} } },
    };
    const row = containerRow(c, true) as Record<string, unknown> & { Label: (k: string) => string };
    assert.equal(row.ID, 'aaaaaaaaaaaa');
    assert.equal(row.Command, '"sh -c \'while true; …"');
    assert.equal(row.Names, 'web');
    assert.equal(row.Image, 'busybox:latest');
    assert.equal(row.RunningFor, '2 minutes ago');
    assert.equal(row.Labels, 'a=1,b=2');
    assert.equal(row.Label('b'), '2');
    assert.equal(row.Mounts, 'vol');
    assert.equal(row.LocalVolumes, '1');
    assert.equal(row.Networks, 'none');
    assert.equal(row.Size, '0B (virtual 1.98MB)');
    assert.deepEqual(Object.keys(JSON.parse(JSON.stringify(row))), ['Command', 'CreatedAt', 'ID', 'Image', 'Labels', 'LocalVolumes', 'Mounts', 'Names', 'Networks', 'Platform', 'Ports', 'RunningFor', 'Size', 'State', 'Status']);
    const full = containerRow(c, false) as Record<string, unknown>;
    assert.equal(full.Names, 'web,other/link');
    assert.equal(full.Image, 'docker.io/library/busybox:latest');
  });
});

describe('run and create', () => {
  const build = (argv: string[], env: NodeJS.ProcessEnv = {}) => {
    const { flags, args } = parseFlags(argv, [...containerFlags, ...runOnlyFlags], { stopAtPositional: true });
    return buildCreateRequest(flags, args, { env, detach: flags.bool('detach'), isRun: true });
  };

  it('sends what the docker CLI sends for a plain run', () => {
    const r = build(['busybox']);
    const b = r.body as Record<string, any>;
    assert.deepEqual(Object.keys(b), ['Hostname', 'Domainname', 'User', 'AttachStdin', 'AttachStdout', 'AttachStderr', 'Tty', 'OpenStdin', 'StdinOnce', 'Env', 'Cmd', 'Image', 'Volumes', 'WorkingDir', 'Entrypoint', 'OnBuild', 'Labels', 'HostConfig', 'NetworkingConfig']);
    assert.equal(b.AttachStdout, true);
    assert.equal(b.Cmd, null);
    assert.equal(b.HostConfig.NetworkMode, 'default');
    assert.deepEqual(b.HostConfig.RestartPolicy, { Name: 'no', MaximumRetryCount: 0 });
    assert.equal(b.HostConfig.MemorySwappiness, -1);
    assert.ok('default' in b.NetworkingConfig.EndpointsConfig);
    assert.equal(r.name, undefined);
  });

  it('maps the common flags as docker does', () => {
    const r = build(['-dit', '--rm', '--name', 'x', '-e', 'A=1', '-e', 'FROM_HOST', '-e', 'UNSET', '-p', '127.0.0.1:8080:80/udp', '-p', '9000-9001:90-91', '--expose', '7',
      '-v', '/h:/c:ro', '-v', '/anon', '-v', 'named:/n', '-w', '/w', '-u', '1:2', '--entrypoint', '', '--hostname', 'h', '-l', 'k=v', '-l', 'flag', '--network', 'none',
      '--restart', 'no', '--init', '--read-only', '--tmpfs', '/run:size=1m', '--cap-add', 'net_admin', '--cap-drop', 'ALL', '--privileged', '--security-opt', 'no-new-privileges',
      '--ulimit', 'nofile=10:20', '--device', '/dev/null:/dev/xnull', '--shm-size', '64m', '--pid', 'host', '--ipc', 'private', '--uts', 'host', '-m', '64m', '--cpus', '1.5',
      '--pids-limit', '10', '--cpuset-cpus', '0', '--stop-signal', 'SIGINT', '--stop-timeout', '3', '--log-opt', 'max-size=1m', '--health-cmd', 'true', '--health-interval', '5s',
      '--health-retries', '2', '--mount', 'type=bind,src=/tmp,dst=/mnt,ro', '--platform', 'linux/amd64', 'busybox', 'sh', '-c', 'x'], { FROM_HOST: 'hv' });
    const b = r.body as Record<string, any>;
    const h = b.HostConfig;
    assert.equal(r.name, 'x');
    assert.equal(r.platform, 'linux/amd64');
    assert.deepEqual([b.AttachStdin, b.AttachStdout, b.AttachStderr, b.Tty, b.OpenStdin, b.StdinOnce], [false, false, false, true, true, false]);
    assert.deepEqual(b.Env, ['A=1', 'FROM_HOST=hv', 'UNSET']);
    assert.deepEqual(b.Cmd, ['sh', '-c', 'x']);
    assert.deepEqual(b.Entrypoint, ['']);
    assert.deepEqual(b.ExposedPorts, { '7/tcp': {}, '80/udp': {}, '90/tcp': {}, '91/tcp': {} });
    assert.deepEqual(h.PortBindings, { '80/udp': [{ HostIp: '127.0.0.1', HostPort: '8080' }], '90/tcp': [{ HostIp: '', HostPort: '9000' }], '91/tcp': [{ HostIp: '', HostPort: '9001' }] });
    assert.deepEqual(h.Binds, ['/h:/c:ro', 'named:/n']);
    assert.deepEqual(b.Volumes, { '/anon': {} });
    assert.deepEqual(b.Labels, { k: 'v', flag: '' });
    assert.deepEqual(b.Healthcheck, { Test: ['CMD-SHELL', 'true'], Interval: 5e9, Retries: 2 });
    assert.equal(b.StopSignal, 'SIGINT');
    assert.equal(b.StopTimeout, 3);
    assert.equal(h.AutoRemove, true);
    assert.equal(h.Init, true);
    assert.deepEqual(h.CapAdd, ['CAP_NET_ADMIN']);
    assert.deepEqual(h.CapDrop, ['ALL']);
    assert.deepEqual(h.Tmpfs, { '/run': 'size=1m' });
    assert.deepEqual(h.Ulimits, [{ Name: 'nofile', Hard: 20, Soft: 10 }]);
    assert.deepEqual(h.Devices, [{ PathOnHost: '/dev/null', PathInContainer: '/dev/xnull', CgroupPermissions: 'rwm' }]);
    assert.deepEqual(h.Mounts, [{ Type: 'bind', Source: '/tmp', Target: '/mnt', ReadOnly: true }]);
    assert.deepEqual(h.LogConfig, { Type: '', Config: { 'max-size': '1m' } });
    assert.deepEqual([h.ShmSize, h.Memory, h.NanoCpus, h.PidsLimit, h.CpusetCpus], [64 * 1024 * 1024, 64 * 1024 * 1024, 1.5e9, 10, '0']);
    assert.deepEqual([h.PidMode, h.IpcMode, h.UTSMode, h.NetworkMode, h.ReadonlyRootfs, h.Privileged], ['host', 'private', 'host', 'none', true, true]);
    assert.deepEqual(b.NetworkingConfig, { EndpointsConfig: {} });
  });

  it('refuses what docker refuses', () => {
    assert.throws(() => build(['--rm', '--restart', 'always', 'busybox']), /Conflicting options: --restart and --rm/);
    assert.throws(() => build(['-d', '-a', 'stdout', 'busybox']), /Conflicting options: -a and -d/);
    assert.throws(() => build(['-p', '80/bogus', 'busybox']), /invalid proto: bogus/);
    assert.throws(() => build(['--restart', 'sometimes', 'busybox']), /invalid restart policy/);
    assert.throws(() => build(['--network-alias', 'x', 'busybox']), /network-scoped aliases are only supported for user-defined networks/);
    assert.throws(() => build(['--no-healthcheck', '--health-cmd', 'x', 'busybox']), /--no-healthcheck conflicts with --health-\* options/);
  });

  it('parses port specs like nat.ParsePortSpec', () => {
    assert.deepEqual(parsePortSpec('80'), [{ port: '80/tcp', hostIp: '', hostPort: '' }]);
    assert.deepEqual(parsePortSpec('[::1]:8080:80'), [{ port: '80/tcp', hostIp: '::1', hostPort: '8080' }]);
    assert.deepEqual(parsePortSpec('8000-8010:80'), [{ port: '80/tcp', hostIp: '', hostPort: '8000-8010' }]);
    assert.throws(() => parsePortSpec('1-2:3-5'), /invalid ranges/);
  });
});

describe('terminals', () => {
  it('reads detach keys like term.ToBytes', () => {
    assert.deepEqual([...detachKeyBytes('ctrl-p,ctrl-q')], [16, 17]);
    assert.deepEqual([...detachKeyBytes('a,ctrl-@,ctrl-\\')], [97, 0, 28]);
    assert.throws(() => detachKeyBytes('ctrl-1'), /Invalid detach keys/);
  });

  it('holds back a partial sequence and releases it on a mismatch', () => {
    const d = new EscapeDetector(Buffer.from([16, 17]));
    assert.deepEqual(d.feed(Buffer.from('ab')), { forward: Buffer.from('ab'), detach: false });
    assert.deepEqual(d.feed(Buffer.from([16])), { forward: Buffer.alloc(0), detach: false });
    assert.deepEqual(d.feed(Buffer.from('x')), { forward: Buffer.from([16, 120]), detach: false });
    assert.deepEqual(d.feed(Buffer.from([16, 16])), { forward: Buffer.from([16]), detach: false });
    assert.equal(d.feed(Buffer.from([17])).detach, true);
    assert.equal(new EscapeDetector(Buffer.from([16, 17])).feed(Buffer.from([104, 16, 17])).detach, true);
  });
});

describe('progress and stats', () => {
  it('draws progress like jsonmessage', () => {
    assert.equal(progressString({ current: 0, total: 0 }, 200), '');
    assert.equal(progressString({ current: 500, total: 1000 }, 80), '    500B/1kB');
    assert.equal(progressString({ current: 500, total: 1000 }, 200), `[${'='.repeat(25)}>${' '.repeat(25)}]     500B/1kB`);
    assert.equal(progressString({ current: 1500 }, 200), '   1.5kB');
  });

  it('computes CPU and memory as docker stats does', () => {
    const s: StatsResponse = {
      read: '2024-01-01T00:00:01Z', id: 'c'.repeat(64), name: '/web',
      cpu_stats: { cpu_usage: { total_usage: 2_000_000 }, system_cpu_usage: 110_000_000, online_cpus: 2 },
      precpu_stats: { cpu_usage: { total_usage: 1_000_000 }, system_cpu_usage: 10_000_000 },
      memory_stats: { usage: 3 * 1024 * 1024, limit: 100 * 1024 * 1024, stats: { total_inactive_file: 1024 * 1024 } },
      pids_stats: { current: 3 },
      networks: { eth0: { rx_bytes: 1500, tx_bytes: 500 } },
      blkio_stats: { io_service_bytes_recursive: [{ major: 8, minor: 0, op: 'Read', value: 4096 }, { major: 8, minor: 0, op: 'Write', value: 0 }] },
    };
    assert.equal(cpuPercent(s), 2);
    assert.deepEqual(statsRow('web', s), {
      BlockIO: '4.1kB / 0B', CPUPerc: '2.00%', Container: 'web', ID: 'cccccccccccc', MemPerc: '2.00%', MemUsage: '2MiB / 100MiB', Name: 'web', NetIO: '1.5kB / 500B', PIDs: '3',
    });
  });
});

describe('client encodings', () => {
  it('parses daemon addresses', () => {
    assert.deepEqual(parseHost('unix:///run/x.sock'), { kind: 'unix', path: '/run/x.sock', url: 'unix:///run/x.sock', isDefault: false });
    assert.deepEqual(parseHost('tcp://10.0.0.1:2376'), { kind: 'tcp', host: '10.0.0.1', port: 2376, url: 'tcp://10.0.0.1:2376', isDefault: false });
    assert.equal((parseHost('tcp://localhost') as { port: number }).port, 2375);
    assert.throws(() => parseHost('ftp://x'), /unsupported scheme/);
    assert.equal(resolveHost(undefined, {}).isDefault, true);
    assert.equal(resolveHost(undefined, {}).url, 'unix:///run/berth/berth.sock');
    assert.equal(resolveHost(undefined, { DOCKER_HOST: 'unix:///d.sock' }).url, 'unix:///d.sock');
    assert.equal(resolveHost(undefined, { DOCKER_HOST: 'unix:///d.sock', BERTH_HOST: 'unix:///b.sock' }).url, 'unix:///b.sock');
    assert.equal(resolveHost('unix:///h.sock', { BERTH_HOST: 'unix:///b.sock' }).url, 'unix:///h.sock');
  });

  it('encodes queries, filters and registry auth as the docker client does', () => {
    assert.equal(encodeQuery({ all: true, size: undefined, limit: 3, names: ['b', 'a'], t: 0, filters: '{}' }), '?all=1&filters=%7B%7D&limit=3&names=b&names=a&t=0');
    assert.equal(encodeFilters({ label: ['a=b'], status: ['running', 'paused'] }), '{"label":{"a=b":true},"status":{"running":true,"paused":true}}');
    assert.equal(encodeFilters({}), undefined);
    assert.equal(encodeAuth({}), 'e30=');
    assert.deepEqual(JSON.parse(Buffer.from(encodeAuth({ username: 'u', password: 'p?>', serveraddress: 'r' }), 'base64url').toString()), { username: 'u', password: 'p?>', serveraddress: 'r' });
  });

  it('normalizes image references', () => {
    assert.equal(fullName(parseImageRef('busybox')), 'docker.io/library/busybox');
    assert.equal(fullName(parseImageRef('user/app:1')), 'docker.io/user/app');
    assert.deepEqual(parseImageRef('localhost:5000/a/b:t'), { domain: 'localhost:5000', path: 'a/b', tag: 't' });
    assert.equal(familiarString(parseImageRef('docker.io/library/busybox')), 'busybox:latest');
    assert.equal(parseImageRef(`busybox@sha256:${'a'.repeat(64)}`).digest, `sha256:${'a'.repeat(64)}`);
    assert.throws(() => parseImageRef('Busybox'), /must be lowercase/);
  });

  it('splits JSON streams wherever the chunks break', async () => {
    const text = '{"status":"a"}\n{"status":"b {\\"x\\"}"}{"id":"c","progressDetail":{"current":1}}\n';
    for (let cut = 1; cut < text.length; cut += 7) {
      const chunks = [text.slice(0, cut), text.slice(cut)].filter(Boolean).map((s) => Buffer.from(s));
      const got: unknown[] = [];
      for await (const v of jsonStream(Readable.from(chunks))) got.push(v);
      assert.deepEqual(got, [{ status: 'a' }, { status: 'b {"x"}' }, { id: 'c', progressDetail: { current: 1 } }]);
    }
    await assert.rejects(async () => {
      for await (const _ of jsonStream(Readable.from([Buffer.from('{"a":')]))) void _;
    }, /ended in the middle of a message/);
  });

  it('demultiplexes stdout and stderr frames split anywhere', async () => {
    const stream = Buffer.concat([muxFrame(1, Buffer.from('out1\n')), muxFrame(2, Buffer.from('err\n')), muxFrame(1, Buffer.from('out2\n'))]);
    for (const cut of [1, 7, 8, 9, 14, 20]) {
      const out = new PassThrough();
      const err = new PassThrough();
      let o = '';
      let e = '';
      out.on('data', (d) => (o += d));
      err.on('data', (d) => (e += d));
      await demux(Readable.from([stream.subarray(0, cut), stream.subarray(cut)]), out, err);
      assert.equal(o, 'out1\nout2\n');
      assert.equal(e, 'err\n');
    }
    await assert.rejects(demux(Readable.from([muxFrame(3, Buffer.from('boom'))]), new PassThrough(), new PassThrough()), /boom/);
  });
});

describe('inspect and events output', () => {
  it('re-indents JSON text the way Go\'s json.Indent does, keeping the daemon\'s bytes', async () => {
    const { indentJson } = await import('../../../src/cli/output/json-indent.js');
    assert.equal(indentJson('[{"a":1,"b":[],"c":{},"d":["x",{"e":"\\u003c, \\"q\\" ]"}],"f":null}]'),
      '[\n    {\n        "a": 1,\n        "b": [],\n        "c": {},\n        "d": [\n            "x",\n            {\n                "e": "\\u003c, \\"q\\" ]"\n            }\n        ],\n        "f": null\n    }\n]');
    const sample = { Id: 'x', State: { Pid: 1, Env: ['A=1'], Empty: [] as string[] }, Nested: { deeper: { n: 1.5 } } };
    assert.equal(indentJson(JSON.stringify(sample)), JSON.stringify(sample, null, 4));
  });

  it('keeps event nanoseconds exact', async () => {
    const text = '{"Type":"container","Action":"start","Actor":{"ID":"abc","Attributes":{"name":"x"}},"time":1795652288,"timeNano":1795652288856938418}\n';
    const events: { timeNano?: number | string }[] = [];
    for await (const e of jsonStream<{ timeNano?: number | string }>(Readable.from([Buffer.from(text)]), { exactIntegers: ['timeNano'] })) events.push(e);
    assert.equal(events[0]!.timeNano, '1795652288856938418');
    const { eventLine, reformatDate } = await import('../../../src/cli/commands/system.js');
    assert.match(eventLine(events[0] as never), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.856938418(Z|[+-]\d\d:\d\d) container start abc \(name=x\)\n$/);
    assert.equal(reformatDate('2026-05-07T21:09:36.000000000+00:00'), 'Thu May  7 21:09:36 2026');
    assert.equal(reformatDate('not a date'), 'not a date');
  });
});
