// berth build without a daemon: the POST /build query for each flag (and docker's refusals), and
// the context: which entries the tar holds and with which headers, the exclusion hook, the
// Dockerfile added from outside the context or stdin, stdin sniffing, and docker's errors.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, linkSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { buildFlags, buildQuery, withProxyArgs } from '../../../src/cli/commands/build.js';
import { parseFlags } from '../../../src/cli/flags.js';
import { isArchiveStart, readTar, type TarHeader } from '../../../src/cli/archive.js';
import { addDockerfile, keepingBuildFiles, NO_EXCLUSIONS, packContext, prepareContext, remoteContextKind, type ContextFilter } from '../../../src/cli/build-context.js';

/** The query for a command line, with only the parameters that are sent. */
const query = (argv: string[], env: NodeJS.ProcessEnv = {}) =>
  Object.fromEntries(Object.entries(buildQuery(parseFlags(argv, buildFlags).flags, env)).filter(([, v]) => v !== undefined)) as ReturnType<typeof buildQuery>;

async function* nothing(): AsyncGenerator<Buffer> {}

async function* bytes(...chunks: Buffer[]): AsyncGenerator<Buffer> {
  for (const c of chunks) yield c;
}

async function concat(source: AsyncIterable<Buffer> | Iterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of source) parts.push(c);
  return Buffer.concat(parts);
}

interface Entry extends Omit<TarHeader, 'mtime' | 'devmajor' | 'devminor'> {
  mtime: number;
  content?: string;
}

/** The entries of a tar, with each file's content. */
async function entries(source: AsyncIterable<Buffer> | Iterable<Buffer>): Promise<Entry[]> {
  const out: Entry[] = [];
  for await (const { header: h, body } of readTar(bytes(await concat(source)))) {
    const content = (await concat(body)).toString();
    out.push({ name: h.name, type: h.type, mode: h.mode, uid: h.uid, gid: h.gid, size: h.size, mtime: h.mtime.getTime() / 1000, linkname: h.linkname, ...(h.type === 'file' ? { content } : {}) });
  }
  return out;
}

