// A pod container's OCI spec, as containerd's CRI builds it (container_create_linux.go): the
// image's config merged with the CRI config (command and args as the kubelet defines them, env,
// working dir, user), the pod's namespaces joined through its pause process, the pod's
// /etc/hosts, /etc/resolv.conf, /etc/hostname and /dev/shm, the requested mounts with their
// propagation, devices, resources and security context.
import { existsSync, mkdirSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { invalid } from '../../common/errors.js';
import type { Message } from '../../common/grpc/service-def.js';
import type { ImageConfig } from '../../image/config.js';
import type { UserDatabase } from '../../image/user-database.js';
import { capabilitySets, containerCapabilities } from '../../runtime/spec/container-capabilities.js';
import { DEFAULT_READONLY_PATHS, defaultDeviceRules, defaultMaskedPaths, defaultMounts } from '../../runtime/spec/container-defaults.js';
import { OCI_VERSION } from '../../runtime/spec/default.js';
import { deviceFromPath, hostDevices } from '../../runtime/spec/host-devices.js';
import type { Device, DeviceCgroupRule, Mount, Spec } from '../../runtime/spec/types.js';
import type { SandboxRecord } from '../store.js';
import { containerNamespaces, namespaceModes } from './namespaces.js';
import { ociResources } from './resources.js';
import { DEFAULT_PATH, shmMount } from './sandbox-spec.js';
import { criSeccomp, criUser } from './security.js';

export interface ContainerSpecInputs {
  id: string;
  config: Message;
  sandbox: SandboxRecord;
  /** The sandbox's pause pid (its namespaces are joined through /proc/PID/ns). */
  sandboxPid: number;
  /** The pid of the container named by namespace_options.target_id, when pid mode is TARGET. */
  targetPid?: number;
  image: ImageConfig;
  imageName: string;
  /** The image's /etc/passwd and /etc/group. */
  userDb: UserDatabase;
  cgroupsPath: string;
  clampOomScoreAdj: (v: number) => number;
  hostCapabilities: readonly string[];
}

const PROPAGATION: Record<string, string> = { PROPAGATION_PRIVATE: 'rprivate', PROPAGATION_HOST_TO_CONTAINER: 'rslave', PROPAGATION_BIDIRECTIONAL: 'rshared' };

/** The process's argv: the kubelet's rule (command replaces the entrypoint, args the cmd). */
export function containerArgs(config: Message, image: ImageConfig): string[] {
  let command = (config.command ?? []) as string[];
  let args = (config.args ?? []) as string[];
  if (command.length === 0) {
    if (args.length === 0) args = [...(image.config?.Cmd ?? [])];
    command = [...(image.config?.Entrypoint ?? [])];
  }
  const argv = [...command, ...args];
  if (argv.length === 0) throw invalid('config.command: no command specified (neither the container config nor the image has one)');
  return argv;
}

/** The image's env, overridden by the config's, with PATH and HOSTNAME as containerd adds them. */
function containerEnv(config: Message, image: ImageConfig, hostname: string): string[] {
  const env = new Map<string, string>();
  const put = (kv: string) => env.set(kv.split('=')[0]!, kv);
  put(DEFAULT_PATH);
  if (hostname) put(`HOSTNAME=${hostname}`);
  for (const kv of image.config?.Env ?? []) put(kv);
  for (const kv of (config.envs ?? []) as Message[]) put(`${kv.key}=${kv.value ?? ''}`);
  return [...env.values()];
}

/** The CRI's mounts as OCI bind mounts; a missing host directory is created, as containerd does. */
function requestedMounts(config: Message): { mounts: Mount[]; propagation?: string } {
  let propagation: string | undefined;
  const mounts = ((config.mounts ?? []) as Message[]).map((m, i) => {
    const field = `config.mounts[${i}]`;
    const dest = String(m.container_path ?? '');
    const src = String(m.host_path ?? '');
    if (!dest.startsWith('/')) throw invalid(`${field}.container_path: "${dest}" must be an absolute path`);
    if (!src.startsWith('/')) throw invalid(`${field}.host_path: "${src}" must be an absolute path`);
    if (!existsSync(src)) mkdirSync(src, { recursive: true, mode: 0o755 });
    const prop = PROPAGATION[String(m.propagation ?? 'PROPAGATION_PRIVATE')] ?? 'rprivate';
    if (prop === 'rshared') propagation = 'rshared';
    else if (prop === 'rslave' && propagation !== 'rshared') propagation = 'rslave';
    return { destination: dest, type: 'bind', source: realpathSync(src), options: ['rbind', prop, m.readonly ? 'ro' : 'rw'] };
  });
  return { mounts, propagation };
}

function requestedDevices(config: Message, privileged: boolean): { devices: Device[]; rules: DeviceCgroupRule[] } {
  if (privileged) return { devices: hostDevices(), rules: [{ allow: true, access: 'rwm' }] };
  const devices: Device[] = [];
  const rules = defaultDeviceRules();
  ((config.devices ?? []) as Message[]).forEach((d, i) => {
    const host = String(d.host_path ?? '');
    const dev = deviceFromPath(host, String(d.container_path || host));
    if (!dev) throw invalid(`config.devices[${i}].host_path: "${host}" is not a device node on the node`);
    devices.push(dev);
    rules.push({ allow: true, type: dev.type, major: dev.major, minor: dev.minor, access: String(d.permissions || 'rwm') });
  });
  return { devices, rules };
}

export function containerSpec(i: ContainerSpecInputs): Spec {
  const c = i.config;
  const linux = (c.linux ?? {}) as Message;
  const sc = (linux.security_context ?? {}) as Message;
  const podLinux = (i.sandbox.config.linux ?? {}) as Message;
  const podModes = namespaceModes(podLinux.security_context);
  const ownModes = namespaceModes(sc);
  const privileged = !!sc.privileged;
  if (privileged && !podLinux.security_context?.privileged) throw invalid('linux.security_context.privileged: no privileged container allowed in a sandbox that is not privileged');
  const caps = containerCapabilities({
    capAdd: sc.capabilities?.add_capabilities, capDrop: sc.capabilities?.drop_capabilities, privileged, hostCapabilities: i.hostCapabilities,
    fields: { add: 'linux.security_context.capabilities.add_capabilities', drop: 'linux.security_context.capabilities.drop_capabilities' },
  });
  const user = criUser(sc, i.image.config?.User, i.userDb, 'linux.security_context');
  const hostname = podModes.network === 'NODE' ? '' : String(i.sandbox.config.hostname ?? '');
  const requested = requestedMounts(c);
  const taken = new Set(requested.mounts.map((m) => m.destination));
  const etc = (name: string, dest: string): Mount[] => (taken.has(dest) ? [] : [{ destination: dest, type: 'bind', source: join(i.sandbox.dir, name), options: ['rbind', 'rprivate', sc.readonly_rootfs ? 'ro' : 'rw'] }]);
  const mounts = [
    ...defaultMounts().filter((m) => m.destination !== '/dev/shm').map((m) => (privileged && (m.type === 'sysfs' || m.type === 'cgroup') ? { ...m, options: (m.options ?? []).filter((o) => o !== 'ro').concat('rw') } : m)),
    ...(taken.has('/dev/shm') ? [] : [shmMount(i.sandbox.shmPath)]),
    ...etc('hostname', '/etc/hostname'),
    ...etc('hosts', '/etc/hosts'),
    ...etc('resolv.conf', '/etc/resolv.conf'),
    ...requested.mounts,
  ];
  const devices = requestedDevices(c, privileged);
  const resources = ociResources(linux.resources);
  const masked = ((sc.masked_paths ?? []) as string[]);
  const readonly = ((sc.readonly_paths ?? []) as string[]);
  return {
    ociVersion: OCI_VERSION,
    process: {
      terminal: !!c.tty,
      user,
      args: containerArgs(c, i.image),
      env: containerEnv(c, i.image, hostname),
      cwd: String(c.working_dir || i.image.config?.WorkingDir || '/'),
      capabilities: capabilitySets(caps, 0),
      noNewPrivileges: !!sc.no_new_privs,
      oomScoreAdj: i.clampOomScoreAdj(Number(linux.resources?.oom_score_adj ?? 0)),
    },
    root: { path: 'rootfs', readonly: !!sc.readonly_rootfs },
    mounts,
    annotations: {
      ...(c.annotations ?? {}),
      'io.kubernetes.cri.container-type': 'container',
      'io.kubernetes.cri.container-name': String(c.metadata?.name ?? ''),
      'io.kubernetes.cri.sandbox-id': i.sandbox.id,
      'io.kubernetes.cri.sandbox-name': String(i.sandbox.config.metadata?.name ?? ''),
      'io.kubernetes.cri.sandbox-namespace': String(i.sandbox.config.metadata?.namespace ?? ''),
      'io.kubernetes.cri.sandbox-uid': String(i.sandbox.config.metadata?.uid ?? ''),
      'io.kubernetes.cri.image-name': i.imageName,
    },
    linux: {
      namespaces: containerNamespaces(podModes, ownModes, i.sandboxPid, i.sandbox.netnsPath, i.targetPid),
      cgroupsPath: i.cgroupsPath,
      devices: devices.devices,
      resources: { ...resources, devices: devices.rules },
      ...(requested.propagation ? { rootfsPropagation: requested.propagation } : {}),
      seccomp: criSeccomp(sc.seccomp, sc.seccomp_profile_path || undefined, privileged, caps, 'linux.security_context.seccomp'),
      ...(privileged ? {} : { maskedPaths: masked.length ? masked : defaultMaskedPaths(), readonlyPaths: readonly.length ? readonly : [...DEFAULT_READONLY_PATHS] }),
    },
  };
}
