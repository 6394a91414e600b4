// The CRI end to end against a test berthd: a pod with CNI networking (bridge, host-local,
// portmap), a container in it with its log in the kubelet's format, exec-sync, stats, stop and
// removal leaving nothing behind; the pod's objects visible to ctr in k8s.io and not to docker.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { status } from '@grpc/grpc-js';
import { startBerthd, supervisorSocket, type TestBerthd } from '../../helpers/berthd.js';
import { containerConfig, criClient, importBusybox, podConfig, removeAllPods, writeCniConfig, type CriClient } from '../../helpers/cri.js';
import { runCommand, waitFor } from '../../helpers/runtime.js';

const isRoot = process.getuid?.() === 0;
const SUBNET = '10.231.7.0/24';

describe('CRI: pods and containers', { skip: !isRoot && 'needs root' }, () => {
  let d: TestBerthd;
  let cri: CriClient;
  let logDir: string;

  before(async () => {
    d = await startBerthd();
    writeCniConfig(d, { bridge: 'cri-t0', subnet: SUBNET });
    await importBusybox(d);
    cri = criClient(supervisorSocket(d));
    logDir = join(d.dir, 'pod-logs');
  });
  after(async () => {
    // Whatever a failed test left running goes through the CRI first.
    try {
      if (cri) await removeAllPods(cri);
    } finally {
      cri?.close();
      await d?.stop();
    }
  });

  it('answers Version and Status with the network ready', async () => {
    const v = await cri.runtime('Version', { version: 'v1' });
    assert.equal(v.runtime_name, 'berth');
    assert.equal(v.runtime_api_version, 'v1');
    const s = await cri.runtime('Status', {});
    const conditions = Object.fromEntries((s.status.conditions as Array<{ type: string; status: boolean }>).map((c) => [c.type, c.status]));
    assert.deepEqual(conditions, { RuntimeReady: true, NetworkReady: true });
  });

  it('runs a pod and a container, with logs, exec, stats, stop and removal', async () => {
    const { pod_sandbox_id: pod } = await cri.runtime('RunPodSandbox', { config: podConfig('web', logDir) });
    const st = (await cri.runtime('PodSandboxStatus', { pod_sandbox_id: pod })).status;
    assert.equal(st.state, 'SANDBOX_READY');
    assert.match(st.network.ip, /^10\.231\.7\.\d+$/);

    const config = containerConfig('app', ['sh', '-c', 'echo hello; echo oops >&2; exec sleep 1000']);
    const { container_id: id } = await cri.runtime('CreateContainer', { pod_sandbox_id: pod, config, sandbox_config: podConfig('web', logDir) });
    assert.equal((await cri.runtime('ContainerStatus', { container_id: id })).status.state, 'CONTAINER_CREATED');
    await cri.runtime('StartContainer', { container_id: id });
    const cs = (await cri.runtime('ContainerStatus', { container_id: id })).status;
    assert.equal(cs.state, 'CONTAINER_RUNNING');
    assert.equal(cs.log_path, join(logDir, 'app.log'));

    await waitFor(() => existsSync(cs.log_path) && readFileSync(cs.log_path, 'utf8').split('\n').length >= 3, 5000);
    const lines = readFileSync(cs.log_path, 'utf8').trim().split('\n').sort((a, b) => a.split(' ')[1]!.localeCompare(b.split(' ')[1]!));
    assert.match(lines[0]!, /^\d{4}-\d\d-\d\dT[\d:.]+Z stderr F oops$/);
    assert.match(lines[1]!, /^\d{4}-\d\d-\d\dT[\d:.]+Z stdout F hello$/);

    const hostname = await cri.runtime('ExecSync', { container_id: id, cmd: ['cat', '/etc/hostname'], timeout: 10 });
    assert.equal(hostname.stdout.toString(), 'web\n');
    const failing = await cri.runtime('ExecSync', { container_id: id, cmd: ['sh', '-c', 'echo out; echo err >&2; exit 3'], timeout: 10 });
    assert.deepEqual([failing.stdout.toString(), failing.stderr.toString(), failing.exit_code], ['out\n', 'err\n', 3]);
    const ip = await cri.runtime('ExecSync', { container_id: id, cmd: ['ip', '-4', '-o', 'addr', 'show', 'eth0'], timeout: 10 });
    assert.match(ip.stdout.toString(), new RegExp(`inet ${st.network.ip.replace(/\./g, '\\.')}/24`));
    await assert.rejects(cri.runtime('ExecSync', { container_id: id, cmd: ['sleep', '30'], timeout: 1 }), (e: { code: number }) => e.code === status.DEADLINE_EXCEEDED);

    const stats = (await cri.runtime('ContainerStats', { container_id: id })).stats;
    assert.ok(Number(stats.cpu.usage_core_nano_seconds.value) > 0);
    assert.ok(Number(stats.memory.working_set_bytes.value) > 0);
    const podStats = (await cri.runtime('PodSandboxStats', { pod_sandbox_id: pod })).stats;
    assert.equal(podStats.attributes.id, pod);
    assert.deepEqual(podStats.linux.containers.map((c: { attributes: { id: string } }) => c.attributes.id), [id]);
    // The pod's figure adds its containers' and the pause process's from the same reading (the
    // container's own ContainerStats above was read earlier, and memory moves in between).
    const inPod = podStats.linux.containers[0] as { memory: { working_set_bytes: { value: string } } };
    assert.ok(Number(podStats.linux.memory.working_set_bytes.value) >= Number(inPod.memory.working_set_bytes.value));
    assert.ok(Number(podStats.linux.process.process_count.value) >= 2, 'pause and the container');

    const listed = (await cri.runtime('ListContainers', { filter: { pod_sandbox_id: pod, state: { state: 'CONTAINER_RUNNING' } } })).containers;
    assert.deepEqual(listed.map((c: { id: string }) => c.id), [id]);
    const ctr = await runCommand('ctr', ['-a', supervisorSocket(d), '-n', 'k8s.io', 'containers', 'ls', '-q']);
    assert.deepEqual(ctr.stdout.trim().split('\n').sort(), [id, pod].sort());
    assert.equal((await d.docker(['ps', '-aq'])).stdout.trim(), '');

    await cri.runtime('StopContainer', { container_id: id, timeout: 2 });
    const stopped = (await cri.runtime('ContainerStatus', { container_id: id })).status;
    assert.equal(stopped.state, 'CONTAINER_EXITED');
    assert.equal(stopped.exit_code, 143);
    assert.equal(stopped.reason, 'Error');

    await cri.runtime('StopPodSandbox', { pod_sandbox_id: pod });
    assert.equal((await cri.runtime('PodSandboxStatus', { pod_sandbox_id: pod })).status.state, 'SANDBOX_NOTREADY');
    assert.deepEqual(readdirSync(join(d.dir, 'exec', 'cri', 'netns')), []);
    await cri.runtime('RemovePodSandbox', { pod_sandbox_id: pod });
    assert.deepEqual((await cri.runtime('ListPodSandbox', {})).items, []);
    assert.deepEqual((await cri.runtime('ListContainers', {})).containers, []);
    const links = await d.inHostNetns(['ip', '-o', 'link', 'show', 'type', 'veth']);
    assert.equal(links.stdout.trim(), '');
    assert.deepEqual(readdirSync(join(d.dir, 'cni-ipam', 'test-pods')).filter((f) => /^\d/.test(f)), []);
  });
});