describe('berth build: the query', () => {
  it('sends what the docker CLI sends for each flag', () => {
    assert.deepEqual(query([]), { version: '1' });
    const q = query([
      '-t', 'app', '--tag=reg.local:5000/app:v1', '--build-arg', 'A=1', '--build-arg', 'FROM_ENV', '--build-arg', 'UNSET', '--build-arg', 'EMPTY=',
      '--label', 'b=2', '--label', 'a', '--target', 'final', '--no-cache', '--pull', '-q', '--rm=false', '--force-rm', '--network', 'host',
      '--platform', 'linux/amd64', '--shm-size', '64m', '-m', '1g', '--memory-swap', '-1', '-c', '512', '--cpu-period', '100000', '--cpu-quota', '50000',
      '--cpuset-cpus', '0-1', '--cpuset-mems', '0', '--cgroup-parent', 'build.slice', '--ulimit', 'nofile=1024:2048', '--add-host', 'db=10.0.0.1',
      '--add-host', 'web:10.0.0.2', '--cache-from', 'a,b', '--cache-from', 'c', '--security-opt', 'seccomp=unconfined', '--squash', '--isolation', 'default',
      '--progress', 'plain', '--compress', '--iidfile', '/tmp/x',
    ], { FROM_ENV: 'from the environment' });
    assert.deepEqual(q, {
      t: ['app', 'reg.local:5000/app:v1'],
      securityopt: ['seccomp=unconfined'],
      extrahosts: ['db:10.0.0.1', 'web:10.0.0.2'],
      q: true,
      nocache: true,
      rm: '0',
      forcerm: true,
      pull: true,
      squash: true,
      cpusetcpus: '0-1',
      networkmode: 'host',
      cpusetmems: '0',
      cpushares: 512,
      cpuquota: 50000,
      cpuperiod: 100000,
      memory: 1024 ** 3,
      memswap: -1,
      cgroupparent: 'build.slice',
      shmsize: 64 * 1024 ** 2,
      target: 'final',
      ulimits: '[{"Name":"nofile","Hard":2048,"Soft":1024}]',
      // bare names take the environment's value, or null (the Dockerfile's default) when unset
      buildargs: '{"A":"1","EMPTY":"","FROM_ENV":"from the environment","UNSET":null}',
      labels: '{"a":"","b":"2"}',
      cachefrom: '["a","b","c"]',
      platform: 'linux/amd64',
      version: '1',
    });
    // the defaults are not sent: rm, network "default"; DOCKER_DEFAULT_PLATFORM is --platform's default
    const d = query(['--rm', '--network', 'default'], { DOCKER_DEFAULT_PLATFORM: 'linux/arm64' });
    assert.deepEqual([d.rm, d.networkmode, d.platform], [undefined, undefined, 'linux/arm64']);
  });

  it("refuses what docker's flag validators refuse, in their words (exit 125)", () => {
    const refused = (argv: string[], message: string) => assert.throws(() => query(argv), (e: Error) => e.name === 'UsageError' && e.message === message);
    refused(['-t', 'UPPER'], 'invalid argument "UPPER" for "-t, --tag" flag: invalid reference format: repository name (library/UPPER) must be lowercase');
    refused(['--build-arg', '=x'], 'invalid argument "=x" for "--build-arg" flag: invalid environment variable: =x');
    refused(['--label', '=x'], 'invalid argument "=x" for "--label" flag: invalid label \'=x\': empty name');
    refused(['--label', 'a b=1'], 'invalid argument "a b=1" for "--label" flag: label \'a b\' contains whitespaces');
    refused(['-m', 'lots'], 'invalid argument "lots" for "-m, --memory" flag: invalid size: \'lots\'');
    refused(['--progress', 'fancy'], 'invalid argument "fancy" for "--progress" flag: use "auto", "plain" or "tty"');
  });

  it('takes proxies from the config file as build args, unless --build-arg set them', () => {
    const q = query(['--build-arg', 'HTTP_PROXY=mine']);
    const proxies = { default: { httpProxy: 'http://proxy:3128', noProxy: 'localhost' }, 'unix:///other.sock': { httpProxy: 'http://other' } };
    assert.equal(withProxyArgs(q, proxies, 'unix:///run/berth/berth.sock').buildargs,
      '{"HTTP_PROXY":"mine","NO_PROXY":"localhost","http_proxy":"http://proxy:3128","no_proxy":"localhost"}');
    assert.equal(withProxyArgs(query([]), proxies, 'unix:///other.sock').buildargs, '{"HTTP_PROXY":"http://other","http_proxy":"http://other"}');
    assert.equal(withProxyArgs(q, undefined, 'x'), q);
  });
});

