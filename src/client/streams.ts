// The daemon's stream formats: JSON messages one after another (pull/push/load/build progress,
// events, stats), and the 8-byte-header multiplexed stdout/stderr framing of logs, attach and exec
// without a terminal.
import type { Readable, Writable } from 'node:stream';
import { BerthError } from '../common/errors.js';

/**
 * Splits a byte stream into JSON values. Docker writes each value followed by a newline, but a
 * decoder must not depend on that: values are cut where their outermost brace or bracket closes.
 */
export async function* jsonStream<T = unknown>(source: AsyncIterable<Buffer | string>, opts: { exactIntegers?: string[] } = {}): AsyncGenerator<T> {
  // integers that do not fit a double (timeNano) are kept as strings, digit for digit
  const exact = opts.exactIntegers?.length ? new RegExp(`"(${opts.exactIntegers.join('|')})":\\s*(-?\\d+)(?![\\d.eE])`, 'g') : undefined;
  const parse = (text: string) => JSON.parse(exact ? text.replace(exact, '"$1":"$2"') : text) as T;
  let pending = '';
  let depth = 0;
  let inString = false;
  let escaped = false;
  let start = -1;
  for await (const chunk of source) {
    const text = typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    const base = pending.length;
    pending += text;
    const values: T[] = [];
    for (let i = base; i < pending.length; i++) {
      const c = pending[i]!;
      if (inString) {
        if (escaped) escaped = false;
        else if (c === '\\') escaped = true;
        else if (c === '"') inString = false;
        continue;
      }
      if (c === '"') {
        inString = depth > 0; // text between values (a stray string) is skipped
      } else if (c === '{' || c === '[') {
        if (depth === 0) start = i;
        depth++;
      } else if ((c === '}' || c === ']') && depth > 0) {
        depth--;
        if (depth === 0) {
          values.push(parse(pending.slice(start, i + 1)));
          start = -1;
        }
      }
    }
    // keep only the unfinished value; what was scanned of it keeps its state (depth, string)
    if (depth > 0) {
      pending = pending.slice(start);
      start = 0;
    } else {
      pending = '';
    }
    for (const v of values) yield v;
  }
  if (depth > 0) throw new BerthError('INTERNAL', `the daemon's JSON stream ended in the middle of a message: ${pending.slice(0, 80)}`);
}

/** Writes `data`, waiting for the destination to drain when it is full. */
export function writeAll(out: Writable, data: Buffer | string): Promise<void> | undefined {
  if (out.write(data)) return undefined;
  return new Promise((resolve) => out.once('drain', resolve));
}

export const STDIN = 0;
export const STDOUT = 1;
export const STDERR = 2;
export const SYSTEMERR = 3;

/**
 * Copies a multiplexed stream to stdout and stderr: each frame is [stream, 0, 0, 0, size (big
 * endian u32)] then size bytes. A frame on stream 3 is an error from the daemon; it ends the copy.
 */
export async function demux(source: Readable | AsyncIterable<Buffer>, stdout: Writable, stderr: Writable): Promise<void> {
  let buf: Buffer = Buffer.alloc(0);
  for await (const chunk of source as AsyncIterable<Buffer>) {
    buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
    while (buf.length >= 8) {
      const size = buf.readUInt32BE(4);
      if (buf.length < 8 + size) break;
      const kind = buf[0]!;
      const payload = buf.subarray(8, 8 + size);
      buf = buf.subarray(8 + size);
      if (kind === SYSTEMERR) throw new BerthError('INTERNAL', payload.toString('utf8').trim());
      if (kind !== STDIN && kind !== STDOUT && kind !== STDERR) throw new BerthError('INTERNAL', `unrecognized stream ${kind} in a multiplexed stream from the daemon`);
      await writeAll(kind === STDERR ? stderr : stdout, payload);
    }
  }
}

/** One frame of the multiplexed format (the daemon side writes these; tests use it too). */
export function muxFrame(stream: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h[0] = stream;
  h.writeUInt32BE(payload.length, 4);
  return Buffer.concat([h, payload]);
}
