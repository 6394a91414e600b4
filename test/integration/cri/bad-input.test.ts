// Bad input to the CRI: unknown pod and container IDs, a second pod or container with the same
// metadata, a container in a stopped pod, an image that cannot be pulled or is not present,
// invalid security contexts and seccomp profiles. Each gets the gRPC status containerd 1.6's CRI
// answers (or a more precise one where containerd answers Unknown, noted below), a message that
// says what is wrong, and leaves the node as it was: no network namespace, veth, IP allocation,
// CNI cache entry, cgroup, snapshot, mount or record of its own; the pod already running is
// untouched.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { status, type ServiceError } from '@grpc/grpc-js';
import type { Message } from '../../../src/common/grpc/service-def.js';
import { startBerthd, supervisorSocket, type TestBerthd } from '../../helpers/berthd.js';
import { nodeState, type NodeState } from '../../helpers/cri-node-state.js';
import { containerConfig, criClient, importBusybox, podConfig, removeAllPods, writeCniConfig, type CriClient } from '../../helpers/cri.js';
import { runCommand } from '../../helpers/runtime.js';

const isRoot = process.getuid?.() === 0;
const SUBNET = '10.231.9.0/24';
const UNKNOWN_ID = 'f'.repeat(64);

/** The call fails with `code` and a message matching `message`. */
async function refused(call: Promise<unknown>, code: status, message: RegExp): Promise<void> {
  await assert.rejects(call, (err: ServiceError) => {
    assert.equal(status[err.code], status[code], `status of "${err.details}"`);
    assert.match(err.details, message);
    return true;
  });
}

