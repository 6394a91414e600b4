// berth: the docker-compatible command line. Global flags, then a command (or a management command
// and its subcommand), then the command's flags and arguments. Exit statuses follow docker's: 125
// for a wrong command line, 1 for a failed command, and the container's own status for run/start
// -a/exec/wait-like commands.
import { join } from 'node:path';
import { ApiError, DaemonUnreachableError } from '../client/errors.js';
import { EngineClient } from '../client/engine.js';
import { DockerApi } from '../client/api.js';
import { resolveHost } from '../client/host.js';
import { defaultConfigPath } from '../client/docker-config.js';
import { BerthError } from '../common/errors.js';
import { helpText, PROG, StatusError, type Command, type Context } from './command.js';
import { parseFlags, UsageError, type FlagDef } from './flags.js';
import { commands } from './commands/index.js';
import { ensureDaemon } from './daemon.js';
import { FormatError } from './output/format.js';
import { CLIENT_VERSION } from './version.js';

const globalFlags: FlagDef[] = [
  { name: 'config', type: 'string', help: 'Location of client config files', valueName: 'string' },
  { name: 'context', short: 'c', type: 'string', help: 'Name of the context to use to connect to the daemon (only "default")' },
  { name: 'debug', short: 'D', type: 'bool', help: 'Enable debug mode' },
  { name: 'host', short: 'H', type: 'list', help: 'Daemon socket to connect to' },
  { name: 'log-level', short: 'l', type: 'string', help: 'Set the logging level ("debug", "info", "warn", "error", "fatal")', default: 'info' },
  { name: 'no-start-daemon', type: 'bool', help: 'Do not start berthd when no daemon answers on the default socket' },
  { name: 'tls', type: 'bool', help: 'Use TLS; implied by --tlsverify', hidden: true },
  { name: 'tlsverify', type: 'bool', help: 'Use TLS and verify the remote', hidden: true },
  { name: 'tlscacert', type: 'string', help: 'Trust certs signed only by this CA', hidden: true },
  { name: 'tlscert', type: 'string', help: 'Path to TLS certificate file', hidden: true },
  { name: 'tlskey', type: 'string', help: 'Path to TLS key file', hidden: true },
  { name: 'version', short: 'v', type: 'bool', help: 'Print version information and quit' },
];

const helpFlagFor = (cmd: Command): FlagDef => ({
  name: 'help',
  ...(cmd.flags?.some((f) => f.short === 'h') ? {} : { short: 'h' }),
  type: 'bool',
  help: 'Print usage',
});

function topHelp(): string {
  const lines = ['', `Usage:  ${PROG} [OPTIONS] COMMAND`, '', 'A self-sufficient runtime for containers (Docker-compatible)', ''];
  const mgmt = commands.filter((c) => c.subcommands);
  const plain = commands.filter((c) => !c.subcommands);
  const width = Math.max(...commands.map((c) => c.name.length));
  lines.push('Management Commands:', ...mgmt.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`), '');
  lines.push('Commands:', ...plain.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`), '');
  lines.push('Global Options:', ...(/* the usual layout */ [helpText([], { name: '', summary: '', flags: globalFlags }, helpFlagFor({ name: '', summary: '' })).split('Options:\n')[1]!.trimEnd()]));
  lines.push('', `Run '${PROG} COMMAND --help' for more information on a command.`, '');
  return lines.join('\n');
}

const find = (list: Command[], name: string): Command | undefined => list.find((c) => c.name === name || c.aliases?.includes(name));

interface Streams {
  stdin: Context['stdin'];
  stdout: Context['stdout'];
  stderr: Context['stderr'];
}

/** A closed pipe on stdout/stderr (berth ps | head) ends the CLI quietly, as SIGPIPE ends docker. */
function exitOnBrokenPipe(): void {
  for (const s of [process.stdout, process.stderr]) {
    s.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(141);
      throw err;
    });
  }
}

