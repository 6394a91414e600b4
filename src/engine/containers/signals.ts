// Signals as the Engine API names them ("SIGTERM", "TERM", "15"), as numbers for the shim.
import { constants as osConstants } from 'node:os';
import { invalid } from '../../common/errors.js';

/** Signal names ("SIGTERM", "TERM", "15") to numbers. */
export function signalNumber(sig: string | number | undefined, fallback = 15): number {
  if (sig === undefined || sig === '') return fallback;
  if (typeof sig === 'number' || /^\d+$/.test(sig)) {
    const n = Number(sig);
    if (n < 1 || n > 64) throw invalid(`Invalid signal: ${sig}`);
    return n;
  }
  const name = sig.toUpperCase().startsWith('SIG') ? sig.toUpperCase() : `SIG${sig.toUpperCase()}`;
  const n = (osConstants.signals as Record<string, number>)[name];
  if (!n) throw invalid(`Invalid signal: ${sig}`);
  return n;
}
