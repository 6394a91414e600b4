// build: the client side of Docker's classic builder. The context (a directory packed as tar, a tar
// or a Dockerfile on stdin: src/cli/build-context.ts) is streamed as the body of POST /build with
// the flags as query parameters (version=1: the classic builder, not BuildKit); the answer is the
// builder's JSON message stream, shown as docker's legacy builder shows it. A failed step ends the
// command with the status in errorDetail (a failing RUN's own exit status).
import { rm, writeFile } from 'node:fs/promises';
import { Readable, Writable, pipeline, type Transform } from 'node:stream';
import { createGzip } from 'node:zlib';
import type { BuildQuery } from '../../client/api.js';
import { readDockerConfig } from '../../client/docker-config.js';
import { parseImageRef } from '../../client/reference.js';
import { registryConfigHeader } from '../../client/registry-auth.js';
import { BerthError, errnoOf } from '../../common/errors.js';
import { counting } from '../archive.js';
import { prepareContext } from '../build-context.js';
import { StatusError, type Command } from '../command.js';
import { UsageError, type FlagDef, type Flags } from '../flags.js';
import { displayJSONMessages, progressString, StreamError } from '../output/progress.js';
import { bytesFlag } from './container-opts.js';
import { envValue, parseUlimit, sortKeys } from './container-parse.js';

export const buildFlags: FlagDef[] = [
  { name: 'add-host', type: 'list', help: 'Add a custom host-to-IP mapping ("host:ip")' },
  { name: 'build-arg', type: 'list', help: 'Set build-time variables' },
  { name: 'cache-from', type: 'list', help: 'Images to consider as cache sources', valueName: 'strings' },
  { name: 'cgroup-parent', type: 'string', help: 'Set the parent cgroup for the "RUN" instructions during build' },
  { name: 'compress', type: 'bool', help: 'Compress the build context using gzip' },
  { name: 'cpu-period', type: 'int', help: 'Limit the CPU CFS (Completely Fair Scheduler) period' },
  { name: 'cpu-quota', type: 'int', help: 'Limit the CPU CFS (Completely Fair Scheduler) quota' },
  { name: 'cpu-shares', short: 'c', type: 'int', help: 'CPU shares (relative weight)' },
  { name: 'cpuset-cpus', type: 'string', help: 'CPUs in which to allow execution (0-3, 0,1)' },
  { name: 'cpuset-mems', type: 'string', help: 'MEMs in which to allow execution (0-3, 0,1)' },
  { name: 'disable-content-trust', type: 'bool', help: 'Skip image verification', default: true },
  { name: 'file', short: 'f', type: 'string', help: 'Name of the Dockerfile (Default is "PATH/Dockerfile")' },
  { name: 'force-rm', type: 'bool', help: 'Always remove intermediate containers' },
  { name: 'iidfile', type: 'string', help: 'Write the image ID to the file' },
  { name: 'isolation', type: 'string', help: 'Container isolation technology' },
  { name: 'label', type: 'list', help: 'Set metadata for an image' },
  { name: 'memory', short: 'm', type: 'string', help: 'Memory limit', valueName: 'bytes' },
  { name: 'memory-swap', type: 'string', help: 'Swap limit equal to memory plus swap: -1 to enable unlimited swap', valueName: 'bytes' },
  { name: 'network', type: 'string', help: 'Set the networking mode for the RUN instructions during build', default: 'default' },
  { name: 'no-cache', type: 'bool', help: 'Do not use cache when building the image' },
  { name: 'platform', type: 'string', help: 'Set platform if server is multi-platform capable' },
  { name: 'progress', type: 'string', help: 'Set type of progress output ("auto", "plain", "tty"): "plain" never redraws lines, "tty" always does', default: 'auto' },
  { name: 'pull', type: 'bool', help: 'Always attempt to pull a newer version of the image' },
  { name: 'quiet', short: 'q', type: 'bool', help: 'Suppress the build output and print image ID on success' },
  { name: 'rm', type: 'bool', help: 'Remove intermediate containers after a successful build', default: true },
  { name: 'security-opt', type: 'list', help: 'Security options', valueName: 'strings' },
  { name: 'shm-size', type: 'string', help: 'Size of "/dev/shm"', valueName: 'bytes' },
  { name: 'squash', type: 'bool', help: 'Squash newly built layers into a single new layer' },
  { name: 'tag', short: 't', type: 'list', help: 'Name and optionally a tag in the "name:tag" format' },
  { name: 'target', type: 'string', help: 'Set the target build stage to build.' },
  { name: 'ulimit', type: 'list', help: 'Ulimit options', valueName: 'ulimit' },
];

