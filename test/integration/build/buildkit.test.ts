// BuildKit's Dockerfile features on berth's classic builder, through the real docker CLI
// (DOCKER_BUILDKIT=0, whose daemon would refuse them): heredocs in RUN and COPY; RUN --mount of
// the context (read-only, rw with the writes thrown away, the cache keyed on what is bound, no way
// out of the context), of a stage, cache mounts that persist across builds until `builder prune`,
// tmpfs; RUN --network; and the secret/ssh/insecure cases with their messages. Mount points a
// step needed are not left in the image.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeBusyboxRootfs } from '../../helpers/busybox.js';
import { startBerthd, type TestBerthd } from '../../helpers/berthd.js';
import { cleanupDir } from '../../helpers/runtime.js';

const work = mkdtempSync(join(tmpdir(), 'berth-buildkit-'));

describe('BuildKit Dockerfile features on the classic builder', () => {
  let d: TestBerthd;

  async function ok(args: string[]): Promise<string> {
    const r = await d.docker(args, { timeoutMs: 120_000 });
    assert.equal(r.code, 0, `docker ${args.join(' ')} exited ${r.code}: ${r.stdout}\n${r.stderr}`);
    return r.stdout.trim();
  }
  async function fails(args: string[]): Promise<string> {
    const r = await d.docker(args, { timeoutMs: 120_000 });
    assert.notEqual(r.code, 0, `docker ${args.join(' ')} should have failed: ${r.stdout}`);
    return `${r.stdout}\n${r.stderr}`;
  }
  /** A project directory with a Dockerfile and files (name → content). */
  function project(name: string, dockerfile: string, files: Record<string, string> = {}): string {
    const dir = join(work, name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'Dockerfile'), dockerfile);
    for (const [f, content] of Object.entries(files)) {
      mkdirSync(join(dir, f, '..'), { recursive: true });
      writeFileSync(join(dir, f), content);
    }
    return dir;
  }
  const runIn = (image: string, script: string) => ok(['run', '--rm', '--network', 'none', image, 'sh', '-c', script]);
  const noStepContainers = async () => assert.equal(await ok(['ps', '-aq']), '');

  before(async () => {
    process.env.DOCKER_BUILDKIT = '0';
    const rootfs = join(work, 'rootfs');
    makeBusyboxRootfs(rootfs);
    execFileSync('tar', ['-C', rootfs, '-cf', join(work, 'rootfs.tar'), '.']);
    d = await startBerthd();
    await ok(['import', join(work, 'rootfs.tar'), 'bb:latest']);
  });
  after(async () => {
    await d?.stop();
    cleanupDir(work);
  });

  it('runs heredocs: a script, <<- tabs, a command\'s stdin, quoting, several documents, "#!" programs, COPY files', async () => {
    const dir = project('heredoc', [
      'FROM bb',
      'ARG WHO=world',
      'RUN <<EOF',
      'echo "one $WHO" > /one.txt',
      'echo two >> /one.txt',
      'EOF',
      'RUN <<-EOF',
      '\techo tabs gone > /tabs.txt',
      '\tEOF',
      "RUN cat <<'EOF' > /quoted.txt && cat <<EOF2 > /expanded.txt",
      'not $WHO',
      'EOF',
      'yes $WHO',
      'EOF2',
      'RUN sh <<EOF',
      'echo "from stdin" > /stdin.txt',
      'EOF',
      'RUN <<EOF',
      '#!/bin/awk -f',
      'BEGIN { print "awk ran" > "/awk.txt" }',
      'EOF',
      'COPY <<EOF /etc/motd',
      'hello $WHO',
      'EOF',
      'COPY <<"A" <<B /docs/',
      'raw $WHO',
      'A',
      'cooked $WHO',
      'B',
      '',
    ].join('\n'));
    const out = await ok(['build', '--network', 'none', '-t', 'heredoc', dir]);
    assert.match(out, /Successfully tagged heredoc:latest/);
    assert.equal(
      await runIn('heredoc', 'cat /one.txt /tabs.txt /quoted.txt /expanded.txt /stdin.txt /awk.txt /etc/motd /docs/A /docs/B; stat -c "%a %u" /etc/motd; test -e /dev/pipes/EOF || echo no pipes'),
      'one world\ntwo\ntabs gone\nnot $WHO\nyes world\nfrom stdin\nawk ran\nhello world\nraw $WHO\ncooked world\n644 0\nno pipes',
    );
    // a changed body is a different step: no stale cache hit
    writeFileSync(join(dir, 'Dockerfile'), 'FROM bb\nRUN <<EOF\necho changed > /one.txt\nEOF\n');
    assert.doesNotMatch(await ok(['build', '-t', 'heredoc', dir]), /Using cache/);
    writeFileSync(join(dir, 'Dockerfile'), 'FROM bb\nRUN <<EOF\necho changed again > /one.txt\nEOF\n');
    await ok(['build', '-t', 'heredoc', dir]);
    assert.equal(await runIn('heredoc', 'cat /one.txt'), 'changed again');
  });

  it('binds the context read-only, keys the cache on what is bound, and throws rw writes away', async () => {
    const dir = project('bind', [
      'FROM bb',
      'RUN --mount=type=bind,source=data,target=/data cat /data/v.txt > /seen.txt',
      'RUN --mount=target=/ctx touch /ctx/x 2>/dev/null && echo writable > /ro.txt || echo read-only > /ro.txt',
      'RUN --mount=type=bind,source=data/v.txt,target=/v.txt,rw echo scribble >> /v.txt && cat /v.txt > /rw.txt',
      'RUN --mount=type=bind,rw,target=/src touch /src/new && ls /src > /rwls.txt',
      '',
    ].join('\n'), { 'data/v.txt': 'v1\n' });
    await ok(['build', '--network', 'none', '-t', 'bind', dir]);
    const show = 'cat /seen.txt /ro.txt /rw.txt; ls /data /ctx /v.txt /src 2>&1 | grep -c "No such file"';
    assert.equal(await runIn('bind', show), 'v1\nread-only\nv1\nscribble\n4');
    assert.ok(!existsSync(join(dir, 'new')), 'a rw bind wrote into the context');
    assert.equal(await runIn('bind', 'cat /rwls.txt'), 'Dockerfile\ndata\nnew');
    // unchanged: all from the cache; changed: the mounting step runs again
    assert.equal((await ok(['build', '-t', 'bind', dir])).match(/Using cache/g)?.length, 4);
    writeFileSync(join(dir, 'data', 'v.txt'), 'v2\n');
    const again = await ok(['build', '--network', 'none', '-t', 'bind', dir]);
    assert.doesNotMatch(again.split('Step 2/5')[1]!.split('Step 3/5')[0]!, /Using cache/);
    assert.equal(await runIn('bind', 'cat /seen.txt'), 'v2');
    await noStepContainers();
  });

  it('keeps binds inside the context: ../ and symlinks resolve in it', async () => {
    const dir = project('escape', 'FROM bb\nRUN --mount=source=../../../etc,target=/e ls /e\n');
    assert.match(await fails(['build', dir]), /"\/etc" not found in the build context/);
    writeFileSync(join(dir, 'Dockerfile'), 'FROM bb\nRUN --mount=source=leak,target=/e cat /e/hostname\n');
    symlinkSync('/etc', join(dir, 'leak'));
    assert.match(await fails(['build', dir]), /not found in the build context/);
    await noStepContainers();
  });

  it('binds a stage\'s files (built first, even when the target needs nothing else of it)', async () => {
    const dir = project('from', [
      'FROM bb AS tools',
      'RUN mkdir /out && echo "from the tools stage" > /out/msg',
      'FROM bb',
      'RUN --mount=from=tools,source=/out,target=/t cat /t/msg > /msg',
      '',
    ].join('\n'));
    await ok(['build', '--network', 'none', '-t', 'from', dir]);
    assert.equal(await runIn('from', 'cat /msg; test -e /t || echo no /t'), 'from the tools stage\nno /t');
  });

  it('keeps cache mounts across builds, out of the image, until builder prune', async () => {
    const dir = project('cache', [
      'FROM bb',
      'RUN --mount=type=cache,target=/var/cache/app,uid=1000,mode=0750 echo run >> /var/cache/app/log && wc -l < /var/cache/app/log > /runs.txt && stat -c "%u %a" /var/cache/app > /owner.txt',
      'RUN --mount=type=cache,id=shared,target=/a,sharing=locked echo x > /a/f',
      'RUN --mount=type=cache,id=shared,target=/b,ro,sharing=private cat /b/f > /b.txt',
      '',
    ].join('\n'));
    await ok(['build', '--network', 'none', '-t', 'cache', dir]);
    assert.equal(await runIn('cache', 'cat /runs.txt /owner.txt /b.txt; test -e /var/cache/app || echo not in the image'), '1\n1000 750\nx\nnot in the image');
    await ok(['build', '--no-cache', '--network', 'none', '-t', 'cache', dir]);
    assert.equal(await runIn('cache', 'cat /runs.txt'), '2');
    const pruned = await ok(['builder', 'prune', '-f']);
    assert.match(pruned, /Total reclaimed space/);
    assert.deepEqual(readdirSync(join(d.dir, 'data', 'build-cache-mounts')), []);
    await ok(['build', '--network', 'none', '-t', 'cache', dir]);
    assert.equal(await runIn('cache', 'cat /runs.txt'), '1');
  });

  it('mounts a tmpfs with its size, and runs a step without network', async () => {
    const dir = project('tmpfs', [
      'FROM bb',
      'RUN --mount=type=tmpfs,target=/scratch,size=2m grep " /scratch " /proc/mounts > /mounts.txt && df -k /scratch | tail -1 | awk \'{print $2}\' > /size.txt',
      'RUN --network=none grep -c : /proc/net/dev > /nics.txt',
      'RUN grep -c : /proc/net/dev > /default-nics.txt',
      '',
    ].join('\n'));
    await ok(['build', '-t', 'tmpfs', dir]);
    assert.equal(await runIn('tmpfs', 'cut -d" " -f1-3 /mounts.txt; cat /size.txt /nics.txt; test -e /scratch || echo no /scratch'), 'tmpfs /scratch tmpfs\n2048\n1\nno /scratch');
    // the build's own network is a bridge: a RUN without --network has more than lo
    assert.ok(Number(await runIn('tmpfs', 'cat /default-nics.txt')) > 1);
  });

  it('leaves out optional secrets and ssh (none can be given), and says why when one is required or insecure is asked', async () => {
    const dir = project('secret', 'FROM bb\nRUN --mount=type=secret,id=token --mount=type=ssh test ! -e /run/secrets/token && echo ran > /ran\n');
    const out = await ok(['build', '--network', 'none', '-t', 'secret', dir]);
    assert.match(out, /RUN --mount=type=secret: no secret "token" \(the classic build API cannot carry one\)/);
    assert.equal(await runIn('secret', 'cat /ran'), 'ran');
    writeFileSync(join(dir, 'Dockerfile'), 'FROM bb\nRUN --mount=type=secret,id=token,required cat /run/secrets/token\n');
    assert.match(await fails(['build', dir]), /the secret "token" is required, but berth builds through Docker's classic build API/);
    writeFileSync(join(dir, 'Dockerfile'), 'FROM bb\nRUN --security=insecure true\n');
    assert.match(await fails(['build', dir]), /RUN --security=insecure needs the security.insecure entitlement/);
    await noStepContainers();
  });
});
