// A Docker container's OCI runtime spec: its Config (image config already merged in) and
// HostConfig, with Docker's defaults and security (moby's daemon/oci_linux.go createSpec and
// oci/defaults.go): default capabilities and seccomp profile, masked and read-only /proc paths,
// device rules, namespaces per mode, mounts, resources. Pure apart from reading the container's
// /etc/passwd and /etc/group (safely, inside the rootfs), the device nodes named by --device (or
// all of /dev for --privileged), and host facts (cgroup version, kernel release, CPU count).
import { readFileSync } from 'node:fs';
import { invalid } from '../../../common/errors.js';
import { detectVersion, parseMountinfo } from '../../../runtime/cgroups/detect.js';
import { CAPABILITIES, capabilityNames } from '../../../runtime/spec/capabilities.js';
import { OCI_VERSION } from '../../../runtime/spec/default.js';
import type { Device, Process, Spec } from '../../../runtime/spec/types.js';
import { boundingCapabilities } from '../../../sys/proc.js';
import type { ContainerConfig, HostConfig, SpecInputs } from '../api-types.js';
import { capabilitySets, containerCapabilities } from '../../../runtime/spec/container-capabilities.js';
import { INIT_PATH, withCreateDefaults } from './defaults.js';
import { buildDevices } from './devices.js';
import { containerEnv } from './env.js';
import { buildMounts, type MountOptions } from './mounts.js';
import { buildNamespaces, ipcKind, pidIsPrivate, utsIsHost } from './namespaces.js';
import { buildResources, checkResources } from './resources.js';
import { containerSeccomp } from './seccomp/select.js';
import { parseSecurityOpts } from './security-opts.js';
import { buildSysctls } from './sysctls.js';
import { rlimitsFrom } from './ulimits.js';
import { readUserDatabase, resolveUser } from '../../../image/user-database.js';

export interface BuildSpecOptions {
  /** Node's process.arch for the seccomp profile (default: this host's). */
  arch?: string;
  /** uname -r for the seccomp profile's kernel conditions (default: this host's). */
  kernelRelease?: string;
  /** The host's device nodes for --privileged (default: a scan of /dev). */
  hostDevices?: () => Device[];
  /** CPUs --cpus may use (default: this host's). */
  cpus?: number;
}

/**
 * The OCI spec for starting the container. Throws a BerthError (INVALID_ARGUMENT, naming the
 * field) for anything Docker would refuse.
 */
