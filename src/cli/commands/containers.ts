// Container commands that make one call per container: stop, restart, kill, rm, pause, unpause,
// rename, wait, and the read-only views: top, port, diff, logs; plus commit and export.
import type { Readable } from 'node:stream';
import { readText } from '../../client/engine.js';
import { demux } from '../../client/streams.js';
import { fullName, parseImageRef } from '../../client/reference.js';
import { ApiError } from '../../client/errors.js';
import { BerthError } from '../../common/errors.js';
import type { DockerApi } from '../../client/api.js';
import { FAILED, type Command } from '../command.js';
import { tabwrite } from '../output/tabwriter.js';
import { writeOutput } from './images.js';
import { errorText, forEachArg, refuseTerminal, toApiTimestamp } from './util.js';

/** stop and restart: the same flags, one call per container. */
function stopLike(name: 'stop' | 'restart', summary: string, call: (api: DockerApi, container: string, o: { t?: number; signal?: string }) => Promise<unknown>): Command {
  return {
    name,
    usage: '[OPTIONS] CONTAINER [CONTAINER...]',
    summary,
    aliasPaths: [`container ${name}`, name],
    flags: [
      { name: 'signal', short: 's', type: 'string', help: 'Signal to send to the container' },
      { name: 'time', type: 'int', help: 'Seconds to wait before killing the container (deprecated: use --timeout)', hidden: true },
      { name: 'timeout', short: 't', type: 'int', help: 'Seconds to wait before killing the container' },
    ],
    minArgs: 1,
    run: async (ctx, f, args) => {
      const api = await ctx.api();
      const t = f.has('timeout') ? f.int('timeout') : f.has('time') ? f.int('time') : undefined;
      return forEachArg(ctx, args, async (container) => {
        await call(api, container, { t, signal: f.str('signal') || undefined });
        return container;
      });
    },
  };
}

export const stopCommand = stopLike('stop', 'Stop one or more running containers', (api, c, o) => api.stopContainer(c, o));
export const restartCommand = stopLike('restart', 'Restart one or more containers', (api, c, o) => api.restartContainer(c, o));

export const killCommand: Command = {
  name: 'kill',
  usage: '[OPTIONS] CONTAINER [CONTAINER...]',
  summary: 'Kill one or more running containers',
  aliasPaths: ['container kill', 'kill'],
  flags: [{ name: 'signal', short: 's', type: 'string', help: 'Signal to send to the container' }],
  minArgs: 1,
  run: async (ctx, f, args) => {
    const api = await ctx.api();
    return forEachArg(ctx, args, async (name) => {
      await api.killContainer(name, f.str('signal') || undefined);
      return name;
    });
  },
};

export const rmCommand: Command = {
  name: 'rm',
  usage: '[OPTIONS] CONTAINER [CONTAINER...]',
  summary: 'Remove one or more containers',
  aliasPaths: ['container rm', 'container remove', 'rm'],
  flags: [
    { name: 'force', short: 'f', type: 'bool', help: 'Force the removal of a running container (uses SIGKILL)' },
    { name: 'link', short: 'l', type: 'bool', help: 'Remove the specified link' },
    { name: 'volumes', short: 'v', type: 'bool', help: 'Remove anonymous volumes associated with the container' },
  ],
  minArgs: 1,
  run: async (ctx, f, args) => {
    const api = await ctx.api();
    return forEachArg(ctx, args, async (name) => {
      const target = name.replace(/^\/+/, '');
      if (!target) throw new BerthError('INVALID_ARGUMENT', 'Container name cannot be empty');
      await api.removeContainer(target, { force: f.bool('force'), v: f.bool('volumes'), link: f.bool('link') });
      return name;
    });
  },
};

/** A command that makes one call per container and prints each name (pause, unpause). */
function perContainer(name: string, summary: string, call: (api: DockerApi, container: string) => Promise<unknown>): Command {
  return {
    name,
    usage: 'CONTAINER [CONTAINER...]',
    summary,
    aliasPaths: [`container ${name}`, name],
    minArgs: 1,
    run: async (ctx, _f, args) => {
      const api = await ctx.api();
      return forEachArg(ctx, args, async (container) => {
        await call(api, container);
        return container;
      });
    },
  };
}

