// The HostConfig checks Docker's daemon makes when a container is created
// (verifyContainerSettings), so that a request it would refuse leaves no container behind, rather
// than a container whose every start fails. The same settings are checked again at start, where
// the spec is built from them (spec/build-spec.ts).
import { existsSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { invalid } from '../../common/errors.js';
import { normalizeCapabilities } from '../../runtime/spec/container-capabilities.js';
import type { HostConfig } from './api-types.js';
import { HOST_GATEWAY } from './etc-files.js';
import { checkResources } from './spec/resources.js';

export interface CreateCheckDeps {
  /** Whether the supervisor can run tasks with this runtime. */
  hasRuntime(name: string): boolean;
  /** The host's cgroup v1 blkio directory (default /sys/fs/cgroup/blkio). */
  blkioRoot?: string;
}

/**
 * Throws what Docker would refuse; returns the warnings Docker gives for what it accepts. Like
 * Docker, it drops per-device blkio weights the host cannot apply (with a warning).
 */
export function checkHostConfig(h: HostConfig, deps: CreateCheckDeps): string[] {
  const warnings: string[] = [];
  const blkioRoot = deps.blkioRoot ?? '/sys/fs/cgroup/blkio';
  // Only the CFQ file counts, as in Docker: BFQ's per-device weights need that device to use BFQ.
  if (Array.isArray(h.BlkioWeightDevice) && h.BlkioWeightDevice.length && existsSync(blkioRoot) && !existsSync(join(blkioRoot, 'blkio.weight_device'))) {
    warnings.push('Your kernel does not support Block I/O weight_device or the cgroup is not mounted. Weight-device discarded.');
    h.BlkioWeightDevice = [];
  }
  checkResources(h);
  normalizeCapabilities(h.CapAdd, 'HostConfig.CapAdd');
  normalizeCapabilities(h.CapDrop, 'HostConfig.CapDrop');
  (h.ExtraHosts ?? []).forEach(checkExtraHost);
  if (h.Runtime && !deps.hasRuntime(h.Runtime)) throw invalid(`Unknown runtime specified ${h.Runtime}`);
  if (h.Isolation && h.Isolation !== 'default') throw invalid(`Invalid isolation: "${h.Isolation}" - linux only supports 'default'`);
  // Docker's overlay2 takes a size only on xfs with project quotas; berth's snapshotter takes none.
  if (Object.keys(h.StorageOpt ?? {}).length) throw invalid('--storage-opt is not supported: the overlay snapshotter has no per-container size limit');
  const requests = h.DeviceRequests;
  if (Array.isArray(requests) && requests.length) {
    const r = requests[0] as { Driver?: string; Capabilities?: string[][] };
    throw invalid(`could not select device driver "${r.Driver ?? ''}" with capabilities: ${JSON.stringify(r.Capabilities ?? []).replace(/"/g, '').replace(/,/g, ' ')}`);
  }
  if (typeof h.KernelMemory === 'number' && h.KernelMemory > 0) {
    warnings.push('Specifying a kernel memory limit is deprecated and will be removed in a future release.');
  }
  return warnings;
}

/** "name:address" (the address an IP or host-gateway), as Docker's ValidateExtraHost reads it. */
function checkExtraHost(entry: unknown): void {
  if (typeof entry !== 'string') throw invalid('HostConfig.ExtraHosts: each entry must be a string');
  const i = entry.indexOf(':');
  if (i <= 0) throw invalid(`bad format for add-host: "${entry}"`);
  const ip = entry.slice(i + 1).replace(/^\[(.*)\]$/, '$1');
  if (ip !== HOST_GATEWAY && !isIP(ip)) throw invalid(`invalid IP address in add-host: "${ip}"`);
}
