// `berth update`: changes a container's resource limits and restart policy while it runs (or for
// its next start), as `docker update` does: only the flags given are sent, each container named is
// printed once updated, the daemon's warnings go to stderr.
import { BerthError } from '../../common/errors.js';
import type { Command } from '../command.js';
import { bytesFlag } from './container-opts.js';
import { forEachArg } from './util.js';

/** NAME[:COUNT], its format checked only: the daemon says whether the policy is one it knows (docker's ParseRestartPolicy). */
function restartPolicy(v: string): { Name: string; MaximumRetryCount: number } {
  const [name = '', count] = v.split(/:(.*)/s);
  if (count !== undefined && name === '') throw new BerthError('INVALID_ARGUMENT', 'invalid restart policy format: no policy provided before colon');
  if (count && !/^-?\d+$/.test(count)) throw new BerthError('INVALID_ARGUMENT', 'invalid restart policy format: maximum retry count must be an integer');
  return { Name: name, MaximumRetryCount: count ? Number(count) : 0 };
}

export const updateCommand: Command = {
  name: 'update',
  usage: '[OPTIONS] CONTAINER [CONTAINER...]',
  summary: 'Update configuration of one or more containers',
  aliasPaths: ['container update', 'update'],
  flags: [
    { name: 'blkio-weight', type: 'int', help: 'Block IO (relative weight), between 10 and 1000, or 0 to disable', valueName: 'uint16' },
    { name: 'cpu-period', type: 'int', help: 'Limit CPU CFS (Completely Fair Scheduler) period' },
    { name: 'cpu-quota', type: 'int', help: 'Limit CPU CFS (Completely Fair Scheduler) quota' },
    { name: 'cpu-rt-period', type: 'int', help: 'Limit the CPU real-time period in microseconds' },
    { name: 'cpu-rt-runtime', type: 'int', help: 'Limit the CPU real-time runtime in microseconds' },
    { name: 'cpu-shares', short: 'c', type: 'int', help: 'CPU shares (relative weight)' },
    { name: 'cpus', type: 'float', help: 'Number of CPUs' },
    { name: 'cpuset-cpus', type: 'string', help: 'CPUs in which to allow execution (0-3, 0,1)' },
    { name: 'cpuset-mems', type: 'string', help: 'MEMs in which to allow execution (0-3, 0,1)' },
    { name: 'memory', short: 'm', type: 'string', help: 'Memory limit', valueName: 'bytes' },
    { name: 'memory-reservation', type: 'string', help: 'Memory soft limit', valueName: 'bytes' },
    { name: 'memory-swap', type: 'string', help: 'Swap limit equal to memory plus swap: -1 to enable unlimited swap', valueName: 'bytes' },
    { name: 'pids-limit', type: 'int', help: 'Tune container pids limit (set -1 for unlimited)' },
    { name: 'restart', type: 'string', help: 'Restart policy to apply when a container exits' },
  ],
  minArgs: 1,
  run: async (ctx, f, args) => {
    if (f.changed.size === 0) throw new BerthError('INVALID_ARGUMENT', 'you must provide one or more flags when using this command');
    const body: Record<string, unknown> = {};
    const ints: Array<[string, string]> = [['blkio-weight', 'BlkioWeight'], ['cpu-period', 'CpuPeriod'], ['cpu-quota', 'CpuQuota'], ['cpu-rt-period', 'CpuRealtimePeriod'],
      ['cpu-rt-runtime', 'CpuRealtimeRuntime'], ['cpu-shares', 'CpuShares'], ['pids-limit', 'PidsLimit']];
    for (const [flag, field] of ints) if (f.has(flag)) body[field] = f.int(flag);
    for (const [flag, field] of [['memory', 'Memory'], ['memory-reservation', 'MemoryReservation'], ['memory-swap', 'MemorySwap']] as const) {
      if (f.has(flag)) body[field] = bytesFlag(f, flag);
    }
    if (f.has('cpus')) body.NanoCpus = Math.round((f.values.get('cpus') as number) * 1e9);
    if (f.has('cpuset-cpus')) body.CpusetCpus = f.str('cpuset-cpus');
    if (f.has('cpuset-mems')) body.CpusetMems = f.str('cpuset-mems');
    if (f.has('restart')) body.RestartPolicy = restartPolicy(f.str('restart') ?? '');
    const api = await ctx.api();
    const warnings: string[] = [];
    const code = await forEachArg(ctx, args, async (name) => {
      const r = await api.updateContainer(name, body);
      warnings.push(...(r.Warnings ?? []));
      return name;
    }).finally(() => {
      if (warnings.length) ctx.stderr.write(`${warnings.join('\n')}\n`);
    });
    return code;
  },
};
