// The classic builder through the real docker CLI (DOCKER_BUILDKIT=0) against berthd: a
// multi-stage project with ARG before FROM, COPY --from, .dockerignore with exceptions, USER,
// WORKDIR, ENV substitution, HEALTHCHECK, ENTRYPOINT + CMD; its config compared with what
// Debian's dockerd builds from the same files; the cache (all hits, then one changed file);
// failures (a failing RUN, a missing file, a bad instruction) leaving no container; and a daemon
// killed mid-build leaving no step container after its restart.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeBusyboxRootfs } from '../../helpers/busybox.js';
import { startBerthd, type TestBerthd } from '../../helpers/berthd.js';
import { haveDockerd, startDockerd } from '../../helpers/dockerd.js';
import { cleanupDir, waitFor, type Result } from '../../helpers/runtime.js';
import { OverlaySnapshotter } from '../../../src/supervisor/snapshots/overlay.js';
import { BERTH_BIN, run } from '../../helpers/cli.js';

const work = mkdtempSync(join(tmpdir(), 'berth-build-'));
const project = join(work, 'project');

const DOCKERFILE = `# syntax=docker/dockerfile:1
ARG BASE=bb
FROM \${BASE} AS builder
ARG GREETING=hello
WORKDIR /src
COPY app/ ./
RUN echo "$GREETING from the builder" > built.txt && cp main.sh app.sh && chmod +x app.sh

FROM \${BASE}
LABEL org.example.team=infra version="1"
ENV APP_HOME=/opt/app PATH_EXTRA=\${APP_HOME}/bin
ENV GREETING_FILE=$APP_HOME/built.txt
WORKDIR \${APP_HOME}
COPY --from=builder /src/built.txt /src/app.sh ./
COPY data/ data/
RUN echo 'appuser:x:1000:1000::/home/appuser:/bin/sh' >> /etc/passwd
USER appuser
EXPOSE 8080 53/udp
VOLUME /data
HEALTHCHECK --interval=5s --timeout=2s --retries=3 CMD test -f /opt/app/built.txt
STOPSIGNAL SIGINT
ENTRYPOINT ["/opt/app/app.sh"]
CMD ["--port", "8080"]
`;

function writeProject(): void {
  mkdirSync(join(project, 'app'), { recursive: true });
  mkdirSync(join(project, 'data'), { recursive: true });
  writeFileSync(join(project, 'Dockerfile'), DOCKERFILE);
  writeFileSync(join(project, '.dockerignore'), 'data/*.tmp\nsecret*\n!data/keep.tmp\n');
  writeFileSync(join(project, 'app', 'main.sh'), '#!/bin/sh\necho "app $* as $(id -un): $(cat $GREETING_FILE)"\n', { mode: 0o755 });
  writeFileSync(join(project, 'data', 'a.txt'), 'a\n');
  writeFileSync(join(project, 'data', 'b.tmp'), 'left out\n');
  writeFileSync(join(project, 'data', 'keep.tmp'), 'kept by an exception\n');
  writeFileSync(join(project, 'secret.txt'), 'never sent\n');
}

const CONFIG_FIELDS = '{{json .Config.Env}} {{json .Config.Cmd}} {{json .Config.Entrypoint}} {{json .Config.WorkingDir}} {{json .Config.User}} {{json .Config.ExposedPorts}} {{json .Config.Volumes}} {{json .Config.Labels}} {{json .Config.Healthcheck}} {{json .Config.StopSignal}}';

interface Daemon {
  docker(args: string[], opts?: { input?: string; timeoutMs?: number }): Promise<Result>;
}

const build = (d: Daemon, args: string[]) => d.docker(['build', ...args], { timeoutMs: 120_000 });

async function importBusybox(d: Daemon): Promise<void> {
  const r = await d.docker(['import', join(work, 'rootfs.tar'), 'bb:latest']);
  assert.equal(r.code, 0, r.stderr);
}

