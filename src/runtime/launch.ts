// Starts native/init with a plan and holds the conversation with it: the container's pid, hook
// points, ready, errors. No Node process is started per container: only the small C init.
import { type ChildProcess, spawn, type StdioOptions } from 'node:child_process';
import { constants as osConstants } from 'node:os';
import type { Duplex } from 'node:stream';
import { BerthError } from '../common/errors.js';
import { Msg } from './plan/opcodes.js';
import { nativeBinaryPath } from '../sys/native.js';

/** The init binary: $BERTH_INIT, or native/build/berth-init of this checkout. */
export function initBinaryPath(): string {
  return nativeBinaryPath('berth-init', 'BERTH_INIT');
}

export interface LaunchOptions {
  plan: Buffer;
  /** stdio of the init (and so of the container when it has no terminal): fds 0, 1, 2. */
  stdio: Array<'inherit' | 'ignore' | 'pipe' | number>;
  /** Extra fds passed through to the container as 3, 4, ... (--preserve-fds). */
  preserveFds?: number;
  /** Called at a hook point with the hook point number; resolves to the state JSON for in-container hooks. */
  onHooks?: (point: number) => Promise<Buffer>;
  /** Runs the init through another program (the shim), given the init's own command line. */
  wrap?: (init: Command) => Command;
  /** Called right after the spawn, so a caller can read the spawned program's own output. */
  onSpawn?: (child: ChildProcess) => void;
}

export interface Command {
  file: string;
  args: string[];
}

export interface Launch {
  /** Host pid of the container process. */
  pid: Promise<number>;
  /** The init reported it is set up (for create: waiting for start). */
  ready: Promise<void>;
  /** The conversation ended: the init exec'd the process, or failed (rejects with its error). */
  finished: Promise<void>;
  /** Exit status of stage 0 (for a waiting launch: the container's status). */
  exit: Promise<number>;
  /** Stops listening (after ready, for a detached create). */
  detach(): void;
  /** The spawned process: the init's stage 0, or the wrapper. */
  child: ChildProcess;
}

export function launch(opts: LaunchOptions): Launch {
  const preserved = opts.preserveFds ?? 0;
  const syncFd = 3 + preserved;
  const stdio: StdioOptions = [...opts.stdio.slice(0, 3), ...Array.from({ length: preserved }, (_, i) => 3 + i), 'pipe'];
  const init: Command = { file: initBinaryPath(), args: [String(syncFd)] };
  const cmd = opts.wrap ? opts.wrap(init) : init;
  const child = spawn(cmd.file, cmd.args, { stdio });
  const sock = child.stdio[syncFd] as Duplex;
  opts.onSpawn?.(child);

  let resolvePid!: (pid: number) => void, resolveReady!: () => void, resolveFinished!: () => void;
  let rejectAll!: (err: Error) => void;
  const pid = new Promise<number>((res, rej) => { resolvePid = res; rejectAll = rej; });
  const rejecters: Array<(e: Error) => void> = [];
  const ready = new Promise<void>((res, rej) => { resolveReady = res; rejecters.push(rej); });
  const finished = new Promise<void>((res, rej) => { resolveFinished = res; rejecters.push(rej); });
  const exit = new Promise<number>((res) => child.on('exit', (code, signal) => res(code ?? 128 + signalNumber(signal))));
  const fail = (err: Error) => { rejectAll(err); for (const r of rejecters) r(err); };
  // Callers may only await some of these: never let the others become unhandled rejections.
  for (const p of [pid, ready, finished]) p.catch(() => {});

  let sawError = false;
  let gotPid = false;
  let buf = Buffer.alloc(0);
  sock.on('data', (chunk: Buffer) => {
    buf = Buffer.concat([buf, chunk]);
    while (buf.length >= 8) {
      const type = buf.readUInt32LE(0);
      const len = buf.readUInt32LE(4);
      if (buf.length < 8 + len) break;
      const payload = buf.subarray(8, 8 + len);
      buf = buf.subarray(8 + len);
      if (type === Msg.PID) {
        gotPid = true;
        resolvePid(payload.readUInt32LE(0));
      }
      else if (type === Msg.READY) resolveReady();
      else if (type === Msg.ERROR) {
        sawError = true;
        fail(new BerthError('FAILED_PRECONDITION', payload.toString('utf8')));
      } else if (type === Msg.HOOKS) handleHooks(payload.readUInt32LE(0));
    }
  });
  sock.on('error', () => {});
  // The init closed the socket without an error: it exec'd the process.
  sock.on('close', () => {
    if (!sawError) resolveFinished();
  });
  child.on('error', (err) => fail(new BerthError('UNAVAILABLE', `cannot start ${cmd.file}: ${err.message}`)));
  // Stage 0 (or the wrapper) is gone: without a pid by then, it never got as far as the container.
  child.on('close', (code, signal) => {
    if (!gotPid) fail(new BerthError('INTERNAL', `${cmd.file} exited (${signal ?? `status ${code}`}) before starting the container`));
  });

  function handleHooks(point: number): void {
    const reply = opts.onHooks ? opts.onHooks(point) : Promise.resolve(Buffer.alloc(0));
    reply.then(
      (state) => sock.write(frame(Msg.ACK, state)),
      (err: Error) => sock.write(frame(Msg.ERROR, Buffer.from(err.message))),
    );
  }

  sock.write(frame(Msg.ACK, opts.plan));
  return {
    pid,
    ready,
    finished,
    exit,
    detach() {
      sock.removeAllListeners('data');
      sock.destroy();
      child.unref();
    },
    child,
  };
}

function frame(type: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32LE(type, 0);
  head.writeUInt32LE(payload.length, 4);
  return Buffer.concat([head, payload]);
}

function signalNumber(signal: NodeJS.Signals | null): number {
  return signal ? osConstants.signals[signal] ?? 0 : 0;
}