/** A flag value docker's validator refuses: pflag's wording, exit status 125. */
const badValue = (value: string, flag: string, why: string) => new UsageError(`invalid argument "${value}" for "${flag}" flag: ${why}`);

/** opts.ValidateLabel. */
function validateLabel(value: string): string {
  const key = value.split('=')[0]!.replace(/^[ \t\n\v\f\r]+/, '');
  if (!key) throw badValue(value, '--label', `invalid label '${value}': empty name`);
  if (/[ \t\n\v\f\r]/.test(key)) throw badValue(value, '--label', `label '${key}' contains whitespaces`);
  return value;
}

/** StringSlice flags (--cache-from, --security-opt): each value may hold several, comma-separated. */
const stringSlice = (values: string[]): string[] => values.flatMap((v) => (v === '' ? [] : v.split(',')));

const json = (v: unknown) => JSON.stringify(v);

/** The POST /build query for the command line, as the docker CLI builds it (without `dockerfile`). */
export function buildQuery(f: Flags, env: NodeJS.ProcessEnv): BuildQuery {
  for (const t of f.list('tag')) {
    try {
      parseImageRef(t);
    } catch (err) {
      throw badValue(t, '-t, --tag', (err as Error).message);
    }
  }
  const buildArgs: Record<string, string | null> = {};
  for (const raw of f.list('build-arg')) {
    if (raw.startsWith('=') || raw === '') throw badValue(raw, '--build-arg', `invalid environment variable: ${raw}`);
    const v = envValue(raw, env);
    const eq = v.indexOf('=');
    buildArgs[eq < 0 ? v : v.slice(0, eq)] = eq < 0 ? null : v.slice(eq + 1);
  }
  const labels: Record<string, string> = {};
  for (const raw of f.list('label').map(validateLabel)) {
    const eq = raw.indexOf('=');
    labels[eq < 0 ? raw : raw.slice(0, eq)] = eq < 0 ? '' : raw.slice(eq + 1);
  }
  const platform = f.str('platform') || env.DOCKER_DEFAULT_PLATFORM;
  const progress = f.str('progress') ?? 'auto';
  if (!['auto', 'plain', 'tty'].includes(progress)) throw badValue(progress, '--progress', 'use "auto", "plain" or "tty"');
  const nonZero = (n: number | undefined) => (n ? n : undefined);
  const network = f.str('network');
  const isolation = f.str('isolation');
  const cacheFrom = stringSlice(f.list('cache-from'));
  const securityOpt = stringSlice(f.list('security-opt'));
  const ulimits = f.list('ulimit').map(parseUlimit);
  const hosts = f.list('add-host').map((h) => h.replace('=', ':'));
  return {
    t: f.list('tag').length ? f.list('tag') : undefined,
    securityopt: securityOpt.length ? securityOpt : undefined,
    extrahosts: hosts.length ? hosts : undefined,
    q: f.bool('quiet') || undefined,
    nocache: f.bool('no-cache') || undefined,
    rm: f.bool('rm') ? undefined : '0',
    forcerm: f.bool('force-rm') || undefined,
    pull: f.bool('pull') || undefined,
    squash: f.bool('squash') || undefined,
    isolation: isolation && isolation !== 'default' ? isolation : undefined,
    cpusetcpus: f.str('cpuset-cpus') || undefined,
    networkmode: network && network !== 'default' ? network : undefined,
    cpusetmems: f.str('cpuset-mems') || undefined,
    cpushares: nonZero(f.int('cpu-shares')),
    cpuquota: nonZero(f.int('cpu-quota')),
    cpuperiod: nonZero(f.int('cpu-period')),
    memory: nonZero(bytesFlag(f, 'memory')),
    memswap: nonZero(bytesFlag(f, 'memory-swap')),
    cgroupparent: f.str('cgroup-parent') || undefined,
    shmsize: nonZero(bytesFlag(f, 'shm-size')),
    target: f.str('target') || undefined,
    ulimits: ulimits.length ? json(ulimits) : undefined,
    buildargs: Object.keys(buildArgs).length ? json(sortKeys(buildArgs)) : undefined,
    labels: Object.keys(labels).length ? json(sortKeys(labels)) : undefined,
    cachefrom: cacheFrom.length ? json(cacheFrom) : undefined,
    platform: platform || undefined,
    version: '1',
  };
}

const PROXY_ARGS: [string, string][] = [['HTTP_PROXY', 'httpProxy'], ['HTTPS_PROXY', 'httpsProxy'], ['NO_PROXY', 'noProxy'], ['FTP_PROXY', 'ftpProxy'], ['ALL_PROXY', 'allProxy']];

/**
 * configfile.ParseProxyConfig: the "proxies" of the config file (the daemon host's entry, else
 * "default") become build args, upper and lower case, unless --build-arg set them.
 */
