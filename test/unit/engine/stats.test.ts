// docker stats' JSON from the runtime's cgroup figures (v2's key names included, as the docker
// CLI reads them), and the per-interface network counters from /proc/<pid>/net/dev.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { emptyStats } from '../../../src/runtime/cgroups/stats.js';
import { UINT64_MAX } from '../../../src/runtime/cgroups/parse.js';
import { dockerStats, networkCounters, parseNetDev } from '../../../src/engine/containers/stats.js';
import type { ContainerRecord } from '../../../src/engine/containers/record.js';

const NET_DEV = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:     140       2    0    0    0     0          0         0      140       2    0    0    0     0       0          0
  eth0:    5212      38    1    2    0     0          0         0     1880      19    3    4    0     0       0          0
`;

describe('docker stats', () => {
  it('reads /proc/<pid>/net/dev without loopback', () => {
    assert.deepEqual(parseNetDev(NET_DEV), {
      eth0: { rx_bytes: 5212, rx_packets: 38, rx_errors: 1, rx_dropped: 2, tx_bytes: 1880, tx_packets: 19, tx_errors: 3, tx_dropped: 4 },
    });
    assert.deepEqual(parseNetDev('garbage\n\n'), {});
    const own = networkCounters(process.pid);
    assert.ok(own && !('lo' in own), 'this process\'s namespace, loopback left out');
    assert.equal(networkCounters(2 ** 22 + 1), undefined, 'a process that is gone');
  });

  it('shapes cgroup v2 figures as the Engine API does', () => {
    const cg = emptyStats();
    cg.memory.raw = { anon: 4096, file: 8192, inactive_file: 4096, active_file: 4096 };
    cg.memory.usage = { usage: 16384, limit: UINT64_MAX, max: 0, failcnt: 0 };
    cg.cpu.usage = { ...cg.cpu.usage, total: 5_000_000, user: 3_000_000, kernel: 2_000_000 };
    cg.pids = { current: 3, limit: 0 };
    const c = { ID: 'a'.repeat(64), Name: '/web' } as ContainerRecord;
    const at = new Date('2026-01-01T00:00:00Z');
    const out = dockerStats(c, { at, cg, system: 1e9, networks: parseNetDev(NET_DEV) }, undefined) as Record<string, any>;
    assert.equal(out.read, '2026-01-01T00:00:00.000Z');
    assert.equal(out.preread, '0001-01-01T00:00:00Z');
    assert.deepEqual(out.memory_stats.stats, cg.memory.raw, 'v2 keys pass through: the CLI subtracts inactive_file');
    const total = Number(/^MemTotal:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'))![1]) * 1024;
    assert.equal(out.memory_stats.limit, total, 'unlimited memory reports the host\'s');
    assert.equal(out.cpu_stats.cpu_usage.total_usage, 5_000_000);
    assert.equal(out.cpu_stats.cpu_usage.percpu_usage, undefined, 'v2 has no per-CPU figures');
    assert.deepEqual(out.pids_stats, { current: 3 });
    assert.equal(out.networks.eth0.rx_bytes, 5212);
    assert.equal(out.precpu_stats.system_cpu_usage, 0);
    const noNet = dockerStats(c, { at, cg, system: 1e9 }, undefined) as Record<string, unknown>;
    assert.equal('networks' in noNet, false, '--network host: no networks block, as Docker');
  });
});
