// The resize stream: client-go writes one JSON object per terminal size, each followed by a
// newline ({"Width":80,"Height":24}). Yields them in order until the stream ends or breaks
// (a broken stream is an end, not an error: the runtime iterating has nothing to do about it).
import type { Readable } from 'node:stream';
import type { TerminalSize } from './runtime.js';

export async function* terminalSizes(stream: Readable): AsyncGenerator<TerminalSize> {
  let pending = '';
  try {
    for await (const chunk of stream) {
      pending += (chunk as Buffer).toString('utf8');
      let newline: number;
      while ((newline = pending.indexOf('\n')) >= 0) {
        const size = parseSize(pending.slice(0, newline));
        pending = pending.slice(newline + 1);
        if (size) yield size;
      }
    }
  } catch {
    // The connection went away: no more sizes.
    return;
  }
  const last = parseSize(pending);
  if (last) yield last;
}

/** A size from one JSON object, or undefined for blank or malformed input (which is skipped). */
export function parseSize(text: string): TerminalSize | undefined {
  if (text.trim() === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  // Go's decoder matches field names case-insensitively.
  const fields = Object.fromEntries(Object.entries(value).map(([k, v]) => [k.toLowerCase(), v]));
  const width = fields.width;
  const height = fields.height;
  if (!isDimension(width) || !isDimension(height)) return undefined;
  return { width, height };
}

function isDimension(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffff;
}
