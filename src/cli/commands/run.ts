// run, create, start and attach: create the container (pulling a missing image with progress and
// trying again), attach before start when not detached, wait for the exit with
// condition=next-exit (or removed for --rm, where the daemon removes: AutoRemove), start, stream
// until the output ends or the detach keys are typed, and exit with the container's status.
import { writeFileSync, existsSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import type { DockerApi } from '../../client/api.js';
import { ApiError } from '../../client/errors.js';
import { readText } from '../../client/engine.js';
import { familiarString, parseImageRef } from '../../client/reference.js';
import { BerthError } from '../../common/errors.js';
import { PROG, StatusError, type Command, type Context } from '../command.js';
import { UsageError, type Flags } from '../flags.js';
import { DETACHED_MESSAGE, DEFAULT_DETACH_KEYS, detachKeyBytes, monitorTtySize, rawTerminal, streamHijacked, ttySize } from '../hijack.js';
import { buildCreateRequest, containerFlags, runOnlyFlags } from './container-opts.js';
import { pullImage } from './images.js';
import { errorText, forEachArg } from './util.js';

/** docker's toStatusError: 127 for a missing command, 126 for one that cannot be run, else 125. */
export function runErrorStatus(err: unknown): StatusError {
  const msg = errorText(err);
  let status = 125;
  if (/executable file not found|no such file or directory|system cannot find the file specified/.test(msg)) status = 127;
  else if (/permission denied|is a directory/.test(msg)) status = 126;
  return new StatusError(status, `${PROG}: ${msg}\n\nRun '${PROG} run --help' for more information`);
}

/** The exit status a wait response carries (125 when the wait itself failed). */
export async function waitStatus(res: Promise<IncomingMessage>, ctx: Context): Promise<number> {
  try {
    const text = await readText(await res);
    const body = JSON.parse(text) as { StatusCode?: number; Error?: { Message?: string } | null };
    if (body.Error?.Message) {
      ctx.stderr.write(`Error waiting for container: ${body.Error.Message}\n`);
      return 125;
    }
    return body.StatusCode ?? 0;
  } catch (err) {
    ctx.stderr.write(`error waiting for container: ${errorText(err)}\n`);
    return 125;
  }
}

/**
 * POST /containers/{id}/wait, registered before the container starts: the daemon answers with its
 * headers as soon as the wait is in place (dockerd flushes them), so a container that exits at
 * once cannot be missed. A daemon that holds its headers back costs a second, not a hang.
 */
async function registerWait(api: DockerApi, id: string, condition: 'next-exit' | 'removed'): Promise<{ response: Promise<IncomingMessage> }> {
  const response = api.waitContainer(id, condition);
  response.catch(() => {});
  await Promise.race([response.catch(() => undefined), new Promise((r) => setTimeout(r, 1000).unref())]);
  return { response };
}

/** Forwards the signals a user sends the CLI to the container (--sig-proxy). */
function proxySignals(api: DockerApi, id: string): () => void {
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];
  const handler = (sig: NodeJS.Signals) => void api.killContainer(id, sig).catch(() => {});
  for (const s of signals) process.on(s, handler);
  return () => {
    for (const s of signals) process.off(s, handler);
  };
}

async function createContainer(ctx: Context, api: DockerApi, f: Flags, args: string[], isRun: boolean): Promise<string> {
  const detach = isRun && f.bool('detach');
  const req = buildCreateRequest(f, args, { env: ctx.env, detach, isRun, consoleSize: f.bool('tty') ? ttySize(ctx) : undefined });
  const ref = parseImageRef(req.image);
  const pullOpts = { platform: req.platform, quiet: f.bool('quiet'), out: ctx.stderr };
  const policy = f.str('pull') ?? 'missing';
  if (!['always', 'missing', 'never'].includes(policy)) throw new UsageError(`invalid pull option: '${policy}': must be one of "always", "missing" or "never"`);
  const cidfile = f.str('cidfile');
  if (cidfile && existsSync(cidfile)) throw new BerthError('ALREADY_EXISTS', `container ID file found, make sure the other container isn't running or delete ${cidfile}`);
  if (policy === 'always') await pullImage(ctx, api, req.image, pullOpts);
  let created: { Id: string; Warnings?: string[] | null };
  try {
    created = await api.createContainer(req.body, { name: req.name, platform: req.platform });
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 404 && /image/i.test(err.message)) || policy !== 'missing') throw err;
    ctx.stderr.write(`Unable to find image '${familiarString({ ...ref, tag: ref.tag ?? (ref.digest ? undefined : 'latest') })}' locally\n`);
    await pullImage(ctx, api, req.image, pullOpts);
    created = await api.createContainer(req.body, { name: req.name, platform: req.platform });
  }
  for (const w of created.Warnings ?? []) ctx.stderr.write(`WARNING: ${w}\n`);
  if (cidfile) writeFileSync(cidfile, created.Id);
  return created.Id;
}

