// berth build against Debian's dockerd (the classic builder), beside the real docker CLI with
// DOCKER_BUILDKIT=0 on the same daemon and the same input: the same output, exit statuses and
// images (a build whose every step is a cache hit of the other CLI's build had the same context,
// Dockerfile and arguments). Then the requests themselves, recorded by a stand-in daemon: the same
// query, X-Registry-Config and context tar, entry for entry and header for header.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { readTar, type TarHeader } from '../../../src/cli/archive.js';
import { haveDockerd } from '../../helpers/dockerd.js';
import { haveCommand } from '../../helpers/runtime.js';
import { BERTH_BIN, run, startCliHarness, type CliHarness, type RunOptions } from '../../helpers/cli.js';

/** docker's notice about the legacy builder, which berth does not print. */
const noNotice = (stderr: string) => stderr.replace(/^DEPRECATED: The legacy builder is deprecated[^\n]*\n[^\n]*\n[^\n]*environment-variable\.\n\n/, '');
/** Intermediate containers' IDs differ between two builds. */
const noContainerIds = (out: string) => out.replace(/(Running in|Removing intermediate container) [0-9a-f]{12}/g, '$1 ID');

const DOCKERFILE = `ARG BASE=busybox
FROM \${BASE} AS builder
ARG GREETING=hello
WORKDIR /src
COPY app/ ./
RUN echo "$GREETING from $(cat name.txt)" > /out.txt && ls /src > /listing.txt

FROM busybox AS final
ARG VERSION
LABEL org.example.version=$VERSION
ENV APP_HOME=/app PATH=/app/bin:$PATH
WORKDIR $APP_HOME
COPY --from=builder /out.txt /listing.txt ./
COPY bin/ bin/
COPY link.txt ./
EXPOSE 8080/tcp
VOLUME /data
USER nobody
ENTRYPOINT ["/bin/sh", "-c"]
CMD ["cat /app/out.txt"]

FROM busybox AS other
RUN echo this stage is never built && exit 9
`;

