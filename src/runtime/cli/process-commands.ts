// exec, spec, update.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exists, invalid } from '../../common/errors.js';
import { execProcess } from '../container/exec.js';
import { updateContainer } from '../container/update.js';
import { defaultSpec } from '../spec/default.js';
import type { Process, Resources } from '../spec/types.js';
import { bool, type Flags, int, list, parseArgs, str } from './args.js';
import type { Command } from './main.js';
import { oneId } from './lifecycle-commands.js';
import { forwardSignals } from './signals.js';

const execFlags = {
  'console-socket': { type: 'string' as const },
  cwd: { type: 'string' as const },
  env: { type: 'string' as const, short: 'e', multiple: true },
  tty: { type: 'boolean' as const, short: 't' },
  user: { type: 'string' as const, short: 'u' },
  'additional-gids': { type: 'string' as const, short: 'g', multiple: true },
  process: { type: 'string' as const, short: 'p' },
  detach: { type: 'boolean' as const, short: 'd' },
  'pid-file': { type: 'string' as const },
  'process-label': { type: 'string' as const },
  apparmor: { type: 'string' as const },
  'no-new-privs': { type: 'boolean' as const },
  cap: { type: 'string' as const, short: 'c', multiple: true },
  'preserve-fds': { type: 'string' as const },
  cgroup: { type: 'string' as const, multiple: true },
  'ignore-paused': { type: 'boolean' as const },
};

// As runc: start from the container's own process config and apply the flags to it.
function execProcessConfig(base: Process | undefined, flags: Flags, args: string[]): Process {
  const file = str(flags, 'process');
  if (file) return JSON.parse(readFileSync(file, 'utf8')) as Process;
  if (args.length === 0) throw invalid('exec: no command given: pass ARGS or -p process.json');
  const p: Process = structuredClone(base ?? { user: { uid: 0, gid: 0 }, cwd: '/' });
  p.args = args;
  p.terminal = bool(flags, 'tty');
  if (str(flags, 'cwd')) p.cwd = str(flags, 'cwd')!;
  p.env = [...(p.env ?? []), ...list(flags, 'env')];
  const user = str(flags, 'user');
  if (user) {
    const [uid, gid] = user.split(':');
    if (!/^\d+$/.test(uid!) || (gid !== undefined && !/^\d+$/.test(gid))) throw invalid(`exec: --user "${user}" must be UID[:GID]`);
    p.user = { ...p.user, uid: Number(uid), gid: gid === undefined ? p.user.gid : Number(gid) };
  }
  const gids = list(flags, 'additional-gids').map(Number);
  if (gids.length) p.user.additionalGids = gids;
  if (bool(flags, 'no-new-privs')) p.noNewPrivileges = true;
  const caps = list(flags, 'cap');
  if (caps.length) {
    const c = (p.capabilities ??= {});
    for (const set of ['bounding', 'effective', 'permitted', 'ambient'] as const) c[set] = [...new Set([...(c[set] ?? []), ...caps])];
  }
  return p;
}

export const processCommands: Record<string, Command> = {
  async exec(args, { ctx }) {
    const { flags, positionals } = parseArgs(args, execFlags, 1);
    const [id, ...cmd] = positionals;
    if (!id) throw invalid('"exec" requires a container id');
    const proc = execProcessConfig(ctx.store.load(id).config.process, flags, cmd);
    const detach = bool(flags, 'detach');
    const { pid, exit } = await execProcess(ctx, id, {
      process: proc,
      consoleSocket: str(flags, 'console-socket'),
      pidFile: str(flags, 'pid-file'),
      detach,
      preserveFds: int(flags, 'preserve-fds') ?? 0,
    });
    if (detach) return 0;
    const stop = forwardSignals(pid);
    try {
      return await exit;
    } finally {
      stop();
    }
  },

  async spec(args) {
    const { flags } = parseArgs(args, { bundle: { type: 'string', short: 'b', default: '.' }, rootless: { type: 'boolean' } });
    const file = join(str(flags, 'bundle')!, 'config.json');
    if (existsSync(file)) throw exists('File config.json exists. Remove it first');
    writeFileSync(file, `${JSON.stringify(defaultSpec({ rootless: bool(flags, 'rootless') }), null, '\t')}\n`);
    return 0;
  },

  async update(args, { ctx }) {
    const { flags, positionals } = parseArgs(args, {
      resources: { type: 'string', short: 'r' },
      'blkio-weight': { type: 'string' },
      'cpu-period': { type: 'string' },
      'cpu-quota': { type: 'string' },
      'cpu-share': { type: 'string' },
      'cpu-rt-period': { type: 'string' },
      'cpu-rt-runtime': { type: 'string' },
      'cpuset-cpus': { type: 'string' },
      'cpuset-mems': { type: 'string' },
      memory: { type: 'string' },
      'memory-reservation': { type: 'string' },
      'memory-swap': { type: 'string' },
      'pids-limit': { type: 'string' },
    });
    const id = oneId(positionals, 'update');
    await updateContainer(ctx, id, updateResources(flags));
    return 0;
  },
};

function updateResources(flags: Flags): Resources {
  const file = str(flags, 'resources');
  if (file) return JSON.parse(readFileSync(file === '-' ? 0 : file, 'utf8')) as Resources;
  const r: Resources = {};
  const set = <K extends keyof Resources>(key: K, patch: NonNullable<Resources[K]>) => { r[key] = { ...(r[key] as object), ...patch } as Resources[K]; };
  const bytes = (name: string) => (str(flags, name) === undefined ? undefined : parseBytes(str(flags, name)!, name));
  if (int(flags, 'blkio-weight') !== undefined) set('blockIO', { weight: int(flags, 'blkio-weight') });
  if (int(flags, 'cpu-period') !== undefined) set('cpu', { period: int(flags, 'cpu-period') });
  if (int(flags, 'cpu-quota') !== undefined) set('cpu', { quota: int(flags, 'cpu-quota') });
  if (int(flags, 'cpu-share') !== undefined) set('cpu', { shares: int(flags, 'cpu-share') });
  if (int(flags, 'cpu-rt-period') !== undefined) set('cpu', { realtimePeriod: int(flags, 'cpu-rt-period') });
  if (int(flags, 'cpu-rt-runtime') !== undefined) set('cpu', { realtimeRuntime: int(flags, 'cpu-rt-runtime') });
  if (str(flags, 'cpuset-cpus') !== undefined) set('cpu', { cpus: str(flags, 'cpuset-cpus') });
  if (str(flags, 'cpuset-mems') !== undefined) set('cpu', { mems: str(flags, 'cpuset-mems') });
  if (bytes('memory') !== undefined) set('memory', { limit: bytes('memory') });
  if (bytes('memory-reservation') !== undefined) set('memory', { reservation: bytes('memory-reservation') });
  if (bytes('memory-swap') !== undefined) set('memory', { swap: bytes('memory-swap') });
  if (int(flags, 'pids-limit') !== undefined) set('pids', { limit: int(flags, 'pids-limit')! });
  return r;
}

/** "64m", "1g", "512k", "1024", "-1" as bytes, the way runc reads sizes. */
export function parseBytes(v: string, name: string): number {
  const m = /^(-?\d+(?:\.\d+)?)\s*([kmgtp]?)i?b?$/i.exec(v);
  if (!m) throw invalid(`invalid value "${v}" for flag --${name}: not a size`);
  const power = ' kmgtp'.indexOf(m[2]!.toLowerCase() || ' ');
  return Math.round(Number(m[1]) * 1024 ** power);
}
