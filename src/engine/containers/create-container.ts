// POST /containers/create after the checks: the record made from the request and its image (name,
// ID, hostname, networks and volumes planned), a writable snapshot on the image's layers, and the
// record persisted. On failure nothing stays: no snapshot, no anonymous volume, no record.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { notFound } from '../../common/errors.js';
import type { ImageConfig } from '../../image/config.js';
import { formatPlatform, parsePlatform, samePlatform } from '../../image/manifest.js';
import { removeContainerVolumes, resolveMounts } from '../../volume/mounts.js';
import type { HostConfig } from './api-types.js';
import { checkCreateBody, commandOf, logOptions, mergeImageConfig } from './create.js';
import { checkHostConfig } from './create-checks.js';
import { hostCgroupVersion } from './spec/build-spec.js';
import { withCreateDefaults } from './spec/defaults.js';
import { checkLinks } from './links.js';
import { containerName, newContainerId } from './names.js';
import { initialState, type ContainerRecord } from './record.js';
import type { ContainerServiceDeps } from './service.js';

export function createContainer(
  deps: Pick<ContainerServiceDeps, 'store' | 'images' | 'snapshotter' | 'volumes' | 'networking' | 'dataRoot' | 'tasks' | 'defaultRuntime'>, rawBody: unknown, name?: string,
  platform?: string,
): { record: ContainerRecord; warnings: string[] } {
  const body = checkCreateBody(rawBody);
  if (name) containerName(name, () => false); // a bad name is refused before the image is looked up
  const img = deps.images.get(body.Image!);
  if (platform) checkPlatform(body.Image!, img.config, platform);
  const { HostConfig: host = {}, NetworkingConfig: _networking, Platform: _platform, ...config } = body;
  const merged = mergeImageConfig(config, img.config.config);
  const { path, args } = commandOf(merged);
  logOptions(host);
  const id = newContainerId();
  const fullName = containerName(name, (n) => deps.store.list().some((c) => c.Name === n));
  if (!merged.Hostname) merged.Hostname = host.NetworkMode === 'host' ? readHostname() : id.slice(0, 12);
  // Stored with the defaults Docker's daemon writes into it, so inspect shows what the container gets.
  const h: HostConfig = withCreateDefaults({ NetworkMode: 'default', RestartPolicy: { Name: 'no', MaximumRetryCount: 0 }, ...host }, hostCgroupVersion());
  h.LogConfig = { Config: {}, ...h.LogConfig, Type: h.LogConfig?.Type || 'json-file' };
  h.Runtime ||= deps.defaultRuntime;
  const warnings = checkHostConfig(h, deps.tasks);
  h.Links = checkLinks(h, fullName, (ref) => deps.store.find(ref));
  const networks = deps.networking.planEndpoints(h, body.NetworkingConfig?.EndpointsConfig);
  const dir = deps.store.dir(id);
  const volumes = resolveMounts(deps.volumes, {
    containerId: id, hostConfig: h, imageVolumes: merged.Volumes, daemonRoot: deps.dataRoot,
    containerMounts: (ref) => {
      const other = deps.store.get(ref);
      return { id: other.ID, mounts: other.MountPoints ?? [] };
    },
  });
  const record: ContainerRecord = {
    ID: id, Name: fullName, Created: new Date().toISOString(), Path: path, Args: args,
    Config: merged, HostConfig: h, Image: img.id, State: initialState(), RestartCount: 0,
    Platform: 'linux', Driver: deps.snapshotter.name, LogPath: join(dir, `${id}-json.log`),
    ResolvConfPath: join(dir, 'resolv.conf'), HostnamePath: join(dir, 'hostname'), HostsPath: join(dir, 'hosts'),
    Networks: networks, Ports: {}, SnapshotKey: id, ImageChainId: img.chainIds.at(-1), ManuallyStopped: false, HasBeenStarted: false,
    MountPoints: volumes.mounts,
  };
  try {
    deps.snapshotter.prepare(id, record.ImageChainId, { 'berth.container': id });
    try {
      deps.store.add(record);
    } catch (err) {
      deps.snapshotter.remove(id);
      throw err;
    }
  } catch (err) {
    removeContainerVolumes(deps.volumes, volumes.mounts, id, { removeVolumes: true });
    throw err;
  }
  return { record, warnings };
}

/** `--platform`: the image must be for it (Docker's words; the CLI then tries to pull it). */
function checkPlatform(ref: string, config: ImageConfig, platform: string): void {
  const want = parsePlatform(platform);
  const have = { os: config.os, architecture: config.architecture, ...(config.variant ? { variant: config.variant } : {}) };
  if (!samePlatform(want, have)) {
    throw notFound(`image with reference ${ref} was found but does not match the specified platform: wanted ${formatPlatform(want)}, actual: ${formatPlatform(have)}`);
  }
}

/** The host's name: a --network host container's default hostname, as in Docker. */
function readHostname(): string {
  try {
    return readFileSync('/etc/hostname', 'utf8').trim();
  } catch {
    return 'localhost';
  }
}
