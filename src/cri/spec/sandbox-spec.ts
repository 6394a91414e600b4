// The pause process's OCI spec (containerd's sandbox_run_linux.go): berth's init in pause mode as
// PID 1 of the pod's new namespaces (those the pod does not share with the node), a read-only
// rootfs, the pod's hostname and sysctls, its /dev/shm, and the pod cgroup under its parent.
import type { Message } from '../../common/grpc/service-def.js';
import { capabilitySets, containerCapabilities } from '../../runtime/spec/container-capabilities.js';
import { DEFAULT_READONLY_PATHS, defaultDeviceRules, defaultMaskedPaths, defaultMounts } from '../../runtime/spec/container-defaults.js';
import { OCI_VERSION } from '../../runtime/spec/default.js';
import type { Mount, Spec } from '../../runtime/spec/types.js';
import { namespaceModes, sandboxNamespaces } from './namespaces.js';
import { criSeccomp } from './security.js';

export const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface SandboxSpecInputs {
  id: string;
  config: Message;
  netnsPath?: string;
  shmPath?: string;
  cgroupsPath: string;
  oomScoreAdj: number;
  hostCapabilities: readonly string[];
  /** The pause binary's path inside the sandbox image. */
  pausePath: string;
}

/** /dev/shm for the pod: its own tmpfs (bound), or the node's with IPC NODE. */
export function shmMount(shmPath: string | undefined): Mount {
  return { destination: '/dev/shm', type: 'bind', source: shmPath ?? '/dev/shm', options: ['rbind', 'rprivate', 'rw'] };
}

export function sandboxSpec(i: SandboxSpecInputs): Spec {
  const linux = (i.config.linux ?? {}) as Message;
  const sc = (linux.security_context ?? {}) as Message;
  const modes = namespaceModes(sc);
  const privileged = !!sc.privileged;
  const caps = containerCapabilities({ privileged, hostCapabilities: i.hostCapabilities });
  const uid = sc.run_as_user ? Number(sc.run_as_user.value) : 0;
  const gid = sc.run_as_group ? Number(sc.run_as_group.value) : 0;
  const mounts = defaultMounts().filter((m) => m.destination !== '/dev/shm');
  mounts.push(shmMount(i.shmPath));
  const hostname = modes.network === 'NODE' ? undefined : String(i.config.hostname ?? '') || undefined;
  return {
    ociVersion: OCI_VERSION,
    process: {
      terminal: false,
      user: { uid, gid, additionalGids: [gid, ...((sc.supplemental_groups ?? []) as unknown[]).map(Number)] },
      args: [i.pausePath],
      env: [DEFAULT_PATH],
      cwd: '/',
      capabilities: capabilitySets(caps, 0),
      noNewPrivileges: true,
      oomScoreAdj: i.oomScoreAdj,
    },
    root: { path: 'rootfs', readonly: true },
    ...(hostname ? { hostname } : {}),
    mounts,
    annotations: {
      'io.kubernetes.cri.container-type': 'sandbox',
      'io.kubernetes.cri.sandbox-id': i.id,
      'io.kubernetes.cri.sandbox-name': String(i.config.metadata?.name ?? ''),
      'io.kubernetes.cri.sandbox-namespace': String(i.config.metadata?.namespace ?? ''),
      'io.kubernetes.cri.sandbox-uid': String(i.config.metadata?.uid ?? ''),
      'io.kubernetes.cri.sandbox-log-directory': String(i.config.log_directory ?? ''),
    },
    linux: {
      namespaces: sandboxNamespaces(modes, i.netnsPath),
      cgroupsPath: i.cgroupsPath,
      // containerd gives the pause process the minimum CPU shares: it only sleeps.
      resources: { devices: defaultDeviceRules(), cpu: { shares: 2 } },
      sysctl: { ...(linux.sysctls ?? {}) },
      seccomp: criSeccomp(sc.seccomp, sc.seccomp_profile_path || undefined, privileged, caps, 'linux.security_context.seccomp'),
      ...(privileged ? {} : { maskedPaths: defaultMaskedPaths(), readonlyPaths: [...DEFAULT_READONLY_PATHS] }),
    },
  };
}
