// berth's container commands against a private dockerd (the real Engine API), compared with the
// real docker CLI on the same daemon where the output is deterministic: run and its exit statuses,
// ps, logs, exec, the lifecycle verbs, inspect -f, top, port, stats, diff, wait.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { haveDockerd } from '../../helpers/dockerd.js';
import { startCliHarness, type CliHarness } from '../../helpers/cli.js';

const ID = /^[0-9a-f]{64}\n$/;

describe('berth container commands', { skip: !haveDockerd() && 'dockerd not installed (apt-get install docker.io)' }, () => {
  let h: CliHarness;
  before(async () => {
    h = await startCliHarness();
  });
  after(async () => {
    await h?.cleanup();
  });

  it('run: output, exit statuses 0, 3, 125, 126, 127, as docker', async () => {
    let r = await h.berth(['run', '--network', 'none', 'busybox', 'echo', 'hello', 'world']);
    assert.deepEqual([r.code, r.stdout, r.stderr], [0, 'hello world\n', '']);
    r = await h.berth(['run', '--network', 'none', 'busybox', 'sh', '-c', 'echo out; echo err >&2; exit 3']);
    assert.deepEqual([r.code, r.stdout, r.stderr], [3, 'out\n', 'err\n']);
    r = await h.berth(['run', '--bogus', 'busybox']);
    assert.deepEqual([r.code, r.stderr], [125, "unknown flag: --bogus\nSee 'berth run --help'.\n"]);
    r = await h.berth(['run', '--rm', '--restart', 'always', 'busybox']);
    assert.equal(r.code, 125);
    assert.match(r.stderr, /Conflicting options: --restart and --rm/);
    for (const [cmd, status] of [['nosuchcmd', 127], ['/etc', 126]] as const) {
      r = await h.berth(['run', '--network', 'none', 'busybox', cmd]);
      const d = await h.docker(['run', '--network', 'none', 'busybox', cmd]);
      assert.equal(r.code, status, r.stderr);
      assert.equal(d.code, status);
      assert.match(r.stderr, /^berth: Error response from daemon: .*\n\nRun 'berth run --help' for more information\n$/);
      assert.equal(r.stderr.replace(/^berth/, 'docker').replace(/'berth run/, "'docker run"), d.stderr);
    }
    r = await h.berth(['run', '--network', 'none', '--pull', 'never', 'no/such-image']);
    assert.equal(r.code, 125);
    assert.match(r.stderr, /No such image: no\/such-image:latest/);
  });

  it('run -d prints the ID; --rm removes the container (the daemon does, by AutoRemove)', async () => {
    const id = await h.ok(['run', '-d', '--name', 'bg', '--network', 'none', '-l', 'suite=cli', '-e', 'X=1', 'busybox', 'sleep', '300']);
    assert.match(id, ID);
    assert.equal(await h.ok(['inspect', '-f', '{{.State.Running}} {{.HostConfig.AutoRemove}}', 'bg']), 'true false\n');
    const r = await h.berth(['run', '--rm', '--name', 'gone', '--network', 'none', 'busybox', 'sh', '-c', 'exit 4']);
    assert.equal(r.code, 4);
    assert.equal(await h.ok(['ps', '-a', '-q', '--filter', 'name=gone']), '');
    const detached = await h.ok(['run', '-d', '--rm', '--name', 'gone2', '--network', 'none', 'busybox', 'true']);
    assert.match(detached, ID);
    for (let i = 0; i < 50 && (await h.ok(['ps', '-aq', '--filter', 'name=gone2'])); i++) await new Promise((r2) => setTimeout(r2, 100));
    assert.equal(await h.ok(['ps', '-aq', '--filter', 'name=gone2']), '');
  });

  it('ps: the same table, --format, -q, -a, -n and filters as docker', async () => {
    await h.ok(['create', '--name', 'made', '-l', 'suite=cli', 'busybox', 'sh', '-c', 'echo "a long command line that gets cut"']);
    const stable = '{{.ID}}|{{.Image}}|{{.Command}}|{{.Names}}|{{.Ports}}|{{.Labels}}|{{.State}}|{{.Mounts}}|{{.Networks}}|{{.LocalVolumes}}';
    for (const args of [['-a', '--format', stable], ['-a', '--no-trunc', '--format', stable], ['-a', '-q'], ['-q'], ['-a', '--no-trunc', '-q'],
      ['-a', '--filter', 'label=suite=cli', '--format', '{{.Names}} {{.Label "suite"}}'], ['-n', '2', '--format', '{{.Names}}'], ['-l', '-q'],
      ['-a', '--format', 'table {{.Names}}\t{{.Image}}\t{{.Command}}'], ['-a', '--format', 'json']]) {
      const b = await h.berth(['ps', ...args]);
      const d = await h.docker(['ps', ...args]);
      assert.equal(b.code, 0, b.stderr);
      if (args.includes('json')) {
        const strip = (s: string) => s.split('\n').filter(Boolean).map((l) => {
          const o = JSON.parse(l) as Record<string, unknown>;
          delete o.RunningFor;
          delete o.Status;
          delete o.CreatedAt;
          delete o.Size;
          return o;
        });
        assert.deepEqual(strip(b.stdout), strip(d.stdout));
      } else {
        assert.equal(b.stdout, d.stdout, `ps ${args.join(' ')}`);
      }
    }
    const table = await h.ok(['ps', '-a']);
    const header = table.split('\n')[0]!;
    const gaps = (l: string) => l.replace(/ {2,}/g, '  '); // CREATED/STATUS widths move with the clock
    assert.equal(gaps(header), gaps((await h.docker(['ps', '-a'])).stdout.split('\n')[0]!));
    assert.match(header, /^CONTAINER ID   IMAGE     COMMAND +CREATED +STATUS +PORTS +NAMES$/);
    const made = table.split('\n').find((l) => l.endsWith(' made'))!;
    assert.equal(made.replace(/ {3,}/g, '|').split('|').slice(1, 3).join('|'), 'busybox|"sh -c \'echo \\"a long…"');
    assert.match(await h.ok(['ps', '-s', '--filter', 'name=bg']), /SIZE\n.*bg +0B \(virtual 1\.98MB\)\n$/);
  });

  it('logs: stdout and stderr apart, --tail, -t, --since/--until, -f ends with the container', async () => {
    await h.ok(['run', '-d', '--name', 'talker', '--network', 'none', 'busybox', 'sh', '-c', 'for i in 1 2 3; do echo out$i; echo err$i >&2; done; sleep 1; echo late']);
    const started = Date.now();
    const f = await h.berth(['logs', '-f', 'talker']);
    assert.ok(Date.now() - started < 10_000);
    assert.deepEqual([f.code, f.stdout, f.stderr], [0, 'out1\nout2\nout3\nlate\n', 'err1\nerr2\nerr3\n']);
    for (const args of [['--tail', '2'], ['-n', '1'], ['--tail', 'all'], ['--until', '0s']]) {
      // "0s" is now in whole seconds, for both CLIs: the last line must be a second old, or one
      // CLI's second may hold it and the other's not.
      if (args[0] === '--until') await new Promise((r) => setTimeout(r, 1100));
      const b = await h.berth(['logs', ...args, 'talker']);
      const d = await h.docker(['logs', ...args, 'talker']);
      assert.deepEqual([b.stdout, b.stderr], [d.stdout, d.stderr], `logs ${args.join(' ')}`);
    }
    const t = await h.ok(['logs', '-t', '--tail', '1', 'talker']);
    assert.match(t, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z late\n$/);
    assert.equal((await h.berth(['logs', '--since', '1h', 'talker'])).stdout, 'out1\nout2\nout3\nlate\n');
    assert.equal((await h.berth(['logs', '--since', String(Math.floor(Date.now() / 1000) + 60), 'talker'])).stdout, '');
    const tty = await h.ok(['run', '-t', '--name', 'ttylog', '--network', 'none', 'busybox', 'echo', 'on a tty']);
    assert.equal(tty, 'on a tty\r\n');
    assert.equal(await h.ok(['logs', 'ttylog']), 'on a tty\r\n');
    const missing = await h.berth(['logs', 'nosuch']);
    assert.deepEqual([missing.code, missing.stderr], [1, 'Error response from daemon: No such container: nosuch\n']);
  });

  it('exec: output, exit status, -e, -w, -u, -d, -i with stdin', async () => {
    assert.equal(await h.ok(['exec', 'bg', 'sh', '-c', 'echo $X $Y; pwd; id -u']), '1\n/\n0\n');
    assert.equal(await h.ok(['exec', '-e', 'Y=2', '-w', '/tmp', '-u', '65534', 'bg', 'sh', '-c', 'echo $X $Y; pwd; id -u']), '1 2\n/tmp\n65534\n');
    const r = await h.berth(['exec', 'bg', 'sh', '-c', 'echo o; echo e >&2; exit 42']);
    assert.deepEqual([r.code, r.stdout, r.stderr], [42, 'o\n', 'e\n']);
    assert.equal(await h.ok(['exec', '-i', 'bg', 'sh', '-c', 'tr a-z A-Z'], { input: 'piped in\n' }), 'PIPED IN\n');
    assert.equal(await h.ok(['exec', '-d', 'bg', 'sh', '-c', 'echo detached > /tmp/d']), '');
    for (let i = 0; i < 50 && (await h.berth(['exec', 'bg', 'cat', '/tmp/d'])).code !== 0; i++) await new Promise((r2) => setTimeout(r2, 100));
    assert.equal(await h.ok(['exec', 'bg', 'cat', '/tmp/d']), 'detached\n');
    const notRunning = await h.berth(['exec', 'made', 'true']);
    assert.equal(notRunning.code, 1);
    assert.match(notRunning.stderr, /Error response from daemon: .*is not running/);
    const missing = await h.berth(['exec', 'bg', 'nosuchcmd']);
    const dMissing = await h.docker(['exec', 'bg', 'nosuchcmd']);
    assert.deepEqual([missing.code, missing.stdout], [dMissing.code, dMissing.stdout]);
    assert.match(missing.stdout, /executable file not found/);
  });

  it('stop, start, restart, kill, pause, unpause, rename, wait, rm -f', async () => {
    await h.ok(['run', '-d', '--init', '--name', 'life', '--network', 'none', 'busybox', 'sleep', '300']);
    const state = async (n: string) => (await h.ok(['inspect', '-f', '{{.State.Status}}', n])).trim();
    assert.equal(await h.ok(['pause', 'life']), 'life\n');
    assert.equal(await state('life'), 'paused');
    assert.match(await h.ok(['ps', '--filter', 'name=life', '--format', '{{.Status}}']), /\(Paused\)/);
    assert.equal(await h.ok(['unpause', 'life']), 'life\n');
    assert.equal(await h.ok(['stop', '-t', '1', 'life']), 'life\n');
    assert.equal(await state('life'), 'exited');
    assert.equal(await h.ok(['start', 'life']), 'life\n');
    assert.equal(await h.ok(['restart', '-t', '1', 'life']), 'life\n');
    assert.equal(await state('life'), 'running');
    assert.equal(await h.ok(['rename', 'life', 'life2']), '');
    const waiting = h.berth(['wait', 'life2']);
    assert.equal(await h.ok(['kill', '-s', 'TERM', 'life2']), 'life2\n');
    assert.deepEqual([(await waiting).code, (await waiting).stdout], [0, '143\n']);
    assert.equal(await h.ok(['start', 'life2']), 'life2\n');
    assert.equal(await h.ok(['kill', 'life2']), 'life2\n');
    assert.equal(await h.ok(['wait', 'life2']), '137\n');
    const many = await h.berth(['rm', 'life2', 'nosuch']);
    assert.deepEqual([many.code, many.stdout, many.stderr], [1, 'life2\n', 'Error response from daemon: No such container: nosuch\n']);
    await h.ok(['run', '-d', '--name', 'forced', '--network', 'none', 'busybox', 'sleep', '300']);
    const refused = await h.berth(['rm', 'forced']);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /You cannot remove a running container/);
    assert.equal(await h.ok(['rm', '-f', 'forced']), 'forced\n');
    const stopMissing = await h.berth(['stop', 'nosuch']);
    assert.deepEqual([stopMissing.code, stopMissing.stderr], [1, 'Error response from daemon: No such container: nosuch\n']);
  });

  it('update and rename errors as docker: the flags given, each name printed, the daemon\'s refusals', async () => {
    await h.ok(['run', '-d', '--name', 'upd', '--network', 'none', 'busybox', 'sleep', '300']);
    const fields = '{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}} {{.HostConfig.NanoCpus}} {{.HostConfig.PidsLimit}} {{json .HostConfig.RestartPolicy}}';
    for (const args of [['update', '-m', '64m', '--memory-swap', '128m', '--cpus', '0.5', '--restart', 'on-failure:2', 'upd'], ['container', 'update', '--pids-limit', '20', 'upd'],
      ['update', 'upd'], ['update', '--restart', 'bogus', 'upd'], ['update', '-m', '512m', 'upd'], ['update', '--cpu-shares', '512', 'upd', 'nosuch'], ['rename', 'upd', 'upd']]) {
      const b = await h.berth(args);
      const before = await h.ok(['inspect', '-f', fields, 'upd']);
      const d = await h.docker(args);
      assert.deepEqual([b.code, b.stdout, b.stderr], [d.code, d.stdout, d.stderr], args.join(' '));
      assert.equal(await h.ok(['inspect', '-f', fields, 'upd']), before, `${args.join(' ')}: docker's run found the same state`);
    }
    assert.equal(await h.ok(['inspect', '-f', fields, 'upd']), '67108864 134217728 500000000 20 {"MaximumRetryCount":2,"Name":"on-failure"}\n');
    await h.ok(['rm', '-f', 'upd']);
  });

  it('inspect -f reads the raw fields as docker does', async () => {
    for (const f of ['{{.State.Status}}', '{{.Config.Image}}', '{{.NetworkSettings.IPAddress}}', '{{json .Config.Env}}', '{{.Name}} {{.HostConfig.NetworkMode}}',
      '{{range .Config.Env}}{{.}};{{end}}', '{{index .Config.Labels "suite"}}', '{{.State.Pid | printf "%d" | len | lt 0}}', '{{json .Config.Labels}}']) {
      const b = await h.berth(['inspect', '-f', f, 'bg']);
      const d = await h.docker(['inspect', '-f', f, 'bg']);
      assert.deepEqual([b.code, b.stdout], [d.code, d.stdout], f);
    }
    assert.equal(await h.ok(['inspect', 'bg', 'busybox']), (await h.docker(['inspect', 'bg', 'busybox'])).stdout, 'the daemon\'s JSON, re-indented byte for byte');
    const both = await h.ok(['inspect', '--format', '{{.Id}}', 'bg', 'busybox']);
    assert.equal(both.split('\n').length, 3);
    const raw = JSON.parse(await h.ok(['container', 'inspect', 'bg'])) as { Id: string; Config: { Labels: Record<string, string> } }[];
    assert.equal(raw.length, 1);
    assert.equal(raw[0]!.Config.Labels.suite, 'cli');
    const missing = await h.berth(['inspect', 'bg', 'nosuch']);
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr, 'Error: No such object: nosuch\n');
    assert.equal((JSON.parse(missing.stdout) as unknown[]).length, 1);
  });

  it('top, stats --no-stream, diff, port', async () => {
    const top = await h.ok(['top', 'bg']);
    assert.match(top, /^UID +PID +PPID +C +STIME +TTY +TIME +CMD\nroot +\d+ +\d+ .*sleep 300\n/);
    assert.equal(top.split('\n')[0], (await h.docker(['top', 'bg'])).stdout.split('\n')[0]);
    assert.match(await h.ok(['top', 'bg', '-o', 'pid,comm']), /^PID +COMMAND\n\d+ +sleep\n$/);
    const stats = await h.ok(['stats', '--no-stream', 'bg']);
    assert.match(stats, /^CONTAINER ID   NAME      CPU %     MEM USAGE \/ LIMIT +MEM % +NET I\/O +BLOCK I\/O +PIDS\n[0-9a-f]{12}   bg +\d+\.\d\d% +[\d.]+[KMG]?i?B \/ [\d.]+[KMG]iB +\d+\.\d\d% +0B \/ 0B +\S+ \/ \S+ +1\n$/);
    const json = JSON.parse(await h.ok(['stats', '--no-stream', '--format', 'json', 'bg'])) as Record<string, string>;
    assert.deepEqual(Object.keys(json), ['BlockIO', 'CPUPerc', 'Container', 'ID', 'MemPerc', 'MemUsage', 'Name', 'NetIO', 'PIDs']);
    assert.equal(json.Name, 'bg');
    await h.ok(['exec', 'bg', 'sh', '-c', 'echo new > /tmp/added && rm /bin/vi']);
    const diff = await h.ok(['diff', 'bg']);
    const sorted = (s: string) => s.split('\n').sort().join('\n');
    assert.equal(sorted(diff), sorted((await h.docker(['diff', 'bg'])).stdout));
    assert.match(diff, /^A \/tmp\/added$/m);
    assert.match(diff, /^D \/bin\/vi$/m);
    await h.ok(['network', 'create', 'ports-net']);
    await h.ok(['run', '-d', '--name', 'published', '--network', 'ports-net', '-p', '127.0.0.1::80', '-p', '90/udp', 'busybox', 'sleep', '300']);
    for (const args of [['published'], ['published', '80'], ['published', '90/udp']]) {
      assert.equal((await h.berth(['port', ...args])).stdout, (await h.docker(['port', ...args])).stdout, `port ${args.join(' ')}`);
    }
    assert.match(await h.ok(['port', 'published', '80/tcp']), /^127\.0\.0\.1:\d+\n$/);
    const fmt = '{{.Names}} {{.Ports}}';
    assert.equal(await h.ok(['ps', '--filter', 'name=published', '--format', fmt]), (await h.docker(['ps', '--filter', 'name=published', '--format', fmt])).stdout);
    await h.ok(['rm', '-f', 'published']);
    await h.ok(['network', 'rm', 'ports-net']);
  });
});
