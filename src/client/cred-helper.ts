// Docker's credential helper protocol: `docker-credential-<name> get|store|erase` on PATH, the
// server URL (or, for store, a JSON object) on stdin, a JSON answer on stdout.
import { spawn } from 'node:child_process';
import { BerthError, errnoOf } from '../common/errors.js';
import type { Credentials } from './docker-config.js';

/** What a helper prints for a server it has nothing for. */
const NOT_FOUND = /credentials not found/i;

function run(helper: string, action: 'get' | 'store' | 'erase', input: string, source: string): Promise<{ code: number; out: string }> {
  const bin = `docker-credential-${helper}`;
  return new Promise((resolve, reject) => {
    const child = spawn(bin, [action], { stdio: ['pipe', 'pipe', 'pipe'] });
    // Our own deadline: spawn's `timeout` leaves its timer running when the binary is missing.
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    let out = '';
    let errText = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (errText += d.toString()));
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(errnoOf(err) === 'ENOENT'
        ? new BerthError('FAILED_PRECONDITION', `credential helper ${bin} (named in ${source}) is not installed: install it, or remove it from that file and log in again`)
        : new BerthError('UNAVAILABLE', `credential helper ${bin}: ${err.message}`));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, out: out.trim() || errText.trim() || (signal ? `killed by ${signal}` : '') });
    });
    child.stdin.on('error', () => {}); // a helper that exits without reading its input
    child.stdin.end(input);
  });
}

/** The helper's credentials for `serverUrl`, or undefined when it has none. */
export async function helperGet(helper: string, serverUrl: string, source: string): Promise<Credentials | undefined> {
  const { code, out } = await run(helper, 'get', serverUrl, source);
  if (code !== 0) {
    if (NOT_FOUND.test(out)) return undefined;
    throw new BerthError('UNAVAILABLE', `credential helper docker-credential-${helper} failed for ${serverUrl}: ${out}`);
  }
  let answer: { Username?: string; Secret?: string };
  try {
    answer = JSON.parse(out) as typeof answer;
  } catch {
    throw new BerthError('UNAVAILABLE', `credential helper docker-credential-${helper} printed something that is not JSON for ${serverUrl}`);
  }
  if (!answer.Secret) return undefined;
  // Docker's convention: the user name "<token>" marks the secret as an identity token.
  if (answer.Username === '<token>') return { username: '', password: '', identityToken: answer.Secret };
  return { username: answer.Username ?? '', password: answer.Secret };
}

export async function helperStore(helper: string, serverUrl: string, creds: Credentials, source: string): Promise<void> {
  const secret = creds.identityToken ? { Username: '<token>', Secret: creds.identityToken } : { Username: creds.username, Secret: creds.password };
  const { code, out } = await run(helper, 'store', JSON.stringify({ ServerURL: serverUrl, ...secret }), source);
  if (code !== 0) throw new BerthError('UNAVAILABLE', `credential helper docker-credential-${helper} could not store credentials for ${serverUrl}: ${out}`);
}

export async function helperErase(helper: string, serverUrl: string, source: string): Promise<void> {
  const { code, out } = await run(helper, 'erase', serverUrl, source);
  if (code !== 0 && !NOT_FOUND.test(out)) throw new BerthError('UNAVAILABLE', `credential helper docker-credential-${helper} could not erase credentials for ${serverUrl}: ${out}`);
}
