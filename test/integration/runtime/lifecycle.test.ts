// The runtime's lifecycle through the berth-runtime CLI on the real kernel: run, create/start,
// state, list, kill, delete, pause/resume, exec, and that nothing is left behind.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, existsSync, openSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { makeBundle, type Bundle } from '../../helpers/busybox.js';
import { cleanupDir, errorMessage, RuntimeHarness, waitFor } from '../../helpers/runtime.js';

describe('berth-runtime lifecycle', () => {
  const rt = new RuntimeHarness();
  const bundles: Bundle[] = [];
  const bundle = (args: string[], edit?: Parameters<typeof makeBundle>[1]) => {
    const b = makeBundle(args, edit);
    bundles.push(b);
    return b;
  };
  after(async () => {
    await rt.cleanup();
    for (const b of bundles) cleanupDir(b.dir);
  });

  it('run in the foreground passes stdout, stderr and the exit code through, then deletes the container', async () => {
    const b = bundle(['sh', '-c', 'echo out; echo err >&2; exit 3']);
    const id = rt.id();
    const r = await rt.cli(['run', '--bundle', b.dir, id]);
    assert.equal(r.code, 3, r.stderr);
    assert.equal(r.stdout, 'out\n');
    assert.equal(r.stderr, 'err\n');
    assert.equal(existsSync(rt.ctx.store.dir(id)), false);
  });

  it('create, start, state, list, kill and delete', async () => {
    const b = bundle(['sleep', '1000']);
    const id = rt.id();
    const created = await rt.cli(['create', '--bundle', b.dir, '--pid-file', `${b.dir}/pid`, id]);
    assert.equal(created.code, 0, created.stderr);
    const state1 = JSON.parse((await rt.cli(['state', id])).stdout);
    assert.equal(state1.status, 'created');
    assert.equal(state1.id, id);
    assert.equal(state1.bundle, b.dir);
    assert.equal(Number(readFileSync(`${b.dir}/pid`, 'utf8')), state1.pid);
    assert.ok(existsSync(`/proc/${state1.pid}`));

    assert.equal((await rt.cli(['start', id])).code, 0);
    assert.equal(JSON.parse((await rt.cli(['state', id])).stdout).status, 'running');
    const started = await rt.cli(['start', id]);
    assert.equal(started.code, 1);
    assert.match(started.stderr, /cannot start an already running container/);

    const list = await rt.cli(['list']);
    assert.match(list.stdout, /^ID\s+PID\s+STATUS\s+BUNDLE\s+CREATED\s+OWNER/);
    assert.match(list.stdout, new RegExp(`${id}\\s+${state1.pid}\\s+running\\s+${b.dir}`));
    const listJson = JSON.parse((await rt.cli(['list', '--format', 'json'])).stdout) as Array<{ id: string }>;
    assert.ok(listJson.some((c) => c.id === id));
    assert.ok((await rt.cli(['list', '-q'])).stdout.split('\n').includes(id));

    const running = await rt.cli(['delete', id]);
    assert.equal(running.code, 1);
    assert.match(running.stderr, /cannot delete container .* that is not stopped: running/);

    const cgroupDirs = Object.values(rt.ctx.store.load(id).cgroupPaths);
    assert.ok(cgroupDirs.length > 0 && cgroupDirs.every((d) => existsSync(d)));
    assert.equal((await rt.cli(['kill', id, 'KILL'])).code, 0);
    await waitFor(async () => JSON.parse((await rt.cli(['state', id])).stdout).status === 'stopped');
    assert.equal((await rt.cli(['delete', id])).code, 0);
    assert.equal(existsSync(rt.ctx.store.dir(id)), false);
    assert.ok(cgroupDirs.every((d) => !existsSync(d)), 'cgroup directories removed');
    const gone = await rt.cli(['state', id]);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /container does not exist/);
  });

  it('run -d, exec with exit codes and env, kill --all, delete --force', async () => {
    const b = bundle(['sleep', '1000']);
    const id = rt.id();
    assert.equal((await rt.cli(['run', '-d', '--bundle', b.dir, id])).code, 0);
    assert.equal(JSON.parse((await rt.cli(['state', id])).stdout).status, 'running');
    const e = await rt.cli(['exec', '--env', 'FOO=bar', id, 'sh', '-c', 'echo $FOO $(hostname); exit 5']);
    assert.equal(e.code, 5, e.stderr);
    assert.equal(e.stdout, 'bar berth\n');
    const ps = JSON.parse((await rt.cli(['ps', '--format', 'json', id])).stdout) as number[];
    assert.ok(ps.length >= 1);
    const missing = await rt.cli(['exec', id, 'no-such-binary']);
    assert.equal(missing.code, 1);
    assert.match(errorMessage(missing.stderr), /exec: "no-such-binary": executable file not found in \$PATH/);
    assert.equal((await rt.cli(['exec', '-d', id, 'sleep', '1000'])).code, 0);
    await waitFor(async () => (JSON.parse((await rt.cli(['ps', '-f', 'json', id])).stdout) as number[]).length === 2);
    assert.equal((await rt.cli(['kill', '--all', id, 'KILL'])).code, 0);
    await waitFor(async () => JSON.parse((await rt.cli(['state', id])).stdout).status === 'stopped');
    assert.equal((await rt.cli(['delete', '--force', id])).code, 0);

    const id2 = rt.id();
    assert.equal((await rt.cli(['run', '-d', '--bundle', b.dir, id2])).code, 0);
    assert.equal((await rt.cli(['delete', '--force', id2])).code, 0);
    assert.equal(existsSync(rt.ctx.store.dir(id2)), false);
  });

  it('exec -p takes a whole process.json, and a new time namespace works', async () => {
    const b = bundle(['sleep', '1000'], (s) => { s.linux!.namespaces!.push({ type: 'time' }); });
    const id = rt.id();
    assert.equal((await rt.cli(['run', '-d', '--bundle', b.dir, id])).code, 0);
    const proc = { ...b.spec.process!, args: ['sh', '-c', 'echo "$GREETING $(id -u):$(id -g) $(pwd)"'], env: ['GREETING=hi', 'PATH=/bin'], cwd: '/tmp', user: { uid: 7, gid: 8 } };
    writeFileSync(`${b.dir}/process.json`, JSON.stringify(proc));
    const r = await rt.cli(['exec', '-p', `${b.dir}/process.json`, id]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'hi 7:8 /tmp\n');
    assert.notEqual(readlinkSync(`/proc/${JSON.parse((await rt.cli(['state', id])).stdout).pid}/ns/time`), readlinkSync('/proc/self/ns/time'));
    assert.equal((await rt.cli(['delete', '-f', id])).code, 0);
  });

  it('pause and resume freeze and thaw the container', async () => {
    const b = bundle(['sh', '-c', 'while true; do date +%s%N > /tmp/tick; usleep 10000; done'], (s) => { s.root!.readonly = false; });
    const id = rt.id();
    assert.equal((await rt.cli(['run', '-d', '--bundle', b.dir, id])).code, 0);
    await waitFor(() => existsSync(`${b.rootfs}/tmp/tick`));
    assert.equal((await rt.cli(['pause', id])).code, 0);
    assert.equal(JSON.parse((await rt.cli(['state', id])).stdout).status, 'paused');
    const frozen = readFileSync(`${b.rootfs}/tmp/tick`, 'utf8');
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(readFileSync(`${b.rootfs}/tmp/tick`, 'utf8'), frozen, 'no progress while paused');
    assert.equal((await rt.cli(['resume', id])).code, 0);
    assert.equal(JSON.parse((await rt.cli(['state', id])).stdout).status, 'running');
    await waitFor(() => readFileSync(`${b.rootfs}/tmp/tick`, 'utf8') !== frozen);
    const again = await rt.cli(['resume', id]);
    assert.match(again.stderr, /container not paused/);
    assert.equal((await rt.cli(['delete', '-f', id])).code, 0);
  });

  it('kill with SIGKILL ends a paused container, as runc does (a frozen process acts on no signal until thawed)', async () => {
    const b = bundle(['sleep', '1000']);
    const id = rt.id();
    assert.equal((await rt.cli(['run', '-d', '--bundle', b.dir, id])).code, 0);
    assert.equal((await rt.cli(['pause', id])).code, 0);
    const kill = await rt.cli(['kill', id, 'KILL']);
    assert.equal(kill.code, 0, kill.stderr);
    await waitFor(async () => JSON.parse((await rt.cli(['state', id])).stdout).status === 'stopped', 5000);
    assert.equal((await rt.cli(['delete', id])).code, 0);
  });

  it('runs the init from a sealed memfd, never from the binary on disk', async () => {
    const b = bundle(['true']);
    const id = rt.id();
    assert.equal((await rt.cli(['create', '--bundle', b.dir, id])).code, 0);
    const { pid } = JSON.parse((await rt.cli(['state', id])).stdout);
    // Until start, the container process is still the init: it must not be the on-disk file.
    assert.match(readlinkSync(`/proc/${pid}/exe`), /^\/memfd:berth-init/);
    assert.equal((await rt.cli(['delete', id])).code, 0, 'a created container is deleted without --force');
  });

  it('--preserve-fds passes extra fds through and closes every other inherited fd', async () => {
    const b = bundle(['sh', '-c', 'cat <&3; ls /proc/self/fd | tr "\\n" " "']);
    const file = `${b.dir}/passed.txt`;
    writeFileSync(file, 'through fd 3\n');
    const fd = openSync(file, 'r');
    try {
      const r = await rt.cli(['run', '--preserve-fds', '1', '--bundle', b.dir, rt.id()], { extraFds: [fd] });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, 'through fd 3\n0 1 2 3 4 ');
    } finally {
      closeSync(fd);
    }
    const fd2 = openSync(file, 'r');
    try {
      const r = await rt.cli(['run', '--bundle', b.dir, rt.id()], { extraFds: [fd2] });
      assert.equal(r.stdout.split('\n').at(-1), '0 1 2 3 ', 'without --preserve-fds the fd is not passed');
    } finally {
      closeSync(fd2);
    }
  });

  it('--no-pivot runs the container with a moved root', async () => {
    const b = bundle(['sh', '-c', 'echo "$(hostname) $(ls /bin/busybox)"']);
    const r = await rt.cli(['run', '--no-pivot', '--bundle', b.dir, rt.id()]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'berth /bin/busybox\n');
  });

  it('events --stats and update report and change cgroup limits', async () => {
    const b = bundle(['sleep', '1000'], (s) => { s.linux!.resources = { ...s.linux!.resources, memory: { limit: 64 << 20 }, pids: { limit: 50 } }; });
    const id = rt.id();
    assert.equal((await rt.cli(['run', '-d', '--bundle', b.dir, id])).code, 0);
    const stats = JSON.parse((await rt.cli(['events', '--stats', id])).stdout);
    assert.equal(stats.type, 'stats');
    assert.equal(stats.id, id);
    assert.equal(stats.data.memory.usage.limit, 64 << 20);
    assert.equal(stats.data.pids.limit, 50);
    assert.ok(stats.data.pids.current >= 1);
    const up = await rt.cli(['update', '--memory', '128m', '--pids-limit', '70', id]);
    assert.equal(up.code, 0, up.stderr);
    const inside = await rt.cli(['exec', id, 'sh', '-c', 'cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max']);
    assert.equal(inside.stdout, `${128 << 20}\n70\n`);
    const events = rt.cli(['events', '--interval', '50ms', id]);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal((await rt.cli(['kill', id, 'KILL'])).code, 0);
    const lines = (await events).stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.ok(lines.length >= 2, `a stats event per interval until the container stops: ${lines.length}`);
    assert.ok(lines.every((e) => e.type === 'stats' && e.id === id));
    assert.equal((await rt.cli(['delete', '-f', id])).code, 0);
  });
});
