// hosts.toml through the Engine API: the real docker CLI against a test berthd started with
// --certs-dir, whose registry.k8s.io/hosts.toml names Debian's docker-registry (in the daemon's
// network namespace, where nothing else is reachable) as the mirror. `docker pull` and a build's
// FROM get registry.k8s.io/pause:3.9 from it; a bad file fails the pull with the file and the key
// while the daemon keeps serving, and a mended file is read without a restart.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBerthd, type TestBerthd } from '../../helpers/berthd.js';
import { makeBusyboxRootfs } from '../../helpers/busybox.js';
import { startRegistry, type TestRegistry } from '../../helpers/registry.js';
import { cleanupDir } from '../../helpers/runtime.js';

describe('hosts.toml through the Engine API (docker CLI → berthd)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-hosts-engine-'));
  const certsDir = join(dir, 'certs.d');
  const hostsToml = join(certsDir, 'registry.k8s.io', 'hosts.toml');
  let d: TestBerthd | undefined;
  let mirror: TestRegistry | undefined;

  const ok = async (...args: string[]) => {
    const r = await d!.docker(args, { timeoutMs: 120_000 });
    assert.equal(r.code, 0, `docker ${args.join(' ')}: ${r.stderr}`);
    return r.stdout.trim();
  };

  before(async () => {
    // The classic builder, which berthd serves (as the build tests do).
    process.env.DOCKER_BUILDKIT = '0';
    mkdirSync(join(certsDir, 'registry.k8s.io'), { recursive: true });
    d = await startBerthd({ extraArgs: ['--certs-dir', certsDir] });
    mirror = await startRegistry({ netns: join(d.dir, 'host.netns') });
    // The mirror gets its image through the daemon: import a busybox root filesystem, push it.
    makeBusyboxRootfs(join(dir, 'rootfs'));
    execFileSync('tar', ['-C', join(dir, 'rootfs'), '-cf', join(dir, 'rootfs.tar'), '.']);
    const onMirror = `${mirror.host}/pause:3.9`;
    await ok('import', '--change', 'CMD ["sh"]', join(dir, 'rootfs.tar'), onMirror);
    await ok('push', onMirror);
    await ok('rmi', onMirror);
  });
  after(async () => {
    await d?.stop();
    await mirror?.stop();
    cleanupDir(dir);
  });

  it('a bad hosts.toml fails docker pull with the file and the key; the daemon keeps serving', async () => {
    writeFileSync(hostsToml, `[host."${mirror!.url}"]\n  capabilities = ["pull", "resolv"]\n`);
    const r = await d!.docker(['pull', 'registry.k8s.io/pause:3.9']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, new RegExp(`${hostsToml}: "capabilities" in \\[host\\."${mirror!.url}"\\]: unknown capability "resolv"`));
    assert.match(await ok('version', '--format', '{{.Server.Version}}'), /\d+\.\d+/, 'the daemon still answers');
  });

  it('docker pull registry.k8s.io/pause:3.9 comes from the mirror (the file read again, no restart), and runs', async () => {
    writeFileSync(hostsToml, `[host."${mirror!.url}"]\n  capabilities = ["pull", "resolve"]\n`);
    const out = await ok('pull', 'registry.k8s.io/pause:3.9');
    assert.match(out, /Digest: sha256:[0-9a-f]{64}/);
    assert.match(out, /registry\.k8s\.io\/pause:3\.9/);
    assert.equal(await ok('images', '--format', '{{.Repository}}:{{.Tag}}', 'registry.k8s.io/pause'), 'registry.k8s.io/pause:3.9');
    assert.equal(await ok('run', '--rm', '--network', 'none', 'registry.k8s.io/pause:3.9', 'sh', '-c', 'echo through the mirror'), 'through the mirror');
  });

  it("a build's FROM pulls through the mirror too", async () => {
    await ok('rmi', 'registry.k8s.io/pause:3.9');
    const project = join(dir, 'project');
    mkdirSync(project);
    writeFileSync(join(project, 'Dockerfile'), 'FROM registry.k8s.io/pause:3.9\nRUN echo built > /built\n');
    const r = await d!.docker(['build', '-t', 'on-pause:1', project], { timeoutMs: 120_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await ok('run', '--rm', '--network', 'none', 'on-pause:1', 'cat', '/built'), 'built');
  });
});
