// Docker's human units (github.com/docker/go-units): decimal sizes (1.23MB), binary sizes
// (744KiB), durations ("About a minute"), and the parsers for -m 64m, --shm-size and Go durations.
import { invalid } from '../../common/errors.js';

const DECIMAL = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB', 'ZB', 'YB'];
const BINARY = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB', 'ZiB', 'YiB'];

/** Go's %.<p>g: p significant digits, trailing zeros dropped. */
function gFormat(v: number, precision: number): string {
  if (v === 0) return '0';
  const s = v.toPrecision(precision);
  if (s.includes('e')) {
    const [m, e] = s.split('e') as [string, string];
    const mant = m.includes('.') ? m.replace(/\.?0+$/, '') : m;
    const exp = Number(e);
    return `${mant}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  }
  return s.includes('.') ? s.replace(/\.?0+$/, '') : s;
}

function customSize(size: number, base: number, units: string[], precision: number): string {
  let i = 0;
  while (size >= base && i < units.length - 1) {
    size /= base;
    i++;
  }
  return `${gFormat(size, precision)}${units[i]}`;
}

/** units.HumanSizeWithPrecision: "1.98MB". */
export const humanSize = (bytes: number, precision = 4): string => customSize(bytes, 1000, DECIMAL, precision);
/** units.BytesSize: "744KiB". */
export const bytesSize = (bytes: number): string => customSize(bytes, 1024, BINARY, 4);

/** units.HumanDuration. */
export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / 1000);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.trunc(seconds / 60);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.round(ms / 3_600_000);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.trunc(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.trunc(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.trunc(hours / 24 / 30)} months`;
  return `${Math.trunc(ms / 3_600_000 / 24 / 365)} years`;
}

/** "2 minutes ago" for a unix time in seconds. */
export const timeAgo = (unixSeconds: number, now = Date.now()): string => `${humanDuration(now - unixSeconds * 1000)} ago`;

const BINARY_MULT: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };
const DECIMAL_MULT: Record<string, number> = { '': 1, k: 1e3, m: 1e6, g: 1e9, t: 1e12, p: 1e15 };

function parseSize(s: string, mult: Record<string, number>): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kKmMgGtTpP]?)(?:i?[bB])?$/.exec(s.trim());
  if (!m) throw invalid(`invalid size: '${s}'`);
  return Math.trunc(Number(m[1]) * mult[m[2]!.toLowerCase()]!);
}

/** units.RAMInBytes: "64m" = 64 MiB (what -m, --shm-size, --memory-swap take). */
export const ramInBytes = (s: string): number => parseSize(s, BINARY_MULT);
/** units.FromHumanSize: "1.5GB" = 1.5e9. */
export const fromHumanSize = (s: string): number => parseSize(s, DECIMAL_MULT);

const DURATION_UNITS: Record<string, number> = { ns: 1, us: 1e3, 'µs': 1e3, 'μs': 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** time.ParseDuration, in nanoseconds: "1h2m", "300ms", "1.5s", "0". */
export function parseGoDuration(s: string): number {
  let rest = s.trim();
  let sign = 1;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    sign = rest.startsWith('-') ? -1 : 1;
    rest = rest.slice(1);
  }
  if (rest === '0') return 0;
  if (!rest) throw invalid(`time: invalid duration "${s}"`);
  let total = 0;
  const re = /^(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/;
  while (rest) {
    const m = re.exec(rest);
    if (!m) throw invalid(/^\d+(\.\d*)?$/.test(rest) ? `time: missing unit in duration "${s}"` : `time: invalid duration "${s}"`);
    total += Number(m[1]) * DURATION_UNITS[m[2]!]!;
    rest = rest.slice(m[0].length);
  }
  return sign * Math.round(total);
}

/** Go's Duration.String: "1h2m3s", "500ms", "0s". */
export function formatGoDuration(ns: number): string {
  if (ns === 0) return '0s';
  const neg = ns < 0;
  let n = Math.abs(ns);
  let out: string;
  if (n < 1e9) {
    out = n < 1e3 ? `${n}ns` : n < 1e6 ? `${n / 1e3}µs` : `${n / 1e6}ms`;
  } else {
    const h = Math.floor(n / 3600e9);
    n -= h * 3600e9;
    const m = Math.floor(n / 60e9);
    n -= m * 60e9;
    const sec = n / 1e9;
    out = `${h ? `${h}h` : ''}${h || m ? `${m}m` : ''}${Number(sec.toFixed(9))}s`;
  }
  return neg ? `-${out}` : out;
}
