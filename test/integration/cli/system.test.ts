// berth's other commands against a private dockerd, beside the real docker CLI: cp both ways (and
// tar streams on stdin/stdout), events with --since/--until, system df, version and info, volumes,
// networks (the test daemon has no default bridge, but user-defined bridge networks work), and
// the prune commands.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { haveDockerd } from '../../helpers/dockerd.js';
import { startCliHarness, type CliHarness } from '../../helpers/cli.js';

describe('berth cp, events, system, volume and network commands', { skip: !haveDockerd() && 'dockerd not installed (apt-get install docker.io)' }, () => {
  let h: CliHarness;
  before(async () => {
    h = await startCliHarness();
    await h.ok(['run', '-d', '--name', 'box', '--network', 'none', 'busybox', 'sleep', '300']);
  });
  after(async () => {
    await h?.cleanup();
  });

  it('cp from the host into a container: files, directories, new names, SRC/., a tar on stdin', async () => {
    const src = join(h.dir, 'src');
    mkdirSync(join(src, 'sub'), { recursive: true });
    writeFileSync(join(src, 'a.txt'), 'alpha\n');
    writeFileSync(join(src, 'sub', 'b.txt'), 'beta\n', { mode: 0o640 });
    symlinkSync('a.txt', join(src, 'link'));
    assert.equal(await h.ok(['cp', src, 'box:/tmp/']), '');
    assert.equal(await h.ok(['exec', 'box', 'sh', '-c', 'cd /tmp/src && find . | sort && cat a.txt sub/b.txt && readlink link && stat -c %a sub/b.txt']),
      '.\n./a.txt\n./link\n./sub\n./sub/b.txt\nalpha\nbeta\na.txt\n640\n');
    await h.ok(['cp', join(src, 'a.txt'), 'box:/tmp/renamed.txt']);
    assert.equal(await h.ok(['exec', 'box', 'cat', '/tmp/renamed.txt']), 'alpha\n');
    await h.ok(['cp', join(src, 'a.txt'), 'box:/tmp/renamed.txt']); // over an existing file
    await h.ok(['cp', `${src}/.`, 'box:/tmp/contents']);
    assert.equal(await h.ok(['exec', 'box', 'ls', '/tmp/contents']), 'a.txt\nlink\nsub\n');
    await h.ok(['cp', src, 'box:/tmp/newdir']);
    assert.equal(await h.ok(['exec', 'box', 'ls', '/tmp/newdir']), 'a.txt\nlink\nsub\n');
    const tar = execFileSync('tar', ['-C', src, '-cf', '-', 'a.txt']);
    await h.ok(['cp', '-', 'box:/root'], { input: tar });
    assert.equal(await h.ok(['exec', 'box', 'cat', '/root/a.txt']), 'alpha\n');
    const missing = await h.berth(['cp', join(h.dir, 'nope'), 'box:/tmp/']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no such file or directory/);
    const noContainer = await h.berth(['cp', src, 'ghost:/tmp/']);
    assert.deepEqual([noContainer.code, noContainer.stderr], [1, 'Error response from daemon: No such container: ghost\n']);
  });

  it('cp from a container to the host: files, directories, new names, a tar on stdout', async () => {
    const out = join(h.dir, 'out');
    mkdirSync(out);
    await h.ok(['cp', 'box:/etc/passwd', out]);
    assert.match(readFileSync(join(out, 'passwd'), 'utf8'), /^root:x:0:0/);
    await h.ok(['cp', 'box:/etc/group', join(out, 'group.copy')]);
    assert.match(readFileSync(join(out, 'group.copy'), 'utf8'), /^root:x:0:/);
    await h.ok(['cp', 'box:/tmp/src', out]);
    assert.equal(readFileSync(join(out, 'src', 'sub', 'b.txt'), 'utf8'), 'beta\n');
    assert.equal(statSync(join(out, 'src', 'sub', 'b.txt')).mode & 0o777, 0o640);
    assert.ok(lstatSync(join(out, 'src', 'link')).isSymbolicLink());
    assert.equal(readlinkSync(join(out, 'src', 'link')), 'a.txt');
    await h.ok(['cp', 'box:/tmp/src', join(out, 'renamed-dir')]);
    assert.ok(existsSync(join(out, 'renamed-dir', 'sub', 'b.txt')));
    await h.ok(['cp', 'box:/tmp/src/.', join(out, 'renamed-dir')]);
    assert.ok(!existsSync(join(out, 'renamed-dir', 'src')), 'SRC/. copies the contents only');
    const tar = await h.berth(['cp', 'box:/etc/passwd', '-']);
    assert.equal(tar.code, 0);
    assert.equal(tar.stdout.slice(0, 6), 'passwd');
    const missing = await h.berth(['cp', 'box:/no/such/file', out]);
    const dMissing = await h.docker(['cp', 'box:/no/such/file', out]);
    assert.deepEqual([missing.code, missing.stderr], [dMissing.code, dMissing.stderr]);
  });

  it('events: --since/--until replay, --filter and --format', async () => {
    const since = String(Math.floor(Date.now() / 1000) - 1);
    await h.ok(['run', '--rm', '--name', 'evented', '--network', 'none', '-l', 'ev=1', 'busybox', 'true']);
    const until = String(Math.floor(Date.now() / 1000) + 1);
    const b = await h.berth(['events', '--since', since, '--until', until, '--filter', 'container=evented']);
    const d = await h.docker(['events', '--since', since, '--until', until, '--filter', 'container=evented']);
    assert.equal(b.code, 0, b.stderr);
    assert.equal(b.stdout, d.stdout);
    assert.match(b.stdout, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z container create [0-9a-f]{64} \(ev=1, image=busybox, name=evented\)$/m);
    for (const action of ['create', 'attach', 'start', 'die', 'destroy']) assert.match(b.stdout, new RegExp(`container ${action} `));
    const fmt = '{{.Type}} {{.Action}} {{.Actor.Attributes.name}} {{.Status}}';
    const bf = await h.berth(['events', '--since', since, '--until', until, '--filter', 'event=start', '--filter', 'container=evented', '--format', fmt]);
    assert.equal(bf.stdout, (await h.docker(['events', '--since', since, '--until', until, '--filter', 'event=start', '--filter', 'container=evented', '--format', fmt])).stdout);
    assert.equal(bf.stdout, 'container start evented start\n');
    const json = await h.ok(['system', 'events', '--since', since, '--until', until, '--filter', 'event=die', '--format', 'json']);
    assert.equal((JSON.parse(json) as { Actor: { Attributes: { exitCode: string } } }).Actor.Attributes.exitCode, '0');
    const relative = await h.ok(['events', '--since', '1m', '--until', '0s', '--filter', 'event=destroy', '--format', '{{.Actor.Attributes.name}}']);
    assert.match(relative, /^evented$/m);
  });

  it('version, info, system df', async () => {
    assert.equal(await h.ok(['version', '--format', '{{.Server.Version}}']), (await h.docker(['version', '--format', '{{.Server.Version}}'])).stdout);
    const version = await h.ok(['version']);
    assert.match(version, /^Client:\n Version: +\S+\n API version: +1\.41 \(downgraded from 1\.45\)\n/);
    assert.match(version, /\nServer:\n Engine:\n  Version: +\S+\n  API version: +1\.41 \(minimum version [\d.]+\)\n/);
    const info = await h.ok(['info']);
    assert.match(info, /\n Containers: \d+\n  Running: \d+\n  Paused: 0\n  Stopped: \d+\n Images: 1\n Server Version: /);
    assert.equal(await h.ok(['info', '--format', '{{.ServerVersion}} {{.Images}} {{.Driver}}']), (await h.docker(['info', '--format', '{{.ServerVersion}} {{.Images}} {{.Driver}}'])).stdout);
    const df = await h.ok(['system', 'df']);
    assert.equal(df, (await h.docker(['system', 'df'])).stdout);
    assert.match(df, /^TYPE +TOTAL +ACTIVE +SIZE +RECLAIMABLE\nImages +1 +1 +1\.98\dMB +0B \(0%\)\nContainers +\d+ +1 +/);
    assert.match(await h.ok(['system', 'df', '-v']), /^Images space usage:\n\nREPOSITORY +TAG +IMAGE ID/);
  });

  it('volume create, ls, inspect, rm, prune', async () => {
    assert.equal(await h.ok(['volume', 'create', '--label', 'team=cli', 'data1']), 'data1\n');
    const anon = (await h.ok(['volume', 'create'])).trim();
    assert.match(anon, /^[0-9a-f]{64}$/);
    await h.ok(['run', '--rm', '-v', 'data1:/data', '--network', 'none', 'busybox', 'sh', '-c', 'echo kept > /data/f']);
    assert.equal(await h.ok(['run', '--rm', '--mount', 'type=volume,src=data1,dst=/d,ro', '--network', 'none', 'busybox', 'cat', '/d/f']), 'kept\n');
    for (const args of [['volume', 'ls'], ['volume', 'ls', '-q'], ['volume', 'ls', '--filter', 'label=team=cli', '--format', '{{.Name}} {{.Driver}} {{.Labels}} {{.Label "team"}}'],
      ['volume', 'inspect', '-f', '{{.Name}} {{.Driver}} {{.Mountpoint}} {{.Labels}}', 'data1']]) {
      const b = await h.berth(args);
      assert.equal(b.stdout, (await h.docker(args)).stdout, args.join(' '));
    }
    assert.equal((JSON.parse(await h.ok(['volume', 'inspect', 'data1'])) as { Name: string }[])[0]!.Name, 'data1');
    const rm = await h.berth(['volume', 'rm', anon, 'nope']);
    assert.deepEqual([rm.code, rm.stdout], [1, `${anon}\n`]);
    assert.match(rm.stderr, /^Error response from daemon: .*no such volume/);
    assert.equal(await h.ok(['volume', 'rm', 'data1']), 'data1\n');
    await h.ok(['volume', 'create', 'unused']);
    assert.match(await h.ok(['volume', 'prune', '-f']), /^Deleted Volumes:\nunused\n\nTotal reclaimed space: 0B\n$/);
  });

  it('network create, ls, inspect, connect, disconnect, rm, prune', async () => {
    const id = await h.ok(['network', 'create', '--label', 'team=cli', '--subnet', '10.231.0.0/24', 'cli-net']);
    assert.match(id, /^[0-9a-f]{64}\n$/);
    for (const args of [['network', 'ls'], ['network', 'ls', '-q'], ['network', 'ls', '--no-trunc', '--filter', 'label=team=cli', '--format', '{{.ID}} {{.Name}} {{.Driver}} {{.Scope}} {{.Internal}} {{.IPv6}}'],
      ['network', 'inspect', '-f', '{{.Name}} {{.Driver}} {{range .IPAM.Config}}{{.Subnet}}{{end}}', 'cli-net']]) {
      const b = await h.berth(args);
      assert.equal(b.stdout, (await h.docker(args)).stdout, `${args.join(' ')}: ${b.stderr}`);
    }
    await h.ok(['run', '-d', '--name', 'netted', '--network', 'cli-net', '--ip', '10.231.0.50', '--network-alias', 'svc', 'busybox', 'sleep', '300']);
    assert.equal(await h.ok(['inspect', '-f', '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{.Aliases}}{{end}}', 'netted']).then((s) => s.split(' ')[0]), '10.231.0.50');
    await h.ok(['network', 'create', 'cli-net2']);
    assert.equal(await h.ok(['network', 'connect', '--alias', 'second', 'cli-net2', 'netted']), '');
    assert.equal(await h.ok(['inspect', '-f', '{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}', 'netted']), 'cli-net cli-net2 \n');
    assert.match(await h.ok(['exec', 'netted', 'ip', '-o', 'addr']), /10\.231\.0\.50/);
    assert.equal(await h.ok(['network', 'disconnect', 'cli-net2', 'netted']), '');
    const busy = await h.berth(['network', 'rm', 'cli-net']);
    assert.equal(busy.code, 1);
    assert.match(busy.stderr, /Error response from daemon: .*active endpoints/);
    await h.ok(['rm', '-f', 'netted']);
    const pruned = (await h.ok(['network', 'prune', '-f'])).split('\n');
    assert.deepEqual([pruned[0], ...pruned.slice(1).sort()], ['Deleted Networks:', '', 'cli-net', 'cli-net2']);
    assert.equal(await h.ok(['network', 'ls', '--filter', 'label=team=cli', '-q']), '');
  });

  it('container prune and system prune', async () => {
    await h.ok(['create', '--name', 'leftover', 'busybox']);
    const out = await h.ok(['container', 'prune', '-f']);
    assert.match(out, /^Deleted Containers:\n([0-9a-f]{64}\n)+\nTotal reclaimed space: \d+(\.\d+)?k?B\n$/);
    assert.equal(await h.ok(['ps', '-aq', '--filter', 'name=leftover']), '');
    const declined = await h.ok(['system', 'prune'], { input: 'no\n' });
    assert.match(declined, /^WARNING! This will remove:\n  - all stopped containers\n  - all networks not used by at least one container\n  - all dangling images\n  - unused build cache\n\nAre you sure you want to continue\? \[y\/N\] $/);
    assert.match(await h.ok(['system', 'prune'], { input: 'y\n' }), /Total reclaimed space: /);
    assert.equal(await h.ok(['inspect', '-f', '{{.State.Running}}', 'box']), 'true\n', 'running containers stay');
  });
});
