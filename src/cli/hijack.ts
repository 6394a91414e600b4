// The client half of attach and exec (docker's hijackedIOStreamer): output from the hijacked
// connection to stdout/stderr (raw with a tty, demultiplexed without), stdin to the connection
// (half-closed at EOF so the container sees end of input), the local terminal in raw mode for
// -it, the detach keys (ctrl-p,ctrl-q) caught on the client side as docker does, and window size
// changes sent as resize calls.
import { execFileSync } from 'node:child_process';
import type { Readable } from 'node:stream';
import type { Hijacked } from '../client/engine.js';
import { demux, writeAll } from '../client/streams.js';
import type { Context } from './command.js';
import { UsageError } from './flags.js';

export const DEFAULT_DETACH_KEYS = 'ctrl-p,ctrl-q';

const CTRL_NAMES: Record<string, number> = { 'ctrl-@': 0, 'ctrl-[': 27, 'ctrl-\\': 28, 'ctrl-]': 29, 'ctrl-^': 30, 'ctrl-_': 31 };
for (let i = 0; i < 26; i++) CTRL_NAMES[`ctrl-${String.fromCharCode(97 + i)}`] = i + 1;

/** term.ToBytes: "ctrl-p,ctrl-q" -> [16, 17]; "a,ctrl-b" -> [97, 2]. */
export function detachKeyBytes(keys: string): Buffer {
  const out: number[] = [];
  for (const key of keys.split(',')) {
    if (key.length === 1) out.push(key.charCodeAt(0));
    else if (key.toLowerCase() in CTRL_NAMES) out.push(CTRL_NAMES[key.toLowerCase()]!);
    else throw new UsageError(`Invalid detach keys (${keys}) provided: unknown character: '${key}'`);
  }
  return Buffer.from(out);
}

/**
 * Watches input for the escape sequence: bytes that may begin it are held back; the whole
 * sequence means "detach" and is never sent; a mismatch releases the held bytes.
 */
export class EscapeDetector {
  private pos = 0;

  constructor(private readonly keys: Buffer) {}

  /** The bytes to forward, and whether the sequence was completed. */
  feed(chunk: Buffer): { forward: Buffer; detach: boolean } {
    const out: number[] = [];
    for (const b of chunk) {
      if (this.keys.length && b === this.keys[this.pos]) {
        this.pos++;
        if (this.pos === this.keys.length) return { forward: Buffer.from(out), detach: true };
        continue;
      }
      if (this.pos > 0) {
        out.push(...this.keys.subarray(0, this.pos));
        this.pos = 0;
        if (this.keys.length && b === this.keys[0]) {
          this.pos = 1;
          continue;
        }
      }
      out.push(b);
    }
    return { forward: Buffer.from(out), detach: false };
  }
}

/** docker's message when the detach keys end attach or exec (run and start -a say nothing). */
export const DETACHED_MESSAGE = 'read escape sequence';

/**
 * Puts stdin in raw mode (for -it on a terminal); returns the function that restores it. libuv's
 * raw mode keeps output post-processing (\n -> \r\n) that Go's term.MakeRaw turns off; the
 * container's own terminal already sends \r\n, so it is turned off here too (stty -opost).
 */
export function rawTerminal(ctx: Context): () => void {
  const stdin = ctx.stdin;
  if (!stdin.isTTY || !stdin.setRawMode) return () => {};
  stdin.setRawMode(true);
  if (stdin === process.stdin) {
    try {
      execFileSync('stty', ['-opost'], { stdio: ['inherit', 'ignore', 'ignore'], timeout: 2000 });
    } catch {
      // no stty: output keeps \r\r\n, which a terminal shows the same
    }
  }
  let restored = false;
  return () => {
    if (restored) return;
    restored = true;
    stdin.setRawMode!(false);
  };
}

/** The terminal's [rows, columns], or undefined when stdout is not a terminal. */
export function ttySize(ctx: Context): [number, number] | undefined {
  const out = ctx.stdout;
  if (!out.isTTY || !out.rows || !out.columns) return undefined;
  return [out.rows, out.columns];
}

/**
 * Sends the terminal size now (retrying while the process is not up yet, as docker does) and on
 * every SIGWINCH; returns the function that stops watching.
 */
export function monitorTtySize(ctx: Context, resize: (h: number, w: number) => Promise<unknown>): () => void {
  const send = async (retries: number) => {
    const size = ttySize(ctx);
    if (!size) return;
    for (let i = 0; ; i++) {
      try {
        await resize(size[0], size[1]);
        return;
      } catch {
        if (i >= retries) return;
        await new Promise((r) => setTimeout(r, 10 * (i + 1)));
      }
    }
  };
  void send(10);
  const onWinch = () => void send(0);
  process.on('SIGWINCH', onWinch);
  return () => process.off('SIGWINCH', onWinch);
}

export interface StreamOptions {
  hijacked: Hijacked;
  tty: boolean;
  /** Forward this input (stdin) to the connection; undefined: do not read stdin at all. */
  input?: Readable;
  /** Catch these detach keys on input (docker does with a tty on both ends). */
  detachKeys?: Buffer;
}

export type StreamResult = 'done' | 'detached';

/**
 * Runs the streams until the output ends (the process exited, or the daemon detached us), or the
 * detach keys are typed. Input at EOF half-closes the connection; output keeps flowing after that.
 */
export async function streamHijacked(ctx: Context, opts: StreamOptions): Promise<StreamResult> {
  const conn = opts.hijacked.stream;
  const output = (async () => {
    if (opts.tty) {
      for await (const chunk of conn as AsyncIterable<Buffer>) await writeAll(ctx.stdout, chunk);
    } else {
      await demux(conn, ctx.stdout, ctx.stderr);
    }
  })();
  output.catch(() => {});

  let stopInput = () => {};
  const detached = new Promise<StreamResult>((resolve) => {
    const input = opts.input;
    if (!input || !opts.hijacked.upgraded) {
      if (opts.hijacked.upgraded && !input) {
        // nothing to send: docker half-closes at once (CloseWrite)
        conn.end();
      }
      return;
    }
    const detector = opts.detachKeys ? new EscapeDetector(opts.detachKeys) : undefined;
    const onData = (chunk: Buffer | string) => {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      const r = detector ? detector.feed(buf) : { forward: buf, detach: false };
      if (r.forward.length && !conn.destroyed) conn.write(r.forward);
      if (r.detach) {
        stopInput();
        resolve('detached');
      }
    };
    const onEnd = () => {
      stopInput();
      if (!conn.destroyed) conn.end();
    };
    stopInput = () => {
      input.off('data', onData);
      input.off('end', onEnd);
      input.pause();
    };
    input.on('data', onData);
    input.once('end', onEnd);
    input.once('error', onEnd);
    input.resume();
  });

  const result = await Promise.race([output.then(() => 'done' as const), detached]);
  stopInput();
  if (result === 'detached') {
    conn.destroy();
    return 'detached';
  }
  await output; // rethrows a stream error from the daemon
  if (!conn.destroyed) conn.destroy();
  return 'done';
}