/** Runs the CLI; resolves with the exit status. */
export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env, io: Streams = process): Promise<number> {
  if (io === process) exitOnBrokenPipe();
  const say = (s: string) => io.stderr.write(s.endsWith('\n') ? s : `${s}\n`);
  let path: string[] = [];
  let cmd: Command | undefined;
  let client: EngineClient | undefined;
  try {
    const global = parseFlags(argv, [...globalFlags, helpFlagFor({ name: '', summary: '' })], { stopAtPositional: true });
    const g = global.flags;
    if (g.bool('version')) {
      io.stdout.write(`${PROG} version ${CLIENT_VERSION}\n`);
      return 0;
    }
    const [name, ...rest] = global.args;
    if (!name) {
      io.stdout.write(topHelp());
      return 0;
    }
    if (name === 'help' || g.bool('help')) {
      const wanted = name === 'help' ? rest[0] : name;
      const target = wanted ? find(commands, wanted) : undefined;
      io.stdout.write(target ? helpText([target.name], target, helpFlagFor(target)) : topHelp());
      return 0;
    }
    cmd = find(commands, name);
    if (!cmd) {
      say(`${PROG}: unknown command: ${PROG} ${name}\n\nRun '${PROG} --help' for more information`);
      return 1;
    }
    path = [cmd.name];
    let args = rest;
    if (cmd.subcommands) {
      const subName = args.find((a) => !a.startsWith('-'));
      const sub = subName !== undefined && args[0] === subName ? find(cmd.subcommands, subName) : undefined;
      if (sub) {
        cmd = sub;
        path.push(sub.name);
        args = args.slice(1);
      } else if (!cmd.run) {
        if (args.length && !args[0]!.startsWith('-')) {
          say(`${PROG}: unknown command: ${PROG} ${path.join(' ')} ${args[0]}\n\nRun '${PROG} ${path.join(' ')} --help' for more information`);
          return 1;
        }
        if (args.length && !['--help', '-h'].includes(args[0]!)) throw new UsageError(`unknown flag: ${args[0]}`);
        io.stdout.write(helpText(path, cmd, helpFlagFor(cmd)));
        return 0;
      }
    }
    const helpFlag = helpFlagFor(cmd);
    const { flags, args: positional } = parseFlags(args, [...(cmd.flags ?? []), helpFlag], { stopAtPositional: cmd.stopAtPositional });
    if (flags.bool('help')) {
      io.stdout.write(helpText(path, cmd, helpFlag));
      return 0;
    }
    checkArgs(path, cmd, positional);
    if (g.str('context') && g.str('context') !== 'default') throw new BerthError('INVALID_ARGUMENT', `context "${g.str('context')}" does not exist: berth only has the default context (use -H)`);
    const hosts = g.list('host');
    if (hosts.length > 1) throw new BerthError('INVALID_ARGUMENT', 'Please specify only one -H');
    const host = resolveHost(hosts[0], env);
    const noStart = g.bool('no-start-daemon') || ['1', 'true'].includes(env.BERTH_NO_START_DAEMON ?? '');
    let api: DockerApi | undefined;
    const ctx: Context = {
      ...io,
      env,
      configPath: g.str('config') ? join(g.str('config')!, 'config.json') : defaultConfigPath(env),
      debug: g.bool('debug'),
      api: async () => {
        if (api) return api;
        client = new EngineClient({ host, apiVersion: env.BERTH_API_VERSION || env.DOCKER_API_VERSION || undefined, userAgent: `berth/${CLIENT_VERSION} (linux)` });
        await ensureDaemon(client, { autoStart: !noStart, stderr: io.stderr });
        api = new DockerApi(client);
        return api;
      },
    };
    const status = await cmd.run!(ctx, flags, positional);
    return status ?? 0;
  } catch (err) {
    return report(err, path, say, argv.includes('-D') || argv.includes('--debug'));
  } finally {
    client?.close();
  }
}

function checkArgs(path: string[], cmd: Command, args: string[]): void {
  const { minArgs = 0, maxArgs = Infinity } = cmd;
  let problem: string | undefined;
  const plural = (n: number) => `${n} argument${n === 1 ? '' : 's'}`;
  if (minArgs === maxArgs && args.length !== minArgs) problem = minArgs === 0 ? 'accepts no arguments' : `requires exactly ${plural(minArgs)}`;
  else if (args.length < minArgs) problem = `requires at least ${plural(minArgs)}`;
  else if (args.length > maxArgs) problem = `requires at most ${plural(maxArgs)}`;
  if (problem) {
    const full = [PROG, ...path].join(' ');
    throw new StatusError(1, `"${full}" ${problem}.\nSee '${full} --help'.\n\nUsage:  ${full}${cmd.usage ? ` ${cmd.usage}` : ''}\n\n${cmd.summary}`);
  }
}

function report(err: unknown, path: string[], say: (s: string) => void, debug: boolean): number {
  if (err instanceof UsageError) {
    say(`${err.message}\nSee '${[PROG, ...path].join(' ')} --help'.`);
    return 125;
  }
  if (err instanceof StatusError) {
    if (err.message) say(err.message);
    return err.status;
  }
  if (err instanceof FormatError) {
    say(err.message);
    return path[0] === 'run' || path[0] === 'create' ? 125 : 1;
  }
  if (err instanceof ApiError) {
    say(`Error response from daemon: ${err.message}`);
    return 1;
  }
  if (err instanceof DaemonUnreachableError || err instanceof BerthError) {
    say(err.message);
    return 1;
  }
  // not one of ours (a file that cannot be written, a connection cut short): its message, and
  // where it came from with --debug
  const e = err as Error;
  say(debug ? String(e?.stack ?? err) : `${PROG}: ${path.length ? `${path.join(' ')}: ` : ''}${e?.message ?? String(err)}`);
  return 1;
}
