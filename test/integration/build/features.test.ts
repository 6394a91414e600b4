// The rest of the Dockerfile through the real docker CLI (DOCKER_BUILDKIT=0), berthd beside
// Debian's dockerd building the same files: ONBUILD, SHELL, ARG in RUN's environment and history,
// COPY --chown with wildcards, ADD of a local archive and of a plain file, a directory copy,
// WORKDIR relative, FROM scratch and COPY --from both ways; the files' modes and owners in the
// result compared. Then what only berth does (COPY --chmod, which Docker's classic builder
// refuses), context tricks that must stay inside the context, a Dockerfile from stdin, and
// --target skipping a stage the target does not need.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeBusyboxRootfs } from '../../helpers/busybox.js';
import { startBerthd, type TestBerthd } from '../../helpers/berthd.js';
import { haveDockerd, startDockerd, type TestDockerd } from '../../helpers/dockerd.js';
import { cleanupDir, type Result } from '../../helpers/runtime.js';
import { call } from '../../helpers/api.js';
import { TAR_END, tarEntry } from '../../../src/image/tar-writer.js';

const work = mkdtempSync(join(tmpdir(), 'berth-build-features-'));
const project = join(work, 'project');

const DOCKERFILE = `FROM bb AS base
ONBUILD RUN echo triggered > /onbuild.txt

FROM base AS child
SHELL ["/bin/sh", "-ec"]
ARG WHO=world
RUN echo "hello $WHO" > /hello.txt
COPY --chown=1000:1000 files/*.txt /dst/
ADD files/archive.tar.gz /unpacked/
ADD files/plain.txt /plain-added.txt
COPY files/dir /dst/dir
WORKDIR relative
RUN pwd > /pwd.txt

FROM scratch AS empty
COPY --from=child /hello.txt /

FROM child
COPY --from=empty /hello.txt /from-scratch.txt
`;

const LIST = 'find /dst /unpacked /plain-added.txt /onbuild.txt /hello.txt /pwd.txt /from-scratch.txt | sort | xargs stat -c "%n %a %u:%g %F" && cat /hello.txt /pwd.txt /onbuild.txt /from-scratch.txt /unpacked/a/b.txt';

interface Daemon {
  docker(args: string[], opts?: { input?: string; timeoutMs?: number }): Promise<Result>;
}

async function ok(d: Daemon, args: string[], input?: string): Promise<string> {
  const r = await d.docker(args, { timeoutMs: 120_000, input });
  assert.equal(r.code, 0, `docker ${args.join(' ')} exited ${r.code}: ${r.stdout}\n${r.stderr}`);
  return r.stdout.trim();
}

