// One scripted session of the real docker CLI (28.x), run against berthd and, to compare, against
// Debian's dockerd (docker-cli.test.ts, docker-cli-dockerd.test.ts): version negotiation, import,
// images, run (attached, detached, --rm, exit codes), exec, logs, ps and inspect formats,
// networks and published ports, pull/push/login against a registry, save/load, cp, diff, stats,
// pty sessions, stop/kill/pause/rename/wait/rm, errors with Docker's wording, and containers that
// survive a daemon crash with restart policies. What differs by design (API version, storage
// driver name) comes with the target; everything else must hold for both engines.
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeBusyboxRootfs } from '../../helpers/busybox.js';
import { cleanupDir, haveCommand, runCommand, waitFor, type Result } from '../../helpers/runtime.js';
import { startRegistry } from '../../helpers/registry.js';

/** A daemon the session drives with `docker -H host`. */
export interface SessionTarget {
  host: string;
  /** The network namespace the daemon runs in: a registry for it listens there. */
  netns?: string;
  docker(args: string[], opts?: { input?: string; timeoutMs?: number }): Promise<Result>;
  restart(how: 'kill' | 'term'): Promise<void>;
  log(): string;
  stop(): Promise<void>;
  apiVersion: string;
  storageDriver: string;
}

const work = mkdtempSync(join(tmpdir(), 'berth-cli-'));

