// What a command is (name, usage, flags, arguments, action), what it runs with (streams, the API
// client, the environment), the errors that carry an exit status, and help text in docker's layout.
import type { Readable, Writable } from 'node:stream';
import { BerthError } from '../common/errors.js';
import type { DockerApi } from '../client/api.js';
import { flagUsages, type FlagDef, type Flags } from './flags.js';

export const PROG = 'berth';

export interface Context {
  stdin: Readable & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown; fd?: number };
  stdout: Writable & { isTTY?: boolean; columns?: number; rows?: number };
  stderr: Writable & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  /** The credentials file (~/.docker/config.json unless --config or DOCKER_CONFIG). */
  configPath: string;
  debug: boolean;
  /** The API, connected (and the daemon started) on first use. */
  api(): Promise<DockerApi>;
}

export interface Command {
  name: string;
  aliases?: string[];
  /** After the command path: "[OPTIONS] IMAGE [COMMAND] [ARG...]". */
  usage?: string;
  summary: string;
  flags?: FlagDef[];
  minArgs?: number;
  maxArgs?: number;
  /** Flags end at the first argument (run, create, exec). */
  stopAtPositional?: boolean;
  run?: (ctx: Context, flags: Flags, args: string[]) => Promise<number | void>;
  subcommands?: Command[];
  /** Other paths that reach this command ("container ls" for "ps"), shown under Aliases. */
  aliasPaths?: string[];
}

/** Ends a command with an exit status (and a message for stderr, if any). */
export class StatusError extends BerthError {
  readonly status: number;

  constructor(status: number, message = '') {
    super('INTERNAL', message);
    this.name = 'StatusError';
    this.status = status;
  }
}

/** Errors already printed by a command that went on with its other arguments (rm a b c). */
export const FAILED = new StatusError(1);

export function helpText(path: string[], cmd: Command, helpFlag: FlagDef | undefined): string {
  const full = [PROG, ...path].join(' ');
  const lines: string[] = ['', `Usage:  ${full}${cmd.subcommands && !cmd.run ? ' COMMAND' : ''}${cmd.usage ? ` ${cmd.usage}` : ''}`, '', cmd.summary];
  if (cmd.aliasPaths?.length) lines.push('', 'Aliases:', `  ${cmd.aliasPaths.map((p) => `${PROG} ${p}`).join(', ')}`);
  if (cmd.subcommands?.length) {
    lines.push('', 'Commands:');
    const width = Math.max(...cmd.subcommands.map((c) => c.name.length));
    for (const c of cmd.subcommands) lines.push(`  ${c.name.padEnd(width)}   ${c.summary}`);
  }
  const defs = [...(cmd.flags ?? []), ...(helpFlag ? [helpFlag] : [])].sort((a, b) => a.name.localeCompare(b.name));
  if (defs.some((d) => !d.hidden)) lines.push('', 'Options:', flagUsages(defs));
  if (cmd.subcommands?.length) lines.push('', `Run '${full} COMMAND --help' for more information on a command.`);
  return `${lines.join('\n')}\n`;
}
