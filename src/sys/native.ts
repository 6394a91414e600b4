// Where berth's native programs are: an environment override, else native/build of this checkout.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { BerthError } from '../common/errors.js';

/** The path of native/build/<name> (dist/src/sys/ is three levels below the checkout), or $<envVar>. */
export function nativeBinaryPath(name: string, envVar: string): string {
  const fromEnv = process.env[envVar];
  if (fromEnv) return fromEnv;
  const path = fileURLToPath(new URL(`../../../native/build/${name}`, import.meta.url));
  if (!existsSync(path)) throw new BerthError('UNAVAILABLE', `${name} not found at ${path}: run npm ci (it builds native/)`);
  return path;
}
