// Starting berthd on demand: when nothing answers on the default socket, the CLI starts
// bin/berthd.mjs (beside bin/berth.mjs) in the background, says so on stderr, and waits up to
// ~10 s for /_ping. Never for an explicit -H/BERTH_HOST/DOCKER_HOST; --no-start-daemon or
// BERTH_NO_START_DAEMON=1 opt out.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, closeSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Writable } from 'node:stream';
import { BerthError } from '../common/errors.js';
import type { EngineClient } from '../client/engine.js';
import { DaemonUnreachableError } from '../client/errors.js';

export const BERTHD_BIN = fileURLToPath(new URL('../../../bin/berthd.mjs', import.meta.url));
const START_TIMEOUT_MS = 10_000;

async function answers(client: EngineClient): Promise<boolean> {
  try {
    await client.ping(AbortSignal.timeout(2000));
    return true;
  } catch (err) {
    if (err instanceof DaemonUnreachableError) return false;
    throw err;
  }
}

/** Makes sure a daemon answers on the client's host, starting berthd if that is allowed. */
export async function ensureDaemon(client: EngineClient, opts: { autoStart: boolean; stderr: Writable; bin?: string }): Promise<void> {
  if (!client.host.isDefault || !opts.autoStart || client.host.kind !== 'unix') return;
  if (await answers(client)) return;
  const bin = opts.bin ?? BERTHD_BIN;
  const url = client.host.url;
  if (!existsSync(bin)) {
    throw new BerthError('UNAVAILABLE', `Cannot connect to the berth daemon at ${url}, and berthd cannot be started: ${bin} is missing. Build berth (npm run build), start a daemon yourself, or point -H/BERTH_HOST at one.`);
  }
  const dir = dirname(client.host.path);
  const logPath = join(dir, 'berthd.log');
  try {
    mkdirSync(dir, { recursive: true });
  } catch (err) {
    throw new BerthError('UNAVAILABLE', `Cannot connect to the berth daemon at ${url}, and berthd cannot be started: cannot create ${dir} (${(err as Error).message}); run as root`);
  }
  opts.stderr.write(`berth: starting berthd (logs: ${logPath})\n`);
  const log = openSync(logPath, 'a');
  const child = spawn(process.execPath, [bin], { detached: true, stdio: ['ignore', log, log] });
  closeSync(log);
  let exited: string | undefined;
  child.once('exit', (code, signal) => (exited = signal ? `killed by ${signal}` : `exit status ${code}`));
  child.once('error', (err) => (exited = err.message));
  child.unref();
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (exited) break;
    if (await answers(client)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  let tail = '';
  try {
    tail = readFileSync(logPath, 'utf8').trimEnd().split('\n').slice(-5).join('\n');
  } catch {
    // no log yet
  }
  throw new BerthError('UNAVAILABLE', `berthd did not answer on ${url} ${exited ? `(it stopped: ${exited})` : `within ${START_TIMEOUT_MS / 1000} s`}; see ${logPath}${tail ? `:\n${tail}` : ''}`);
}
