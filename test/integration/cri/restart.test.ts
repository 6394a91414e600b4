// kill -9 of berthd under the CRI: pods that were running stay ready with their containers running
// and their logs growing (the shims keep them), a pod stopped before the kill stays stopped with
// its network gone, and removal afterwards leaves nothing on the node. A kill in the middle of
// RunPodSandbox, CreateContainer or RemovePodSandbox calls leaves no half pod looking ready, and
// what the cut-short calls had set up is released, by the restore or by RemovePodSandbox.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Message } from '../../../src/common/grpc/service-def.js';
import { startBerthd, supervisorSocket, type TestBerthd } from '../../helpers/berthd.js';
import { EMPTY_NODE, nodeState } from '../../helpers/cri-node-state.js';
import { containerConfig, criClient, importBusybox, podConfig, writeCniConfig, type CriClient } from '../../helpers/cri.js';
import { waitFor } from '../../helpers/runtime.js';

const isRoot = process.getuid?.() === 0;
const SUBNET = '10.231.8.0/24';
/** A line every 100 ms, numbered, so that a gap or a stop shows. */
const TICKER = ['sh', '-c', 'i=0; while true; do i=$((i+1)); echo "tick $i"; sleep 0.1; done'];

interface LogLine { time: number; n: number }

function logLines(path: string): LogLine[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8').split('\n').filter(Boolean).map((l) => {
    const m = /^(\S+) stdout F tick (\d+)$/.exec(l);
    assert.ok(m, `a CRI log line: ${l}`);
    return { time: Date.parse(m[1]!), n: Number(m[2]) };
  });
}