describe('CRI: bad input', { skip: !isRoot && 'needs root' }, () => {
  let d: TestBerthd;
  let cri: CriClient;
  let logDir: string;
  let pod: string;
  let podIp: string;
  let app: string;
  /** The node with the one good pod and its container running, as every refused call must leave it. */
  let baseline: NodeState;

  const createIn = (sandbox: string, config: Message, sandboxConfig: Message = podConfig('good', logDir)) =>
    cri.runtime('CreateContainer', { pod_sandbox_id: sandbox, config, sandbox_config: sandboxConfig });
  const nothingLeaked = async () => assert.deepEqual(await nodeState(d), baseline);

  before(async () => {
    d = await startBerthd();
    writeCniConfig(d, { bridge: 'cri-b0', subnet: SUBNET });
    await importBusybox(d);
    cri = criClient(supervisorSocket(d));
    logDir = join(d.dir, 'pod-logs');
    pod = (await cri.runtime('RunPodSandbox', { config: podConfig('good', logDir) })).pod_sandbox_id;
    podIp = (await cri.runtime('PodSandboxStatus', { pod_sandbox_id: pod })).status.network.ip;
    app = (await createIn(pod, containerConfig('app', ['sleep', '1000']))).container_id;
    await cri.runtime('StartContainer', { container_id: app });
    baseline = await nodeState(d);
  });
  // The good pod is never harmed by what the others try.
  beforeEach(async () => {
    if (!pod) return;
    const st = (await cri.runtime('PodSandboxStatus', { pod_sandbox_id: pod })).status;
    assert.deepEqual([st.state, st.network.ip], ['SANDBOX_READY', podIp]);
    assert.equal((await cri.runtime('ContainerStatus', { container_id: app })).status.state, 'CONTAINER_RUNNING');
  });
  after(async () => {
    // The good pod lives for the whole file; it and whatever a failed test left go through the CRI.
    try {
      if (cri) await removeAllPods(cri);
    } finally {
      cri?.close();
      await d?.stop();
    }
  });

  it('answers NotFound for a pod or container that does not exist, and removes it as a success', async () => {
    for (const id of [UNKNOWN_ID, 'nope']) {
      // containerd: "an error occurred when try to find sandbox ...: not found", NotFound
      await refused(cri.runtime('PodSandboxStatus', { pod_sandbox_id: id }), status.NOT_FOUND, new RegExp(`sandbox "${id}": not found`));
      await refused(cri.runtime('StopPodSandbox', { pod_sandbox_id: id }), status.NOT_FOUND, /not found/);
      await refused(createIn(id, containerConfig('x', ['true'])), status.NOT_FOUND, /not found/);
      await refused(cri.runtime('PodSandboxStats', { pod_sandbox_id: id }), status.NOT_FOUND, /not found/);
      await refused(cri.runtime('ContainerStatus', { container_id: id }), status.NOT_FOUND, new RegExp(`container "${id}": not found`));
      await refused(cri.runtime('StartContainer', { container_id: id }), status.NOT_FOUND, /not found/);
      await refused(cri.runtime('StopContainer', { container_id: id, timeout: 1 }), status.NOT_FOUND, /not found/);
      await refused(cri.runtime('ExecSync', { container_id: id, cmd: ['true'], timeout: 5 }), status.NOT_FOUND, /not found/);
      await refused(cri.runtime('UpdateContainerResources', { container_id: id, linux: {} }), status.NOT_FOUND, /not found/);
      // containerd: Remove of what is not there succeeds (the kubelet retries removals).
      await cri.runtime('RemovePodSandbox', { pod_sandbox_id: id });
      await cri.runtime('RemoveContainer', { container_id: id });
    }
    // An empty ID names nothing: InvalidArgument (containerd: Unknown, "prefix can't be empty").
    await refused(cri.runtime('PodSandboxStatus', { pod_sandbox_id: '' }), status.INVALID_ARGUMENT, /sandbox ID must not be empty/);
    await refused(cri.runtime('ContainerStatus', { container_id: '' }), status.INVALID_ARGUMENT, /container ID must not be empty/);
    await nothingLeaked();
  });

  it('refuses a second pod with the same metadata and leaves the first one alone', async () => {
    // containerd answers Unknown ("failed to reserve sandbox name"); berth says AlreadyExists.
    await refused(cri.runtime('RunPodSandbox', { config: podConfig('good', logDir) }), status.ALREADY_EXISTS, new RegExp(`failed to reserve sandbox name "good_test_uid-good_0": name "good_test_uid-good_0" is reserved for "${pod}"`));
    // Same for a second container with the same metadata in one pod.
    await refused(createIn(pod, containerConfig('app', ['true'])), status.ALREADY_EXISTS, new RegExp(`failed to reserve container name .* is reserved for "${app}"`));
    await nothingLeaked();
  });

  it('refuses a container in a stopped pod, and starting one created before the pod stopped', async () => {
    const config = podConfig('stopping', logDir);
    const stopping = (await cri.runtime('RunPodSandbox', { config })).pod_sandbox_id;
    const early = (await createIn(stopping, containerConfig('early', ['sleep', '1000']), config)).container_id;
    await cri.runtime('StopPodSandbox', { pod_sandbox_id: stopping });
    const stoppedState = await nodeState(d);
    // A stopped pod holds no network, mount or cgroup; only its records and snapshots until removed.
    for (const what of ['netnsFiles', 'veths', 'ipAllocations', 'cniCache', 'mounts', 'cgroups'] as const) assert.deepEqual(stoppedState[what], baseline[what], `a stopped pod's ${what}`);
    // containerd 1.6: NotFound ("failed to get sandbox container task: no running task found").
    await refused(createIn(stopping, containerConfig('late', ['true']), config), status.NOT_FOUND, /pod sandbox .* is not ready.*run a new pod/);
    await refused(cri.runtime('StartContainer', { container_id: early }), status.FAILED_PRECONDITION, /pod sandbox .* is not ready/);
    assert.deepEqual(await nodeState(d), stoppedState);
    await cri.runtime('RemovePodSandbox', { pod_sandbox_id: stopping });
    await refused(cri.runtime('ContainerStatus', { container_id: early }), status.NOT_FOUND, /not found/);
    await nothingLeaked();
  });

  it('refuses an image that cannot be pulled or is not present', async () => {
    const before = (await cri.image('ListImages', {})).images as Message[];
    // Nothing listens on 127.0.0.1:1 in the daemon's network namespace. containerd answers Unknown
    // ("failed to pull and unpack image ...: connect: connection refused"); berth Unavailable.
    await refused(cri.image('PullImage', { image: { image: '127.0.0.1:1/nothing/here:1.0' } }), status.UNAVAILABLE,
      /^failed to pull and unpack image "127\.0\.0\.1:1\/nothing\/here:1\.0": .*ECONNREFUSED.*: no registry answered at 127\.0\.0\.1:1; check the image name/);
    assert.deepEqual(((await cri.image('ListImages', {})).images as Message[]).map((i) => i.id), before.map((i) => i.id));
    // The pull's lease and any download in progress went with it.
    for (const what of [['leases', 'ls', '-q'], ['content', 'active']]) {
      const r = await runCommand('ctr', ['-a', supervisorSocket(d), '-n', 'k8s.io', ...what]);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(r.stdout.split('\n').slice(what[1] === 'active' ? 1 : 0).filter(Boolean), [], `ctr ${what.join(' ')}`);
    }
    await refused(cri.image('PullImage', { image: { image: 'Not/A:valid:ref' } }), status.INVALID_ARGUMENT, /invalid reference format "Not\/A:valid:ref"/);
    // An image that is not there has no status, and is no error (containerd answers the same).
    assert.ok(!(await cri.image('ImageStatus', { image: { image: '127.0.0.1:1/nothing/here:1.0' } })).image);
    // containerd: "failed to resolve image ...: not found", NotFound.
    await refused(createIn(pod, containerConfig('absent', ['true'], { image: { image: 'no-such-image:1.0' } })), status.NOT_FOUND, /failed to resolve image "no-such-image:1.0": not found/);
    await nothingLeaked();
  });

  it('refuses invalid security contexts and seccomp profiles in a container', async () => {
    const broken = join(d.dir, 'broken-seccomp.json');
    writeFileSync(broken, '{ "defaultAction": ');
    const cases: Array<[string, Message, RegExp]> = [
      // containerd: Unknown, "user group "1000" is specified without user"
      ['run_as_group without run_as_user', { run_as_group: { value: 1000 } }, /user group "1000" is specified without user/],
      ['a localhost seccomp profile that does not exist', { seccomp: { profile_type: 'Localhost', localhost_ref: '/nonexistent/profile.json' } }, /cannot load seccomp profile "\/nonexistent\/profile.json"/],
      ['a localhost seccomp profile that is not JSON', { seccomp: { profile_type: 'Localhost', localhost_ref: broken } }, /seccomp profile/],
      ['a relative localhost seccomp profile', { seccomp: { profile_type: 'Localhost', localhost_ref: 'profile.json' } }, /must be an absolute path/],
      ['an unknown seccomp_profile_path', { seccomp_profile_path: 'bogus/profile' }, /unknown seccomp profile "bogus\/profile"/],
      ['a seccomp_profile_path naming a missing file', { seccomp_profile_path: 'localhost//nonexistent/profile.json' }, /cannot load seccomp profile/],
      ['a user the image does not have', { run_as_username: 'nobody-here' }, /nobody-here/],
    ];
    for (const [what, securityContext, message] of cases) {
      await refused(createIn(pod, containerConfig(`bad-${cases.findIndex((c) => c[0] === what)}`, ['true'], { linux: { security_context: securityContext } })), status.INVALID_ARGUMENT, message);
      assert.deepEqual(await nodeState(d), baseline, `nothing left by a container with ${what}`);
    }
    // The names of refused containers are free: the first one, fixed, is created.
    const fixed = (await createIn(pod, containerConfig('bad-0', ['true'], { linux: { security_context: { run_as_user: { value: 1000 }, run_as_group: { value: 1000 } } } }))).container_id;
    await cri.runtime('RemoveContainer', { container_id: fixed });
    await nothingLeaked();
  });

  it('refuses a pod with an invalid seccomp profile (after undoing its network) or port mapping', async () => {
    const cases: Array<[string, Message, RegExp]> = [
      ['a localhost seccomp profile that does not exist', { seccomp: { profile_type: 'Localhost', localhost_ref: '/nonexistent/pod-profile.json' } }, /cannot load seccomp profile "\/nonexistent\/pod-profile.json"/],
      ['an unknown seccomp_profile_path', { seccomp_profile_path: 'bogus/profile' }, /unknown seccomp profile "bogus\/profile"/],
    ];
    for (const [what, securityContext, message] of cases) {
      const config = podConfig('bad-pod', logDir, { linux: { security_context: securityContext } });
      await refused(cri.runtime('RunPodSandbox', { config }), status.INVALID_ARGUMENT, message);
      assert.deepEqual(await nodeState(d), baseline, `nothing left by a pod with ${what}`);
      assert.deepEqual(((await cri.runtime('ListPodSandbox', {})).items as Message[]).map((p) => p.id), [pod]);
    }
    // A port mapping the network cannot make (it would fail the pod's teardown as well).
    const badMappings: Array<[Message, RegExp]> = [
      [{ protocol: 'TCP', container_port: 0, host_port: 18080 }, /config.port_mappings\[0\].container_port 0 must be an integer from 1 to 65535/],
      [{ protocol: 'TCP', container_port: 80, host_port: 70000 }, /config.port_mappings\[0\].host_port 70000 must be an integer from 0 to 65535/],
      [{ protocol: 'TCP', container_port: 80, host_port: 18080, host_ip: 'not-an-ip' }, /host_ip "not-an-ip" is not an IP address/],
    ];
    for (const [mapping, message] of badMappings) {
      await refused(cri.runtime('RunPodSandbox', { config: podConfig('bad-pod', logDir, { port_mappings: [mapping] }) }), status.INVALID_ARGUMENT, message);
      assert.deepEqual(await nodeState(d), baseline, `nothing left by a pod with port mapping ${JSON.stringify(mapping)}`);
    }
    // Its name is free again once refused.
    const fixed = (await cri.runtime('RunPodSandbox', { config: podConfig('bad-pod', logDir) })).pod_sandbox_id;
    await cri.runtime('RemovePodSandbox', { pod_sandbox_id: fixed });
    await nothingLeaked();
  });
});
