// Running one CNI plugin: find its executable in the bin dirs, run it with the CNI_* environment
// and its configuration on stdin, give up after a deadline, and turn what it printed into a result
// or into an error naming the plugin (the spec's error object {code, msg, details} on stdout, or
// its stderr when it printed none).
import { spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { BerthError, errnoOf } from '../../common/errors.js';

export type CniCommand = 'ADD' | 'DEL' | 'CHECK' | 'VERSION';

/** A plugin that failed: the spec's error code and details kept for callers that look at them. */
export class CniPluginError extends BerthError {
  /** The plugin's error code (spec: 1-99 well-known, 100+ plugin specific); undefined when it printed no error object. */
  readonly cniCode: number | undefined;
  readonly details: string | undefined;
  readonly plugin: string;
  readonly command: CniCommand;

  constructor(plugin: string, command: CniCommand, message: string, cniCode?: number, details?: string) {
    super('INTERNAL', message);
    this.plugin = plugin;
    this.command = command;
    this.cniCode = cniCode;
    this.details = details;
  }
}

/** The first `dir/type` that is an executable file, or a clear error listing where it looked. */
export async function findPlugin(type: string, binDirs: readonly string[]): Promise<string> {
  for (const dir of binDirs) {
    const path = join(dir, type);
    try {
      await access(path, constants.X_OK);
      return path;
    } catch {
      // not in this dir: try the next
    }
  }
  throw new BerthError('FAILED_PRECONDITION', `CNI plugin "${type}" not found in ${binDirs.join(', ') || '(no bin dirs)'}: install it there or fix the network config's "type"`);
}

export interface PluginCall {
  /** The plugin's name (its `type`), for messages. */
  plugin: string;
  /** Where it runs, for messages, e.g. 'plugin 2 of 3 of network "pods"'. */
  context?: string;
  path: string;
  command: CniCommand;
  /** CNI_* variables (CNI_COMMAND included); the rest of the environment is this process's, without its own CNI_*. */
  env: Record<string, string>;
  stdin: string;
  timeoutMs: number;
}

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  tooMuchOutput: boolean;
}

const MAX_OUTPUT = 16 << 20;

function execOnce(call: PluginCall): Promise<Exit> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('CNI_')) env[k] = v;
  Object.assign(env, call.env);
  return new Promise((resolve, reject) => {
    // A process group of its own, so a timeout also stops what the plugin started (iptables, ...).
    const child = spawn(call.path, [], { env, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let size = 0;
    let timedOut = false;
    let tooMuchOutput = false;
    const kill = (): void => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      kill();
    }, call.timeoutMs);
    const collect = (into: Buffer[]) => (d: Buffer): void => {
      size += d.length;
      if (size > MAX_OUTPUT) {
        tooMuchOutput = true;
        kill();
      } else into.push(d);
    };
    child.stdout.on('data', collect(out));
    child.stderr.on('data', collect(err));
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), timedOut, tooMuchOutput });
    });
    child.stdin.on('error', () => {}); // a plugin that exits without reading: its exit status tells
    child.stdin.end(call.stdin);
  });
}

/** The error object a failing plugin prints on stdout, if it printed one. */
function errorObject(stdout: string): { code?: number; msg?: string; details?: string } | undefined {
  try {
    const v = JSON.parse(stdout) as unknown;
    if (typeof v === 'object' && v !== null && ('msg' in v || 'code' in v)) return v as { code?: number; msg?: string; details?: string };
  } catch {
    // not JSON: stderr will tell
  }
  return undefined;
}

/**
 * Runs the plugin and returns its stdout parsed as JSON (undefined when it printed nothing, as
 * DEL and CHECK do). Throws a CniPluginError when it fails, times out or prints something else.
 */
export async function execPlugin(call: PluginCall): Promise<unknown> {
  let exit: Exit | undefined;
  // "text file busy": the binary is being replaced right now; libcni retries too.
  for (let attempt = 0; ; attempt++) {
    try {
      exit = await execOnce(call);
      break;
    } catch (e) {
      if (errnoOf(e) === 'ETXTBSY' && attempt < 5) {
        await new Promise((r) => setTimeout(r, 200));
        continue;
      }
      throw new CniPluginError(call.plugin, call.command, `CNI plugin ${call.plugin} (${call.command}${call.context ? `, ${call.context}` : ''}): cannot run ${call.path}: ${(e as Error).message}`);
    }
  }
  const who = `CNI plugin ${call.plugin} (${call.command}${call.context ? `, ${call.context}` : ''})`;
  if (exit.timedOut) throw new CniPluginError(call.plugin, call.command, `${who} timed out after ${call.timeoutMs} ms and was killed`);
  if (exit.tooMuchOutput) throw new CniPluginError(call.plugin, call.command, `${who} printed more than ${MAX_OUTPUT >> 20} MiB and was killed`);
  if (exit.code !== 0) {
    const obj = errorObject(exit.stdout);
    if (obj) {
      const msg = obj.msg || `error code ${obj.code}`;
      const details = typeof obj.details === 'string' && obj.details ? obj.details : undefined;
      throw new CniPluginError(call.plugin, call.command, `${who} failed: ${msg}${details ? `; ${details}` : ''}${typeof obj.code === 'number' ? ` (code ${obj.code})` : ''}`, typeof obj.code === 'number' ? obj.code : undefined, details);
    }
    const text = (exit.stderr || exit.stdout).trim() || (exit.signal ? `killed by ${exit.signal}` : `exit status ${exit.code}`);
    throw new CniPluginError(call.plugin, call.command, `${who} failed: ${text}`);
  }
  if (!exit.stdout.trim()) return undefined;
  try {
    return JSON.parse(exit.stdout) as unknown;
  } catch {
    throw new CniPluginError(call.plugin, call.command, `${who} printed something other than JSON: ${exit.stdout.trim().slice(0, 200)}`);
  }
}