describe('berth build', { skip: !haveDockerd() && 'dockerd not installed (apt-get install docker.io)' }, () => {
  let h: CliHarness;
  let proj: string;
  const dockerEnv = () => ({ ...h.env, DOCKER_BUILDKIT: '0' });
  const docker = (args: string[], opts: RunOptions = {}) => h.docker(['build', ...args], { timeoutMs: 120_000, ...opts, env: { ...dockerEnv(), ...opts.env } });
  const berth = (args: string[], opts: RunOptions = {}) => h.berth(['build', ...args], { timeoutMs: 120_000, ...opts, env: { ...h.env, ...opts.env } });
  const imageId = async (ref: string) => (await h.ok(['image', 'inspect', '-f', '{{.Id}}', ref])).trim();
  /** berth, then docker, with the same arguments: both succeed, and docker's build is all cache hits of berth's. */
  const sameImage = async (args: string[], opts: RunOptions = {}) => {
    const b = await berth(['--iidfile', join(h.dir, 'b.iid'), ...args], opts);
    assert.equal(b.code, 0, `berth build ${args.join(' ')}: ${b.stderr}${b.stdout}`);
    const d = await docker(['--iidfile', join(h.dir, 'd.iid'), ...args], opts);
    assert.equal(d.code, 0, `docker build ${args.join(' ')}: ${d.stderr}`);
    assert.ok(!/Running in/.test(d.stdout), `docker rebuilt a step berth built: ${d.stdout}`);
    const id = readFileSync(join(h.dir, 'b.iid'), 'utf8');
    assert.equal(readFileSync(join(h.dir, 'd.iid'), 'utf8'), id);
    return { berth: b, docker: d, id };
  };

  before(async () => {
    h = await startCliHarness();
    proj = join(h.dir, 'proj');
    mkdirSync(join(proj, 'app'), { recursive: true });
    mkdirSync(join(proj, 'bin'));
    writeFileSync(join(proj, 'Dockerfile'), DOCKERFILE);
    writeFileSync(join(proj, 'app', 'name.txt'), 'berth');
    writeFileSync(join(proj, 'app', 'other.txt'), 'x');
    writeFileSync(join(proj, 'bin', 'tool'), '#!/bin/sh\necho tool\n', { mode: 0o755 });
    symlinkSync('app/name.txt', join(proj, 'link.txt'));
    mkdirSync(join(proj, 'alt'));
    writeFileSync(join(proj, 'alt', 'Dockerfile'), DOCKERFILE);
  });
  after(async () => {
    await h?.cleanup();
  });

  it('a two-stage project with tags, build args, a label and --target: what docker prints, the same image', async () => {
    const args = ['-t', 'app:1', '--tag', 'reg.local/app:latest', '--build-arg', 'GREETING=hi', '--build-arg', 'VERSION', '--label', 'built.by=berth', '--target', 'final', proj];
    const env = { VERSION: '1.2.3' };
    const first = await berth(args, { env });
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.stderr, '');
    assert.match(first.stdout, /^Sending build context to Docker daemon {2}\d+(\.\d+)?kB\r\r\nStep 1\/20 : ARG BASE=busybox\n/);
    assert.match(first.stdout, /\nStep 6\/20 : RUN echo "\$GREETING from \$\(cat name.txt\)" > \/out.txt && ls \/src > \/listing.txt\n ---> Running in [0-9a-f]{12}\n/);
    // the classic builder turns --label into a last step
    assert.match(first.stdout, /\nStep 20\/20 : LABEL built.by=berth\n/);
    assert.match(first.stdout, /\nSuccessfully built [0-9a-f]{12}\nSuccessfully tagged app:1\nSuccessfully tagged reg.local\/app:latest\n$/);
    assert.ok(!first.stdout.includes('never built'), 'the stage after the target is not built');

    // docker then berth with the same arguments: every step cached, the same lines
    const d = await docker(args, { env });
    const b = await berth(args, { env });
    assert.deepEqual([b.code, b.stdout, b.stderr], [d.code, d.stdout, noNotice(d.stderr)]);
    assert.ok(!/Running in/.test(d.stdout), d.stdout);
    assert.equal(await imageId('app:1'), await imageId('reg.local/app:latest'));

    const config = JSON.parse(await h.ok(['image', 'inspect', '-f', '{{json .Config}}', 'app:1']));
    assert.deepEqual(config.Labels, { 'built.by': 'berth', 'org.example.version': '1.2.3' });
    assert.deepEqual([config.User, config.WorkingDir, config.Entrypoint, config.Cmd, config.ExposedPorts, config.Volumes],
      ['nobody', '/app', ['/bin/sh', '-c'], ['cat /app/out.txt'], { '8080/tcp': {} }, { '/data': {} }]);
    assert.ok(config.Env.includes('APP_HOME=/app'));
    assert.equal(await h.ok(['run', '--rm', '--network', 'none', 'app:1']), 'hi from berth\n');
    assert.equal(await h.ok(['run', '--rm', '--network', 'none', 'app:1', 'tool; cat link.txt; cat listing.txt']), 'tool\nberthname.txt\nother.txt\n');
  });

  it('--no-cache builds: the same image config as docker', async () => {
    const args = ['--no-cache', '--build-arg', 'VERSION=2', '--target', 'final', proj];
    const b = await berth(['-t', 'fresh:berth', ...args]);
    const d = await docker(['-t', 'fresh:docker', ...args]);
    assert.deepEqual([b.code, d.code], [0, 0], b.stderr + d.stderr);
    assert.equal(noContainerIds(b.stdout).replace(/---> [0-9a-f]{12}/g, '---> IMAGE').replace(/built [0-9a-f]{12}/, 'built IMAGE').replace('fresh:berth', 'TAG'),
      noContainerIds(d.stdout).replace(/---> [0-9a-f]{12}/g, '---> IMAGE').replace(/built [0-9a-f]{12}/, 'built IMAGE').replace('fresh:docker', 'TAG'));
    const config = async (ref: string) => {
      const c = JSON.parse(await h.ok(['image', 'inspect', '-f', '{{json .Config}}', ref]));
      delete c.Image; // the parent: the last step's image, whose ID holds its creation time
      delete c.Hostname;
      return c;
    };
    assert.deepEqual(await config('fresh:berth'), await config('fresh:docker'));
  });

  it('a Dockerfile from outside the context, from stdin with -f -, as the whole context on stdin; a tar context on stdin', async () => {
    const elsewhere = join(h.dir, 'elsewhere');
    mkdirSync(elsewhere);
    writeFileSync(join(elsewhere, 'Build.dockerfile'), 'FROM busybox\nCOPY . /ctx/\nRUN ls -a /ctx > /ctx.list\nCMD ["cat", "/ctx.list"]\n');
    const outside = await sameImage(['-f', join(elsewhere, 'Build.dockerfile'), join(proj, 'app')]);
    // the Dockerfile sent under a random name is the builder's, not COPY's; nor is .dockerignore
    assert.equal(await h.ok(['run', '--rm', '--network', 'none', outside.id]), '.\n..\nname.txt\nother.txt\n');

    const stdinDockerfile = 'FROM busybox\nCOPY name.txt /\nCMD ["cat", "/name.txt"]\n';
    const viaDash = await sameImage(['-f', '-', join(proj, 'app')], { input: stdinDockerfile });
    assert.equal(await h.ok(['run', '--rm', '--network', 'none', viaDash.id]), 'berth');

    const whole = await sameImage(['-t', 'from-stdin', '-'], { input: 'FROM busybox\nRUN echo built from stdin > /note\n' });
    assert.match(whole.berth.stdout, /^Sending build context to Docker daemon {2}2\.048kB\r\r\nStep 1\/2 : FROM busybox\n/);
    assert.match(whole.berth.stdout, /\nStep 2\/2 : RUN echo built from stdin > \/note\n ---> Running in /);

    const tar = execFileSync('tar', ['-C', proj, '-cf', '-', '.']);
    const fromTar = await sameImage(['--target', 'builder', '-'], { input: tar });
    assert.equal(await h.ok(['run', '--rm', '--network', 'none', fromTar.id, 'cat', '/out.txt']), 'hello from berth\n');
    const renamed = await sameImage(['-f', 'alt/Dockerfile', '--target', 'builder', '-'], { input: tar });
    assert.equal(renamed.id, fromTar.id);
  });

  it('-q prints the image ID only, --iidfile keeps it: as docker', async () => {
    const b = await berth(['-q', '--iidfile', join(h.dir, 'bq.iid'), '--target', 'final', proj]);
    const d = await docker(['-q', '--iidfile', join(h.dir, 'dq.iid'), '--target', 'final', proj]);
    assert.deepEqual([b.code, b.stderr], [0, '']);
    assert.match(b.stdout, /^sha256:[0-9a-f]{64}\n$/);
    assert.deepEqual([b.stdout, noNotice(b.stderr)], [d.stdout, noNotice(d.stderr)]);
    // with -q the file holds what was printed (a newline included), as docker writes it
    assert.equal(readFileSync(join(h.dir, 'bq.iid'), 'utf8'), b.stdout);
    assert.equal(readFileSync(join(h.dir, 'dq.iid'), 'utf8'), b.stdout);
    await berth(['--iidfile', join(h.dir, 'b.iid'), '--target', 'final', proj]);
    assert.equal(readFileSync(join(h.dir, 'b.iid'), 'utf8'), b.stdout.trim());
  });

  it('a failing RUN: its output shown, its exit status the exit status, the stale --iidfile gone', async () => {
    const failing = join(h.dir, 'failing');
    mkdirSync(failing);
    writeFileSync(join(failing, 'Dockerfile'), 'FROM busybox\nRUN echo to-out && sleep 0.2 && echo to-err >&2 && exit 7\n');
    writeFileSync(join(h.dir, 'stale.iid'), 'old');
    const b = await berth(['--iidfile', join(h.dir, 'stale.iid'), failing]);
    const d = await docker([failing]);
    assert.equal(b.code, 7);
    assert.match(b.stdout, /\n ---> Running in [0-9a-f]{12}\nto-out\n\x1b\[91mto-err\n\x1b\[0m$/);
    assert.equal(b.stderr, "The command '/bin/sh -c echo to-out && sleep 0.2 && echo to-err >&2 && exit 7' returned a non-zero code: 7\n");
    assert.deepEqual([b.code, noContainerIds(b.stdout), b.stderr], [d.code, noContainerIds(d.stdout), noNotice(d.stderr)]);
    assert.ok(!existsSync(join(h.dir, 'stale.iid')));

    // -q: nothing on stdout; what the build printed, then the error, on stderr
    const bq = await berth(['-q', failing]);
    const dq = await docker(['-q', failing]);
    assert.deepEqual([bq.code, bq.stdout, noContainerIds(bq.stderr)], [dq.code, dq.stdout, noContainerIds(noNotice(dq.stderr))]);
    assert.match(bq.stderr, /to-out\n[^]*returned a non-zero code: 7\n$/);
  });

  it("docker's errors: no Dockerfile, no context, a missing target, no Dockerfile in a tar, stdin twice, an unknown instruction", async () => {
    const empty = join(h.dir, 'empty');
    mkdirSync(empty);
    const emptyTar = execFileSync('tar', ['-C', empty, '-cf', '-', '.']);
    const cases: [string[], RunOptions?][] = [
      [[empty]],
      [['-f', join(h.dir, 'nope', 'Dockerfile'), proj]],
      [[join(h.dir, 'no-such-dir')]],
      [['--target', 'nope', proj]],
      [['-'], { input: emptyTar }],
      [['-f', '-', '-'], { input: 'FROM busybox\n' }],
      [['-f', 'Dockerfile', '-'], { input: 'FROM busybox\n' }],
      [['-'], { input: 'FROM busybox\nFROBNICATE x\n' }],
    ];
    for (const [args, opts] of cases) {
      const b = await berth(args, opts);
      const d = await docker(args, opts);
      assert.deepEqual([b.code, b.stdout, b.stderr], [d.code, d.stdout, noNotice(d.stderr)], args.join(' '));
      assert.ok(b.code !== 0 || /unknown instruction/.test(b.stderr), args.join(' '));
    }
    assert.equal((await berth([empty])).stderr, `unable to prepare context: unable to evaluate symlinks in Dockerfile path: lstat ${empty}/Dockerfile: no such file or directory\n`);
    // remote contexts: berth works offline and says so
    const remote = await berth(['https://github.com/moby/moby.git']);
    assert.deepEqual([remote.code, remote.stdout], [1, '']);
    assert.match(remote.stderr, /^unable to prepare context: https:\/\/github.com\/moby\/moby.git is a git repository, and berth does not fetch remote build contexts/);
  });

  it('files the user cannot read: the same error as docker, before anything is sent', { skip: (process.getuid?.() !== 0 || !haveCommand('setpriv')) && 'needs root and setpriv' }, async () => {
    const shared = mkdtempSync(join(tmpdir(), 'berth-build-perm-'));
    try {
      chmodSync(shared, 0o755);
      writeFileSync(join(shared, 'Dockerfile'), 'FROM busybox\n', { mode: 0o644 });
      writeFileSync(join(shared, 'secret'), 'x', { mode: 0o600 });
      // as nobody, with no daemon to reach: the check comes first
      const env = { ...dockerEnv(), HOME: shared, DOCKER_CONFIG: join(shared, '.docker') };
      const asNobody = (cmd: string[]) => run('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', ...cmd], { env });
      const same = async () => {
        const b = await asNobody([process.execPath, BERTH_BIN, '-H', 'unix:///nonexistent.sock', 'build', shared]);
        const d = await asNobody(['docker', '-H', 'unix:///nonexistent.sock', 'build', shared]);
        assert.deepEqual([b.code, b.stdout, b.stderr], [d.code, d.stdout, noNotice(d.stderr)]);
        return b;
      };
      assert.equal((await same()).stderr, `error checking context: no permission to read from '${shared}/secret'\n`);
      rmSync(join(shared, 'secret'));
      mkdirSync(join(shared, 'closed'), { mode: 0o700 });
      assert.equal((await same()).stderr, `error checking context: can't stat '${shared}/closed'\n`);
    } finally {
      rmSync(shared, { recursive: true, force: true });
    }
  });

  it('sends the request docker sends: query, headers and the context tar, entry for entry', async () => {
    const fake = await standInDaemon(join(h.dir, 'fake.sock'));
    try {
      mkdirSync(join(h.dir, 'home', '.docker'), { recursive: true });
      writeFileSync(join(h.dir, 'home', '.docker', 'config.json'), JSON.stringify({ auths: { '127.0.0.1:5000': { auth: Buffer.from('user:pass').toString('base64') } } }));
      mkdirSync(join(proj, 'sub', 'empty'), { recursive: true });
      writeFileSync(join(proj, 'sub', 'setuid'), 'x', { mode: 0o4755 });
      writeFileSync(join(proj, '.dockerignore'), '# not matched yet: berth sends everything\n');
      execFileSync('mkfifo', [join(proj, 'fifo')]);
      const outsideFile = join(h.dir, 'elsewhere', 'Build.dockerfile');
      // the third field: docker prints the same "Sending build context" size (not when it gzips, nor
      // when it adds a Dockerfile: its tar is then cut short, no padding and no end blocks)
      const lines: [string[], RunOptions?, boolean?][] = [
        [['-t', 'x', '-t', 'y:2', '--build-arg', 'A=1', '--build-arg', 'FROM_ENV', '--build-arg', 'UNSET', '--label', 'l=v', '--label', 'bare', '--target', 't',
          '--no-cache', '--pull', '--rm=false', '--force-rm', '--network', 'none', '--shm-size', '64m', '-m', '64m', '--memory-swap', '-1', '--ulimit', 'nofile=10:20',
          '--add-host', 'h:1.2.3.4', '--cache-from', 'busybox,app:1', '--platform', 'linux/amd64', '--cpu-shares', '2', '--cpuset-cpus', '0', '--cgroup-parent', 'p',
          '--security-opt', 'seccomp=unconfined', proj], { env: { FROM_ENV: 'env value' } }],
        [['-q', '--isolation', 'default', proj]],
        [['-f', join(proj, 'app', 'name.txt'), proj]],
        [['-f', outsideFile, proj], {}, false],
        [['-f', '-', proj], { input: 'FROM scratch\n' }, false],
        [['-'], { input: 'FROM scratch\n' }],
        [['-f', 'sub/Dockerfile', '-'], { input: execFileSync('tar', ['-C', proj, '-cf', '-', '.']) }],
        [['--compress', proj], {}, false],
      ];
      for (const [args, opts = {}, sameSize = true] of lines) {
        const b = await run(process.execPath, [BERTH_BIN, '-H', `unix://${fake.socket}`, 'build', ...args], { ...opts, env: { ...h.env, ...opts.env } });
        const bReq = fake.last();
        const d = await run('docker', ['-H', `unix://${fake.socket}`, 'build', ...args], { ...opts, env: { ...dockerEnv(), ...opts.env } });
        const dReq = fake.last();
        assert.equal(b.code, 0, b.stderr);
        assert.equal(d.code, 0, d.stderr);
        const sent = await describeRequest(bReq);
        assert.deepEqual(sent, await describeRequest(dReq), args.join(' '));
        assert.ok(sent.entries.length > 0 && sent.query.includes('version=1'));
        if (sameSize) assert.equal(b.stdout, d.stdout, args.join(' '));
      }
    } finally {
      await fake.close();
      rmSync(join(proj, 'fifo'), { force: true });
      rmSync(join(h.dir, 'home', '.docker', 'config.json'), { force: true });
    }
  });
});

