// Helpers the commands share: short IDs, errors printed per argument, reading input, timestamps.
import type { Readable } from 'node:stream';
import { ApiError } from '../../client/errors.js';
import { BerthError } from '../../common/errors.js';
import { FAILED, type Context } from '../command.js';
import { UsageError } from '../flags.js';
import { parseGoDuration } from '../output/units.js';

export { goTimeString, rfc3339NanoFixed } from '../output/time.js';

/** "sha256:abc…" or "abc…" to the 12-character form. */
export const shortId = (id: string): string => id.replace(/^sha256:/, '').slice(0, 12);

/** How docker prints an error from one of several arguments. */
export function errorText(err: unknown): string {
  if (err instanceof ApiError) return `Error response from daemon: ${err.message}`;
  if (err instanceof BerthError) return err.message;
  return err instanceof Error ? err.message : String(err);
}

/**
 * Runs `fn` for each argument, printing its result line (if any) on stdout or its error on
 * stderr, and fails (exit 1) at the end if any failed, as docker stop/rm/kill… do.
 */
export async function forEachArg(ctx: Context, args: string[], fn: (arg: string) => Promise<string | undefined>, failedSummary?: string): Promise<number> {
  const failedArgs: string[] = [];
  for (const arg of args) {
    try {
      const line = await fn(arg);
      if (line !== undefined) ctx.stdout.write(`${line}\n`);
    } catch (err) {
      if (!(err instanceof ApiError) && !(err instanceof BerthError)) throw err;
      failedArgs.push(arg);
      ctx.stderr.write(`${errorText(err)}\n`);
    }
  }
  if (failedArgs.length && failedSummary) ctx.stderr.write(`Error: ${failedSummary}: ${failedArgs.join(', ')}\n`);
  if (failedArgs.length) throw FAILED;
  return 0;
}

export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(typeof c === 'string' ? Buffer.from(c) : (c as Buffer));
  return Buffer.concat(chunks);
}

/** --filter key=value flags to the API's filter map. */
export function parseFilters(list: string[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const f of list) {
    const eq = f.indexOf('=');
    if (eq < 0) throw new UsageError(`bad format of filter (expected name=value)`);
    const k = f.slice(0, eq).trim().toLowerCase();
    (out[k] ??= []).push(f.slice(eq + 1));
  }
  return out;
}

/**
 * timetypes.GetTimestamp: a Go duration ("10m") counts back from now; a unix time ("1700000000"
 * or with a fraction) passes through; an RFC 3339 date or date-time (local without a zone)
 * becomes "seconds.nanoseconds".
 */
export function toApiTimestamp(value: string, now = Date.now()): string {
  if (value !== '0') {
    try {
      const ns = parseGoDuration(value);
      return String(Math.floor((now - ns / 1e6) / 1000));
    } catch {
      // not a duration
    }
  }
  if (/^\d+(\.\d+)?$/.test(value) || /^-?\d+$/.test(value)) return value;
  let text = value;
  const hasZone = /[zZ]$|[+-]\d{2}:?\d{2}$/.test(value);
  if (/^\d{4}-\d{2}-\d{2}$/.test(text)) text += 'T00:00:00';
  else if (/^\d{4}-\d{2}-\d{2}T\d{2}$/.test(text)) text += ':00:00';
  else if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$/.test(text)) text += ':00';
  // fractional seconds beyond milliseconds: keep the nanoseconds ourselves
  const frac = /\.(\d+)/.exec(text);
  const nanos = frac ? Number(frac[1]!.padEnd(9, '0').slice(0, 9)) : 0;
  const ms = Date.parse(frac ? text.replace(/\.\d+/, '') : text);
  if (Number.isNaN(ms) || (!hasZone && !/T|^\d{4}-\d{2}-\d{2}$/.test(value))) {
    throw new UsageError(`failed to parse value as time or duration: "${value}"`);
  }
  return `${Math.floor(ms / 1000)}.${String(nanos).padStart(9, '0')}`;
}

/** sortorder.NaturalLess, as docker sorts volume and network names: digit runs by value, digits first. */
export function naturalCompare(a: string, b: string): number {
  const digit = (c: string | undefined) => c !== undefined && c >= '0' && c <= '9';
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const da = digit(a[i]);
    const db = digit(b[j]);
    if (da !== db) return da ? -1 : 1;
    if (!da) {
      if (a[i] !== b[j]) return a[i]! < b[j]! ? -1 : 1;
      i++;
      j++;
      continue;
    }
    while (a[i] === '0') i++;
    while (b[j] === '0') j++;
    const si = i;
    const sj = j;
    while (digit(a[i])) i++;
    while (digit(b[j])) j++;
    if (i - si !== j - sj) return i - si < j - sj ? -1 : 1;
    const na = a.slice(si, i);
    const nb = b.slice(sj, j);
    if (na !== nb) return na < nb ? -1 : 1;
    if (si !== sj) return si < sj ? -1 : 1;
  }
  return a.length - b.length;
}

/** Refuses to write binary output to a terminal, as docker save/export do. */
export function refuseTerminal(ctx: Context): void {
  if (ctx.stdout.isTTY) throw new BerthError('INVALID_ARGUMENT', 'cowardly refusing to save to a terminal. Use the -o flag or redirect');
}
