// Questions on the terminal: prune's "Are you sure?" and login's user name and password (the
// password read without echo when stdin is a terminal).
import type { Context } from '../command.js';

/**
 * Shows `prompt` and reads one line from stdin (without its newline); undefined at end of input.
 * With `silent` on a terminal, echo is off before the prompt appears, so nothing typed shows.
 */
export function readLine(ctx: Context, opts: { silent?: boolean; prompt?: string } = {}): Promise<string | undefined> {
  const stdin = ctx.stdin;
  const raw = opts.silent && stdin.isTTY && stdin.setRawMode ? stdin.setRawMode.bind(stdin) : undefined;
  return new Promise((resolve) => {
    let line = '';
    const done = (value: string | undefined) => {
      stdin.off('data', onData);
      stdin.off('end', onEnd);
      stdin.pause();
      raw?.(false);
      if (raw) ctx.stdout.write('\n');
      resolve(value);
    };
    const onData = (chunk: Buffer | string) => {
      const text = chunk.toString();
      for (const c of text) {
        if (c === '\n' || c === '\r') return done(line);
        if (raw && c === '\u0003') return done(undefined); // ctrl-c in raw mode
        if (raw && (c === '\u007f' || c === '\b')) line = line.slice(0, -1);
        else line += c;
      }
    };
    const onEnd = () => done(line || undefined);
    raw?.(true);
    if (opts.prompt) ctx.stdout.write(opts.prompt);
    stdin.on('data', onData);
    stdin.once('end', onEnd);
    stdin.resume();
  });
}

/** docker's prompt for destructive commands; anything but y/Y (or no answer) is a no. */
export async function confirm(ctx: Context, warning: string): Promise<boolean> {
  const answer = await readLine(ctx, { prompt: `${warning}\nAre you sure you want to continue? [y/N] ` });
  if (answer === undefined) ctx.stdout.write('\n');
  return /^y(es)?$/i.test((answer ?? '').trim());
}
