// HostConfig.Ulimits ({Name: "nofile", Soft, Hard}) as the process's rlimits, merged with the
// daemon's default ulimits (a container's own entry wins by name), as Docker's WithRlimits does.
// Without either, the container inherits the runtime's limits, as with Docker.
import { invalid } from '../../../common/errors.js';
import type { Rlimit } from '../../../runtime/spec/types.js';
import type { Ulimit } from '../api-types.js';

// go-units' names, plus "as", which the API (not the CLI) lets through to the runtime.
const NAMES = new Set(['as', 'core', 'cpu', 'data', 'fsize', 'locks', 'memlock', 'msgqueue', 'nice', 'nofile', 'nproc', 'rss', 'rtprio', 'rttime', 'sigpending', 'stack']);

/** -1 (or any negative value) is RLIM_INFINITY, which the runtime writes as 2^64-1. */
const limit = (v: number): number => (v < 0 ? -1 : v);

export function rlimitsFrom(ulimits: readonly Ulimit[] | null | undefined, defaults: readonly Ulimit[] = []): Rlimit[] {
  const own = (ulimits ?? []).map((u, i) => checkUlimit(u, `HostConfig.Ulimits[${i}]`));
  const ownNames = new Set(own.map((u) => u.Name.toLowerCase()));
  const inherited = defaults.map((u, i) => checkUlimit(u, `default ulimit [${i}]`)).filter((u) => !ownNames.has(u.Name.toLowerCase()));
  const seen = new Set<string>();
  const out: Rlimit[] = [];
  for (const u of [...own, ...inherited]) {
    const type = `RLIMIT_${u.Name.toUpperCase()}`;
    if (seen.has(type)) continue; // the first entry for a name wins
    seen.add(type);
    out.push({ type, soft: limit(u.Soft), hard: limit(u.Hard) });
  }
  return out;
}

function checkUlimit(u: Ulimit, field: string): Ulimit {
  if (typeof u !== 'object' || u === null || typeof u.Name !== 'string') throw invalid(`${field}.Name: is required`);
  if (!NAMES.has(u.Name.toLowerCase())) throw invalid(`${field}: invalid ulimit type: ${u.Name}`);
  for (const k of ['Soft', 'Hard'] as const) {
    if (!Number.isSafeInteger(u[k])) throw invalid(`${field}.${k}: ${JSON.stringify(u[k])} is not an integer`);
  }
  const soft = u.Soft < 0 ? Infinity : u.Soft;
  const hard = u.Hard < 0 ? Infinity : u.Hard;
  if (soft > hard) throw invalid(`${field}: ulimit soft limit must be less than or equal to hard limit: ${u.Soft} > ${u.Hard}`);
  return u;
}
