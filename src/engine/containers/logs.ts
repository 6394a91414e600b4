// Reading a container's json-file log (and its rotated files) for `docker logs`: stdout/stderr
// selection, since/until, tail, timestamps, and follow (new entries as the shim appends them,
// until the container stops). Output is Docker's multiplexed frames, or raw with a terminal.
import { closeSync, createReadStream, existsSync, openSync, readSync, statSync, watch } from 'node:fs';
import { createInterface } from 'node:readline';

export interface LogEntry {
  log: string;
  stream: 'stdout' | 'stderr';
  time: string;
}

export interface LogOptions {
  stdout: boolean;
  stderr: boolean;
  /** Unix seconds (fractions allowed). */
  since?: number;
  until?: number;
  tail?: number;
  timestamps: boolean;
  follow: boolean;
}

/** The log files oldest first: FILE.4 … FILE.1, FILE. */
function files(path: string): string[] {
  const out: string[] = [];
  for (let i = 9; i >= 1; i--) if (existsSync(`${path}.${i}`)) out.push(`${path}.${i}`);
  if (existsSync(path)) out.push(path);
  return out;
}

function parse(line: string): LogEntry | undefined {
  try {
    return JSON.parse(line) as LogEntry;
  } catch {
    return undefined; // a line being written right now
  }
}

/** One frame of Docker's multiplexed stream (or the raw bytes with a terminal). */
export function frame(stream: 'stdout' | 'stderr', data: Buffer, tty: boolean): Buffer {
  if (tty) return data;
  const h = Buffer.alloc(8);
  h[0] = stream === 'stdout' ? 1 : 2;
  h.writeUInt32BE(data.length, 4);
  return Buffer.concat([h, data]);
}

function render(e: LogEntry, o: LogOptions, tty: boolean): Buffer {
  const text = o.timestamps ? `${e.time} ${e.log}` : e.log;
  return frame(e.stream, Buffer.from(text), tty);
}

function wanted(e: LogEntry, o: LogOptions): boolean {
  if (e.stream === 'stdout' ? !o.stdout : !o.stderr) return false;
  const t = Date.parse(e.time) / 1000;
  if (o.since !== undefined && t < o.since) return false;
  if (o.until !== undefined && o.until > 0 && t > o.until) return false;
  return true;
}

/**
 * The log as a stream of frames. With `follow`, keeps reading as the file grows until
 * `stopped()` says the container is no longer running (checked when the file is quiet).
 */
export async function* readLogs(path: string, o: LogOptions, tty: boolean, stopped: () => Promise<void>): AsyncGenerator<Buffer> {
  // What is there now is read up to here; a follow goes on from here.
  let offset = existsSync(path) ? statSync(path).size : 0;
  const sizeOf = (f: string) => (f === path ? offset : statSync(f).size);
  if (o.tail !== undefined && o.tail >= 0) {
    // A tail reads from the end, only as far back as it shows: a busy container's log is large.
    const picked: LogEntry[] = [];
    pick: for (const f of files(path).reverse()) {
      for (const line of linesBackward(f, sizeOf(f))) {
        if (picked.length >= o.tail) break pick;
        const e = parse(line);
        if (e && wanted(e, o)) picked.push(e);
      }
    }
    for (const e of picked.reverse()) yield render(e, o, tty);
  } else {
    for (const f of files(path)) {
      const size = sizeOf(f);
      if (size === 0) continue;
      const rl = createInterface({ input: createReadStream(f, { end: size - 1 }), crlfDelay: Infinity });
      for await (const line of rl) {
        const e = parse(line);
        if (e && wanted(e, o)) yield render(e, o, tty);
      }
    }
  }
  if (!o.follow) return;

  let done = false;
  const stop = stopped().then(() => void (done = true));
  let pending = '';
  while (true) {
    const size = existsSync(path) ? statSync(path).size : 0;
    if (size < offset) offset = 0; // rotated: the new file starts over
    if (size > offset) {
      for await (const chunk of createReadStream(path, { start: offset, end: size - 1 })) pending += (chunk as Buffer).toString();
      offset = size;
      const lines = pending.split('\n');
      pending = lines.pop()!;
      for (const line of lines) {
        const e = parse(line);
        if (e && wanted(e, o)) yield render(e, o, tty);
      }
      continue;
    }
    if (done) return;
    // a change, a stop (then one more read for what came last) or, at worst, a quarter second
    await Promise.race([waitForChange(path, 250), stop]);
  }
}

/** The lines of `file`'s first `end` bytes, last first, read backwards a chunk at a time. */
function* linesBackward(file: string, end: number): Generator<string> {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return; // rotated away meanwhile
  }
  try {
    let pos = end;
    let carry = Buffer.alloc(0); // the end part of a line whose start is further back
    while (pos > 0) {
      const n = Math.min(BACKWARD_CHUNK, pos);
      pos -= n;
      const chunk = Buffer.alloc(n);
      readSync(fd, chunk, 0, n, pos);
      const data = carry.length ? Buffer.concat([chunk, carry]) : chunk;
      let lineEnd = data.length;
      for (let i = data.length - 1; i >= 0; i--) {
        if (data[i] !== 0x0a) continue;
        if (i + 1 < lineEnd) yield data.subarray(i + 1, lineEnd).toString();
        lineEnd = i;
      }
      carry = data.subarray(0, lineEnd);
    }
    if (carry.length) yield carry.toString();
  } finally {
    closeSync(fd);
  }
}

const BACKWARD_CHUNK = 64 * 1024;

function waitForChange(path: string, ms: number): Promise<void> {
  return new Promise((resolve) => {
    let w: ReturnType<typeof watch> | undefined;
    const finish = () => {
      clearTimeout(timer);
      w?.close();
      resolve();
    };
    const timer = setTimeout(finish, ms);
    try {
      w = watch(path, finish);
    } catch {
      // no file yet: the timer will do
    }
  });
}
