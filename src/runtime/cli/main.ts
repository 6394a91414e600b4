// berth-runtime: a runc-compatible command line over the runtime library.
import { resolve } from 'node:path';
import { BerthError } from '../../common/errors.js';
import { StateStore } from '../state-store.js';
import type { RuntimeContext } from '../container/context.js';
import { parseArgs, str } from './args.js';
import { logLine, type LogConfig } from './log.js';
import { lifecycleCommands } from './lifecycle-commands.js';
import { queryCommands } from './query-commands.js';
import { processCommands } from './process-commands.js';

export const DEFAULT_ROOT = '/run/berth-runtime';

export interface CommandEnv {
  ctx: RuntimeContext;
  log: LogConfig;
}

/** A command gets its own arguments and returns the process exit code. */
export type Command = (args: string[], env: CommandEnv) => Promise<number>;

const commands: Record<string, Command> = { ...lifecycleCommands, ...queryCommands, ...processCommands };

const USAGE = `usage: berth-runtime [global options] <command> [options] [arguments]

A runc-compatible OCI runtime.

Commands:
  spec [--rootless] [-b DIR]       write a default config.json
  create [-b DIR] ID               create a container (it waits for start)
  start ID                         run the created container's process
  run [-d] [-b DIR] ID             create and start
  state ID                         print the container's state as JSON
  list [-f json] [-q]              list containers
  kill [--all] ID [SIGNAL]         send a signal (default SIGTERM)
  delete [-f] ID                   delete a container
  exec [-p process.json | ID ARGS] run a process in a container
  ps [-f json] ID [ps options]     list the container's processes
  pause ID / resume ID             freeze / thaw the container
  update [flags] ID                change cgroup limits
  events [--stats] [--interval 5s] ID

Global options:
  --root DIR          state directory (default ${DEFAULT_ROOT})
  --log FILE          write errors to FILE
  --log-format text|json
`;

export async function main(argv: string[]): Promise<number> {
  const globals = {
    root: { type: 'string' as const, default: DEFAULT_ROOT },
    log: { type: 'string' as const },
    'log-format': { type: 'string' as const, default: 'text' },
    debug: { type: 'boolean' as const },
    'systemd-cgroup': { type: 'boolean' as const },
    rootless: { type: 'string' as const },
    help: { type: 'boolean' as const, short: 'h' },
    version: { type: 'boolean' as const, short: 'v' },
  };
  let log: LogConfig = { format: 'text' };
  try {
    const { flags, positionals } = parseArgs(argv, globals, 1);
    log = { file: str(flags, 'log'), format: str(flags, 'log-format') === 'json' ? 'json' : 'text' };
    if (flags.version) {
      process.stdout.write('berth-runtime version 0.1.0\nspec: 1.2.0\n');
      return 0;
    }
    const [name, ...rest] = positionals;
    if (flags.help || !name) {
      process.stdout.write(USAGE);
      return name || flags.help ? 0 : 1;
    }
    if (flags['systemd-cgroup']) throw new BerthError('NOT_IMPLEMENTED', 'the systemd cgroup driver is not supported: berth-runtime uses cgroupfs');
    const command = commands[name];
    if (!command) throw new BerthError('INVALID_ARGUMENT', `No help topic for '${name}'`);
    const ctx: RuntimeContext = { store: new StateStore(resolve(str(flags, 'root')!)), warn: (m) => logLine(log, 'warning', m) };
    return await command(rest, { ctx, log });
  } catch (err) {
    logLine(log, 'error', err instanceof BerthError ? err.message : (err as Error).stack ?? String(err));
    return 1;
  }
}
