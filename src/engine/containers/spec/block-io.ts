// HostConfig's per-device block I/O settings (--blkio-weight-device, --device-read-bps,
// --device-write-bps, --device-read-iops, --device-write-iops) as linux.resources.blockIO
// entries: each path names a block device on the host, which becomes its major:minor, as in
// Docker's getBlkioWeightDevices and getBlkioThrottleDevices.
import { realpathSync } from 'node:fs';
import { invalid } from '../../../common/errors.js';
import { deviceFromPath } from '../../../runtime/spec/host-devices.js';
import type { Resources, ThrottleDevice } from '../../../runtime/spec/types.js';
import type { HostConfig } from '../api-types.js';

type BlockIO = NonNullable<Resources['blockIO']>;

const THROTTLES = [
  ['BlkioDeviceReadBps', 'throttleReadBpsDevice'], ['BlkioDeviceWriteBps', 'throttleWriteBpsDevice'],
  ['BlkioDeviceReadIOps', 'throttleReadIOPSDevice'], ['BlkioDeviceWriteIOps', 'throttleWriteIOPSDevice'],
] as const;

/** The block device at `path` (through a symlink, as /dev/disk/by-id names are). */
function blockDevice(path: unknown, field: string): { major: number; minor: number } {
  if (typeof path !== 'string' || !path.startsWith('/')) throw invalid(`${field}.Path: must be an absolute path`);
  let real: string;
  try {
    real = realpathSync(path);
  } catch {
    throw invalid(`${field}: no such device: ${path}`);
  }
  const d = deviceFromPath(real, real);
  if (d?.type !== 'b') throw invalid(`${field}: ${path} is not a block device`);
  return { major: d.major!, minor: d.minor! };
}

const entries = (h: HostConfig, key: string): Array<Record<string, unknown>> => {
  const v = h[key];
  return Array.isArray(v) ? (v as Array<Record<string, unknown>>) : [];
};

/** The blockIO device lists the container asks for; empty when it asks for none. */
export function blockIoDevices(h: HostConfig): Omit<BlockIO, 'weight' | 'leafWeight'> {
  const out: Omit<BlockIO, 'weight' | 'leafWeight'> = {};
  const weights = entries(h, 'BlkioWeightDevice').map((d, i) => {
    const field = `HostConfig.BlkioWeightDevice[${i}]`;
    const weight = d.Weight;
    if (typeof weight !== 'number' || !Number.isInteger(weight) || weight < 10 || weight > 1000) throw invalid(`${field}.Weight: the blkio weight is from 10 to 1000`);
    return { ...blockDevice(d.Path, field), weight };
  });
  if (weights.length) out.weightDevice = weights;
  for (const [key, spec] of THROTTLES) {
    const list: ThrottleDevice[] = entries(h, key).map((d, i) => {
      const field = `HostConfig.${key}[${i}]`;
      const rate = d.Rate;
      if (typeof rate !== 'number' || !Number.isSafeInteger(rate) || rate < 0) throw invalid(`${field}.Rate: must be a whole number, 0 or more`);
      return { ...blockDevice(d.Path, field), rate };
    });
    if (list.length) out[spec] = list;
  }
  return out;
}
