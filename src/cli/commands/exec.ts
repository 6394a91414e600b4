// exec: create an exec instance, then either start it detached, or start it hijacked (with the
// terminal in raw mode for -it and its size sent with resize calls) and exit with its exit code.
import type { Command } from '../command.js';
import { StatusError } from '../command.js';
import { DETACHED_MESSAGE, DEFAULT_DETACH_KEYS, detachKeyBytes, monitorTtySize, rawTerminal, streamHijacked, ttySize } from '../hijack.js';
import { readKVFile } from './container-opts.js';

export const execCommand: Command = {
  name: 'exec',
  usage: '[OPTIONS] CONTAINER COMMAND [ARG...]',
  summary: 'Execute a command in a running container',
  aliasPaths: ['container exec', 'exec'],
  flags: [
    { name: 'detach', short: 'd', type: 'bool', help: 'Detached mode: run command in the background' },
    { name: 'detach-keys', type: 'string', help: 'Override the key sequence for detaching a container' },
    { name: 'env', short: 'e', type: 'list', help: 'Set environment variables' },
    { name: 'env-file', type: 'list', help: 'Read in a file of environment variables' },
    { name: 'interactive', short: 'i', type: 'bool', help: 'Keep STDIN open even if not attached' },
    { name: 'privileged', type: 'bool', help: 'Give extended privileges to the command' },
    { name: 'tty', short: 't', type: 'bool', help: 'Allocate a pseudo-TTY' },
    { name: 'user', short: 'u', type: 'string', help: 'Username or UID (format: "<name|uid>[:<group|gid>]")' },
    { name: 'workdir', short: 'w', type: 'string', help: 'Working directory inside the container' },
  ],
  minArgs: 2,
  stopAtPositional: true,
  run: async (ctx, f, args) => {
    const [container, ...cmd] = args as [string, ...string[]];
    const detach = f.bool('detach');
    const tty = f.bool('tty');
    const interactive = f.bool('interactive');
    const env = [
      ...f.list('env-file').flatMap((p) => readKVFile(p, ctx.env, 'env')),
      ...f.list('env').map((e) => (e.includes('=') || ctx.env[e] === undefined ? e : `${e}=${ctx.env[e]}`)),
    ];
    const api = await ctx.api();
    await api.inspectContainer(container); // "No such container" before anything else, as docker
    if (!detach && tty && interactive && !ctx.stdin.isTTY) throw new StatusError(1, 'the input device is not a TTY');
    const consoleSize = tty ? ttySize(ctx) : undefined;
    const created = await api.createExec(container, {
      User: f.str('user') ?? '',
      Privileged: f.bool('privileged'),
      Tty: tty,
      ...(consoleSize ? { ConsoleSize: consoleSize } : {}),
      AttachStdin: !detach && interactive,
      AttachStderr: !detach,
      AttachStdout: !detach,
      Detach: detach,
      DetachKeys: f.str('detach-keys') ?? '',
      Env: env.length ? env : null,
      WorkingDir: f.str('workdir') ?? '',
      Cmd: cmd,
    });
    if (detach) {
      await api.startExecDetached(created.Id, tty);
      return 0;
    }
    const hijacked = await api.startExecAttached(created.Id, tty, consoleSize);
    const restore = tty && interactive ? rawTerminal(ctx) : () => {};
    const stopResize = tty && ctx.stdin.isTTY ? monitorTtySize(ctx, (h, w) => api.resizeExec(created.Id, h, w)) : () => {};
    try {
      const result = await streamHijacked(ctx, {
        hijacked, tty, input: interactive ? ctx.stdin : undefined,
        detachKeys: tty && interactive ? detachKeyBytes(f.str('detach-keys') || DEFAULT_DETACH_KEYS) : undefined,
      });
      if (result === 'detached') throw new StatusError(1, DETACHED_MESSAGE);
    } finally {
      stopResize();
      restore();
    }
    const info = await api.inspectExec(created.Id);
    return info.ExitCode ?? 0;
  },
};
