// A resource update is planned as an ordered list of file writes (plan-v1.ts, plan-v2.ts), then
// checked and carried out here: every file is looked up before the first write, so a host that
// lacks one fails with an error naming the spec field and nothing half-applied.
import { posix } from 'node:path';
import { BerthError, errnoOf, invalid, precondition } from '../../common/errors.js';
import type { CgroupFs } from './host.js';

export interface WriteChoice {
  file: string;
  value: string;
}

export interface WriteOp {
  /** The spec field this write comes from, e.g. "linux.resources.memory.swap". */
  field: string;
  /** The controller owning the file (v1 hierarchy or v2 controller); "" for core cgroup.* files. */
  controller: string;
  /** Candidate files, first existing one wins (blkio.weight, else blkio.bfq.weight). */
  choices: WriteChoice[];
  /** Skip silently when none of the files exists instead of failing. */
  optional?: boolean;
  /** Why the file may be missing on a host, appended to the error. */
  missing?: string;
  /** Appended to the error when the kernel refuses the value. */
  hint?: string;
  /** On EINVAL, try again once after the next write (cfs period vs quota ordering). */
  retryAfterNext?: boolean;
  /** Read the file back: the kernel clamps some values (cpu.shares) without an error. */
  readBack?: boolean;
}

interface ResolvedOp {
  op: WriteOp;
  path: string;
  value: string;
}

const resolvedFile = (r: ResolvedOp): string => posix.basename(r.path);

/** Fails with the field's name when an op needs a controller the host does not have. */
export function requireControllers(ops: WriteOp[], available: (controller: string) => boolean, what: string): void {
  for (const op of ops) {
    if (op.controller !== '' && !available(op.controller)) {
      throw invalid(`${op.field}: the host has no ${op.controller} cgroup controller ${what}`);
    }
  }
}

/** Picks each op's file in its directory; fails, naming the field, when a needed file is absent. */
export async function resolveOps(fs: CgroupFs, ops: WriteOp[], dirOf: (controller: string) => string): Promise<ResolvedOp[]> {
  const out: ResolvedOp[] = [];
  for (const op of ops) {
    const dir = dirOf(op.controller);
    let chosen: WriteChoice | undefined;
    for (const c of op.choices) {
      if (await fs.exists(posix.join(dir, c.file))) {
        chosen = c;
        break;
      }
    }
    if (chosen) out.push({ op, path: posix.join(dir, chosen.file), value: chosen.value });
    else if (!op.optional) {
      const names = op.choices.map((c) => c.file).join(' or ');
      throw invalid(`${op.field}: this host's cgroup ${dir} has no ${names}${op.missing ? ` (${op.missing})` : ''}`);
    }
  }
  return out;
}

export async function applyResolved(fs: CgroupFs, ops: ResolvedOp[]): Promise<void> {
  let deferred: ResolvedOp | undefined;
  for (const r of ops) {
    try {
      await writeOne(fs, r);
    } catch (err) {
      if (r.op.retryAfterNext && errnoOf(err) === 'EINVAL' && !deferred) {
        deferred = r;
        continue;
      }
      throw writeError(r, err);
    }
    if (deferred && deferred !== r) {
      const d = deferred;
      deferred = undefined;
      await writeOne(fs, d).catch((err: unknown) => {
        throw writeError(d, err);
      });
    }
  }
  if (deferred) throw writeError(deferred, Object.assign(new Error('EINVAL'), { code: 'EINVAL' }));
}

async function writeOne(fs: CgroupFs, r: ResolvedOp): Promise<void> {
  await fs.write(r.path, r.value);
  if (r.op.readBack) {
    const got = (await fs.read(r.path)).trim();
    if (got !== r.value) {
      throw invalid(`${r.op.field}: the kernel changed ${r.value} to ${got} in ${resolvedFile(r)}${r.op.hint ? `: ${r.op.hint}` : ''}`);
    }
  }
}

function writeError(r: ResolvedOp, err: unknown): BerthError {
  if (err instanceof BerthError) return err;
  const code = errnoOf(err) ?? (err as Error).message;
  const what = `${r.op.field}: writing ${JSON.stringify(r.value)} to ${r.path} failed (${code})`;
  switch (code) {
    case 'EINVAL':
    case 'ERANGE':
    case 'EBUSY':
    case 'ENOSPC':
    case 'EOVERFLOW':
    case 'EDOM':
      return invalid(`${what}: the kernel rejected the value${r.op.hint ? `; ${r.op.hint}` : ''}`);
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return precondition(`${what}: run as root, or delegate the cgroup to this user`);
    default:
      return new BerthError('INTERNAL', what, { cause: err });
  }
}
