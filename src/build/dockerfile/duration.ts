// Go's time.ParseDuration, which Docker uses for HEALTHCHECK --interval and friends:
// "300ms", "1.5h", "2h45m", "-1.5h"; units ns, us (µs, μs), ms, s, m, h; a bare "0" is allowed.
// Returns nanoseconds; throws Error with Go's message on bad input.

const UNITS: Record<string, bigint> = {
  ns: 1n,
  us: 1000n,
  'µs': 1000n, // U+00B5 micro sign
  'μs': 1000n, // U+03BC Greek mu
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};
const MAX = (1n << 63n) - 1n;

export function parseGoDuration(text: string): number {
  const invalid = () => new Error(`time: invalid duration ${JSON.stringify(text)}`);
  let s = text;
  let negative = false;
  if (s.startsWith('-') || s.startsWith('+')) {
    negative = s[0] === '-';
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') throw invalid();
  let total = 0n;
  while (s !== '') {
    const m = /^(\d*)(?:\.(\d*))?/.exec(s) as RegExpExecArray;
    const whole = m[1] as string;
    const frac = m[2];
    if (whole === '' && (frac === undefined || frac === '')) throw invalid();
    s = s.slice(m[0].length);
    const unitMatch = /^[^\d.]*/.exec(s) as RegExpExecArray;
    const unitName = unitMatch[0];
    if (unitName === '') throw new Error(`time: missing unit in duration ${JSON.stringify(text)}`);
    s = s.slice(unitName.length);
    const unit = UNITS[unitName];
    if (unit === undefined) throw new Error(`time: unknown unit ${JSON.stringify(unitName)} in duration ${JSON.stringify(text)}`);
    let v = BigInt(whole === '' ? '0' : whole) * unit;
    if (frac) {
      // Go scales the fraction in floating point; so do we.
      v += BigInt(Math.trunc(Number(`0.${frac}`) * Number(unit)));
    }
    total += v;
    if (total > MAX) throw invalid();
  }
  return Number(negative ? -total : total);
}
