// create, start, run, kill, delete, pause, resume.
import { invalid } from '../../common/errors.js';
import { createContainer } from '../container/create.js';
import { deleteContainer } from '../container/delete.js';
import { killContainer } from '../container/kill.js';
import { pauseContainer, resumeContainer } from '../container/pause.js';
import { runContainer } from '../container/run.js';
import { startContainer } from '../container/start.js';
import { bool, type FlagSpec, int, parseArgs, str } from './args.js';
import type { Command } from './main.js';
import { forwardSignals } from './signals.js';

const createFlags: Record<string, FlagSpec> = {
  bundle: { type: 'string', short: 'b', default: '.' },
  'console-socket': { type: 'string' },
  'pid-file': { type: 'string' },
  'no-pivot': { type: 'boolean' },
  'no-subreaper': { type: 'boolean' },
  'no-new-keyring': { type: 'boolean' },
  'preserve-fds': { type: 'string' },
};

export function oneId(positionals: string[], usage: string): string {
  if (positionals.length !== 1) throw invalid(`"${usage}" requires exactly 1 argument(s)`);
  return positionals[0]!;
}

function createOptions(flags: Record<string, unknown>) {
  const f = flags as Parameters<typeof str>[0];
  return {
    bundle: str(f, 'bundle')!,
    consoleSocket: str(f, 'console-socket'),
    pidFile: str(f, 'pid-file'),
    noPivot: bool(f, 'no-pivot'),
    preserveFds: int(f, 'preserve-fds') ?? 0,
  };
}

export const lifecycleCommands: Record<string, Command> = {
  async create(args, { ctx }) {
    const { flags, positionals } = parseArgs(args, createFlags);
    const { launch } = await createContainer(ctx, oneId(positionals, 'create'), createOptions(flags));
    launch.detach();
    return 0;
  },

  async start(args, { ctx }) {
    const { positionals } = parseArgs(args, {});
    await startContainer(ctx, oneId(positionals, 'start'));
    return 0;
  },

  async run(args, { ctx }) {
    const { flags, positionals } = parseArgs(args, { ...createFlags, detach: { type: 'boolean', short: 'd' }, keep: { type: 'boolean' } });
    let stopForwarding = () => {};
    try {
      return await runContainer(ctx, oneId(positionals, 'run'), {
        ...createOptions(flags),
        detach: bool(flags, 'detach'),
        keep: bool(flags, 'keep'),
        onStarted: (pid) => { stopForwarding = forwardSignals(pid); },
      });
    } finally {
      stopForwarding();
    }
  },

  async kill(args, { ctx }) {
    const { flags, positionals } = parseArgs(args, { all: { type: 'boolean', short: 'a' } });
    if (positionals.length < 1 || positionals.length > 2) throw invalid('"kill" requires a container id and an optional signal');
    await killContainer(ctx, positionals[0]!, positionals[1] ?? 'SIGTERM', bool(flags, 'all'));
    return 0;
  },

  async delete(args, { ctx }) {
    const { flags, positionals } = parseArgs(args, { force: { type: 'boolean', short: 'f' } });
    await deleteContainer(ctx, oneId(positionals, 'delete'), bool(flags, 'force'));
    return 0;
  },

  async pause(args, { ctx }) {
    await pauseContainer(ctx, oneId(parseArgs(args, {}).positionals, 'pause'));
    return 0;
  },

  async resume(args, { ctx }) {
    await resumeContainer(ctx, oneId(parseArgs(args, {}).positionals, 'resume'));
    return 0;
  },
};