interface RecordedBuild {
  url: URL;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** A daemon that records each POST /build and answers with a short build stream. */
async function standInDaemon(socket: string): Promise<{ socket: string; last(): RecordedBuild; close(): Promise<void> }> {
  const builds: RecordedBuild[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      res.setHeader('Api-Version', '1.41');
      res.setHeader('Ostype', 'linux');
      if (req.url?.includes('/build')) {
        builds.push({ url: new URL(req.url, 'http://daemon'), headers: req.headers, body: Buffer.concat(chunks) });
        res.writeHead(200, { 'Content-Type': 'application/json' });
        const id = `sha256:${'1'.repeat(64)}`;
        const quiet = new URL(req.url, 'http://daemon').searchParams.get('q') === '1';
        const lines = quiet ? [{ stream: `${id}\n` }, { aux: { ID: id } }] : [{ stream: 'Step 1/1 : FROM scratch\n' }, { aux: { ID: id } }, { stream: 'Successfully built 111111111111\n' }];
        res.end(lines.map((l) => `${JSON.stringify(l)}\r\n`).join(''));
        return;
      }
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end('OK');
    });
  });
  await new Promise<void>((r) => server.listen(socket, r));
  return {
    socket,
    last: () => {
      const b = builds.at(-1);
      if (!b) throw new Error('no POST /build was received');
      return b;
    },
    close: () => new Promise((r) => server.close(() => r())),
  };
}

