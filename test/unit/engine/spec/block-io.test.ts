// Per-device block I/O settings: host paths become major:minor of a block device.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import { blockIoDevices } from '../../../../src/engine/containers/spec/block-io.js';

// A block device of this machine (a disk or a loop device), if it has one.
const disk = readdirSync('/dev').map((n) => `/dev/${n}`).find((p) => {
  try {
    return statSync(p).isBlockDevice();
  } catch {
    return false;
  }
});

describe('blockIoDevices', () => {
  it('is empty without per-device settings', () => {
    assert.deepEqual(blockIoDevices({ BlkioWeight: 300 }), {});
  });

  it('turns each path into its device numbers', { skip: disk ? false : 'no block device on this machine' }, () => {
    const rdev = BigInt(statSync(disk!, { bigint: true }).rdev);
    const major = Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn));
    const minor = Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn));
    const out = blockIoDevices({ BlkioWeightDevice: [{ Path: disk, Weight: 200 }], BlkioDeviceReadBps: [{ Path: disk, Rate: 1 << 20 }], BlkioDeviceWriteIOps: [{ Path: disk, Rate: 100 }] });
    assert.deepEqual(out, {
      weightDevice: [{ major, minor, weight: 200 }],
      throttleReadBpsDevice: [{ major, minor, rate: 1 << 20 }],
      throttleWriteIOPSDevice: [{ major, minor, rate: 100 }],
    });
  });

  it('refuses a path that is no block device, a missing one, and a weight out of range', () => {
    assert.throws(() => blockIoDevices({ BlkioDeviceReadBps: [{ Path: '/dev/null', Rate: 1 }] }), /BlkioDeviceReadBps\[0\]: \/dev\/null is not a block device/);
    assert.throws(() => blockIoDevices({ BlkioDeviceWriteBps: [{ Path: '/dev/nope-x', Rate: 1 }] }), /no such device: \/dev\/nope-x/);
    assert.throws(() => blockIoDevices({ BlkioWeightDevice: [{ Path: '/dev/null', Weight: 5 }] }), /Weight: the blkio weight is from 10 to 1000/);
  });
});
