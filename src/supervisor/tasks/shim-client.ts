// A client for one berth-shim's socket (native/shim/README.md): every call has a deadline, so a
// stuck shim fails its own caller and never blocks the others.
import { closeSync, openSync, readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { basename, dirname, join } from 'node:path';
import { BerthError } from '../../common/errors.js';

export interface ExitStatus {
  status: number;
  oomKilled: boolean;
  exitedAt: Date;
}

const DEFAULT_DEADLINE_MS = 5000;

/** A unix socket path fits in sun_path (108 bytes with its NUL). */
const SUN_PATH_MAX = 107;

/**
 * Connects to a unix socket whose path may be longer than sun_path allows (task directories nest
 * 64-hex IDs): through /proc/self/fd/N/NAME, N an fd of its directory held open while connecting.
 */
function connectLongPath(path: string): Socket {
  if (Buffer.byteLength(path) <= SUN_PATH_MAX) return connect(path);
  let fd: number;
  try {
    fd = openSync(dirname(path), 'r');
  } catch {
    return connect(path); // fails with the usual error for a missing directory
  }
  const sock = connect(`/proc/self/fd/${fd}/${basename(path)}`);
  // Once only: a socket can 'connect' and later fail, and a second close would close whatever
  // file has reused that fd number by then (a log stream, which then dies with EBADF).
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    closeSync(fd);
  };
  sock.once('connect', release);
  sock.once('error', release);
  return sock;
}

export class ShimClient {
  constructor(readonly socketPath: string, readonly deadlineMs = DEFAULT_DEADLINE_MS) {}

  /** Sends one control command and returns its one-line answer (without "ok"). */
  async control(command: string): Promise<string> {
    const sock = await this.open('control');
    try {
      sock.write(`${command}\n`);
      const line = await readLine(sock, this.deadlineMs, `shim ${this.socketPath}: ${command}`);
      if (line.startsWith('error ')) throw new BerthError('FAILED_PRECONDITION', line.slice(6));
      return line;
    } finally {
      sock.destroy();
    }
  }

  signal(sig: number): Promise<string> {
    return this.control(`signal ${sig}`);
  }

  resize(rows: number, cols: number): Promise<string> {
    return this.control(`resize ${rows} ${cols}`);
  }

  closeStdin(): Promise<string> {
    return this.control('close-stdin');
  }

  /** "running PID" or "exited STATUS". */
  state(): Promise<string> {
    return this.control('state');
  }

  /**
   * Closes the log file and opens it again at the same path (created if missing): after the
   * kubelet renamed the file away, new lines go to a new one. Fails if it cannot be created.
   */
  reopenLog(): Promise<string> {
    return this.control('reopen-log');
  }

  shutdown(): Promise<string> {
    return this.control('shutdown');
  }

  /**
   * Resolves when the container exits: no deadline, this is what waiting means. A shim writes its
   * exit file before it stops answering, so when it cannot be reached the file has the answer.
   */
  async wait(): Promise<ExitStatus> {
    let line: string;
    try {
      const sock = await this.open('wait');
      try {
        line = await readLine(sock, 0, `shim ${this.socketPath}: wait`);
      } finally {
        sock.destroy();
      }
    } catch (err) {
      const exit = readExitFile(dirname(this.socketPath));
      if (exit) return exit;
      throw err;
    }
    const m = /^exit (\d+) ([01]) (\d+)$/.exec(line);
    if (!m) throw new BerthError('INTERNAL', `shim ${this.socketPath}: unexpected answer to wait: ${line}`);
    return { status: Number(m[1]), oomKilled: m[2] === '1', exitedAt: new Date(Number(BigInt(m[3]!) / 1_000_000n)) };
  }

  /**
   * An attach connection: output frames (or raw bytes with a terminal) to read, stdin to write.
   * It comes paused so no byte is lost: add listeners (or pipe it), then resume().
   */
  async attach(streams: Array<'stdin' | 'stdout' | 'stderr'>): Promise<Socket> {
    return this.open(`attach ${streams.join(',')}`);
  }

  /** Connects and sends the request line; resolves once the shim said "ok" (attach) or at once. */
  private open(request: 'control' | 'wait' | string): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const sock = connectLongPath(this.socketPath);
      const timer = setTimeout(() => {
        sock.destroy();
        reject(new BerthError('UNAVAILABLE', `shim ${this.socketPath} did not answer within ${this.deadlineMs} ms`));
      }, this.deadlineMs);
      sock.once('error', (err) => {
        clearTimeout(timer);
        reject(new BerthError('UNAVAILABLE', `shim ${this.socketPath}: ${err.message}`));
      });
      sock.once('connect', () => {
        sock.write(`${request}\n`);
        if (!request.startsWith('attach ')) {
          clearTimeout(timer);
          resolve(sock);
          return;
        }
        readLine(sock, this.deadlineMs, `shim ${this.socketPath}: attach`).then((line) => {
          clearTimeout(timer);
          if (line !== 'ok') {
            sock.destroy();
            reject(new BerthError('FAILED_PRECONDITION', line.replace(/^error /, '')));
          } else resolve(sock);
        }, reject);
      });
    });
  }
}

/** Reads one '\n'-terminated line; bytes after it are pushed back for the next reader. */
function readLine(sock: Socket, deadlineMs: number, what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const timer = deadlineMs ? setTimeout(() => finish(new BerthError('UNAVAILABLE', `${what}: no answer within ${deadlineMs} ms`)), deadlineMs) : undefined;
    const onData = (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      const nl = buf.indexOf(10);
      if (nl < 0) return;
      const rest = buf.subarray(nl + 1);
      finish(undefined, buf.subarray(0, nl).toString('utf8'));
      if (rest.length) sock.unshift(rest);
    };
    const onEnd = () => finish(new BerthError('UNAVAILABLE', `${what}: the shim closed the connection`));
    const onError = (err: Error) => finish(new BerthError('UNAVAILABLE', `${what}: ${err.message}`));
    function finish(err?: Error, line?: string) {
      if (timer) clearTimeout(timer);
      sock.off('data', onData);
      sock.off('end', onEnd);
      sock.off('close', onEnd);
      sock.off('error', onError);
      sock.pause();
      if (err) reject(err);
      else resolve(line!);
    }
    sock.on('data', onData);
    sock.on('end', onEnd);
    sock.on('close', onEnd);
    sock.on('error', onError);
    sock.resume();
  });
}

/** The exit file a shim writes next to its socket: {"status":N,"oomKilled":b,"exitedAt":"…","pid":P}. */
export function readExitFile(dir: string): ExitStatus | undefined {
  try {
    const e = JSON.parse(readFileSync(join(dir, 'exit'), 'utf8')) as { status: number; oomKilled: boolean; exitedAt: string };
    return { status: e.status, oomKilled: e.oomKilled, exitedAt: new Date(e.exitedAt) };
  } catch {
    return undefined;
  }
}
