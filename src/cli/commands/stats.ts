// stats: CPU, memory, network and block I/O per container, computed from the daemon's samples the
// way docker does (CPU delta over system delta times online CPUs; memory without the inactive page
// cache). --no-stream prints one table; otherwise the table is redrawn in place on a terminal.
import type { IncomingMessage } from 'node:http';
import { jsonStream } from '../../client/streams.js';
import type { StatsResponse } from '../../client/types.js';
import type { Command, Context } from '../command.js';
import { renderItems, resolveFormat } from '../output/format.js';
import { markRow } from '../template/docker-funcs.js';
import { bytesSize, humanSize } from '../output/units.js';
import { parseFilters, shortId } from './util.js';

export interface StatsRow {
  BlockIO: string;
  CPUPerc: string;
  Container: string;
  ID: string;
  MemPerc: string;
  MemUsage: string;
  Name: string;
  NetIO: string;
  PIDs: string;
}

const headers = {
  ID: 'CONTAINER ID', Container: 'CONTAINER', Name: 'NAME', CPUPerc: 'CPU %', MemUsage: 'MEM USAGE / LIMIT', MemPerc: 'MEM %',
  NetIO: 'NET I/O', BlockIO: 'BLOCK I/O', PIDs: 'PIDS',
};

export function cpuPercent(s: StatsResponse): number {
  const cpuDelta = (s.cpu_stats?.cpu_usage?.total_usage ?? 0) - (s.precpu_stats?.cpu_usage?.total_usage ?? 0);
  const systemDelta = (s.cpu_stats?.system_cpu_usage ?? 0) - (s.precpu_stats?.system_cpu_usage ?? 0);
  const online = s.cpu_stats?.online_cpus || s.cpu_stats?.cpu_usage?.percpu_usage?.length || 0;
  return systemDelta > 0 && cpuDelta > 0 ? (cpuDelta / systemDelta) * online * 100 : 0;
}

export function memoryUsage(s: StatsResponse): number {
  const usage = s.memory_stats?.usage ?? 0;
  const st = s.memory_stats?.stats ?? {};
  if (st.total_inactive_file !== undefined && st.total_inactive_file < usage) return usage - st.total_inactive_file;
  if (st.inactive_file !== undefined && st.inactive_file < usage) return usage - st.inactive_file;
  return usage;
}

export function statsRow(container: string, s: StatsResponse | undefined, trunc = true): StatsRow {
  if (!s || !s.read || s.read.startsWith('0001-01-01')) {
    return markRow({ BlockIO: '--', CPUPerc: '--', Container: container, ID: s?.id ? (trunc ? shortId(s.id) : s.id) : container, MemPerc: '--', MemUsage: '-- / --', Name: (s?.name ?? '--').replace(/^\//, ''), NetIO: '--', PIDs: '--' });
  }
  const mem = memoryUsage(s);
  const limit = s.memory_stats?.limit ?? 0;
  let rx = 0;
  let tx = 0;
  for (const n of Object.values(s.networks ?? {})) {
    rx += n.rx_bytes;
    tx += n.tx_bytes;
  }
  let read = 0;
  let write = 0;
  for (const e of s.blkio_stats?.io_service_bytes_recursive ?? []) {
    if (/^read$/i.test(e.op)) read += e.value;
    else if (/^write$/i.test(e.op)) write += e.value;
  }
  return markRow({
    BlockIO: `${humanSize(read, 3)} / ${humanSize(write, 3)}`,
    CPUPerc: `${cpuPercent(s).toFixed(2)}%`,
    Container: container,
    ID: trunc ? shortId(s.id ?? container) : s.id ?? container,
    MemPerc: `${(limit ? (mem / limit) * 100 : 0).toFixed(2)}%`,
    MemUsage: `${bytesSize(mem)} / ${bytesSize(limit)}`,
    Name: (s.name ?? '').replace(/^\//, '') || '--',
    NetIO: `${humanSize(rx, 3)} / ${humanSize(tx, 3)}`,
    PIDs: String(s.pids_stats?.current ?? 0),
  });
}

async function firstJson(res: IncomingMessage): Promise<StatsResponse | undefined> {
  for await (const s of jsonStream<StatsResponse>(res)) {
    res.destroy();
    return s;
  }
  return undefined;
}

async function streamStats(ctx: Context, names: string[], format: string, trunc: boolean): Promise<void> {
  const api = await ctx.api();
  const latest = new Map<string, StatsResponse | undefined>(names.map((n) => [n, undefined]));
  const controller = new AbortController();
  const gone = new Set<string>();
  const firsts: Promise<void>[] = [];
  for (const name of names) {
    let first = () => {};
    firsts.push(new Promise<void>((resolve) => (first = resolve)));
    void (async () => {
      try {
        const res = await api.stats(name, true, controller.signal);
        for await (const s of jsonStream<StatsResponse>(res)) {
          latest.set(name, s);
          first();
        }
      } catch {
        // the container went away or the daemon closed the stream
      }
      gone.add(name);
      first();
    })();
  }
  // as docker: the first table waits (up to 2 s) for every container's first sample
  await Promise.race([Promise.all(firsts), new Promise((r) => setTimeout(r, 2000).unref())]);
  const tty = !!ctx.stdout.isTTY;
  const draw = () => {
    const rows = names.map((n) => statsRow(n, latest.get(n), trunc));
    const table = renderItems(format, rows, headers);
    if (tty) ctx.stdout.write(`\x1b[H${table.split('\n').join('\x1b[K\n')}\x1b[J`);
    else ctx.stdout.write(table);
  };
  if (tty) ctx.stdout.write('\x1b[2J');
  draw();
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      draw();
      if (gone.size === names.length) {
        clearInterval(timer);
        resolve();
      }
    }, 500);
    const stop = () => {
      clearInterval(timer);
      controller.abort();
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}

export const statsCommand: Command = {
  name: 'stats',
  usage: '[OPTIONS] [CONTAINER...]',
  summary: 'Display a live stream of container(s) resource usage statistics',
  aliasPaths: ['container stats', 'stats'],
  flags: [
    { name: 'all', short: 'a', type: 'bool', help: 'Show all containers (default shows just running)' },
    { name: 'format', type: 'string', help: 'Format output using a custom template' },
    { name: 'no-stream', type: 'bool', help: 'Disable streaming stats and only pull the first result' },
    { name: 'no-trunc', type: 'bool', help: "Don't truncate output" },
  ],
  run: async (ctx, f, args) => {
    const api = await ctx.api();
    const trunc = !f.bool('no-trunc');
    let names = args;
    if (!names.length) {
      const list = await api.listContainers({ all: f.bool('all'), filters: parseFilters([]) });
      names = list.map((c) => (trunc ? shortId(c.Id) : c.Id));
    }
    const format = resolveFormat(f.str('format'), 'table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}');
    if (f.bool('no-stream')) {
      const rows: StatsRow[] = [];
      for (const name of names) rows.push(statsRow(name, await firstJson(await api.stats(name, false)), trunc));
      ctx.stdout.write(renderItems(format, rows, headers));
      return 0;
    }
    await streamStats(ctx, names, format, trunc);
    return 0;
  },
};