/** Checks the terminal for -it as docker's CheckTty does. */
function checkTty(ctx: Context, attachStdin: boolean, tty: boolean): void {
  if (tty && attachStdin && !ctx.stdin.isTTY) throw new StatusError(1, 'the input device is not a TTY');
}

async function runContainer(ctx: Context, f: Flags, args: string[]): Promise<number> {
  const api = await ctx.api();
  const detach = f.bool('detach');
  const tty = f.bool('tty');
  const attachList = f.list('attach').map((a) => a.toLowerCase());
  const stdinAttached = !detach && (f.bool('interactive') || attachList.includes('stdin'));
  if (!detach) checkTty(ctx, stdinAttached, tty);
  let id: string;
  try {
    id = await createContainer(ctx, api, f, args, true);
  } catch (err) {
    if (err instanceof UsageError || err instanceof StatusError) throw err;
    throw runErrorStatus(err);
  }
  const attachStdout = !detach && (attachList.length === 0 || attachList.includes('stdout'));
  const attachStderr = !detach && (attachList.length === 0 || attachList.includes('stderr'));
  const attached = stdinAttached || attachStdout || attachStderr;
  if (!attached) {
    try {
      await api.startContainer(id);
    } catch (err) {
      throw runErrorStatus(err);
    }
    ctx.stdout.write(`${id}\n`);
    return 0;
  }
  const detachKeys = f.str('detach-keys') || DEFAULT_DETACH_KEYS;
  const keyBytes = detachKeyBytes(detachKeys);
  const hijacked = await api.attachContainer(id, { stdin: stdinAttached, stdout: attachStdout, stderr: attachStderr, detachKeys: f.str('detach-keys') || undefined });
  const restore = tty && stdinAttached ? rawTerminal(ctx) : () => {};
  const unproxy = f.bool('sig-proxy') && !tty ? proxySignals(api, id) : () => {};
  const wait = (await registerWait(api, id, f.bool('rm') ? 'removed' : 'next-exit')).response;
  let stopResize = () => {};
  try {
    const streaming = streamHijacked(ctx, {
      hijacked, tty, input: stdinAttached ? ctx.stdin : undefined, detachKeys: tty && stdinAttached ? keyBytes : undefined,
    });
    streaming.catch(() => {});
    try {
      await api.startContainer(id);
    } catch (err) {
      hijacked.stream.destroy();
      restore();
      if (f.bool('rm')) await waitStatus(wait, ctx);
      throw runErrorStatus(err);
    }
    if (tty && ctx.stdout.isTTY) stopResize = monitorTtySize(ctx, (h, w) => api.resizeContainer(id, h, w));
    const result = await streaming;
    restore();
    if (result === 'detached') return 0;
    return await waitStatus(wait, ctx);
  } finally {
    stopResize();
    restore();
    unproxy();
  }
}

async function startContainers(ctx: Context, f: Flags, args: string[]): Promise<number> {
  const api = await ctx.api();
  const attach = f.bool('attach') || f.bool('interactive');
  if (!attach) return forEachArg(ctx, args, async (name) => {
    await api.startContainer(name, f.str('detach-keys') || undefined);
    return name;
  }, 'failed to start containers');
  if (args.length > 1) throw new BerthError('INVALID_ARGUMENT', 'you cannot start and attach multiple containers at once');
  const c = await api.inspectContainer(args[0]!);
  const tty = c.Config.Tty;
  const withStdin = f.bool('interactive') && c.Config.OpenStdin;
  checkTty(ctx, withStdin, tty);
  const hijacked = await api.attachContainer(c.Id, { stdin: withStdin, stdout: true, stderr: true, detachKeys: f.str('detach-keys') || undefined });
  const restore = tty && withStdin ? rawTerminal(ctx) : () => {};
  const wait = (await registerWait(api, c.Id, c.HostConfig.AutoRemove ? 'removed' : 'next-exit')).response;
  let stopResize = () => {};
  try {
    const streaming = streamHijacked(ctx, { hijacked, tty, input: withStdin ? ctx.stdin : undefined, detachKeys: tty && withStdin ? detachKeyBytes(f.str('detach-keys') || DEFAULT_DETACH_KEYS) : undefined });
    streaming.catch(() => {});
    try {
      await api.startContainer(c.Id);
    } catch (err) {
      hijacked.stream.destroy();
      throw err;
    }
    if (tty && ctx.stdout.isTTY) stopResize = monitorTtySize(ctx, (h, w) => api.resizeContainer(c.Id, h, w));
    const result = await streaming;
    if (result === 'detached') return 0;
    return await waitStatus(wait, ctx);
  } finally {
    stopResize();
    restore();
  }
}

