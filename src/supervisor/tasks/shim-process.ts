// Starting a berth-shim: its command line, and the one report line it prints when the launcher
// it ran has finished ("ok SHIMPID PID" or "error TEXT").
import { type ChildProcess, spawn } from 'node:child_process';
import { BerthError } from '../../common/errors.js';
import { nativeBinaryPath } from '../../sys/native.js';
import { runtimeMessage } from './runtime-message.js';

export interface Command {
  file: string;
  args: string[];
}

/** Docker's json-file log (the default): rotated by the shim by size and count. */
export interface JsonFileLogOptions {
  path: string;
  format?: 'json-file';
  maxSize?: number;
  maxFiles?: number;
}

/**
 * The kubelet's CRI log ("TIME STREAM F|P TEXT" lines), as containerd's CRI writes it: never
 * rotated by the shim (the kubelet renames the file and calls ShimClient.reopenLog()).
 */
export interface CriLogOptions {
  path: string;
  format: 'cri';
  /** Longer lines are cut into partial (P) entries of this many bytes; 16 KiB by default. */
  maxLine?: number;
}

export type ShimLogOptions = JsonFileLogOptions | CriLogOptions;

export interface ShimOptions {
  id: string;
  /** The task's namespace: named on the command line so ps tells whose container a shim keeps. */
  namespace?: string;
  /** containerd's stdio FIFOs (ctr's): the shim pumps the process's stdio to and from them. */
  fifos?: { stdin?: string; stdout?: string; stderr?: string };
  /** The task directory: the shim's socket, exit file and console socket live here. */
  dir: string;
  pidFile: string;
  log?: ShimLogOptions;
  stdin?: boolean;
  stdinOnce?: boolean;
  terminal?: boolean;
  /** memory.oom_control (v1) or memory.events (v2) of the container's cgroup. */
  oomFile?: string;
  /** Keep the output for the first attacher, up to this long (an exec started before its attach). */
  holdOutputMs?: number;
  /** Fds the launcher must inherit at the same number (the init's sync socket). */
  passFds?: number[];
}

export interface ShimReport {
  shimPid: number;
  pid: number;
}

export function shimBinaryPath(): string {
  return nativeBinaryPath('berth-shim', 'BERTH_SHIM');
}

/** The shim's command line around `launcher`. */
export function shimCommand(opts: ShimOptions, launcher: Command): Command {
  const args = [...(opts.namespace ? ['--namespace', opts.namespace] : []), '--id', opts.id, '--dir', opts.dir, '--pid-file', opts.pidFile];
  if (opts.log) args.push(...logArgs(opts.log));
  if (opts.stdin) args.push('--stdin');
  if (opts.stdinOnce) args.push('--stdin-once');
  if (opts.terminal) args.push('--terminal');
  if (opts.oomFile) args.push('--oom-file', opts.oomFile);
  if (opts.fifos?.stdin) args.push('--stdin-fifo', opts.fifos.stdin);
  if (opts.fifos?.stdout) args.push('--stdout-fifo', opts.fifos.stdout);
  if (opts.fifos?.stderr) args.push('--stderr-fifo', opts.fifos.stderr);
  if (opts.holdOutputMs) args.push('--hold-output', String(opts.holdOutputMs));
  for (const fd of opts.passFds ?? []) args.push('--pass-fd', String(fd));
  return { file: shimBinaryPath(), args: [...args, '--', launcher.file, ...launcher.args] };
}

/** The largest CRI line the shim takes (--log-max-line): containerd's "no limit" has no equivalent. */
export const CRI_MAX_LINE_LIMIT = 16 * 1024 * 1024;

function logArgs(log: ShimLogOptions): string[] {
  const args = ['--log', log.path];
  if (log.format === 'cri') {
    args.push('--log-format', 'cri');
    if (log.maxLine !== undefined) {
      if (!Number.isInteger(log.maxLine) || log.maxLine < 1 || log.maxLine > CRI_MAX_LINE_LIMIT)
        throw new BerthError('INVALID_ARGUMENT', `the CRI log's maximum line size must be 1 to ${CRI_MAX_LINE_LIMIT} bytes, not ${log.maxLine}`);
      args.push('--log-max-line', String(log.maxLine));
    }
    return args;
  }
  if (log.maxSize !== undefined) args.push('--log-max-size', String(log.maxSize));
  if (log.maxFiles !== undefined) args.push('--log-max-files', String(log.maxFiles));
  return args;
}

/** Reads the report line from a shim spawned with stdout as a pipe. */
export function readShimReport(child: ChildProcess): Promise<ShimReport> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', (e) => reject(new BerthError('UNAVAILABLE', `cannot start berth-shim: ${e.message}`)));
    child.on('close', (code) => {
      const line = out.split('\n')[0] ?? '';
      const ok = /^ok (\d+) (\d+)$/.exec(line);
      if (code === 0 && ok) return resolve({ shimPid: Number(ok[1]), pid: Number(ok[2]) });
      if (line.startsWith('error ')) return reject(new BerthError('FAILED_PRECONDITION', runtimeMessage(line.slice(6))));
      reject(new BerthError('INTERNAL', `berth-shim exited with status ${code}${err ? `: ${err.trim()}` : ''}`));
    });
  });
}

/** Spawns a shim around a launcher and waits for its report. */
export function startShim(opts: ShimOptions, launcher: Command): Promise<ShimReport> {
  const cmd = shimCommand(opts, launcher);
  return readShimReport(spawn(cmd.file, cmd.args, { stdio: ['ignore', 'pipe', 'pipe'] }));
}
