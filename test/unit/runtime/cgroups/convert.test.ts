// v1→v2 value conversions, device rule syntax, and the runc-shaped stats JSON.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { blkioWeightToIoWeight, pidsMax, sharesToWeight, swapMaxV2 } from '../../../../src/runtime/cgroups/convert.js';
import { deviceRuleLine, v1DeviceOps, v2DeviceRulesUnsupported } from '../../../../src/runtime/cgroups/devices.js';
import { parseDeviceLines, parseKeyValues, parseNumber, UINT64_MAX } from '../../../../src/runtime/cgroups/parse.js';
import { emptyStats, runcStatsData, stringifyStats } from '../../../../src/runtime/cgroups/stats.js';

describe('conversions', () => {
  it('maps cpu shares to cpu.weight as runc does', () => {
    assert.equal(sharesToWeight(2), 1);
    assert.equal(sharesToWeight(1024), 39);
    assert.equal(sharesToWeight(512), 20);
    assert.equal(sharesToWeight(262144), 10000);
    assert.equal(sharesToWeight(1), 1, 'below the v1 minimum clamps');
    assert.equal(sharesToWeight(1_000_000), 10000, 'above the v1 maximum clamps');
  });

  it('maps blkio weight to io.weight as runc does', () => {
    assert.equal(blkioWeightToIoWeight(10), 1);
    assert.equal(blkioWeightToIoWeight(500), 4950);
    assert.equal(blkioWeightToIoWeight(1000), 10000);
  });

  it('turns memory+swap into swap.max', () => {
    const Mi = 1 << 20;
    assert.equal(swapMaxV2(128 * Mi, 64 * Mi), String(64 * Mi));
    assert.equal(swapMaxV2(64 * Mi, 64 * Mi), '0', 'swap equal to memory disables swap');
    assert.equal(swapMaxV2(-1, 64 * Mi), 'max');
    assert.equal(swapMaxV2(undefined, -1), 'max', 'unlimited memory makes swap unlimited too');
    assert.equal(swapMaxV2(undefined, 64 * Mi), undefined);
    assert.equal(swapMaxV2(0, 64 * Mi), undefined);
    assert.equal(swapMaxV2(100, -1), '100');
    assert.throws(() => swapMaxV2(32 * Mi, 64 * Mi), /^BerthError: linux\.resources\.memory\.swap: .* must be >= limit/);
    assert.throws(() => swapMaxV2(32 * Mi, undefined), /linux\.resources\.memory\.swap: .*needs linux\.resources\.memory\.limit/);
  });

  it('writes no pids limit as max', () => {
    assert.equal(pidsMax(32), '32');
    assert.equal(pidsMax(0), 'max');
    assert.equal(pidsMax(-1), 'max');
  });
});

describe('device rules', () => {
  it('formats rules in the kernel syntax with wildcards', () => {
    assert.equal(deviceRuleLine({ allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' }, 0), 'c 1:3 rwm');
    assert.equal(deviceRuleLine({ allow: true, type: 'c', major: 136, access: 'rw' }, 0), 'c 136:* rw');
    assert.equal(deviceRuleLine({ allow: false }, 0), 'a *:* rwm');
    assert.equal(deviceRuleLine({ allow: true, type: 'b', major: null, minor: -1, access: 'm' }, 0), 'b *:* m');
    assert.throws(() => deviceRuleLine({ allow: true, type: 'x' }, 2), /linux\.resources\.devices\[2\]\.type/);
    assert.throws(() => deviceRuleLine({ allow: true, access: 'rx' }, 1), /linux\.resources\.devices\[1\]\.access/);
    assert.throws(() => deviceRuleLine({ allow: true, major: 1.5 }, 0), /devices\[0\]\.major/);
  });

  it('denies everything first, then applies the rules in order (v1)', () => {
    const ops = v1DeviceOps([{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 1, minor: 5, access: 'rwm' }]);
    assert.deepEqual(ops.map((o) => [o.choices[0]!.file, o.choices[0]!.value]), [
      ['devices.deny', 'a'],
      ['devices.deny', 'a *:* rwm'],
      ['devices.allow', 'c 1:5 rwm'],
    ]);
  });

  it('says when v2 would leave device rules unenforced', () => {
    assert.equal(v2DeviceRulesUnsupported(undefined), undefined);
    assert.equal(v2DeviceRulesUnsupported({ devices: [] }), undefined);
    assert.equal(v2DeviceRulesUnsupported({ devices: [{ allow: true, access: 'rwm' }] }), undefined, 'allow-all restricts nothing');
    const msg = v2DeviceRulesUnsupported({ devices: [{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' }] });
    assert.match(msg ?? '', /^linux\.resources\.devices: 2 device rule\(s\) are not enforced on cgroup v2/);
  });
});

describe('parsing and stats JSON', () => {
  it('parses numbers, max, keyed and device files', () => {
    assert.equal(parseNumber('42\n'), 42);
    assert.equal(parseNumber('max'), UINT64_MAX);
    assert.equal(parseNumber('-1'), -1);
    assert.equal(parseNumber(undefined), 0);
    assert.deepEqual(parseKeyValues('a 1\nb 2\nbad\n'), { a: 1, b: 2 });
    assert.deepEqual(parseDeviceLines('8:0 Read 10\n8:0 Write 5\nTotal 15\n'), [
      { major: 8, minor: 0, fields: ['Read', '10'] },
      { major: 8, minor: 0, fields: ['Write', '5'] },
    ]);
  });

  it('leaves out what runc omits when empty, and prints unlimited as 2^64-1', () => {
    const s = emptyStats();
    s.memory.usage = { usage: 4096, limit: UINT64_MAX, max: 0, failcnt: 0 };
    s.pids = { current: 1, limit: 0 };
    const data = runcStatsData(s);
    assert.deepEqual(data, {
      cpu: { usage: { kernel: 0, user: 0 }, throttling: {} },
      memory: { usage: { usage: 4096, limit: UINT64_MAX, failcnt: 0 }, swap: { limit: 0, failcnt: 0 }, kernel: { limit: 0, failcnt: 0 }, kernelTCP: { limit: 0, failcnt: 0 } },
      pids: { current: 1 },
      blkio: {},
      hugetlb: {},
    });
    assert.match(stringifyStats(data), /"limit":18446744073709551615,/);
  });
});