describe('berth build: the context', () => {
  let dir: string;
  let ctx: string;
  let server: net.Server;
  const T = 1_600_000_000;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'berth-build-unit-'));
    ctx = join(dir, 'ctx');
    mkdirSync(join(ctx, 'sub', 'empty'), { recursive: true });
    mkdirSync(join(ctx, 'bin'));
    writeFileSync(join(ctx, 'Dockerfile'), 'FROM busybox\nCOPY . /app\n');
    writeFileSync(join(ctx, 'a.txt'), 'alpha\n');
    chmodSync(join(ctx, 'a.txt'), 0o640);
    writeFileSync(join(ctx, 'bin', 'tool'), '#!/bin/sh\n');
    chmodSync(join(ctx, 'bin', 'tool'), 0o4755);
    writeFileSync(join(ctx, 'sub', 'keep'), 'k');
    writeFileSync(join(ctx, 'sub', 'drop'), 'd');
    symlinkSync('a.txt', join(ctx, 'link'));
    symlinkSync('/nonexistent/target', join(ctx, 'dangling'));
    linkSync(join(ctx, 'a.txt'), join(ctx, 'b-hard.txt'));
    execFileSync('mkfifo', [join(ctx, 'fifo')]);
    const long = join(ctx, 'd'.repeat(60), 'e'.repeat(60));
    mkdirSync(long, { recursive: true });
    writeFileSync(join(long, 'file'), 'deep');
    // a socket is not archived (docker's tar writer refuses them)
    server = net.createServer();
    await new Promise<void>((r) => server.listen(join(ctx, 'sock'), r));
    for (const p of ['Dockerfile', 'a.txt', 'bin/tool', 'bin', 'sub/keep', 'sub/drop', 'sub/empty', 'sub', 'fifo', `${'d'.repeat(60)}/${'e'.repeat(60)}/file`, `${'d'.repeat(60)}/${'e'.repeat(60)}`, 'd'.repeat(60)]) {
      utimesSync(join(ctx, p), T + 0.75, T + 0.75);
    }
    execFileSync('touch', ['-h', '-d', `@${T}`, join(ctx, 'link'), join(ctx, 'dangling')]);
  });
  after(() => {
    server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const file = (name: string, mode: number, content: string, mtime = T): Entry => ({ name, type: 'file', mode, uid: 0, gid: 0, size: content.length, mtime, linkname: '', content });
  const dirEntry = (name: string, mode = 0o755): Entry => ({ name: `${name}/`, type: 'dir', mode, uid: 0, gid: 0, size: 0, mtime: T, linkname: '' });
  const d60 = 'd'.repeat(60);
  const e60 = `${d60}/${'e'.repeat(60)}`;

  it('a directory: its entries in byte order, uid/gid 0, mode and mtime (seconds) kept, links as links, no sockets', async () => {
    const got = await entries(packContext(ctx, NO_EXCLUSIONS));
    const linkTime = got.find((e) => e.name === 'link')!.mtime;
    assert.deepEqual(got, [
      file('Dockerfile', 0o644, 'FROM busybox\nCOPY . /app\n'),
      file('a.txt', 0o640, 'alpha\n'),
      { name: 'b-hard.txt', type: 'link', mode: 0o640, uid: 0, gid: 0, size: 0, mtime: T, linkname: 'a.txt' },
      dirEntry('bin'),
      file('bin/tool', 0o4755, '#!/bin/sh\n'),
      { name: 'dangling', type: 'symlink', mode: 0o777, uid: 0, gid: 0, size: 0, mtime: linkTime, linkname: '/nonexistent/target' },
      dirEntry(d60),
      dirEntry(e60),
      file(`${e60}/file`, 0o644, 'deep'),
      { name: 'fifo', type: 'fifo', mode: 0o644, uid: 0, gid: 0, size: 0, mtime: T, linkname: '' },
      { name: 'link', type: 'symlink', mode: 0o777, uid: 0, gid: 0, size: 0, mtime: linkTime, linkname: 'a.txt' },
      dirEntry('sub'),
      file('sub/drop', 0o644, 'd'),
      dirEntry('sub/empty'),
      file('sub/keep', 0o644, 'k'),
    ]);
    assert.equal(linkTime, T);
    // a name over 100 bytes is split into ustar's prefix and name fields, as Go writes it: no pax header
    const raw = await concat(packContext(ctx, NO_EXCLUSIONS));
    const headers: string[] = [];
    for (let off = 0; off + 512 <= raw.length; off += 512) if (raw.subarray(off + 257, off + 263).toString() === 'ustar\0') headers.push(String.fromCharCode(raw[off + 156]!));
    assert.ok(!headers.includes('x'));
    assert.ok(raw.subarray(raw.length - 1024).every((b) => b === 0), 'ends with two zero blocks');
    assert.ok(raw.length % 512 === 0);
  });

  it('the exclusion hook: excluded paths stay out, an excluded directory is walked for exceptions, the build files always go', async () => {
    const seen: [string, boolean][] = [];
    // what a .dockerignore of "sub", "!sub/keep", "*.txt", "Dockerfile", ".dockerignore" would say
    const filter: ContextFilter = {
      isExcluded: (p, isDir) => {
        seen.push([p, isDir]);
        return p === 'sub' || (p.startsWith('sub/') && p !== 'sub/keep') || p.endsWith('.txt') || p === 'Dockerfile' || p === '.dockerignore' || p === 'bin';
      },
      walkExcludedDir: (d) => d === 'sub',
    };
    writeFileSync(join(ctx, '.dockerignore'), 'sub\n!sub/keep\n*.txt\n');
    try {
      const names = (await entries(packContext(ctx, keepingBuildFiles(filter, ['.dockerignore', 'Dockerfile'])))).map((e) => e.name);
      assert.deepEqual(names, ['.dockerignore', 'Dockerfile', 'dangling', `${d60}/`, `${e60}/`, `${e60}/file`, 'fifo', 'link', 'sub/keep']);
      // the hook is asked with paths relative to the context and whether each is a directory;
      // nothing under an excluded directory that is not walked ("bin") is asked about
      assert.ok(seen.some(([p, isDir]) => p === 'sub' && isDir) && seen.some(([p, isDir]) => p === 'sub/keep' && !isDir));
      assert.ok(!seen.some(([p]) => p.startsWith('bin/')));
      assert.ok(!seen.some(([p]) => p === 'Dockerfile' || p === '.dockerignore'), 'the build files are kept without asking');
      // a Dockerfile inside an excluded directory is kept too: the directory is walked for it
      const sub = (await entries(packContext(ctx, keepingBuildFiles(filter, ['.dockerignore', 'sub/drop'])))).map((e) => e.name);
      assert.ok(sub.includes('sub/drop') && sub.includes('sub/keep') && !sub.includes('sub/') && !sub.includes('Dockerfile'));
    } finally {
      rmSync(join(ctx, '.dockerignore'));
    }
  });

  it('a Dockerfile from outside the context, or from stdin, is added under a random name .dockerignore lists', async () => {
    const outside = join(dir, 'Dockerfile.outside');
    writeFileSync(outside, 'FROM busybox\nLABEL from=outside\n');
    const before = Math.floor(Date.now() / 1000);
    const c = await prepareContext({ context: ctx, dockerfile: outside, stdin: nothing() });
    assert.match(c.dockerfile!, /^\.dockerfile\.[0-9a-f]{20}$/);
    const got = await entries(c.tar);
    const added = got.slice(-2);
    assert.deepEqual(got.slice(0, -2).map((e) => e.name), (await entries(packContext(ctx, NO_EXCLUSIONS))).map((e) => e.name), 'the context unchanged before them');
    const ignore = `.dockerignore\n${c.dockerfile}\n`;
    assert.deepEqual(added.map(({ mtime, ...e }) => e), [
      { name: c.dockerfile, type: 'file', mode: 0o600, uid: 0, gid: 0, size: 32, linkname: '', content: 'FROM busybox\nLABEL from=outside\n' },
      { name: '.dockerignore', type: 'file', mode: 0o600, uid: 0, gid: 0, size: ignore.length, linkname: '', content: ignore },
    ]);
    assert.ok(added.every((e) => e.mtime >= before && e.mtime <= Date.now() / 1000));

    // an existing .dockerignore keeps its header and gets the name appended; -f - reads stdin
    writeFileSync(join(ctx, '.dockerignore'), '*.log');
    utimesSync(join(ctx, '.dockerignore'), T, T);
    try {
      const s = await prepareContext({ context: ctx, dockerfile: '-', stdin: bytes(Buffer.from('FROM scratch\n')) });
      const all = await entries(s.tar);
      assert.deepEqual(all.find((e) => e.name === '.dockerignore'), file('.dockerignore', 0o644, `*.log\n${s.dockerfile}\n`));
      assert.equal(all.at(-1)!.name, s.dockerfile);
      assert.equal(all.at(-1)!.content, 'FROM scratch\n');
      assert.equal(all.filter((e) => e.name === '.dockerignore').length, 1);
    } finally {
      rmSync(join(ctx, '.dockerignore'));
    }
    // the same for a tar from elsewhere, given a fixed name
    const fixed = addDockerfile(packContext(join(ctx, 'bin'), NO_EXCLUSIONS), Buffer.from('x'), { name: '.dockerfile.0123456789abcdef0123', now: new Date(T * 1000) });
    assert.deepEqual((await entries(fixed.tar)).map((e) => [e.name, e.content]), [['tool', '#!/bin/sh\n'], ['.dockerfile.0123456789abcdef0123', 'x'], ['.dockerignore', '.dockerignore\n.dockerfile.0123456789abcdef0123\n']]);
  });

  it('-f inside the context names it relative to the context; "dockerfile" is found when "Dockerfile" is not', async () => {
    mkdirSync(join(dir, 'lower'));
    writeFileSync(join(dir, 'lower', 'dockerfile'), 'FROM scratch\n');
    assert.equal((await prepareContext({ context: join(dir, 'lower'), stdin: nothing() })).dockerfile, 'dockerfile');
    const sub = await prepareContext({ context: ctx, dockerfile: join(ctx, 'sub', 'keep'), stdin: nothing() });
    assert.equal(sub.dockerfile, 'sub/keep');
    assert.equal((await entries(sub.tar)).length, 15);
  });

  it('stdin: an archive passes byte for byte, anything else is a Dockerfile wrapped in a tar', async () => {
    const tar = await concat(packContext(join(ctx, 'sub'), NO_EXCLUSIONS));
    const viaStdin = await prepareContext({ context: '-', stdin: bytes(tar.subarray(0, 100), tar.subarray(100)) });
    assert.deepEqual([await concat(viaStdin.tar), viaStdin.dockerfile], [tar, undefined]);
    const named = await prepareContext({ context: '-', dockerfile: 'sub/Dockerfile.dev', stdin: bytes(tar) });
    assert.equal(named.dockerfile, 'sub/Dockerfile.dev');
    assert.ok(isArchiveStart(gzipSync(tar)) && isArchiveStart(tar) && !isArchiveStart(Buffer.from('FROM busybox\n')) && !isArchiveStart(Buffer.alloc(1024)));

    const wrapped = await prepareContext({ context: '-', stdin: bytes(Buffer.from('FROM busybox\n'), Buffer.from('CMD ["true"]\n')) });
    assert.equal(wrapped.dockerfile, 'Dockerfile');
    const [only, ...rest] = await entries(wrapped.tar);
    assert.deepEqual(rest, []);
    assert.deepEqual({ ...only!, mtime: 0 }, { ...file('Dockerfile', 0o644, 'FROM busybox\nCMD ["true"]\n', 0), uid: process.getuid!(), gid: process.getgid!() });
    // empty stdin is an empty Dockerfile (the daemon says so)
    assert.deepEqual((await entries((await prepareContext({ context: '-', stdin: nothing() })).tar)).map((e) => e.size), [0]);
  });

  it("docker's errors: no Dockerfile, no context, remote contexts, stdin twice, a Dockerfile twice", async () => {
    const fails = (opts: Parameters<typeof prepareContext>[0], message: string) => assert.rejects(prepareContext(opts), (e: Error) => e.message === message);
    mkdirSync(join(dir, 'empty'));
    await fails({ context: join(dir, 'empty'), stdin: nothing() }, `unable to prepare context: unable to evaluate symlinks in Dockerfile path: lstat ${join(dir, 'empty', 'Dockerfile')}: no such file or directory`);
    await fails({ context: ctx, dockerfile: join(dir, 'nodir', 'Dockerfile'), stdin: nothing() }, `unable to prepare context: unable to evaluate symlinks in Dockerfile path: lstat ${join(dir, 'nodir')}: no such file or directory`);
    await fails({ context: join(dir, 'nothere'), stdin: nothing() }, `unable to prepare context: path "${join(dir, 'nothere')}" not found`);
    await fails({ context: join(ctx, 'a.txt'), stdin: nothing() }, `unable to prepare context: context must be a directory: ${join(ctx, 'a.txt')}`);
    await fails({ context: '-', dockerfile: '-', stdin: nothing() }, "invalid argument: can't use stdin for both build context and dockerfile");
    await fails({ context: '-', dockerfile: 'Dockerfile', stdin: bytes(Buffer.from('FROM x\n')) }, 'unable to prepare context: ambiguous Dockerfile source: both stdin and flag correspond to Dockerfiles');
    await assert.rejects(prepareContext({ context: 'https://example.com/repo.git#main', stdin: nothing() }), /^BerthError: unable to prepare context: https:\/\/example.com\/repo.git#main is a git repository, and berth does not fetch remote build contexts/);
    await assert.rejects(prepareContext({ context: 'http://example.com/context.tar', stdin: nothing() }), /is a remote URL, and berth does not fetch remote build contexts: download it/);
    assert.deepEqual(['git@github.com:a/b', 'github.com/a/b', 'git://h/r', 'https://h/r.git', 'https://h/c.tar.gz', 'dir', './x.git'].map(remoteContextKind), ['git', 'git', 'git', 'git', 'url', undefined, undefined]);
  });
});