describe('CRI: kill -9 of berthd', { skip: !isRoot && 'needs root' }, () => {
  let d: TestBerthd;
  let cri: CriClient;
  let logDir: string;

  const reconnect = () => {
    cri?.close();
    cri = criClient(supervisorSocket(d));
  };
  const podState = async (id: string) => (await cri.runtime('PodSandboxStatus', { pod_sandbox_id: id })).status as Message;
  const removeAllPods = async () => {
    for (const p of (await cri.runtime('ListPodSandbox', {})).items as Message[]) {
      await cri.runtime('StopPodSandbox', { pod_sandbox_id: p.id });
      await cri.runtime('RemovePodSandbox', { pod_sandbox_id: p.id });
    }
  };

  before(async () => {
    d = await startBerthd();
    writeCniConfig(d, { bridge: 'cri-r0', subnet: SUBNET });
    await importBusybox(d);
    reconnect();
    logDir = join(d.dir, 'pod-logs');
  });
  after(async () => {
    // Whatever a failed test left running goes through the CRI first.
    try {
      if (cri) await removeAllPods();
    } finally {
      cri?.close();
      await d?.stop();
    }
  });

  it('keeps running pods ready, their containers running and logging, a stopped pod stopped', async () => {
    const pods: Record<string, { pod: string; ctr: string; ip: string; log: string }> = {};
    for (const name of ['one', 'two']) {
      const config = podConfig(name, join(logDir, name)); // each pod its own log directory, as the kubelet gives
      const { pod_sandbox_id: pod } = await cri.runtime('RunPodSandbox', { config });
      const { container_id: ctr } = await cri.runtime('CreateContainer', { pod_sandbox_id: pod, config: containerConfig('ticker', TICKER), sandbox_config: config });
      await cri.runtime('StartContainer', { container_id: ctr });
      pods[name] = { pod, ctr, ip: (await podState(pod)).network.ip, log: (await cri.runtime('ContainerStatus', { container_id: ctr })).status.log_path };
    }
    const { pod_sandbox_id: stopped } = await cri.runtime('RunPodSandbox', { config: podConfig('stopped', logDir) });
    await cri.runtime('StopPodSandbox', { pod_sandbox_id: stopped });
    const stoppedNetns = `${join(d.dir, 'exec', 'cri', 'netns', stopped)}`;
    assert.equal(existsSync(stoppedNetns), false);
    for (const p of Object.values(pods)) await waitFor(() => logLines(p.log).length >= 3, 5000);

    await d.restart('kill');
    const restartedAt = Date.now();
    reconnect();

    for (const [name, p] of Object.entries(pods)) {
      const st = await podState(p.pod);
      assert.equal(st.state, 'SANDBOX_READY', `pod ${name} ready after the restart`);
      assert.equal(st.network.ip, p.ip, `pod ${name} keeps its address`);
      assert.equal((await cri.runtime('ContainerStatus', { container_id: p.ctr })).status.state, 'CONTAINER_RUNNING');
      // The log continues past the restart, without a gap.
      await waitFor(() => logLines(p.log).some((l) => l.time > restartedAt + 300), 5000);
      const ns = logLines(p.log).map((l) => l.n);
      assert.deepEqual(ns, ns.map((_, i) => i + 1), `pod ${name}'s log lines are numbered 1..n without a gap`);
      const exec = await cri.runtime('ExecSync', { container_id: p.ctr, cmd: ['cat', '/etc/hostname'], timeout: 10 });
      assert.deepEqual([exec.stdout.toString(), exec.exit_code], [`${name}\n`, 0]);
    }
    assert.equal((await podState(stopped)).state, 'SANDBOX_NOTREADY');
    assert.equal(existsSync(stoppedNetns), false);
    const state = await nodeState(d);
    assert.deepEqual(state.netnsFiles, [pods.one!.pod, pods.two!.pod].sort());
    assert.equal(state.veths.length, 2, `one veth per running pod: ${state.veths.join(' ')}`);
    assert.equal(state.ipAllocations.length, 2, `one address per running pod: ${state.ipAllocations.join(' ')}`);

    await removeAllPods();
    assert.deepEqual((await cri.runtime('ListPodSandbox', {})).items, []);
    assert.deepEqual(await nodeState(d), EMPTY_NODE);
  });

  // Three moments to kill at: when the first pod has its network namespace (the others before or
  // in their CNI set-up), when the first pause task's bundle is made (pods between their network
  // and their pause process), and when the first pod is ready.
  const bundles = () => join(d.dir, 'exec', 'bundles', 'k8s.io');
  const moments: Array<[string, () => Promise<boolean>]> = [
    ['the first network namespace is made', async () => (await nodeState(d)).netnsFiles.length > 0],
    ['the first pause bundle is made', async () => existsSync(bundles()) && readdirSync(bundles()).length > 0],
    ['the first pod is ready', async () => ((await cri.runtime('ListPodSandbox', {})).items as Message[]).some((p) => p.state === 'SANDBOX_READY')],
  ];
  for (const [moment, reached] of moments) {
    it(`leaves no half pod ready after a kill in the middle of RunPodSandbox calls (when ${moment})`, async (t) => {
      const names = ['cut-a', 'cut-b', 'cut-c', 'cut-d', 'cut-e'];
      const calls = names.map((name) => cri.runtime('RunPodSandbox', { config: podConfig(name, logDir) }).then(() => 'done', () => 'failed'));
      await waitFor(reached, 10_000);
      await d.restart('kill');
      await Promise.all(calls);
      reconnect();

      const items = (await cri.runtime('ListPodSandbox', {})).items as Message[];
      const ready = items.filter((p) => p.state === 'SANDBOX_READY').map((p) => p.id as string);
      t.diagnostic(`after the kill: ${ready.length} pods ready, ${items.length - ready.length} not ready, ${names.length - items.length} gone`);
      for (const p of items) {
        const verbose = await cri.runtime('PodSandboxStatus', { pod_sandbox_id: p.id, verbose: true });
        const info = JSON.parse(verbose.info.info) as { netNamespacePath: string; pid: number };
        if (p.state === 'SANDBOX_READY') {
          // Ready means whole: an address, a namespace file and a live pause process.
          assert.match(verbose.status.network.ip, /^10\.231\.8\.\d+$/);
          assert.ok(existsSync(info.netNamespacePath), `ready pod ${p.id} has its network namespace`);
          assert.ok(info.pid > 0 && existsSync(`/proc/${info.pid}`), `ready pod ${p.id} has its pause process`);
        } else {
          assert.equal(info.netNamespacePath, '', `a pod that is not ready holds no network namespace (${p.id})`);
        }
      }
      // Whatever was cut short was released by the restore: only ready pods hold a network.
      const state = await nodeState(d);
      assert.deepEqual(state.netnsFiles, [...ready].sort());
      assert.equal(state.veths.length, ready.length, `veths: ${state.veths.join(' ')}; ready pods: ${ready.length}`);
      assert.equal(state.ipAllocations.length, ready.length, `allocations: ${state.ipAllocations.join(' ')}; ready pods: ${ready.length}`);

      await removeAllPods();
      assert.deepEqual(await nodeState(d), EMPTY_NODE);
      // The names are free again: a pod with the same metadata runs.
      const { pod_sandbox_id: again } = await cri.runtime('RunPodSandbox', { config: podConfig(names[0]!, logDir) });
      assert.equal((await podState(again)).state, 'SANDBOX_READY');
      await removeAllPods();
      assert.deepEqual(await nodeState(d), EMPTY_NODE);
    });
  }

  it('releases what a kill in the middle of CreateContainer calls left, and keeps the containers that were made', async (t) => {
    const config = podConfig('creating', join(logDir, 'creating'));
    const { pod_sandbox_id: pod } = await cri.runtime('RunPodSandbox', { config });
    const names = ['c1', 'c2', 'c3', 'c4', 'c5', 'c6'];
    const calls = names.map((name) => cri.runtime('CreateContainer', { pod_sandbox_id: pod, config: containerConfig(name, TICKER), sandbox_config: config }).then(() => 'done', () => 'failed'));
    // Kill when the first one has its record: the others are somewhere in theirs.
    const records = join(d.dir, 'data', 'cri', 'containers');
    await waitFor(() => readdirSync(records).some((f) => f.endsWith('.json')), 10_000);
    await d.restart('kill');
    await Promise.all(calls);
    reconnect();

    assert.equal((await podState(pod)).state, 'SANDBOX_READY');
    const made = ((await cri.runtime('ListContainers', {})).containers as Message[]).map((c) => c.id as string).sort();
    t.diagnostic(`after the kill: ${made.length} of ${names.length} containers made`);
    // Nothing but the pod and the containers the CRI lists is left: no scratch mount, no
    // supervisor container or snapshot without a CRI record.
    const state = await nodeState(d);
    assert.deepEqual(state.supervisorContainers, [pod, ...made].sort());
    assert.deepEqual(state.activeSnapshots, [pod, ...made].sort());
    assert.deepEqual(state.criFiles.filter((f) => f.startsWith('exec/cri/peek-')), []);
    assert.deepEqual(state.mounts.filter((m) => m.includes('peek-')), []);
    // Those made start and run.
    for (const id of made) {
      await cri.runtime('StartContainer', { container_id: id });
      assert.equal((await cri.runtime('ContainerStatus', { container_id: id })).status.state, 'CONTAINER_RUNNING');
    }
    await removeAllPods();
    assert.deepEqual(await nodeState(d), EMPTY_NODE);
  });

  it('tears down the network of a pod whose pause process died across a restart', async () => {
    const config = podConfig('orphan', join(logDir, 'orphan'));
    const { pod_sandbox_id: pod } = await cri.runtime('RunPodSandbox', { config });
    const { container_id: ctr } = await cri.runtime('CreateContainer', { pod_sandbox_id: pod, config: containerConfig('ticker', TICKER), sandbox_config: config });
    await cri.runtime('StartContainer', { container_id: ctr });
    const info = JSON.parse((await cri.runtime('PodSandboxStatus', { pod_sandbox_id: pod, verbose: true })).info.info) as { pid: number };
    process.kill(info.pid, 'SIGKILL');
    await d.restart('kill');
    reconnect();

    assert.equal((await podState(pod)).state, 'SANDBOX_NOTREADY');
    assert.equal((await cri.runtime('ContainerStatus', { container_id: ctr })).status.state, 'CONTAINER_EXITED');
    const state = await nodeState(d);
    for (const what of ['netnsFiles', 'veths', 'ipAllocations', 'cniCache'] as const) assert.deepEqual(state[what], [], `the dead pod's ${what}`);
    await removeAllPods();
    assert.deepEqual(await nodeState(d), EMPTY_NODE);
  });

  it('removes the temp files of records that a writer killed mid-write left', async () => {
    // A CreateContainer killed while writing its record leaves such a file beside a supervisor
    // container that the restore removes; any kill in a save leaves one beside a whole record.
    const stray = ['sandboxes', 'containers'].map((kind) => join(d.dir, 'data', 'cri', kind, `${'e'.repeat(64)}.json.4194304.tmp`));
    for (const f of stray) writeFileSync(f, '{"id":');
    await d.restart('kill');
    reconnect();
    assert.deepEqual(stray.filter((f) => existsSync(f)), []);
    assert.deepEqual(await nodeState(d), EMPTY_NODE);
  });

  it('finishes removals that a kill cut short when RemovePodSandbox is called again', async (t) => {
    const names = ['rm-a', 'rm-b', 'rm-c', 'rm-d'];
    const pods: string[] = [];
    for (const name of names) {
      const config = podConfig(name, join(logDir, name));
      const { pod_sandbox_id: pod } = await cri.runtime('RunPodSandbox', { config });
      const { container_id: ctr } = await cri.runtime('CreateContainer', { pod_sandbox_id: pod, config: containerConfig('ticker', TICKER), sandbox_config: config });
      await cri.runtime('StartContainer', { container_id: ctr });
      pods.push(pod);
    }
    const calls = pods.map((pod) => cri.runtime('RemovePodSandbox', { pod_sandbox_id: pod }).then(() => 'done', () => 'failed'));
    // Kill when the first pod's network namespace is gone: the others are somewhere in their teardown.
    await waitFor(() => nodeState(d).then((s) => s.netnsFiles.length < pods.length), 10_000);
    await d.restart('kill');
    await Promise.all(calls);
    reconnect();

    const left = (await cri.runtime('ListPodSandbox', {})).items as Message[];
    t.diagnostic(`after the kill: ${left.length} of ${pods.length} pods left`);
    // A pod that is left is whole and ready, or not ready and without a network.
    for (const p of left) {
      const info = JSON.parse((await cri.runtime('PodSandboxStatus', { pod_sandbox_id: p.id, verbose: true })).info.info) as { netNamespacePath: string };
      if (p.state === 'SANDBOX_READY') assert.ok(existsSync(info.netNamespacePath), `ready pod ${p.id} has its network namespace`);
      else assert.equal(info.netNamespacePath, '', `a pod that is not ready holds no network namespace (${p.id})`);
    }
    for (const pod of pods) await cri.runtime('RemovePodSandbox', { pod_sandbox_id: pod });
    assert.deepEqual((await cri.runtime('ListContainers', {})).containers, []);
    assert.deepEqual(await nodeState(d), EMPTY_NODE);
  });
});
