// The CRI's other calls against a test berthd: streaming exec, attach and port-forward through the
// URLs the calls return (spoken as client-go speaks them), a host port through CNI's portmap,
// log reopening, resource updates, the image service, and a pull through a hosts.toml mirror.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { startBerthd, supervisorSocket, type TestBerthd } from '../../helpers/berthd.js';
import { containerConfig, criClient, importBusybox, podConfig, removeAllPods, writeCniConfig, type CriClient } from '../../helpers/cri.js';
import { startRegistry, type TestRegistry } from '../../helpers/registry.js';
import { waitFor } from '../../helpers/runtime.js';
import type { RemoteCommandOptions, RemoteCommandResult } from '../../helpers/spdy-client.js';

const isRoot = process.getuid?.() === 0;
const SPDY_CLI = fileURLToPath(new URL('../../helpers/spdy-cli.js', import.meta.url));

describe('CRI: streaming, ports, logs, resources, images', { skip: !isRoot && 'needs root' }, () => {
  let d: TestBerthd;
  let cri: CriClient;
  let registry: TestRegistry | undefined;
  let pod: string;
  let web: string;
  let logDir: string;
  let certsDir: string;

  before(async () => {
    // The daemon's certs dir: the mirror test writes a hosts.toml into it.
    certsDir = mkdtempSync(join(tmpdir(), 'berth-cri-certs-'));
    d = await startBerthd({ extraArgs: ['--certs-dir', certsDir] });
    writeCniConfig(d, { bridge: 'cri-t1', subnet: '10.231.8.0/24' });
    await importBusybox(d);
    cri = criClient(supervisorSocket(d));
    logDir = join(d.dir, 'pod-logs');
    const config = podConfig('feat', logDir, { port_mappings: [{ protocol: 'TCP', container_port: 8080, host_port: 18081 }] });
    pod = (await cri.runtime('RunPodSandbox', { config })).pod_sandbox_id;
    const c = containerConfig('web', ['sh', '-c', 'mkdir -p /www && echo hello-from-pod > /www/index.html && exec httpd -f -p 8080 -h /www'], { stdin: true });
    web = (await cri.runtime('CreateContainer', { pod_sandbox_id: pod, config: c, sandbox_config: config })).container_id;
    await cri.runtime('StartContainer', { container_id: web });
  });
  // The streaming server listens on the daemon's 127.0.0.1: the client runs in its namespace.
  const inDaemon = async (args: string[]) => {
    const r = await d.inHostNetns([process.execPath, SPDY_CLI, ...args]);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout);
  };
  const remoteCommand = (url: string, o: Omit<RemoteCommandOptions, 'onStreams'>): Promise<RemoteCommandResult> => inDaemon(['exec', url, JSON.stringify(o)]);

  after(async () => {
    try {
      if (cri) await removeAllPods(cri); // its pod, and whatever a failed test left
    } finally {
      cri?.close();
      await registry?.stop();
      await d?.stop();
      rmSync(certsDir, { recursive: true, force: true });
    }
  });

  it('runs Exec through its URL: output, stderr, exit code, a terminal', async () => {
    const plain = (await cri.runtime('Exec', { container_id: web, cmd: ['sh', '-c', 'echo out; echo err >&2; exit 3'], stdout: true, stderr: true })).url as string;
    assert.match(plain, /^http:\/\/127\.0\.0\.1:\d+\/exec\//);
    const r = await remoteCommand(plain, {});
    assert.equal(r.stdout, 'out\n');
    assert.equal(r.stderr, 'err\n');
    const status = JSON.parse(r.error) as { status: string; reason: string; details: { causes: Array<{ reason: string; message: string }> } };
    assert.equal(status.reason, 'NonZeroExitCode');
    assert.deepEqual(status.details.causes.find((c) => c.reason === 'ExitCode')?.message, '3');

    const tty = (await cri.runtime('Exec', { container_id: web, cmd: ['sh', '-c', 'read line; echo got $line; tty'], tty: true, stdin: true, stdout: true })).url as string;
    const t = await remoteCommand(tty, { tty: true, stdin: 'abc\n', resize: [{ Width: 100, Height: 30 }] });
    assert.match(t.stdout, /got abc\r\n\/dev\/pts\/\d+\r\n/);
    assert.equal(JSON.parse(t.error).status, 'Success');
  });

  it('attaches to the container and port-forwards into the pod', async () => {
    // cat with stdin_once: what the attached client sends comes back, and closing stdin ends it.
    const config = containerConfig('echoer', ['cat'], { stdin: true, stdin_once: true });
    const { container_id: echoer } = await cri.runtime('CreateContainer', { pod_sandbox_id: pod, config, sandbox_config: podConfig('feat', logDir) });
    await cri.runtime('StartContainer', { container_id: echoer });
    const attach = (await cri.runtime('Attach', { container_id: echoer, stdin: true, stdout: true, stderr: true })).url as string;
    const a = await remoteCommand(attach, { stdin: 'attached hello\n' });
    assert.equal(a.stdout, 'attached hello\n');
    await waitFor(async () => (await cri.runtime('ContainerStatus', { container_id: echoer })).status.state === 'CONTAINER_EXITED', 5000);
    await cri.runtime('RemoveContainer', { container_id: echoer });
    const pf = (await cri.runtime('PortForward', { pod_sandbox_id: pod, port: [8080] })).url as string;
    const { reply, error } = await inDaemon(['forward', pf, '8080', 'GET /index.html HTTP/1.0\r\n\r\n']) as { reply: string; error: string };
    assert.match(reply, /hello-from-pod/);
    assert.equal(error, '');
  });

  it('publishes the pod\'s host port through CNI portmap', async () => {
    const gw = '10.231.8.1';
    const r = await d.inHostNetns(['busybox', 'wget', '-q', '-O', '-', `http://${gw}:18081/index.html`]);
    assert.equal(r.stdout, 'hello-from-pod\n', r.stderr);
  });

  it('reopens the log after the kubelet renamed it, and updates resources', async () => {
    const config = containerConfig('ticker', ['sh', '-c', 'i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.1; done']);
    const { container_id: id } = await cri.runtime('CreateContainer', { pod_sandbox_id: pod, config, sandbox_config: podConfig('feat', logDir) });
    await cri.runtime('StartContainer', { container_id: id });
    const log = join(logDir, 'ticker.log');
    await waitFor(() => existsSync(log) && readFileSync(log, 'utf8').includes('tick 2'), 5000);
    renameSync(log, `${log}.1`);
    await cri.runtime('ReopenContainerLog', { container_id: id });
    const frozen = readFileSync(`${log}.1`, 'utf8');
    await waitFor(() => existsSync(log) && readFileSync(log, 'utf8').split('\n').length > 3, 5000);
    assert.equal(readFileSync(`${log}.1`, 'utf8'), frozen);
    assert.match(readFileSync(log, 'utf8'), /^\S+ stdout F tick \d+$/m);

    await cri.runtime('UpdateContainerResources', { container_id: id, linux: { memory_limit_in_bytes: 64 << 20, cpu_shares: 512 } });
    const limit = await cri.runtime('ExecSync', { container_id: id, cmd: ['cat', '/sys/fs/cgroup/memory/memory.limit_in_bytes'], timeout: 10 });
    assert.equal(limit.stdout.toString().trim(), String(64 << 20));
    const status = (await cri.runtime('ContainerStatus', { container_id: id })).status;
    assert.equal(Number(status.resources.linux.memory_limit_in_bytes), 64 << 20);
    assert.equal(Number(status.resources.linux.cpu_shares), 512);
    await cri.runtime('StopContainer', { container_id: id, timeout: 0 });
    await cri.runtime('RemoveContainer', { container_id: id });
  });

  it('lists, inspects and removes images; reports the image filesystem', async () => {
    const images = (await cri.image('ListImages', {})).images as Array<{ id: string; repo_tags: string[]; pinned: boolean }>;
    const busybox = images.find((i) => i.repo_tags.includes('docker.io/library/busybox:latest'));
    assert.ok(busybox, JSON.stringify(images));
    assert.ok(images.some((i) => i.repo_tags.includes('berth.local/pause:builtin') && i.pinned), 'the built-in sandbox image is there, pinned');
    const byId = (await cri.image('ImageStatus', { image: { image: busybox.id } })).image;
    const byName = (await cri.image('ImageStatus', { image: { image: 'busybox' } })).image;
    assert.deepEqual(byId, byName);
    assert.equal((await cri.image('ImageStatus', { image: { image: 'nothing-here:1' } })).image, null);
    const fs = (await cri.image('ImageFsInfo', {})).image_filesystems[0];
    assert.ok(Number(fs.used_bytes.value) > 0);
    assert.match(fs.fs_id.mountpoint, /snapshots/);
  });

  it('pulls through a mirror named in hosts.toml, with the registry itself unreachable', async () => {
    registry = await startRegistry({ netns: join(d.dir, 'host.netns') });
    const pushed = await d.docker(['tag', 'busybox:latest', `${registry.host}/library/busybox:mirror`]);
    assert.equal(pushed.code, 0, pushed.stderr);
    const push = await d.docker(['push', `${registry.host}/library/busybox:mirror`], { timeoutMs: 60_000 });
    assert.equal(push.code, 0, push.stderr);
    mkdirSync(join(certsDir, 'registry.k8s.io'), { recursive: true });
    writeFileSync(join(certsDir, 'registry.k8s.io', 'hosts.toml'), `server = "https://registry.k8s.io"\n\n[host."http://${registry.host}"]\n  capabilities = ["pull", "resolve"]\n`);
    const ref = (await cri.image('PullImage', { image: { image: 'registry.k8s.io/library/busybox:mirror' } })).image_ref as string;
    assert.match(ref, /^sha256:[0-9a-f]{64}$/);
    const st = (await cri.image('ImageStatus', { image: { image: 'registry.k8s.io/library/busybox:mirror' } })).image;
    assert.equal(st.id, ref);
    await cri.image('RemoveImage', { image: { image: ref } });
    assert.equal((await cri.image('ImageStatus', { image: { image: 'registry.k8s.io/library/busybox:mirror' } })).image, null);
  });
});