async function attachContainer(ctx: Context, f: Flags, args: string[]): Promise<number> {
  const api = await ctx.api();
  // as docker: the wait (for the exit status) goes out before the state is checked
  const wait = api.waitContainer(args[0]!);
  wait.catch(() => {});
  const c = await api.inspectContainer(args[0]!);
  if (!c.State.Running) throw new BerthError('FAILED_PRECONDITION', 'You cannot attach to a stopped container, start it first');
  if (c.State.Paused) throw new BerthError('FAILED_PRECONDITION', 'You cannot attach to a paused container, unpause it first');
  if (c.State.Restarting) throw new BerthError('FAILED_PRECONDITION', 'You cannot attach to a restarting container, wait until it is running');
  const tty = c.Config.Tty;
  const withStdin = !f.bool('no-stdin') && c.Config.OpenStdin;
  checkTty(ctx, withStdin, tty);
  const detachKeys = f.str('detach-keys') || undefined;
  const hijacked = await api.attachContainer(c.Id, { stdin: withStdin, stdout: true, stderr: true, detachKeys });
  const restore = tty && withStdin ? rawTerminal(ctx) : () => {};
  const unproxy = f.bool('sig-proxy') && !tty ? proxySignals(api, c.Id) : () => {};
  const stopResize = tty && ctx.stdout.isTTY ? monitorTtySize(ctx, (h, w) => api.resizeContainer(c.Id, h, w)) : () => {};
  try {
    const result = await streamHijacked(ctx, { hijacked, tty, input: withStdin ? ctx.stdin : undefined, detachKeys: tty && withStdin ? detachKeyBytes(detachKeys ?? DEFAULT_DETACH_KEYS) : undefined });
    if (result === 'detached') throw new StatusError(1, DETACHED_MESSAGE);
    return await waitStatus(wait, ctx);
  } finally {
    stopResize();
    restore();
    unproxy();
  }
}

export const runCommand: Command = {
  name: 'run',
  usage: '[OPTIONS] IMAGE [COMMAND] [ARG...]',
  summary: 'Create and run a new container from an image',
  aliasPaths: ['container run', 'run'],
  flags: [...containerFlags, ...runOnlyFlags],
  minArgs: 1,
  stopAtPositional: true,
  run: runContainer,
};

export const createCommand: Command = {
  name: 'create',
  usage: '[OPTIONS] IMAGE [COMMAND] [ARG...]',
  summary: 'Create a new container',
  aliasPaths: ['container create', 'create'],
  flags: containerFlags,
  minArgs: 1,
  stopAtPositional: true,
  run: async (ctx, f, args) => {
    const api = await ctx.api();
    const id = await createContainer(ctx, api, f, args, false);
    ctx.stdout.write(`${id}\n`);
  },
};

export const startCommand: Command = {
  name: 'start',
  usage: '[OPTIONS] CONTAINER [CONTAINER...]',
  summary: 'Start one or more stopped containers',
  aliasPaths: ['container start', 'start'],
  flags: [
    { name: 'attach', short: 'a', type: 'bool', help: 'Attach STDOUT/STDERR and forward signals' },
    { name: 'detach-keys', type: 'string', help: 'Override the key sequence for detaching a container' },
    { name: 'interactive', short: 'i', type: 'bool', help: "Attach container's STDIN" },
  ],
  minArgs: 1,
  run: startContainers,
};

export const attachCommand: Command = {
  name: 'attach',
  usage: '[OPTIONS] CONTAINER',
  summary: 'Attach local standard input, output, and error streams to a running container',
  aliasPaths: ['container attach', 'attach'],
  flags: [
    { name: 'detach-keys', type: 'string', help: 'Override the key sequence for detaching a container' },
    { name: 'no-stdin', type: 'bool', help: 'Do not attach STDIN' },
    { name: 'sig-proxy', type: 'bool', help: 'Proxy all received signals to the process', default: true },
  ],
  minArgs: 1,
  maxArgs: 1,
  run: attachContainer,
};
