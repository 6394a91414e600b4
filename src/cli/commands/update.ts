// `berth update`: changes a container's resource limits and restart policy while it runs (or for
// its next start), as `docker update` does: only the flags given are sent, each container named is
// printed once updated, the daemon's warnings go to stderr.
import { BerthError } from '../../common/errors.js';
import type { Command } from '../command.js';
import { bytesFlag, containerFlags } from './container-opts.js';
import { parseRestartPolicy } from './container-parse.js';
import { forEachArg } from './util.js';

/** `update`'s flags: those of `run` that change a running container's limits, docker's set. */
const UPDATE_FLAGS = ['blkio-weight', 'cpu-period', 'cpu-quota', 'cpu-rt-period', 'cpu-rt-runtime', 'cpu-shares', 'cpus', 'cpuset-cpus', 'cpuset-mems',
  'memory', 'memory-reservation', 'memory-swap', 'pids-limit', 'restart'];

export const updateCommand: Command = {
  name: 'update',
  usage: '[OPTIONS] CONTAINER [CONTAINER...]',
  summary: 'Update configuration of one or more containers',
  aliasPaths: ['container update', 'update'],
  // run's definitions, but without its defaults: only what is given is sent (`--restart` is "no" for run).
  flags: containerFlags.filter((d) => UPDATE_FLAGS.includes(d.name)).map(({ default: _default, ...d }) => d),
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
    if (f.has('restart')) body.RestartPolicy = parseRestartPolicy(f.str('restart') ?? '', { knownOnly: false });
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
