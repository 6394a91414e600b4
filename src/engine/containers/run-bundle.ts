// A container's run on the host: its OCI bundle under the exec root (config.json, the rootfs
// mount point, a --ipc shareable /dev/shm) and what goes into it at each start, after the rootfs
// is mounted: the working directory, volumes and binds, the network (namespace, endpoints, ports),
// the /etc files and the OCI spec. The supervisor's task is created from that bundle.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureWorkingDir } from '../../image/rootfs-files.js';
import { initBinaryPath } from '../../runtime/launch.js';
import { capabilityNames } from '../../runtime/spec/capabilities.js';
import { isMountPoint, unmountAll } from '../../sys/mount.js';
import { boundingCapabilities } from '../../sys/proc.js';
import { prepareMounts } from '../../volume/mounts.js';
import { containerBundleDir } from './containerd-view.js';
import { hostsFile, writeEtcFiles } from './etc-files.js';
import { makeInitFiles } from './init-files.js';
import { linkSettings, parseLink } from './links.js';
import type { ContainerRecord } from './record.js';
import type { ContainerServiceDeps } from './service.js';
import { sharedNamespaces } from './shared-namespaces.js';
import { mountShareableShm, unmountShm } from './shm.js';
import { buildSpec } from './spec/build-spec.js';
import { DEFAULT_SHM_SIZE } from './spec/defaults.js';
import { ipcKind } from './spec/namespaces.js';

/** Where the container's root filesystem is mounted while it runs. */
export const runRootfs = (execRoot: string, id: string): string => join(containerBundleDir(execRoot, id), 'rootfs');

/** Where a --ipc shareable container's /dev/shm is mounted on the host. */
export const runShmDir = (execRoot: string, id: string): string => join(containerBundleDir(execRoot, id), 'shm');

/**
 * Fills the bundle of a container whose rootfs is mounted with everything its task needs. What it
 * set up before a failure (volumes, network, /dev/shm) is the caller's to undo, as after any
 * failed start.
 */
export async function writeRunBundle(deps: Pick<ContainerServiceDeps, 'store' | 'volumes' | 'networking' | 'execRoot' | 'cgroupParent'>, c: ContainerRecord): Promise<void> {
  const rootfs = runRootfs(deps.execRoot, c.ID);
  if (c.Config.WorkingDir) ensureWorkingDir(rootfs, c.Config.WorkingDir);
  if (!c.HasBeenStarted) makeInitFiles(rootfs); // once: a container that removes them keeps them removed
  const links = linkSettings(c, (ref) => deps.store.find(ref)); // first: a linked container that is down fails the start
  const mounts = prepareMounts(deps.volumes, c.MountPoints ?? [], { containerId: c.ID, rootfs, copyUp: !c.HasBeenStarted });
  const net = await deps.networking.attach(c);
  const netnsPath = net.netnsPath;
  const etc = writeEtcFiles(deps.store.dir(c.ID), c.Config, c.HostConfig, { addresses: net.addresses, resolvConf: net.resolvConf, linkLines: links.hosts, hostGateway: deps.networking.hostGatewayIp() });
  const shared = sharedNamespaces(c, netnsPath, (ref) => deps.store.find(ref), (id) => runShmDir(deps.execRoot, id));
  if (ipcKind(c.HostConfig.IpcMode) === 'shareable') shared.shmPath = mountShareableShm(runShmDir(deps.execRoot, c.ID), c.HostConfig.ShmSize || DEFAULT_SHM_SIZE);
  const spec = buildSpec(c.Config, c.HostConfig, {
    rootfs,
    netnsPath,
    joinNamespaces: shared.namespaces,
    shmPath: shared.shmPath,
    mounts,
    etcFiles: { hosts: etc.hosts, resolvConf: etc.resolvConf, hostname: etc.hostname },
    cgroupsPath: `${c.HostConfig.CgroupParent || deps.cgroupParent}/${c.ID}`,
    hostCapabilities: capabilityNames(boundingCapabilities()),
    initBinary: c.HostConfig.Init ? initBinaryPath() : undefined,
    linkedEnv: links.env,
  });
  writeFileSync(join(containerBundleDir(deps.execRoot, c.ID), 'config.json'), JSON.stringify(spec));
}

/**
 * As Docker: the running containers that link to `started` get its new address in their
 * /etc/hosts (rewritten in place: it is bind-mounted into them). One whose other links are down
 * keeps its file.
 */
export function refreshLinkingHosts(deps: Pick<ContainerServiceDeps, 'store' | 'networking'>, started: ContainerRecord): void {
  const find = (ref: string) => deps.store.find(ref);
  for (const p of deps.store.list()) {
    if (!p.State.Running || !(p.HostConfig.Links ?? []).some((l) => parseLink(l).target === started.Name)) continue;
    try {
      const { hosts } = linkSettings(p, find);
      const addresses = Object.values(p.Networks).map((n) => n.IPAddress).filter((a): a is string => !!a);
      writeFileSync(p.HostsPath, hostsFile(p.Config, p.HostConfig, p.HostConfig.NetworkMode === 'host', addresses, hosts, deps.networking.hostGatewayIp()));
    } catch {
      // another of its links is down, or its directory is going: its file stays as it was
    }
  }
}

/** Takes down what the engine mounted on the host for a run: the rootfs and a shareable /dev/shm. */
export function unmountRun(execRoot: string, id: string): void {
  const rootfs = runRootfs(execRoot, id);
  if (isMountPoint(rootfs)) unmountAll(rootfs);
  unmountShm(runShmDir(execRoot, id));
}
