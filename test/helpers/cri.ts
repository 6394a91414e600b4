// Driving a test berthd's CRI: a gRPC client of runtime.v1's two services on its supervisor
// socket, a CNI network configuration of the test's own (bridge and subnet), and the busybox
// image in the CRI's namespace (imported through the Docker API, saved, and imported with ctr).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { credentials, makeGenericClientConstructor, type Client, type ServiceError } from '@grpc/grpc-js';
import { serviceDefinition, type Message } from '../../src/common/grpc/service-def.js';
import { IMAGE_SERVICE, loadCriProtos, RUNTIME_SERVICE } from '../../src/cri/protos.js';
import { makeBusyboxRootfs } from './busybox.js';
import { supervisorSocket, type TestBerthd } from './berthd.js';
import { runCommand } from './runtime.js';

export type CriCall = (method: string, req?: Message) => Promise<Message>;

function client(socket: string, service: string): { call: CriCall; close(): void } {
  const Ctor = makeGenericClientConstructor(serviceDefinition(loadCriProtos(), service), service);
  const raw = new Ctor(`unix://${socket}`, credentials.createInsecure()) as unknown as Client & Record<string, (...args: unknown[]) => unknown>;
  const call: CriCall = (method, req = {}) =>
    new Promise((resolve, reject) => raw[method]!.call(raw, req, (err: ServiceError | null, res: Message) => (err ? reject(err) : resolve(res))));
  return { call, close: () => raw.close() };
}

export interface CriClient {
  runtime: CriCall;
  image: CriCall;
  close(): void;
}

export function criClient(socket: string): CriClient {
  const r = client(socket, RUNTIME_SERVICE);
  const i = client(socket, IMAGE_SERVICE);
  return { runtime: r.call, image: i.call, close: () => (r.close(), i.close()) };
}

/** A bridge network for pods (bridge, host-local, portmap, loopback) in the daemon's CNI dir. */
export function writeCniConfig(d: TestBerthd, o: { bridge: string; subnet: string }): void {
  const dir = join(d.dir, 'cni');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, '10-test.conflist'), JSON.stringify({
    cniVersion: '1.0.0', name: 'test-pods',
    plugins: [
      { type: 'bridge', bridge: o.bridge, isGateway: true, ipMasq: true, hairpinMode: true, ipam: { type: 'host-local', ranges: [[{ subnet: o.subnet }]], routes: [{ dst: '0.0.0.0/0' }], dataDir: join(d.dir, 'cni-ipam') } },
      { type: 'portmap', capabilities: { portMappings: true } },
    ],
  }));
}

/** busybox as docker.io/library/busybox:latest in the CRI's namespace (k8s.io). */
export async function importBusybox(d: TestBerthd): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'berth-cri-img-'));
  try {
    const rootfs = join(dir, 'rootfs');
    makeBusyboxRootfs(rootfs);
    execFileSync('tar', ['-C', rootfs, '-cf', join(dir, 'rootfs.tar'), '.']);
    const steps: string[][] = [
      ['docker', '-H', d.host, 'import', '-c', 'CMD ["sh"]', join(dir, 'rootfs.tar'), 'busybox:latest'],
      ['docker', '-H', d.host, 'save', '-o', join(dir, 'image.tar'), 'busybox:latest'],
      ['ctr', '-a', supervisorSocket(d), '-n', 'k8s.io', 'images', 'import', join(dir, 'image.tar')],
    ];
    for (const cmd of steps) {
      const r = await runCommand(cmd[0]!, cmd.slice(1), { timeoutMs: 60_000 });
      if (r.code !== 0) throw new Error(`${cmd.join(' ')}: ${r.stderr}${r.stdout}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Stops and removes every pod, with its containers, as a kubelet would: a test file's cleanup
 * before its daemon stops (whatever a failure keeps from going, the daemon's stop() kills).
 */
export async function removeAllPods(cri: CriClient): Promise<void> {
  for (const p of (await cri.runtime('ListPodSandbox', {})).items as Message[]) {
    await cri.runtime('StopPodSandbox', { pod_sandbox_id: p.id });
    await cri.runtime('RemovePodSandbox', { pod_sandbox_id: p.id });
  }
}

/** A PodSandboxConfig with the test's metadata; `extra` is merged in. */
export function podConfig(name: string, logDir: string, extra: Message = {}): Message {
  return { metadata: { name, uid: `uid-${name}`, namespace: 'test', attempt: 0 }, hostname: name, log_directory: logDir, linux: {}, ...extra };
}

export function containerConfig(name: string, command: string[], extra: Message = {}): Message {
  return { metadata: { name, attempt: 0 }, image: { image: 'busybox' }, command, log_path: `${name}.log`, linux: {}, ...extra };
}