export function withProxyArgs(query: BuildQuery, proxies: unknown, host: string): BuildQuery {
  if (typeof proxies !== 'object' || proxies === null) return query;
  const all = proxies as Record<string, Record<string, unknown> | undefined>;
  const config = (host in all ? all[host] : all.default) ?? {};
  const args: Record<string, string | null> = query.buildargs ? JSON.parse(query.buildargs) : {};
  let added = false;
  for (const [arg, key] of PROXY_ARGS) {
    const value = config[key];
    if (typeof value !== 'string' || !value) continue;
    for (const name of [arg, arg.toLowerCase()]) {
      if (!(name in args)) {
        args[name] = value;
        added = true;
      }
    }
  }
  return added ? { ...query, buildargs: json(sortKeys(args)) } : query;
}

/** What a quiet build keeps aside: shown only when it fails. */
class Collected extends Writable {
  text = '';

  override _write(chunk: Buffer | string, _enc: BufferEncoding, cb: () => void): void {
    this.text += chunk.toString();
    cb();
  }
}

/**
 * The "Sending build context to Docker daemon  1.2MB" line: redrawn as the upload goes on a
 * terminal (every 512kB, at most every 100ms), printed once at the end elsewhere.
 */
function sendingContext(out: Writable, terminal: boolean): Transform {
  let sent = 0;
  let lastSize = 0;
  let lastDraw = -Infinity;
  const line = () => `Sending build context to Docker daemon ${progressString({ current: sent }, 200)}\r`;
  return counting((n) => {
    sent += n;
    if (!terminal || sent - lastSize <= 512 * 1024) return;
    lastSize = sent;
    if (Date.now() - lastDraw < 100) return;
    lastDraw = Date.now();
    out.write(line());
  }, () => out.write(`${line()}\r\n`));
}

export const buildCommand: Command = {
  name: 'build',
  usage: '[OPTIONS] PATH | URL | -',
  summary: 'Build an image from a Dockerfile',
  aliasPaths: ['image build', 'build'],
  flags: buildFlags,
  minArgs: 1,
  maxArgs: 1,
  run: async (ctx, f, args) => {
    let query = buildQuery(f, ctx.env);
    const quiet = f.bool('quiet');
    const mode = f.str('progress') ?? 'auto';
    const terminal = mode === 'tty' || (mode === 'auto' && !!ctx.stdout.isTTY);
    const iidfile = f.str('iidfile');
    if (iidfile) {
      // no stale ID when this build fails
      await rm(iidfile).catch((err: unknown) => {
        if (errnoOf(err) !== 'ENOENT') throw new BerthError('INTERNAL', `Removing image ID file: ${(err as Error).message}`);
      });
    }
    const context = await prepareContext({ context: args[0]!, dockerfile: f.str('file'), stdin: ctx.stdin });
    const progressOut = quiet ? new Collected() : ctx.stdout;
    const buildOut = quiet ? new Collected() : ctx.stdout;
    const shownOnFailure = () => (quiet ? `${(progressOut as Collected).text}${(buildOut as Collected).text}` : '');
    // one pipeline, so that a context that fails to pack (a file gone meanwhile) fails the request
    const stages = [Readable.from(context.tar), ...(f.bool('compress') ? [createGzip()] : []), sendingContext(progressOut, terminal)];
    const body = pipeline(stages, () => {}) as unknown as Readable;

    const api = await ctx.api();
    const config = await readDockerConfig(ctx.configPath).catch(() => undefined);
    query = withProxyArgs({ ...query, dockerfile: context.dockerfile }, config?.proxies, api.client.host.url);
    let res;
    try {
      res = await api.build(query, body, await registryConfigHeader(ctx.configPath));
    } catch (err) {
      ctx.stderr.write(shownOnFailure());
      throw err;
    }
    let imageId = '';
    try {
      await displayJSONMessages(res, buildOut, {
        isTerminal: terminal,
        width: ctx.stdout.columns ?? 80,
        onAux: (aux) => {
          const id = (aux as { ID?: unknown } | null)?.ID;
          if (typeof id === 'string') imageId = id;
        },
      });
    } catch (err) {
      if (!(err instanceof StreamError)) throw err;
      ctx.stderr.write(shownOnFailure());
      throw new StatusError(err.status || 1, err.message);
    }
    if (quiet) {
      // the daemon's quiet stream is the image ID and a newline: printed, and kept by --iidfile, as is
      imageId = (buildOut as Collected).text;
      ctx.stdout.write(imageId);
    }
    if (iidfile) {
      if (!imageId) throw new BerthError('INTERNAL', `Server did not provide an image ID. Cannot write ${iidfile}`);
      await writeFile(iidfile, imageId, { mode: 0o666 });
    }
  },
};