describe('docker build (classic builder) against berthd', () => {
  let d: TestBerthd;
  const ok = async (...args: string[]) => {
    const r = await d.docker(args, { timeoutMs: 120_000 });
    assert.equal(r.code, 0, `docker ${args.join(' ')} exited ${r.code}: ${r.stdout}\n${r.stderr}\n--- berthd log ---\n${d.log().slice(-3000)}`);
    return r.stdout.trim();
  };

  before(async () => {
    process.env.DOCKER_BUILDKIT = '0';
    const rootfs = join(work, 'rootfs');
    makeBusyboxRootfs(rootfs);
    execFileSync('tar', ['-C', rootfs, '-cf', join(work, 'rootfs.tar'), '.']);
    writeProject();
    d = await startBerthd();
    await importBusybox(d);
  });
  after(async () => {
    await d?.stop();
    cleanupDir(work);
  });

  it('builds the project: stages, COPY --from, .dockerignore, USER, ENTRYPOINT + CMD', async () => {
    const out = await ok('build', '-t', 'app:1', '-t', 'app:latest', '--build-arg', 'GREETING=hi', project);
    assert.match(out, /^Step 1\/21 : ARG BASE=bb$/m);
    assert.match(out, /^Step 2\/21 : FROM \$\{BASE\} AS builder$/m);
    assert.match(out, /^ ---> Running in [0-9a-f]{12}$/m);
    assert.match(out, /^Successfully built [0-9a-f]{12}$/m);
    assert.match(out, /^Successfully tagged app:1$/m);
    assert.match(out, /^Successfully tagged app:latest$/m);
    assert.equal(await ok('run', '--rm', '--network', 'none', 'app:1'), 'app --port 8080 as appuser: hi from the builder');
    assert.equal(await ok('run', '--rm', '--network', 'none', '--entrypoint', 'ls', 'app:1', '/opt/app/data'), 'a.txt\nkeep.tmp');
    assert.equal(await ok('inspect', '-f', '{{.Config.User}} {{.Config.WorkingDir}} {{index .Config.Labels "version"}}', 'app:1'), 'appuser /opt/app 1');
    assert.equal(await ok('ps', '-aq'), '', 'no step container left');
    assert.equal(await ok('images', '--format', '{{.Repository}}:{{.Tag}}').then((l) => l.split('\n').sort().join(' ')), 'app:1 app:latest bb:latest', 'intermediate images hidden');
    assert.ok((await ok('images', '-a', '-q')).split('\n').length > 3, 'images -a shows the intermediate ones');
    assert.match(await ok('history', '--format', '{{.CreatedBy}}', 'app:1'), /^\/bin\/sh -c #\(nop\) {2}CMD \["--port","8080"\]$/m);
  });

  it('berth build: the same project through berth\'s own CLI, .dockerignore applied client-side', async () => {
    const berth = (args: string[], input?: string) => run(process.execPath, [BERTH_BIN, '-H', d.host, 'build', ...args], { timeoutMs: 120_000, input, env: process.env });
    const built = await berth(['-t', 'app:berth', '--build-arg', 'GREETING=hi', project]);
    assert.equal(built.code, 0, built.stderr);
    assert.match(built.stdout, /^Successfully tagged app:berth$/m);
    assert.equal(await ok('run', '--rm', '--network', 'none', '--entrypoint', 'ls', 'app:berth', '/opt/app/data'), 'a.txt\nkeep.tmp');
    assert.equal(await ok('inspect', '-f', '{{.Id}}', 'app:berth'), await ok('inspect', '-f', '{{.Id}}', 'app:1'), 'the same context: every step a cache hit of the docker CLI\'s build');
    const failing = await berth(['-'], 'FROM bb\nRUN echo about to fail; exit 4\n');
    assert.equal(failing.code, 4);
    assert.match(failing.stdout, /about to fail/);
  });

  it('rebuilds from the cache, and from a changed file on only', async () => {
    const again = await ok('build', '-t', 'app:1', '--build-arg', 'GREETING=hi', project);
    const steps = again.split('\n').filter((l) => /^Step \d+\/21 : /.test(l)).length;
    const hits = again.split('\n').filter((l) => l === ' ---> Using cache').length;
    assert.equal(steps, 21);
    assert.equal(hits, 21 - 1 - 2, 'every step but the ARG and the two FROMs is a cache hit');
    assert.doesNotMatch(again, /Running in/);
    const id = await ok('inspect', '-f', '{{.Id}}', 'app:1');
    writeFileSync(join(project, 'data', 'a.txt'), 'a, changed\n');
    const changed = await ok('build', '-t', 'app:2', '--build-arg', 'GREETING=hi', project);
    const lines = changed.split('\n');
    const copyData = lines.findIndex((l) => l.endsWith(': COPY data/ data/'));
    assert.ok(copyData > 0);
    assert.equal(lines.slice(0, copyData).filter((l) => l === ' ---> Using cache').length, 9, 'the builder stage and the steps before COPY data/ come from the cache');
    assert.equal(lines.slice(copyData).filter((l) => l === ' ---> Using cache').length, 0, 'from the changed COPY on, every step runs');
    assert.notEqual(await ok('inspect', '-f', '{{.Id}}', 'app:2'), id);
    assert.equal(await ok('run', '--rm', '--network', 'none', '--entrypoint', 'cat', 'app:2', '/opt/app/data/a.txt'), 'a, changed');
    const noCache = await ok('build', '--no-cache', '-q', '--build-arg', 'GREETING=hi', project);
    assert.match(noCache, /^sha256:[0-9a-f]{64}$/);
  });

  it('the cache survives a daemon restart', async () => {
    await d.restart('term');
    const again = await ok('build', '-t', 'app:2', '--build-arg', 'GREETING=hi', project);
    assert.doesNotMatch(again, /Running in/);
  });

  it('fails clearly and leaves nothing: a failing RUN, a missing file, an unknown instruction, a missing target', async () => {
    const dir = join(work, 'failing');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'Dockerfile'), 'FROM bb\nRUN echo before the failure; exit 3\n');
    const failing = await build(d, [dir]);
    assert.equal(failing.code, 3, failing.stderr);
    assert.match(failing.stdout, /before the failure/);
    assert.match(failing.stderr, /The command '\/bin\/sh -c echo before the failure; exit 3' returned a non-zero code: 3/);
    writeFileSync(join(dir, 'Dockerfile'), 'FROM bb\nCOPY missing.txt /\n');
    const missing = await build(d, [dir]);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /COPY failed: file not found in build context or excluded by \.dockerignore: stat missing\.txt: file does not exist/);
    writeFileSync(join(dir, 'Dockerfile'), 'FROM bb\nRUN true\nFOO bar\n');
    const unknown = await build(d, [dir]);
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.stderr, /dockerfile parse error line 3: unknown instruction: FOO/i);
    writeFileSync(join(dir, 'Dockerfile'), 'FROM bb AS base\nRUN true\n');
    const target = await build(d, ['--target', 'nope', dir]);
    assert.match(target.stderr, /failed to reach build target nope in Dockerfile/);
    assert.equal(await ok('ps', '-aq'), '', 'no step container left');
  });

  it('a daemon killed mid-build leaves no step container after its restart', async () => {
    const dir = join(work, 'slow');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'Dockerfile'), 'FROM bb\nRUN echo started; sleep 60\n');
    const child = spawn('docker', ['-H', d.host, 'build', dir], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DOCKER_BUILDKIT: '0' } });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    await waitFor(() => out.includes('started'), 30_000);
    assert.equal((await ok('ps', '-q')).split('\n').length, 1, 'the step container runs');
    await d.restart('kill');
    await new Promise((r) => (child.exitCode !== null ? r(undefined) : child.once('exit', r)));
    assert.equal(await ok('ps', '-aq'), '', 'removed at the restart');
    const snapshots = new OverlaySnapshotter(join(d.dir, 'data', 'snapshots', 'overlayfs')).list();
    assert.deepEqual(snapshots.filter((x) => x.kind !== 'committed').map((x) => x.key), [], 'no writable snapshot left behind');
    writeFileSync(join(dir, 'Dockerfile'), 'FROM bb\nRUN echo quick\n');
    const again = await build(d, ['-q', dir]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /^sha256:[0-9a-f]{64}\n$/, 'the daemon builds again');
  });

  it('builds the same config as Debian\'s dockerd', { skip: haveDockerd() ? false : 'dockerd not installed' }, async () => {
    writeFileSync(join(project, 'data', 'a.txt'), 'a\n');
    const ref = await startDockerd();
    try {
      await importBusybox(ref);
      const theirs = await build(ref, ['--network', 'none', '-t', 'app:ref', '--build-arg', 'GREETING=hi', project]);
      assert.equal(theirs.code, 0, theirs.stderr);
      await ok('build', '--network', 'none', '-t', 'app:ref', '--build-arg', 'GREETING=hi', project);
      const docker = (await ref.docker(['inspect', '-f', CONFIG_FIELDS, 'app:ref'])).stdout.trim();
      assert.equal(await ok('inspect', '-f', CONFIG_FIELDS, 'app:ref'), docker);
      const run = await ref.docker(['run', '--rm', '--network', 'none', 'app:ref']);
      assert.equal(await ok('run', '--rm', '--network', 'none', 'app:ref'), run.stdout.trim());
    } finally {
      await ref.stop();
    }
  });
});
