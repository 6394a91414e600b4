// docker's jsonmessage display: the pull/push/load/import stream shown as lines, with one line per
// layer ID redrawn in place (cursor up, clear line, progress bar) on a terminal, and only the
// status lines (no bars) otherwise. An error message in the stream becomes the command's error.
import type { Writable } from 'node:stream';
import { jsonStream } from '../../client/streams.js';
import type { JSONMessage } from '../../client/types.js';
import { BerthError } from '../../common/errors.js';
import { humanSize, formatGoDuration } from './units.js';
import { rfc3339NanoFixed } from './time.js';

/** An error message in the stream; `status` is its errorDetail code (a failed RUN's exit status). */
export class StreamError extends BerthError {
  readonly status: number | undefined;

  constructor(message: string, status?: number) {
    super('INTERNAL', message);
    this.name = 'StreamError';
    this.status = status;
  }
}

interface Progress {
  current?: number;
  total?: number;
  start?: number;
  units?: string;
  hidecounts?: boolean;
}

/** JSONProgress.String: "[=====>     ]  1.2MB/3.4MB 2s". */
export function progressString(p: Progress, width: number): string {
  const current = p.current ?? 0;
  const total = p.total ?? 0;
  if (current <= 0 && total <= 0) return '';
  if (total <= 0) return p.units ? `${current} ${p.units}` : humanSize(current).padStart(8);
  let percentage = Math.trunc(Math.trunc((current / total) * 100) / 2);
  if (percentage > 50) percentage = 50;
  let bar = '';
  if (width > 110) bar = `[${'='.repeat(percentage)}>${' '.repeat(Math.max(0, 50 - percentage))}] `;
  let numbers = '';
  if (!p.hidecounts) {
    if (!p.units) numbers = current > total ? humanSize(current).padStart(8) : `${humanSize(current).padStart(8)}/${humanSize(total)}`;
    else numbers = current > total ? `${current} ${p.units}` : `${current}/${total} ${p.units}`;
  }
  let left = '';
  if (current > 0 && p.start && p.start > 0 && percentage < 50 && width > 50) {
    const fromStart = Date.now() - p.start * 1000;
    const leftMs = ((total - current) * fromStart) / current;
    left = ` ${formatGoDuration(Math.floor(leftMs / 1000) * 1e9)}`;
  }
  return bar + numbers + left;
}

export interface DisplayOptions {
  isTerminal: boolean;
  /** Terminal width (bars only above 110 columns, as docker). */
  width?: number;
  onAux?: (aux: unknown) => void;
}

/** Writes one message as docker's JSONMessage.Display does. */
function display(out: Writable, jm: JSONMessage & { progressDetail?: Progress }, opts: DisplayOptions): void {
  if (jm.error || jm.errorDetail) {
    const msg = jm.errorDetail?.message ?? jm.error ?? 'unknown error';
    if (jm.errorDetail?.code === 401) throw new StreamError('authentication is required');
    throw new StreamError(msg, jm.errorDetail?.code);
  }
  const hasProgress = jm.progressDetail !== undefined && jm.progressDetail !== null;
  const width = opts.width ?? 200;
  let endl = '';
  if (opts.isTerminal && !jm.stream && hasProgress) {
    out.write('\x1b[2K\r');
    endl = '\r';
  } else if (hasProgress && progressString(jm.progressDetail!, width) !== '') {
    return; // no progress bars off a terminal
  }
  let line = '';
  if (jm.timeNano) line += `${rfc3339NanoFixed(BigInt(jm.timeNano))} `;
  else if (jm.time) line += `${rfc3339NanoFixed(BigInt(jm.time) * 1_000_000_000n)} `;
  if (jm.id) line += `${jm.id}: `;
  if (jm.from) line += `(from ${jm.from}) `;
  if (hasProgress && opts.isTerminal) line += `${jm.status ?? ''} ${progressString(jm.progressDetail!, width)}${endl}`;
  else if (jm.progress) line += `${jm.status ?? ''} ${jm.progress}${endl}`;
  else if (jm.stream) line += `${jm.stream}${endl}`;
  else line += `${jm.status ?? ''}${endl}\n`;
  out.write(line);
}

/** Shows a whole message stream; resolves at its end, rejects with the stream's error message. */
export async function displayJSONMessages(source: AsyncIterable<Buffer>, out: Writable, opts: DisplayOptions): Promise<void> {
  let ids = new Map<string, number>();
  for await (const jm of jsonStream<JSONMessage & { progressDetail?: Progress }>(source)) {
    if (jm.aux !== undefined) {
      opts.onAux?.(jm.aux);
      continue;
    }
    let diff = 0;
    if (jm.id && (jm.progressDetail || jm.progress)) {
      let line = ids.get(jm.id);
      if (line === undefined) {
        line = ids.size;
        ids.set(jm.id, line);
        if (opts.isTerminal) out.write('\n');
      }
      diff = ids.size - line;
      if (opts.isTerminal && diff > 0) out.write(`\x1b[${diff}A`);
    } else {
      ids = new Map();
    }
    try {
      display(out, jm, opts);
    } finally {
      if (jm.id && opts.isTerminal && diff > 0) out.write(`\x1b[${diff}B`);
    }
  }
}