export const pauseCommand = perContainer('pause', 'Pause all processes within one or more containers', (api, c) => api.pauseContainer(c));
export const unpauseCommand = perContainer('unpause', 'Unpause all processes within one or more containers', (api, c) => api.unpauseContainer(c));

export const renameCommand: Command = {
  name: 'rename',
  usage: 'CONTAINER NEW_NAME',
  summary: 'Rename a container',
  aliasPaths: ['container rename', 'rename'],
  minArgs: 2,
  maxArgs: 2,
  run: async (ctx, _f, args) => {
    const [oldName, newName] = [args[0]!.trim(), args[1]!.trim().replace(/^\/+/, '')];
    if (!oldName || !newName) throw new BerthError('INVALID_ARGUMENT', 'Error: Neither old nor new names may be empty');
    const api = await ctx.api();
    try {
      await api.renameContainer(oldName, newName);
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      // As docker: the daemon's words, then which rename failed.
      ctx.stderr.write(`${errorText(err)}\nError: failed to rename container named ${oldName}\n`);
      throw FAILED;
    }
  },
};

export const waitCommand: Command = {
  name: 'wait',
  usage: 'CONTAINER [CONTAINER...]',
  summary: 'Block until one or more containers stop, then print their exit codes',
  aliasPaths: ['container wait', 'wait'],
  minArgs: 1,
  run: async (ctx, _f, args) => {
    const api = await ctx.api();
    return forEachArg(ctx, args, async (name) => {
      const res = await api.waitContainer(name);
      const body = JSON.parse(await readText(res)) as { StatusCode: number; Error?: { Message?: string } | null };
      if (body.Error?.Message) throw new BerthError('INTERNAL', body.Error.Message);
      return String(body.StatusCode);
    });
  },
};

export const topCommand: Command = {
  name: 'top',
  usage: 'CONTAINER [ps OPTIONS]',
  summary: 'Display the running processes of a container',
  aliasPaths: ['container top', 'top'],
  minArgs: 1,
  stopAtPositional: true,
  run: async (ctx, _f, args) => {
    const api = await ctx.api();
    const top = await api.top(args[0]!, args.slice(1).join(' '));
    const lines = [top.Titles.join('\t'), ...top.Processes.map((p) => p.join('\t'))];
    ctx.stdout.write(tabwrite(`${lines.join('\n')}\n`, { minWidth: 20, padding: 3 }));
  },
};

export const portCommand: Command = {
  name: 'port',
  usage: 'CONTAINER [PRIVATE_PORT[/PROTO]]',
  summary: 'List port mappings or a specific mapping for the container',
  aliasPaths: ['container port', 'port'],
  minArgs: 1,
  maxArgs: 2,
  run: async (ctx, _f, args) => {
    const api = await ctx.api();
    const c = await api.inspectContainer(args[0]!);
    const ports = c.NetworkSettings.Ports ?? {};
    const hostAddr = (b: { HostIp?: string; HostPort?: string }) => {
      const ip = b.HostIp || '0.0.0.0';
      return `${ip.includes(':') ? `[${ip}]` : ip}:${b.HostPort ?? ''}`;
    };
    if (args[1]) {
      const [port, proto = 'tcp'] = args[1].split('/');
      const key = `${port}/${proto}`;
      const bindings = ports[key];
      if (!bindings?.length) throw new BerthError('NOT_FOUND', `Error: No public port '${key}' published for ${args[0]}`);
      ctx.stdout.write(bindings.map((b) => `${hostAddr(b)}\n`).join(''));
      return;
    }
    const keyOrder = (k: string) => {
      const [p, proto] = k.split('/');
      return [Number(p), proto ?? ''] as const;
    };
    const keys = Object.keys(ports).sort((a, b) => keyOrder(a)[0] - keyOrder(b)[0] || keyOrder(a)[1].localeCompare(keyOrder(b)[1]));
    const out: string[] = [];
    for (const k of keys) for (const b of ports[k] ?? []) out.push(`${k} -> ${hostAddr(b)}\n`);
    ctx.stdout.write(out.join(''));
  },
};