export function buildSpec(c: ContainerConfig, hostConfig: HostConfig, inputs: SpecInputs, opts: BuildSpecOptions = {}): Spec {
  if (!inputs.rootfs) throw invalid('inputs.rootfs: is required');
  const h = withCreateDefaults(hostConfig, inputs.cgroupVersion ?? hostCgroupVersion());
  checkResources(h, opts.cpus);
  const security = parseSecurityOpts(h.SecurityOpt);
  const privileged = h.Privileged === true;

  // process
  const args = [...(c.Entrypoint ?? []), ...(c.Cmd ?? [])];
  if (args.length === 0) throw invalid('Config.Cmd: no command specified');
  const pidPrivate = pidIsPrivate(h.PidMode);
  // --init runs only as the pid namespace's first process: not with the host's or another's.
  const withInit = h.Init === true && pidPrivate;
  if (withInit && !inputs.initBinary) throw invalid('HostConfig.Init: --init needs an init binary, and the daemon has none configured');

  const cwd = c.WorkingDir || '/';
  if (!cwd.startsWith('/')) throw invalid(`Config.WorkingDir: the working directory '${cwd}' is invalid, it needs to be an absolute path`);

  const user = resolveUser(c.User, h.GroupAdd, readUserDatabase(inputs.rootfs));
  const caps = containerCapabilities({ capAdd: h.CapAdd, capDrop: h.CapDrop, privileged, hostCapabilities: normalizeHostCaps(inputs.hostCapabilities) });
  const capabilities = capabilitySets(caps, user.uid);

  const process: Process = {
    terminal: c.Tty === true,
    user,
    args: withInit ? [INIT_PATH, '--', ...args] : args,
    env: containerEnv({ env: c.Env, hostname: c.Hostname, tty: c.Tty, linkedEnv: inputs.linkedEnv }),
    cwd,
    capabilities,
    oomScoreAdj: h.OomScoreAdj ?? 0,
  };
  const consoleSize = h.ConsoleSize as [number, number] | null | undefined;
  if (c.Tty && Array.isArray(consoleSize) && (consoleSize[0] > 0 || consoleSize[1] > 0)) process.consoleSize = { height: consoleSize[0], width: consoleSize[1] };
  const rlimits = rlimitsFrom(h.Ulimits, inputs.defaultUlimits);
  if (rlimits.length) process.rlimits = rlimits;
  if (security.noNewPrivileges) process.noNewPrivileges = true;

  // namespaces, hostname
  const utsHost = utsIsHost(h.UTSMode);
  if (utsHost && c.Domainname) throw invalid('Config.Domainname: cannot set a domain name with --uts=host');
  const namespaces = buildNamespaces(h, inputs, c.NetworkDisabled === true);

  // mounts
  const ipc = ipcKind(h.IpcMode);
  let shm: MountOptions['shm'] = { kind: 'tmpfs' };
  if (ipc === 'none') shm = { kind: 'none' };
  else if (ipc === 'host') shm = { kind: 'bind', source: inputs.shmPath ?? '/dev/shm' };
  else if (ipc !== 'private' && inputs.shmPath) shm = { kind: 'bind', source: inputs.shmPath };
  const mounts = buildMounts({
    inputs,
    tmpfs: h.Tmpfs,
    shmSize: h.ShmSize!,
    shm,
    initBinary: withInit ? inputs.initBinary : undefined,
    readonlyRootfs: h.ReadonlyRootfs === true,
    privileged,
    writableCgroups: security.writableCgroups ?? privileged,
  });

  // devices, resources, sysctls, seccomp
  const devices = buildDevices({ devices: h.Devices, cgroupRules: h.DeviceCgroupRules, privileged, hostDevices: opts.hostDevices });
  const seccomp = containerSeccomp({ option: security.seccomp, privileged, bounding: capabilities.bounding ?? [], arch: opts.arch, kernelRelease: opts.kernelRelease });

  const spec: Spec = {
    ociVersion: OCI_VERSION,
    process,
    root: h.ReadonlyRootfs ? { path: inputs.rootfs, readonly: true } : { path: inputs.rootfs },
    mounts,
    linux: {
      namespaces,
      devices: devices.devices,
      resources: buildResources(h, devices.rules),
      cgroupsPath: inputs.cgroupsPath,
      sysctl: buildSysctls(h),
    },
  };
  if (!utsHost && c.Hostname) spec.hostname = c.Hostname;
  if (!utsHost && c.Domainname) spec.domainname = c.Domainname;
  if (seccomp) spec.linux!.seccomp = seccomp;
  // Set (even empty) by the request, they replace the defaults, privileged or not.
  const masked = h.MaskedPaths ?? [];
  const readonly = h.ReadonlyPaths ?? [];
  if (masked.length) spec.linux!.maskedPaths = [...masked];
  if (readonly.length) spec.linux!.readonlyPaths = [...readonly];
  return spec;
}

/** Names as the runtime writes them ("CAP_CHOWN"), from a list that may lack the prefix. */
function normalizeHostCaps(names: readonly string[]): string[] {
  return names.map((n) => (n.toUpperCase().startsWith('CAP_') ? n.toUpperCase() : `CAP_${n.toUpperCase()}`)).filter((n) => (CAPABILITIES as readonly string[]).includes(n));
}

/** This process's bounding set as capability names: what --privileged grants on this host. */
export function hostBoundingCapabilities(): string[] {
  return capabilityNames(boundingCapabilities());
}

let cgroupVersion: 1 | 2 | undefined;

/** The host's cgroup version, as the runtime detects it (a hybrid host counts as v1). */
export function hostCgroupVersion(): 1 | 2 {
  cgroupVersion ??= detectVersion('/sys/fs/cgroup', parseMountinfo(readFileSync('/proc/self/mountinfo', 'utf8')));
  return cgroupVersion;
}
