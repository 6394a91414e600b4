// state, list, ps, events.
import { spawnSync } from 'node:child_process';
import { invalid } from '../../common/errors.js';
import { cgroupsOf, statusOf } from '../container/context.js';
import { containerPids, containerState, listContainers } from '../container/query.js';
import { bool, parseArgs, str } from './args.js';
import type { Command } from './main.js';
import { oneId } from './lifecycle-commands.js';

const json = (v: unknown) => `${JSON.stringify(v, null, '  ')}\n`;

/** Columns like Go's tabwriter with minwidth 12 and padding 3, as runc prints them. */
function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(12, ...rows.map((r) => r[c]!.length + 3)));
  return rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]!))).join('')).join('\n') + '\n';
}

export const queryCommands: Record<string, Command> = {
  async state(args, { ctx }) {
    const s = await containerState(ctx, oneId(parseArgs(args, {}).positionals, 'state'));
    process.stdout.write(json(s));
    return 0;
  },

  async list(args, { ctx }) {
    const { flags } = parseArgs(args, { format: { type: 'string', short: 'f', default: 'table' }, quiet: { type: 'boolean', short: 'q' } });
    const all = await listContainers(ctx);
    if (bool(flags, 'quiet')) {
      process.stdout.write(all.map((c) => `${c.id}\n`).join(''));
    } else if (str(flags, 'format') === 'json') {
      process.stdout.write(`${JSON.stringify(all)}\n`);
    } else if (str(flags, 'format') === 'table') {
      const rows = [['ID', 'PID', 'STATUS', 'BUNDLE', 'CREATED', 'OWNER'], ...all.map((c) => [c.id, String(c.pid ?? 0), c.status, c.bundle, c.created, c.owner || 'root'])];
      process.stdout.write(table(rows));
    } else {
      throw invalid('invalid format option');
    }
    return 0;
  },

  async ps(args, { ctx }) {
    const { flags, positionals } = parseArgs(args, { format: { type: 'string', short: 'f', default: 'table' } }, 1);
    const [id, ...psArgs] = positionals;
    if (!id) throw invalid('"ps" requires a container id');
    const pids = await containerPids(ctx, id);
    if (str(flags, 'format') === 'json') {
      process.stdout.write(`${JSON.stringify(pids)}\n`);
      return 0;
    }
    // As runc: run ps(1) with the given options and keep the header and the container's lines.
    const ps = spawnSync('ps', psArgs.length ? psArgs : ['-ef'], { encoding: 'utf8' });
    if (ps.status !== 0) throw invalid(`ps: ${ps.stderr.trim()}`);
    const [header, ...lines] = ps.stdout.trimEnd().split('\n');
    const pidCol = header!.trim().split(/\s+/).indexOf('PID');
    if (pidCol < 0) throw invalid("couldn't find PID field in ps output");
    const mine = new Set(pids);
    process.stdout.write([header, ...lines.filter((l) => mine.has(Number(l.trim().split(/\s+/)[pidCol])))].join('\n') + '\n');
    return 0;
  },

  async events(args, { ctx }) {
    const { flags, positionals } = parseArgs(args, { stats: { type: 'boolean' }, interval: { type: 'string', default: '5s' } });
    const id = oneId(positionals, 'events');
    const rec = ctx.store.load(id);
    const cgroups = cgroupsOf(rec);
    const emitStats = async () => process.stdout.write(`${JSON.stringify({ type: 'stats', id, data: await cgroups.stats() })}\n`);
    if (bool(flags, 'stats')) {
      await emitStats();
      return 0;
    }
    const ms = parseDuration(str(flags, 'interval')!);
    let ooms = await cgroups.oomKillCount();
    while ((await statusOf(ctx, rec)) !== 'stopped') {
      await emitStats();
      const now = await cgroups.oomKillCount();
      if (now > ooms) process.stdout.write(`${JSON.stringify({ type: 'oom', id })}\n`);
      ooms = now;
      await new Promise((r) => setTimeout(r, ms));
    }
    return 0;
  },
};

function parseDuration(s: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(s);
  if (!m) throw invalid(`invalid duration "${s}" for flag --interval`);
  const scale = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
  const ms = Number(m[1]) * scale;
  if (ms <= 0) throw invalid('duration interval must be greater than 0');
  return ms;
}