export function dockerCliSession(start: () => Promise<SessionTarget>): void {
  let d: SessionTarget;
  const ok = async (...args: string[]) => {
    const r = await d.docker(args);
    assert.equal(r.code, 0, `docker ${args.join(' ')} exited ${r.code}: ${r.stderr}\n--- berthd log ---\n${d.log().slice(-3000)}`);
    return r.stdout.trim();
  };

  before(async () => {
    d = await start();
    const rootfs = join(work, 'rootfs');
    makeBusyboxRootfs(rootfs);
    execFileSync('tar', ['-C', rootfs, '-cf', join(work, 'rootfs.tar'), '.']);
  });
  after(async () => {
    await d?.stop();
    cleanupDir(work);
  });

  it('negotiates the API version and says who it is', async () => {
    assert.equal(await ok('version', '--format', '{{.Server.APIVersion}}'), d.apiVersion);
    assert.equal(await ok('info', '--format', '{{.Driver}} {{.OSType}}'), `${d.storageDriver} linux`);
  });

  it('imports a root filesystem and lists it', async () => {
    assert.match(await ok('import', '--change', 'CMD ["sh"]', join(work, 'rootfs.tar'), 'bb:latest'), /^sha256:[0-9a-f]{64}$/);
    assert.equal(await ok('images', '--format', '{{.Repository}}:{{.Tag}}'), 'bb:latest');
    assert.equal(await ok('image', 'inspect', '-f', '{{json .Config.Cmd}}', 'bb'), '["sh"]');
  });

  it('runs a container attached, with its output, its exit code and --rm', async () => {
    assert.equal(await ok('run', '--rm', '--network', 'none', 'bb', 'echo', 'hello from berth'), 'hello from berth');
    const r = await d.docker(['run', '--network', 'none', '--name', 'three', 'bb', 'sh', '-c', 'echo out; echo err >&2; exit 3']);
    assert.equal(r.code, 3);
    assert.equal(r.stdout, 'out\n');
    assert.equal(r.stderr, 'err\n');
    assert.equal(await ok('ps', '-a', '--filter', 'name=three', '--format', '{{.Status}}'), 'Exited (3) Less than a second ago');
    assert.equal(await ok('ps', '-aq', '--filter', 'status=exited').then((s) => s.split('\n').length), 1, '--rm removed the first one');
  });

  it('fails like Docker: unknown image, unknown command (127), name in use', async () => {
    const noImage = await d.docker(['run', '--pull', 'never', 'nope:1', 'true']);
    assert.equal(noImage.code, 125);
    assert.match(noImage.stderr, /No such image: nope:1/);
    const noCmd = await d.docker(['run', '--network', 'none', 'bb', '/no/such/cmd']);
    assert.equal(noCmd.code, 127, noCmd.stderr);
    const clash = await d.docker(['create', '--name', 'three', 'bb']);
    assert.notEqual(clash.code, 0);
    assert.match(clash.stderr, /Conflict. The container name "\/three" is already in use/);
  });

  it('runs detached: ps, inspect, exec, logs, top', async () => {
    const id = await ok('run', '-d', '--network', 'none', '--name', 'web', 'bb', 'sh', '-c', 'echo started; exec sleep 1000');
    assert.match(id, /^[0-9a-f]{64}$/);
    assert.equal(await ok('ps', '--format', '{{.Names}} {{.Image}} {{.State}}'), 'web bb running');
    assert.equal(await ok('inspect', '-f', '{{.State.Running}} {{.Name}} {{.Config.Hostname}}', 'web'), `true /web ${id.slice(0, 12)}`);
    assert.equal(await ok('exec', 'web', 'echo', 'hi'), 'hi');
    assert.equal((await d.docker(['exec', 'web', 'sh', '-c', 'exit 4'])).code, 4);
    const missing = await d.docker(['exec', 'web', 'no-such-command']);
    assert.equal(missing.code, 126, 'an exec that never ran: 126, whatever the reason');
    assert.match(missing.stdout, /^OCI runtime exec failed: .*"no-such-command": executable file not found in \$PATH/, 'the error, on the stream');
    assert.equal(await ok('exec', '-e', 'X=1', '-w', '/tmp', 'web', 'sh', '-c', 'echo $X $(pwd)'), '1 /tmp');
    assert.equal(await ok('exec', '-u', 'nobody', 'web', 'id', '-u'), '65534', 'a user name, resolved in the container');
    await waitFor(async () => (await ok('logs', 'web')) === 'started');
    assert.match(await ok('top', 'web'), /sleep 1000/);
    // Sharing another container's namespaces: its processes, its network, its hostname's peers.
    assert.match(await ok('run', '--rm', '--pid', 'container:web', '--network', 'none', 'bb', 'ps', '-o', 'comm'), /sleep/);
    assert.equal(await ok('run', '--rm', '--network', 'container:web', 'bb', 'sh', '-c', 'ip -o link | wc -l'), '1', 'web has only its loopback (--network none)');
    const ipc = await d.docker(['run', '--rm', '--ipc', 'container:web', '--network', 'none', 'bb', 'true']);
    assert.match(ipc.stderr, /non-shareable IPC/, 'as Docker: the donor must be --ipc shareable');
  });

  it('creates and starts, signals, restarts, and shares an IPC namespace a donor made shareable', async () => {
    await ok('create', '--name', 'made', '--network', 'none', 'bb', 'sh', '-c', 'echo up; trap "echo got-usr1" USR1; while true; do sleep 0.1; done');
    assert.equal(await ok('inspect', '-f', '{{.State.Status}}', 'made'), 'created');
    await ok('start', 'made');
    await waitFor(async () => (await ok('logs', 'made')) === 'up');
    await ok('kill', '-s', 'USR1', 'made');
    await waitFor(async () => (await ok('logs', 'made')) === 'up\ngot-usr1');
    // sh as PID 1 has no SIGTERM handler: restart -t 1 kills it after a second and starts it again
    await ok('restart', '-t', '1', 'made');
    await waitFor(async () => (await ok('logs', 'made')) === 'up\ngot-usr1\nup');
    assert.equal(await ok('inspect', '-f', '{{.State.Running}} {{.RestartCount}}', 'made'), 'true 0', 'a restart by hand is not counted');
    await ok('rm', '-f', 'made');
    await ok('run', '-d', '--network', 'none', '--ipc', 'shareable', '--name', 'donor', 'bb', 'sleep', '1000');
    const donorIpc = await ok('exec', 'donor', 'readlink', '/proc/self/ns/ipc');
    assert.equal(await ok('run', '--rm', '--network', 'none', '--ipc', 'container:donor', 'bb', 'readlink', '/proc/self/ns/ipc'), donorIpc);
    assert.notEqual(await ok('run', '--rm', '--network', 'none', 'bb', 'readlink', '/proc/self/ns/ipc'), donorIpc);
    await ok('rm', '-f', 'donor');
  });

  it('runs as Docker does: HOME from passwd, --entrypoint "", --add-host host-gateway, device throttles; refuses bad settings at create', async () => {
    const home = (...flags: string[]) => ok('run', '--rm', '--network', 'none', ...flags, 'bb', 'sh', '-c', 'echo "$HOME"');
    assert.equal(await home(), '/root');
    assert.equal(await home('-u', 'nobody'), '/nonexistent');
    assert.equal(await home('-u', '1234'), '/', 'a uid without a passwd entry');
    assert.equal(await home('-e', 'HOME=/given'), '/given');
    assert.equal(await ok('run', '--rm', '--network', 'none', '--entrypoint', '', 'bb', 'echo', 'no entrypoint'), 'no entrypoint');
    // host-gateway is the default bridge's gateway: the container's default route.
    assert.equal(await ok('run', '--rm', '--add-host', 'gw:host-gateway', 'bb', 'sh', '-c', 'test "$(grep -w gw /etc/hosts | cut -f1)" = "$(ip route | sed -n "s/^default via \\([^ ]*\\).*/\\1/p")" && echo same'), 'same');
    const disk = readdirSync('/dev').map((n) => `/dev/${n}`).find((p) => { try { return statSync(p).isBlockDevice(); } catch { return false; } });
    if (disk) {
      const st = statSync(disk);
      const numbers = `${Math.floor(st.rdev / 256) & 0xfff}:${(st.rdev & 0xff) | ((st.rdev >> 12) & ~0xff)}`;
      assert.equal(await ok('run', '--rm', '--network', 'none', '--device-read-bps', `${disk}:1mb`, '--device-write-iops', `${disk}:100`, 'bb', 'cat',
        '/sys/fs/cgroup/blkio/blkio.throttle.read_bps_device', '/sys/fs/cgroup/blkio/blkio.throttle.write_iops_device'), `${numbers} 1048576\n${numbers} 100`);
    }
    const otherPlatform = await d.docker(['create', '--pull', 'never', '--platform', 'linux/arm64', 'bb', 'true']);
    assert.notEqual(otherPlatform.code, 0);
    assert.match(otherPlatform.stderr, /image with reference bb(:latest)? was found but does not match the specified platform: wanted linux\/arm64, actual: linux\/amd64/);
    // The defaults the daemon writes into HostConfig at create; a memory limit above them needs a swap limit too.
    const limited = await ok('run', '-d', '--network', 'none', '-m', '64m', 'bb', 'sleep', '100');
    assert.equal(await ok('inspect', '-f', '{{.HostConfig.MemorySwap}} {{.HostConfig.ShmSize}} {{.HostConfig.IpcMode}} {{.HostConfig.LogConfig.Type}} {{len .HostConfig.ReadonlyPaths}}', limited),
      '134217728 67108864 private json-file 5');
    const above = await d.docker(['update', '-m', '256m', limited]);
    assert.match(above.stderr, /Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time/);
    await ok('rm', '-f', limited);
    for (const [flags, words] of [[['--cap-add', 'NOPE'], /unknown capability: "CAP_NOPE"/], [['--runtime', 'nope'], /Unknown runtime specified nope/],
      [['--isolation', 'process'], /Invalid isolation: "process"/]] as const) {
      const r = await d.docker(['create', '--name', 'refused', ...flags, 'bb', 'true']);
      assert.equal(r.code, 1, `${flags.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, words);
      assert.equal(await ok('ps', '-aq', '--filter', 'name=refused'), '', `${flags.join(' ')} left no container`);
    }
  });

  it('keeps its own files out of diff and commit, as Docker\'s init layer does; /.dockerenv and /etc/mtab are there', async () => {
    await ok('run', '--name', 'initfiles', '--network', 'none', 'bb', 'sh', '-c', 'touch /made; test -f /.dockerenv && readlink /etc/mtab');
    assert.equal(await ok('logs', 'initfiles'), '/proc/mounts');
    assert.equal(await ok('diff', 'initfiles'), 'A /made');
    await ok('commit', 'initfiles', 'initfiles:committed');
    const saved = join(work, 'initfiles.tar');
    await ok('save', '-o', saved, 'initfiles:committed');
    const unpacked = join(work, 'initfiles');
    mkdirSync(unpacked);
    execFileSync('tar', ['-C', unpacked, '-xf', saved]);
    // The top layer (docker save's manifest lists the layers bottom first) holds the one change.
    const manifest = JSON.parse(readFileSync(join(unpacked, 'manifest.json'), 'utf8')) as Array<{ Layers: string[] }>;
    const top = execFileSync('tar', ['-tf', join(unpacked, manifest[0]!.Layers.at(-1)!)], { encoding: 'utf8' });
    assert.deepEqual(top.split('\n').filter(Boolean), ['made']);
    await ok('rm', 'initfiles');
    await ok('rmi', 'initfiles:committed');
  });

  it('lists as Docker lists: ps publish/expose filters and sizes, images by reference, dangling networks; refuses a rename to the same name', async () => {
    const id = await ok('run', '-d', '--name', 'lister', '-p', '127.0.0.1:18089:80', '--expose', '81/udp', 'bb', 'sh', '-c', 'head -c 100000 /dev/zero > /f; sleep 100');
    const ps = (...filters: string[]) => ok('ps', '-q', '--no-trunc', ...filters.flatMap((f) => ['--filter', f]));
    assert.equal(await ps('publish=18089'), id);
    assert.equal(await ps('publish=18080-18090/tcp'), id);
    assert.equal(await ps('publish=80'), '', 'publish is the host port');
    assert.equal(await ps('expose=80'), id);
    assert.equal(await ps('expose=81/udp'), id);
    assert.equal(await ps('expose=81'), '', 'tcp unless said');
    await waitFor(async () => (await ok('exec', 'lister', 'sh', '-c', 'test -f /f && wc -c < /f')) === '100000', 5000);
    // Docker's SizeRw: the bytes of the files it wrote, nothing for the engine's own mount points.
    assert.equal(await ok('inspect', '-s', '-f', '{{.SizeRw}}', 'lister'), '100000');
    const same = await d.docker(['rename', 'lister', 'lister']);
    assert.match(same.stderr, /Renaming a container with the same name as its current name/);
    await ok('rm', '-f', 'lister');
    await ok('tag', 'bb', 'bb:second');
    assert.equal(await ok('images', '--filter', 'reference=bb:second', '--format', '{{.Repository}}:{{.Tag}}'), 'bb:second');
    await ok('rmi', 'bb:second');
    await ok('network', 'create', 'unused-net');
    assert.equal(await ok('network', 'ls', '--filter', 'dangling=true', '--format', '{{.Name}}'), 'unused-net', 'the predefined networks are never dangling');
    await ok('network', 'rm', 'unused-net');
    const none = await ok('run', '-d', '--network', 'none', 'bb', 'sleep', '100');
    const connect = await d.docker(['network', 'connect', 'bridge', none]);
    assert.match(connect.stderr, /container cannot be connected to multiple networks with one of the networks in private \(none\) mode/);
    await ok('rm', '-f', none);
  });

  it('refuses as Docker: wait on a missing container, a bad restart policy on update, kill of a stopped one, rm of a paused one; prune honours label!', async () => {
    const waitMissing = await d.docker(['wait', 'no-such-container']);
    assert.match(waitMissing.stderr, /No such container: no-such-container/);
    const id = await ok('run', '-d', '--network', 'none', 'bb', 'sleep', '100');
    assert.match((await d.docker(['update', '--restart', 'bogus', id])).stderr, /invalid restart policy/);
    await ok('pause', id);
    assert.match((await d.docker(['rm', id])).stderr, /You cannot remove a paused container [0-9a-f]{64}\. Unpause and then stop the container before attempting removal or force remove/);
    await ok('unpause', id);
    await ok('stop', '-t', '0', id);
    assert.match((await d.docker(['kill', id])).stderr, new RegExp(`Cannot kill container: ${id}: Container [0-9a-f]{64} is not running`));
    await ok('rm', id);
    const kept = await ok('create', '-l', 'keep=1', 'bb', 'true');
    const gone = await ok('create', 'bb', 'true');
    await ok('container', 'prune', '-f', '--filter', 'label!=keep=1');
    assert.equal((await d.docker(['inspect', '--type', 'container', gone])).code, 1, 'pruned');
    await ok('rm', kept);
  });

  it('networks: a user network with DNS by name, a published port, connect and disconnect', async () => {
    await ok('network', 'create', '--subnet', '10.123.0.0/24', '--label', 'team=web', 'front');
    assert.equal(await ok('network', 'ls', '--filter', 'label=team=web', '--format', '{{.Name}} {{.Driver}}'), 'front bridge');
    assert.equal(await ok('network', 'inspect', '-f', '{{range .IPAM.Config}}{{.Subnet}}{{end}}', 'front'), '10.123.0.0/24');
    await ok('run', '-d', '--network', 'front', '--name', 'srv', '-p', '127.0.0.1::8080', 'bb', 'sh', '-c', 'mkdir /www && echo served > /www/index.html && exec httpd -f -p 8080 -h /www');
    const published = await ok('port', 'srv', '8080');
    assert.match(published, /^127\.0\.0\.1:\d+$/);
    const fetchByName = () => d.docker(['run', '--rm', '--network', 'front', 'bb', 'wget', '-qO-', 'http://srv:8080/']);
    await waitFor(async () => (await fetchByName()).code === 0, 10_000);
    assert.equal((await fetchByName()).stdout, 'served\n');
    assert.match(await ok('inspect', '-f', '{{.NetworkSettings.Networks.front.IPAddress}}', 'srv'), /^10\.123\.0\.\d+$/);
    assert.match(await ok('stats', '--no-stream', '--format', '{{.NetIO}}', 'srv'), /^[1-9][\d.]*k?B \/ [1-9][\d.]*k?B$/, 'its traffic counted');
    // the published port, from the daemon's host
    const fromHost = await runCommand('nsenter', [`--net=${d.netns ?? '/proc/1/ns/net'}`, '--', 'busybox', 'wget', '-qO-', `http://${published}/`], { timeoutMs: 10_000 });
    assert.equal(fromHost.stdout, 'served\n', fromHost.stderr);
    await ok('run', '-d', '--name', 'side', 'bb', 'sleep', '1000');
    await ok('network', 'connect', 'front', 'side');
    assert.equal(await ok('exec', 'side', 'wget', '-qO-', 'http://srv:8080/'), 'served');
    assert.equal(await ok('network', 'inspect', '-f', '{{range .Containers}}{{.Name}} {{end}}', 'front').then((n) => n.split(' ').sort().join(' ')), 'side srv');
    await ok('network', 'disconnect', 'front', 'side');
    assert.equal(await ok('inspect', '-f', '{{len .NetworkSettings.Networks}}', 'side'), '1');
    const inUse = await d.docker(['network', 'rm', 'front']);
    assert.notEqual(inUse.code, 0);
    assert.match(inUse.stderr, /has active endpoints/);
    await ok('rm', '-f', 'srv', 'side');
    await ok('network', 'rm', 'front');
  });

  it('copies files both ways, shows diffs, exports, reports stats and takes live limits', async () => {
    writeFileSync(join(work, 'note.txt'), 'from the host\n');
    await ok('cp', join(work, 'note.txt'), 'web:/tmp/note.txt');
    assert.equal(await ok('exec', 'web', 'cat', '/tmp/note.txt'), 'from the host');
    await ok('exec', 'web', 'sh', '-c', 'mkdir -p /data/sub && echo inside > /data/sub/f && rm /bin/vi');
    await ok('cp', 'web:/data', join(work, 'copied'));
    assert.equal(readFileSync(join(work, 'copied', 'sub', 'f'), 'utf8'), 'inside\n');
    const diff = (await ok('diff', 'web')).split('\n');
    for (const line of ['A /data', 'A /data/sub/f', 'C /tmp', 'A /tmp/note.txt', 'D /bin/vi']) assert.ok(diff.includes(line), `${line} in ${diff.join(', ')}`);
    const cpMissing = await d.docker(['cp', 'web:/no/such', join(work, 'x')]);
    assert.notEqual(cpMissing.code, 0);
    assert.match(cpMissing.stderr, /Could not find the file \/no\/such in container web/);
    // a symlink in the container pointing at the host's /etc stays inside the container
    await ok('exec', 'web', 'ln', '-s', '/etc', '/tmp/etc-link');
    await ok('cp', join(work, 'note.txt'), 'web:/tmp/etc-link/');
    assert.equal(await ok('exec', 'web', 'cat', '/etc/note.txt'), 'from the host');
    assert.equal(existsSync('/etc/note.txt'), false);
    assert.match(await ok('ps', '-s', '--filter', 'name=web', '--format', '{{.Size}}'), /^\d+(\.\d+)?k?B \(virtual \d+(\.\d+)?MB\)$/);
    assert.doesNotMatch(await ok('ps', '-s', '--filter', 'name=web', '--format', '{{.Size}}'), /^0B/, 'what the container wrote counts');
    await ok('export', '-o', join(work, 'web.tar'), 'web');
    const names = execFileSync('tar', ['-tf', join(work, 'web.tar')]).toString().split('\n');
    assert.ok(names.includes('tmp/note.txt') && names.includes('bin/busybox'));
    const stats = JSON.parse(await ok('stats', '--no-stream', '--format', '{{json .}}', 'web')) as { Name: string; MemUsage: string; PIDs: string };
    assert.equal(stats.Name, 'web');
    assert.equal(stats.PIDs, '1');
    await ok('update', '--memory', '64m', '--memory-swap', '128m', 'web');
    assert.equal(await ok('inspect', '-f', '{{.HostConfig.Memory}}', 'web'), String(64 * 1024 * 1024));
    assert.match(await ok('stats', '--no-stream', '--format', '{{.MemUsage}}', 'web'), /\/ 64MiB$/);
  });

  it('reports a run\'s events as Docker: network connect and disconnect, kill with its signal, die, stop', async () => {
    const since = Math.floor(Date.now() / 1000) - 1;
    const id = await ok('run', '-d', '--name', 'evented', 'bb', 'sleep', '1000');
    await ok('stop', '-t', '0', 'evented');
    await ok('rm', 'evented');
    const all = (await ok('events', '--since', String(since), '--until', String(Math.floor(Date.now() / 1000) + 1), '--format', '{{json .}}'))
      .split('\n').map((l) => JSON.parse(l) as { Type: string; Action: string; Actor: { ID: string; Attributes: Record<string, string> } });
    const mine = all.filter((e) => e.Actor.ID === id || e.Actor.Attributes.container === id);
    const seen = new Set(mine.map((e) => `${e.Type} ${e.Action}${e.Action === 'kill' ? ` ${e.Actor.Attributes.signal}` : ''}`));
    for (const want of ['container create', 'network connect', 'container start', 'container kill 15', 'container kill 9', 'container die', 'network disconnect', 'container stop', 'container destroy']) {
      assert.ok(seen.has(want), `${want} in ${[...seen].join(', ')}`);
    }
    const connect = mine.find((e) => e.Type === 'network' && e.Action === 'connect')!;
    assert.equal(connect.Actor.Attributes.name, 'bridge');
    assert.equal(connect.Actor.Attributes.type, 'bridge');
  });

  it('reports image and prune events as Docker: tag, untag by ID, attach, commit with its tag, die before the network goes, prunes', async () => {
    const since = Math.floor(Date.now() / 1000) - 1;
    await ok('tag', 'bb', 'bb:evt');
    await ok('rmi', 'bb:evt');
    await ok('run', '--name', 'evc', 'bb', 'true');
    await ok('commit', 'evc', 'evimg');
    await ok('rm', 'evc');
    await ok('rmi', 'evimg');
    await ok('container', 'prune', '-f');
    await ok('image', 'prune', '-f');
    await ok('network', 'prune', '-f');
    const lines = (await ok('events', '--since', String(since), '--until', String(Math.floor(Date.now() / 1000) + 1), '--format', '{{.Type}} {{.Action}} {{.Actor.Attributes.name}}'))
      .split('\n').map((l) => l.replace(/sha256:[0-9a-f]{64}/, 'ID').replace(/ <no value>$/, ' '));
    const want = ['image tag bb:evt', 'image untag ID', 'container create evc', 'container attach evc', 'container start evc', 'container die evc', 'network disconnect bridge',
      'image tag evimg:latest', 'container commit evc', 'container destroy evc', 'image untag ID', 'image delete ID', 'container prune ', 'image prune ', 'network prune '];
    // In this order, other events between them allowed.
    let at = 0;
    for (const line of lines) if (line === want[at]) at++;
    assert.equal(at, want.length, `missing ${want[at]} (in order) in:\n${lines.join('\n')}`);
  });

  it('links containers on the default bridge: /etc/hosts and environment; a stopped one fails the start', async () => {
    await ok('run', '-d', '--name', 'linked', '-e', 'SECRET=s3', '--expose', '5432', 'bb', 'sleep', '1000');
    const ip = await ok('inspect', '-f', '{{.NetworkSettings.Networks.bridge.IPAddress}}', 'linked');
    const hostname = await ok('inspect', '-f', '{{.Config.Hostname}}', 'linked');
    const seen = await ok('run', '--rm', '--name', 'linking', '--link', 'linked:db', 'bb', 'sh', '-c', 'grep -w db /etc/hosts; env | grep ^DB_ | sort');
    assert.equal(seen, [
      `${ip}\tdb ${hostname} linked`,
      'DB_ENV_SECRET=s3', 'DB_NAME=/linking/db', `DB_PORT=tcp://${ip}:5432`, `DB_PORT_5432_TCP=tcp://${ip}:5432`,
      `DB_PORT_5432_TCP_ADDR=${ip}`, 'DB_PORT_5432_TCP_PORT=5432', 'DB_PORT_5432_TCP_PROTO=tcp',
    ].join('\n'));
    await ok('create', '--name', 'linking', '--link', 'linked', 'bb', 'true');
    assert.equal(await ok('inspect', '-f', '{{json .HostConfig.Links}}', 'linking'), '["/linked:/linking/linked"]');
    await ok('stop', '-t', '0', 'linked');
    const down = await d.docker(['start', 'linking']);
    assert.notEqual(down.code, 0);
    assert.match(down.stderr, /Cannot link to a non running container: \/linked AS \/linking\/linked/);
    const missing = await d.docker(['create', '--link', 'no-such-container:x', 'bb', 'true']);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /could not get container for no-such-container/);
    await ok('rm', 'linking', 'linked');
    // A linked container that comes back with a new address: the linking one's /etc/hosts follows.
    await ok('run', '-d', '--name', 'linked2', 'bb', 'sleep', '1000');
    const before = await ok('inspect', '-f', '{{.NetworkSettings.Networks.bridge.IPAddress}}', 'linked2');
    await ok('run', '-d', '--name', 'linking2', '--link', 'linked2:db2', 'bb', 'sleep', '1000');
    await ok('stop', '-t', '0', 'linked2');
    await ok('run', '-d', '--name', 'filler', 'bb', 'sleep', '1000'); // takes an address meanwhile
    await ok('start', 'linked2');
    const after = await ok('inspect', '-f', '{{.NetworkSettings.Networks.bridge.IPAddress}}', 'linked2');
    assert.notEqual(after, before, 'the linked container came back with another address');
    assert.equal((await ok('exec', 'linking2', 'grep', '-w', 'db2', '/etc/hosts')).split('\t')[0], after);
    await ok('rm', '-f', 'linking2', 'linked2', 'filler');
  });

  it('cp sees what the container sees: its volumes, binds and /etc files, running or stopped', async () => {
    mkdirSync(join(work, 'bound'), { recursive: true });
    writeFileSync(join(work, 'bound', 'h.txt'), 'bound file\n');
    writeFileSync(join(work, 'into.txt'), 'copied in\n');
    await ok('run', '-d', '--name', 'cpv', '--network', 'none', '--hostname', 'cphost', '-v', 'cpvol:/vol', '-v', `${join(work, 'bound')}:/bound:ro`, 'bb', 'sh', '-c', 'echo in-volume > /vol/f; exec sleep 1000');
    await waitFor(async () => (await d.docker(['exec', 'cpv', 'cat', '/vol/f'])).stdout === 'in-volume\n');
    const copiedOut = async (path: string) => {
      const to = join(work, `out-${Math.random().toString(36).slice(2)}`);
      await ok('cp', `cpv:${path}`, to);
      return readFileSync(to, 'utf8');
    };
    assert.equal(await copiedOut('/vol/f'), 'in-volume\n', 'from a volume');
    assert.equal(await copiedOut('/bound/h.txt'), 'bound file\n', 'from a bind');
    assert.equal(await copiedOut('/etc/hostname'), 'cphost\n', 'the hostname file the container sees');
    await ok('cp', join(work, 'into.txt'), 'cpv:/vol/');
    assert.equal(await ok('exec', 'cpv', 'cat', '/vol/into.txt'), 'copied in', 'into a volume');
    const readOnly = await d.docker(['cp', join(work, 'into.txt'), 'cpv:/bound/']);
    assert.notEqual(readOnly.code, 0);
    assert.match(readOnly.stderr, /mounted volume is marked read-only/);
    assert.equal(existsSync(join(work, 'bound', 'into.txt')), false);
    await ok('stop', '-t', '0', 'cpv');
    assert.equal(await copiedOut('/vol/into.txt'), 'copied in\n', 'a stopped container\'s volume');
    await ok('cp', 'cpv:/', join(work, 'whole'));
    assert.ok(existsSync(join(work, 'whole', 'bin', 'busybox')), 'cp of / copies the tree');
    assert.equal(readFileSync(join(work, 'whole', 'vol', 'f'), 'utf8'), 'in-volume\n', 'with its volumes');
    await ok('rm', 'cpv');
    await ok('volume', 'rm', 'cpvol');
  });

  it('drives terminals through a pty: run -it, exec -it, attach and ctrl-p ctrl-q, stdin pipes, logs -f', async () => {
    // `script` gives the docker CLI a pseudo-terminal; the keystrokes come from a timed shell.
    const pty = (keys: string, command: string) => runCommand('sh', ['-c', `(${keys}) | script -qfec ${JSON.stringify(command)} /dev/null`], { timeoutMs: 30_000 });
    const docker = `docker -H ${d.host}`;
    const run = await pty(`sleep 1; printf 'echo hi-$((40+2))\\r'; sleep 0.5; printf 'exit 7\\r'; sleep 1`, `${docker} run -it --rm --network none bb sh`);
    assert.equal(run.code, 7, run.stdout);
    assert.match(run.stdout, /hi-42/);
    const exec = await pty(`sleep 1; printf 'echo in-exec\\r'; sleep 0.5; printf 'exit 3\\r'; sleep 1`, `${docker} exec -it web sh`);
    assert.equal(exec.code, 3, `${exec.stdout}\n${d.log().split("\n").filter((l) => /409|ERROR/.test(l)).slice(-3).join("\n")}`);
    assert.match(exec.stdout, /in-exec/);
    assert.doesNotMatch(exec.stdout, /Detach/, 'the request body is not typed into the shell');
    await ok('run', '-dit', '--network', 'none', '--name', 'tty', 'bb', 'sh');
    const attach = await pty(`sleep 1; printf 'echo attached\\r'; sleep 0.5; printf '\\020\\021'; sleep 1`, `${docker} attach tty`);
    assert.match(attach.stdout, /attached/);
    assert.equal(await ok('inspect', '-f', '{{.State.Running}}', 'tty'), 'true', 'ctrl-p ctrl-q leaves it running');
    assert.equal((await d.docker(['exec', '-i', 'web', 'cat'], { input: 'piped in\n' })).stdout, 'piped in\n');
    const follow = d.docker(['logs', '-f', (await ok('run', '-d', '--network', 'none', 'bb', 'sh', '-c', 'for i in 1 2 3; do echo line$i; sleep 0.3; done')).slice(0, 12)]);
    assert.equal((await follow).stdout, 'line1\nline2\nline3\n', 'logs -f follows until the container exits');
    await ok('rm', '-f', 'tty');
  });

  it('commits a container into an image, runs healthchecks, and reports events', async () => {
    const since = Math.floor(Date.now() / 1000) - 1;
    assert.match(await ok('commit', '-c', 'CMD ["cat", "/tmp/note.txt"]', '-m', 'with a note', 'web', 'committed:1'), /^sha256:[0-9a-f]{64}$/);
    assert.equal(await ok('run', '--rm', '--network', 'none', 'committed:1'), 'from the host');
    assert.equal(await ok('history', '--format', '{{.Comment}}', 'committed:1').then((h) => h.split('\n')[0]), 'with a note');
    await ok('run', '-d', '--network', 'none', '--name', 'hc', '--health-cmd', 'test -e /tmp/ok', '--health-interval', '200ms', '--health-retries', '1', 'bb', 'sleep', '1000');
    await waitFor(async () => (await ok('inspect', '-f', '{{.State.Health.Status}}', 'hc')) === 'unhealthy', 10_000);
    await ok('exec', 'hc', 'touch', '/tmp/ok');
    await waitFor(async () => (await ok('inspect', '-f', '{{.State.Health.Status}}', 'hc')) === 'healthy', 10_000);
    assert.match(await ok('ps', '--filter', 'name=hc', '--format', '{{.Status}}'), /\(healthy\)$/);
    const events = await ok('events', '--since', String(since), '--until', String(Math.floor(Date.now() / 1000) + 1), '--filter', 'container=hc', '--format', '{{.Action}}');
    for (const a of ['create', 'start', 'health_status: unhealthy', 'health_status: healthy']) assert.ok(events.split('\n').includes(a), `${a} in ${events}`);
    // Without --since or --until only new events come: docker-compose's `logs -f` looks up each
    // container a replayed "start" names, and fails on one removed since.
    // Read as it streams, until the unpause shows (or 30 s): a slow daemon's pause and unpause
    // may take longer than any fixed time given to the whole command.
    const live = spawn('docker', ['-H', d.host, 'events', '--filter', 'container=hc', '--filter', 'event=create', '--filter', 'event=pause', '--filter', 'event=unpause', '--format', '{{.Action}}']);
    let seen = '';
    const done = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 30_000);
      live.stdout.on('data', (chunk: Buffer) => {
        seen += chunk.toString();
        if (seen.includes('unpause\n')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    try {
      await new Promise((r) => setTimeout(r, 2000)); // the CLI has subscribed by then
      await ok('pause', 'hc');
      await ok('unpause', 'hc');
      await done;
    } finally {
      live.kill();
    }
    assert.equal(seen, 'pause\nunpause\n', `new events only: ${JSON.stringify(seen)}`);
    await ok('rm', '-f', 'hc');
  });

  it('images: tag, save and load, rmi, then login, push, pull, run and logout against a registry', { skip: haveCommand('docker-registry') && haveCommand('htpasswd') ? false : 'docker-registry or htpasswd not installed' }, async () => {
    await ok('tag', 'bb', 'bb:copy');
    assert.equal(await ok('images', '--format', '{{.Repository}}:{{.Tag}}', 'bb').then((l) => l.split('\n').sort().join(' ')), 'bb:copy bb:latest');
    await ok('save', '-o', join(work, 'bb.tar'), 'bb:copy');
    assert.equal(await ok('rmi', 'bb:copy'), 'Untagged: bb:copy');
    assert.equal(await ok('load', '-i', join(work, 'bb.tar')), 'Loaded image: bb:copy');
    assert.equal(await ok('inspect', '-f', '{{.Id}}', 'bb:copy'), await ok('inspect', '-f', '{{.Id}}', 'bb:latest'));
    await ok('rmi', 'bb:copy');

    const htpasswd = join(work, 'htpasswd');
    writeFileSync(htpasswd, execFileSync('htpasswd', ['-Bbn', 'alice', 's3cret']));
    const registry = await startRegistry({ htpasswd, netns: d.netns });
    const config = ['--config', join(work, 'docker-config')];
    try {
      const ref = `${registry.host}/team/bb:1`;
      await ok('tag', 'committed:1', ref);
      const denied = await d.docker([...config, 'push', ref]);
      assert.notEqual(denied.code, 0);
      assert.match(denied.stderr, /no basic auth credentials/);
      const wrong = await d.docker([...config, 'login', '-u', 'alice', '--password-stdin', registry.host], { input: 'wrong\n' });
      assert.notEqual(wrong.code, 0);
      assert.match(wrong.stderr, new RegExp(`login attempt to http://${registry.host}/v2/ failed with status: 401 Unauthorized`));
      const login = await d.docker([...config, 'login', '-u', 'alice', '--password-stdin', registry.host], { input: 's3cret\n' });
      assert.equal(login.code, 0, login.stderr);
      assert.match(login.stdout, /Login Succeeded/);
      const push = await ok(...config, 'push', ref);
      assert.match(push, /^1: digest: sha256:[0-9a-f]{64} size: \d+$/m);
      await ok('rmi', ref, 'committed:1');
      const pull = await ok(...config, 'pull', ref);
      assert.match(pull, /^[0-9a-f]{12}: Already exists$/m, 'busybox\'s layer is here already');
      assert.match(pull, /^[0-9a-f]{12}: Pull complete$/m, 'the committed layer came down');
      assert.match(pull, new RegExp(`Status: Downloaded newer image for ${ref.replace(/[.]/g, '\\.')}$`, 'm'));
      assert.equal(await ok('run', '--rm', '--network', 'none', ref), 'from the host');
      assert.match(await ok(...config, 'logout', registry.host), new RegExp(`Removing login credentials for ${registry.host}`));
      await ok('rmi', ref);
      const anonymous = await d.docker([...config, 'pull', ref]);
      assert.notEqual(anonymous.code, 0, 'logged out: the registry refuses again');
    } finally {
      await registry.stop();
    }
  });

  it('keeps data in volumes: named, copy-up, anonymous with rm -v, read-only binds, --volumes-from, tmpfs', async () => {
    await ok('volume', 'create', '--label', 'team=infra', 'data');
    await ok('run', '--rm', '--network', 'none', '-v', 'data:/data', 'bb', 'sh', '-c', 'echo kept > /data/f');
    assert.equal(await ok('run', '--rm', '--network', 'none', '-v', 'data:/data', 'bb', 'cat', '/data/f'), 'kept');
    assert.equal(await ok('volume', 'ls', '--filter', 'label=team=infra', '--format', '{{.Name}}'), 'data');
    await ok('run', '-d', '--network', 'none', '--name', 'holder', '-v', 'data:/data', '-v', '/anon', 'bb', 'sleep', '1000');
    const inUse = await d.docker(['volume', 'rm', 'data']);
    assert.notEqual(inUse.code, 0);
    assert.match(inUse.stderr, /volume is in use/);
    assert.equal(await ok('run', '--rm', '--network', 'none', '--volumes-from', 'holder', 'bb', 'cat', '/data/f'), 'kept');
    const anon = JSON.parse(await ok('inspect', '-f', '{{json .Mounts}}', 'holder')) as Array<{ Destination: string; Name: string }>;
    const anonName = anon.find((m) => m.Destination === '/anon')!.Name;
    await ok('rm', '-f', '-v', 'holder');
    assert.equal((await d.docker(['volume', 'inspect', anonName])).code, 1, 'rm -v removed the anonymous volume');
    assert.equal(await ok('run', '--rm', '--network', 'none', '-v', 'etc-copy:/etc', 'bb', 'head', '-1', '/etc/passwd'), 'root:x:0:0:root:/root:/bin/sh', 'the image\'s /etc copied up');
    mkdirSync(join(work, 'bind'), { recursive: true });
    writeFileSync(join(work, 'bind', 'host.txt'), 'host file\n');
    assert.equal(await ok('run', '--rm', '--network', 'none', '-v', `${join(work, 'bind')}:/h:ro`, 'bb', 'cat', '/h/host.txt'), 'host file');
    const ro = await d.docker(['run', '--rm', '--network', 'none', '-v', `${join(work, 'bind')}:/h:ro`, 'bb', 'touch', '/h/new']);
    assert.notEqual(ro.code, 0);
    assert.match(ro.stderr, /Read-only file system/);
    assert.equal(await ok('run', '--rm', '--network', 'none', '--tmpfs', '/t:size=1m', 'bb', 'sh', '-c', 'grep " /t " /proc/mounts | cut -d" " -f3'), 'tmpfs');
    await ok('volume', 'rm', 'data', 'etc-copy');
  });

  it('prunes the system: stopped containers, unused networks, dangling images, no build cache', async () => {
    assert.deepEqual((await ok('system', 'df', '--format', '{{.Type}}')).split('\n'), ['Images', 'Containers', 'Local Volumes', 'Build Cache']);
    assert.match(await ok('system', 'df', '-v', '--format', '{{range .Images}}{{.Repository}} {{end}}'), /\bbb\b/);
    await ok('run', '--network', 'none', '--name', 'leftover', 'bb', 'true');
    const out = await ok('system', 'prune', '-f');
    assert.match(out, /Total reclaimed space/);
    assert.equal((await d.docker(['inspect', 'leftover'])).code, 1, 'the stopped container went');
  });

  it('pauses, renames, stops, waits and removes', async () => {
    await ok('pause', 'web');
    assert.equal(await ok('inspect', '-f', '{{.State.Status}}', 'web'), 'paused');
    await ok('unpause', 'web');
    await ok('rename', 'web', 'web2');
    const waiting = d.docker(['wait', 'web2']);
    await ok('stop', '-t', '1', 'web2');
    assert.equal((await waiting).stdout.trim(), '137', 'sleep ignores SIGTERM as PID 1: killed after the timeout');
    assert.equal((await d.docker(['stop', 'web2'])).code, 0, 'stopping a stopped container is fine');
    const running = await ok('run', '-d', '--network', 'none', 'bb', 'sleep', '1000');
    const rm = await d.docker(['rm', running]);
    assert.notEqual(rm.code, 0);
    assert.match(rm.stderr, /You cannot remove a running container/);
    await ok('rm', '-f', running, 'web2');
  });

  it('rm -f removes a paused container at once', async () => {
    const paused = await ok('run', '-d', '--network', 'none', 'bb', 'sleep', '1000');
    await ok('pause', paused);
    const started = Date.now();
    const rm = await d.docker(['rm', '-f', paused], { timeoutMs: 20_000 });
    const took = Date.now() - started;
    if (rm.code !== 0) await d.docker(['unpause', paused]).then(() => d.docker(['rm', '-f', paused])); // not left frozen for the next tests
    assert.equal(rm.code, 0, rm.stderr);
    // The SIGKILL must reach the frozen processes: no waiting for an exit that cannot come.
    assert.ok(took < 5000, `rm -f took ${took} ms`);
    assert.equal((await d.docker(['inspect', paused])).code, 1, 'it is gone');
  });

  it('a stop that waits (-t -1, its signal ignored) holds back neither rm nor a second stop; rm -f ends it', async () => {
    // sleep ignores SIGTERM as PID 1, and -t -1 waits for as long as it takes.
    const id = await ok('run', '-d', '--network', 'none', 'bb', 'sleep', '1000');
    const waiting = d.docker(['stop', '-t', '-1', id], { timeoutMs: 60_000 });
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(await ok('inspect', '-f', '{{.State.Running}}', id), 'true');
    const started = Date.now();
    const rm = await d.docker(['rm', id], { timeoutMs: 20_000 });
    assert.match(rm.stderr, /You cannot remove a running container/);
    assert.ok(Date.now() - started < 5000, `rm answered after ${Date.now() - started} ms`);
    // A second stop with a timeout kills it; the first one ends with it.
    await ok('stop', '-t', '1', id);
    const first = await waiting;
    assert.equal(first.code, 0, first.stderr);
    assert.equal(await ok('inspect', '-f', '{{.State.Status}} {{.State.ExitCode}}', id), 'exited 137');
    const again = d.docker(['stop', '-t', '-1', id]);
    assert.equal((await again).code, 0, 'a stop of a stopped container ends at once');
    await ok('start', id);
    const forever = d.docker(['stop', '-t', '-1', id], { timeoutMs: 60_000 });
    await new Promise((r) => setTimeout(r, 1000));
    await ok('rm', '-f', id);
    await forever; // ends, whatever it says: the container is gone
    assert.equal((await d.docker(['inspect', '--type', 'container', id])).code, 1, 'it is gone');
  });

  it('keeps containers across a daemon crash, and restarts them by policy', async () => {
    const keep = await ok('run', '-d', '--network', 'none', '--name', 'keep', 'bb', 'sleep', '1000');
    await ok('run', '-d', '--network', 'none', '--restart', 'always', '--name', 'always', 'bb', 'sleep', '1000');
    const pid = await ok('inspect', '-f', '{{.State.Pid}}', 'keep');
    await d.restart('kill');
    assert.equal(await ok('inspect', '-f', '{{.State.Running}} {{.State.Pid}}', 'keep'), `true ${pid}`, 'the same process, still running');
    await ok('kill', 'always');
    // a kill by the user is a stop: always restarts only at the next daemon start
    await d.restart('term');
    await waitFor(async () => (await ok('inspect', '-f', '{{.State.Running}}', 'always')) === 'true', 10_000);
    await ok('stop', '-t', '0', 'keep');
    assert.equal(await ok('ps', '-a', '--filter', `id=${keep}`, '--format', '{{.State}}'), 'exited');
  });

  it('restarts an on-failure container until its retry count is spent', async () => {
    await ok('run', '-d', '--network', 'none', '--restart', 'on-failure:2', '--name', 'flaky', 'bb', 'sh', '-c', 'exit 1');
    await waitFor(async () => (await ok('inspect', '-f', '{{.RestartCount}} {{.State.Status}}', 'flaky')) === '2 exited', 15_000);
  });
}