/** What must match: the query (random Dockerfile names evened out), headers, and each tar entry. */
async function describeRequest(req: RecordedBuild) {
  const random = /\.dockerfile\.[0-9a-f]{20}/g;
  const even = (text: string) => text.replace(random, '.dockerfile.RANDOM');
  const query = [...req.url.searchParams].map(([k, v]) => `${k}=${even(v)}`);
  const compressed = req.body[0] === 0x1f;
  const body = compressed ? gunzipSync(req.body) : req.body;
  const entries: (Omit<TarHeader, 'mtime'> & { mtime: number; content: string })[] = [];
  for await (const { header: h, body: data } of readTar((async function* () { yield body; })())) {
    const chunks: Buffer[] = [];
    for await (const c of data) chunks.push(c);
    const content = Buffer.concat(chunks).toString('latin1');
    // what docker adds to a context is stamped "now"
    const added = even(h.name) !== h.name || (h.name === '.dockerignore' && even(content) !== content);
    entries.push({ ...h, name: even(h.name), content: even(content), mtime: added ? 0 : h.mtime.getTime() });
  }
  // and so is the one-entry context a Dockerfile on stdin becomes
  if (entries.length === 1 && entries[0]!.name === 'Dockerfile') entries[0]!.mtime = 0;
  return {
    query, compressed, contentType: req.headers['content-type'],
    registryConfig: JSON.parse(Buffer.from(String(req.headers['x-registry-config']), 'base64url').toString()),
    entries,
  };
}