describe('Dockerfile instructions, berthd beside dockerd', () => {
  let d: TestBerthd;
  let ref: TestDockerd | undefined;

  before(async () => {
    process.env.DOCKER_BUILDKIT = '0';
    const rootfs = join(work, 'rootfs');
    makeBusyboxRootfs(rootfs);
    execFileSync('tar', ['-C', rootfs, '-cf', join(work, 'rootfs.tar'), '.']);
    const files = join(project, 'files');
    mkdirSync(join(files, 'dir', 'sub'), { recursive: true });
    mkdirSync(join(work, 'archive', 'a'), { recursive: true });
    writeFileSync(join(project, 'Dockerfile'), DOCKERFILE);
    writeFileSync(join(files, 'one.txt'), 'one\n');
    writeFileSync(join(files, 'two.txt'), 'two\n');
    writeFileSync(join(files, 'plain.txt'), 'plain\n');
    writeFileSync(join(files, 'dir', 'sub', 'deep.sh'), '#!/bin/sh\n');
    chmodSync(join(files, 'dir', 'sub', 'deep.sh'), 0o750);
    writeFileSync(join(work, 'archive', 'a', 'b.txt'), 'from the archive\n');
    execFileSync('tar', ['-C', join(work, 'archive'), '--owner=0', '--group=0', '-czf', join(files, 'archive.tar.gz'), 'a']);
    d = await startBerthd();
    await ok(d, ['import', join(work, 'rootfs.tar'), 'bb:latest']);
    if (haveDockerd()) {
      ref = await startDockerd();
      await ok(ref, ['import', join(work, 'rootfs.tar'), 'bb:latest']);
    }
  });
  after(async () => {
    await ref?.stop();
    await d?.stop();
    cleanupDir(work);
  });

  it('builds the same files, modes, owners and history as Docker', async () => {
    const ours = await ok(d, ['build', '--network', 'none', '-t', 'feat', project]);
    assert.match(ours, /^# Executing 1 build trigger$/m);
    const listing = await ok(d, ['run', '--rm', '--network', 'none', 'feat', 'sh', '-c', LIST]);
    assert.match(listing, /^\/dst\/one\.txt 644 1000:1000 regular file$/m);
    assert.match(listing, /^\/dst\/dir\/sub\/deep\.sh 750 0:0 regular file$/m);
    assert.match(listing, /^\/unpacked\/a\/b\.txt 644 0:0 regular file$/m);
    assert.match(listing, /^hello world\n\/relative\ntriggered\nhello world\nfrom the archive$/m);
    const runLines = async (x: Daemon) => (await ok(x, ['history', '--no-trunc', '--format', '{{.CreatedBy}}', 'feat'])).split('\n').filter((l) => !l.includes('#(nop)'));
    assert.ok((await runLines(d)).includes('|1 WHO=world /bin/sh -ec echo "hello $WHO" > /hello.txt'));
    if (!ref) return;
    await ok(ref, ['build', '--network', 'none', '-t', 'feat', project]);
    assert.equal(listing, await ok(ref, ['run', '--rm', '--network', 'none', 'feat', 'sh', '-c', LIST]));
    assert.deepEqual(await runLines(d), await runLines(ref));
    const config = '{{json .Config.Env}} {{json .Config.Shell}} {{json .Config.WorkingDir}} {{json .Config.OnBuild}} {{json .Config.Cmd}}';
    assert.equal(await ok(d, ['inspect', '-f', config, 'feat']), await ok(ref, ['inspect', '-f', config, 'feat']));
  });

  it('COPY --chmod (refused by Docker\'s classic builder) sets the mode', async () => {
    const dir = join(work, 'chmod');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'Dockerfile'), 'FROM bb\nCOPY --chmod=0600 --chown=nobody secret.conf /etc/\n');
    writeFileSync(join(dir, 'secret.conf'), 'x=1\n');
    await ok(d, ['build', '-t', 'chmod', dir]);
    assert.equal(await ok(d, ['run', '--rm', '--network', 'none', 'chmod', 'stat', '-c', '%a %u:%g', '/etc/secret.conf']), '600 65534:65534');
  });

  it('keeps COPY inside the context: a symlink out of it, ../, and the image\'s own symlinks', async () => {
    const dir = join(work, 'tricks');
    mkdirSync(dir, { recursive: true });
    symlinkSync('/etc/hostname', join(dir, 'leak'));
    writeFileSync(join(dir, 'Dockerfile'), 'FROM bb\nCOPY leak /leak\n');
    const leak = await d.docker(['build', dir], { timeoutMs: 60_000 });
    assert.notEqual(leak.code, 0);
    assert.match(leak.stderr, /file not found in build context/);
    writeFileSync(join(dir, 'Dockerfile'), 'FROM bb\nCOPY ../outside /x\n');
    const up = await d.docker(['build', dir], { timeoutMs: 60_000 });
    assert.notEqual(up.code, 0);
    assert.match(up.stderr, /forbidden path outside the build context: \.\.\/outside/);
    // a directory in the image that is a symlink to / must not send the file to the host
    const marker = join(work, `host-marker-${process.pid}`);
    writeFileSync(join(dir, 'payload'), 'payload\n');
    writeFileSync(join(dir, 'Dockerfile'), `FROM bb\nRUN ln -s / /escape\nCOPY payload /escape${marker}\n`);
    await ok(d, ['build', '-t', 'tricks', dir]);
    assert.equal(existsSync(marker), false, 'nothing written on the host');
    assert.equal(await ok(d, ['run', '--rm', '--network', 'none', 'tricks', 'cat', marker]), 'payload', 'it landed in the image');
  });

  it('a hostile context tar writes nothing outside the context: ../, absolute names, a symlink to / followed by entries under it', async () => {
    const marker = `berth-ctx-escape-${process.pid}`;
    const file = (name: string, text: string) => tarEntry({ name, type: 'file', mode: 0o644 }, Buffer.from(text));
    const dockerfile = file('Dockerfile', 'FROM bb\nCOPY . /ctx/\n');
    // a name climbing out: refused as a whole, with the entry named
    const climbing = await call(d.socket, 'POST', '/build?t=hostile', Buffer.concat([dockerfile, file(`../../../../tmp/${marker}-dotdot`, 'dotdot\n'), TAR_END]), { 'Content-Type': 'application/x-tar' });
    assert.equal(climbing.status, 400);
    assert.match(JSON.parse(climbing.body).message, /points outside the layer/);
    assert.deepEqual(readdirSync(join(d.dir, 'data', 'tmp')), [], 'the refused context was removed');
    // absolute names and names through a symlink to /: resolved inside the context
    const context = Buffer.concat([
      dockerfile,
      file(`/tmp/${marker}-absolute`, 'absolute\n'),
      tarEntry({ name: 'root-link', type: 'symlink', linkname: '/' }),
      file(`root-link/tmp/${marker}-through-link`, 'through a link\n'),
      TAR_END,
    ]);
    const answer = await call(d.socket, 'POST', '/build?t=hostile', context, { 'Content-Type': 'application/x-tar' });
    assert.equal(answer.status, 200, answer.body);
    assert.match(answer.body, /Successfully tagged hostile:latest/);
    for (const suffix of ['dotdot', 'absolute', 'through-link']) assert.equal(existsSync(`/tmp/${marker}-${suffix}`), false, `nothing at /tmp/${marker}-${suffix} on the host`);
    const inside = await ok(d, ['run', '--rm', '--network', 'none', 'hostile', 'find', '/ctx', '-name', `${marker}*`]);
    assert.deepEqual(inside.split('\n').sort(), [`/ctx/tmp/${marker}-absolute`, `/ctx/tmp/${marker}-through-link`], 'both landed inside the context');
  });

  it('takes a Dockerfile from stdin, and builds only what --target needs', async () => {
    const out = await ok(d, ['build', '-q', '-'], 'FROM bb\nRUN echo from-stdin > /x\n');
    assert.match(out, /^sha256:[0-9a-f]{64}$/);
    const dir = join(work, 'targets');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'Dockerfile'), 'FROM bb AS broken\nRUN exit 1\nFROM bb AS good\nRUN echo good > /g\nFROM broken\n');
    const built = await ok(d, ['build', '--target', 'good', '-t', 'good', dir]);
    assert.doesNotMatch(built, /exit 1/, 'the broken stage is not needed');
    assert.equal(await ok(d, ['run', '--rm', '--network', 'none', 'good', 'cat', '/g']), 'good');
    const all = await d.docker(['build', dir], { timeoutMs: 60_000 });
    assert.equal(all.code, 1, 'without --target the last stage needs the broken one');
  });

  it('builds independent stages at the same time', async () => {
    // Each stage notes when its RUN began and ended (host uptime: one clock for every container).
    const stage = (name: string) => `FROM bb AS ${name}\nRUN cut -d' ' -f1 /proc/uptime > /begin && sleep 1 && cut -d' ' -f1 /proc/uptime > /end\n`;
    const dockerfile = `${stage('a')}${stage('b')}FROM bb\nCOPY --from=a /begin /end /a/\nCOPY --from=b /begin /end /b/\n`;
    await ok(d, ['build', '--network', 'none', '-t', 'parallel', '-'], dockerfile);
    const [a0, a1, b0, b1] = (await ok(d, ['run', '--rm', '--network', 'none', 'parallel', 'cat', '/a/begin', '/a/end', '/b/begin', '/b/end'])).split('\n').map(Number) as [number, number, number, number];
    assert.ok(a0 < b1 && b0 < a1, `the two RUNs overlap in time: a ${a0}–${a1}, b ${b0}–${b1}`);
  });

  it('ADD of a URL fails with a clear offline error', async () => {
    const r = await d.docker(['build', '-'], { input: 'FROM bb\nADD https://example.com/x.tar.gz /x\n', timeoutMs: 60_000 });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /berth builds offline and does not download URLs/);
  });

  it('unused build args get Docker\'s warning; --label lands on the image', async () => {
    const out = await ok(d, ['build', '--build-arg', 'UNUSED=1', '--label', 'team=build', '-t', 'labelled', '-'], 'FROM bb\nLABEL a=b\n');
    assert.match(out, /\[Warning\] One or more build-args \[UNUSED\] were not consumed/);
    assert.equal(await ok(d, ['inspect', '-f', '{{json .Config.Labels}}', 'labelled']), '{"a":"b","team":"build"}');
  });
});