export const diffCommand: Command = {
  name: 'diff',
  usage: 'CONTAINER',
  summary: "Inspect changes to files or directories on a container's filesystem",
  aliasPaths: ['container diff', 'diff'],
  minArgs: 1,
  maxArgs: 1,
  run: async (ctx, _f, args) => {
    const api = await ctx.api();
    const changes = (await api.changes(args[0]!)) ?? [];
    ctx.stdout.write(changes.map((c) => `${['C', 'A', 'D'][c.Kind] ?? '?'} ${c.Path}\n`).join(''));
  },
};

export const commitCommand: Command = {
  name: 'commit',
  usage: '[OPTIONS] CONTAINER [REPOSITORY[:TAG]]',
  summary: "Create a new image from a container's changes",
  aliasPaths: ['container commit', 'commit'],
  flags: [
    { name: 'author', short: 'a', type: 'string', help: 'Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")' },
    { name: 'change', short: 'c', type: 'list', help: 'Apply Dockerfile instruction to the created image' },
    { name: 'message', short: 'm', type: 'string', help: 'Commit message' },
    { name: 'no-pause', type: 'bool', help: 'Disable pausing container during commit' },
    { name: 'pause', short: 'p', type: 'bool', help: 'Pause container during commit', default: true },
  ],
  minArgs: 1,
  maxArgs: 2,
  run: async (ctx, f, args) => {
    let repo: string | undefined;
    let tag: string | undefined;
    if (args[1]) {
      const r = parseImageRef(args[1]);
      if (r.digest) throw new BerthError('INVALID_ARGUMENT', 'refusing to create a tag with a digest reference');
      repo = fullName(r);
      tag = r.tag;
    }
    const api = await ctx.api();
    const res = await api.commit({
      container: args[0]!, repo, tag, comment: f.str('message'), author: f.str('author'),
      pause: f.bool('pause') && !f.bool('no-pause'), changes: f.list('change'),
    });
    ctx.stdout.write(`${res.Id}\n`);
  },
};

export const exportCommand: Command = {
  name: 'export',
  usage: '[OPTIONS] CONTAINER',
  summary: "Export a container's filesystem as a tar archive",
  aliasPaths: ['container export', 'export'],
  flags: [{ name: 'output', short: 'o', type: 'string', help: 'Write to a file, instead of STDOUT' }],
  minArgs: 1,
  maxArgs: 1,
  run: async (ctx, f, args) => {
    if (!f.str('output')) refuseTerminal(ctx);
    const api = await ctx.api();
    await writeOutput(ctx, await api.exportContainer(args[0]!), f.str('output'));
  },
};

export const logsCommand: Command = {
  name: 'logs',
  usage: '[OPTIONS] CONTAINER',
  summary: 'Fetch the logs of a container',
  aliasPaths: ['container logs', 'logs'],
  flags: [
    { name: 'details', type: 'bool', help: 'Show extra details provided to logs' },
    { name: 'follow', short: 'f', type: 'bool', help: 'Follow log output' },
    { name: 'since', type: 'string', help: 'Show logs since timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)' },
    { name: 'tail', short: 'n', type: 'string', help: 'Number of lines to show from the end of the logs', default: 'all' },
    { name: 'timestamps', short: 't', type: 'bool', help: 'Show timestamps' },
    { name: 'until', type: 'string', help: 'Show logs before a timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)' },
  ],
  minArgs: 1,
  maxArgs: 1,
  run: async (ctx, f, args) => {
    const api = await ctx.api();
    const c = await api.inspectContainer(args[0]!);
    const res = await api.logs(c.Id, {
      stdout: true, stderr: true, follow: f.bool('follow'), timestamps: f.bool('timestamps'), details: f.bool('details'),
      since: f.str('since') ? toApiTimestamp(f.str('since')!) : undefined,
      until: f.str('until') ? toApiTimestamp(f.str('until')!) : undefined,
      tail: f.str('tail'),
    });
    if (c.Config.Tty) {
      for await (const chunk of res as Readable) ctx.stdout.write(chunk as Buffer);
    } else {
      await demux(res, ctx.stdout, ctx.stderr);
    }
  },
};
