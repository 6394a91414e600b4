// Reading a container's mount requests the way Docker's Linux mount parser does (moby's
// volume/mounts/linux_parser.go): `-v` strings (HostConfig.Binds), `--mount` objects
// (HostConfig.Mounts), `--volumes-from` entries, with Docker's error messages. Pure: nothing is
// created here (except that --mount checks a bind source exists, as Docker does at create).
import { existsSync } from 'node:fs';
import { posix } from 'node:path';
import { invalid } from '../common/errors.js';
import type { MountPoint, MountSpecInput } from './types.js';

const RW_MODES = new Set(['rw', 'ro']);
const LABEL_MODES = new Set(['z', 'Z']);
const PROPAGATION_MODES = new Set(['private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave']);
const COPY_MODES = new Set(['nocopy']);
const CONSISTENCY_MODES = new Set(['consistent', 'cached', 'delegated']);

/** Docker's default propagation of a bind mount on Linux. */
export const DEFAULT_PROPAGATION = 'rprivate';

/** A parsed mount before its volume exists: `volume` says what to create or look up. */
export interface ParsedMount {
  point: MountPoint;
  /** Type volume: the name ('' for an anonymous volume) and what to create it with. */
  volume?: { name: string; driver?: string; driverOpts?: Record<string, string> | null; labels?: Record<string, string> | null };
  /** The user gave the bind's propagation (so the daemon-root rule must not replace it). */
  explicitPropagation: boolean;
}

export const cleanPath = (p: string): string => {
  const c = posix.normalize(p);
  return c.length > 1 ? c.replace(/\/$/, '') : c;
};

/** linuxValidMountMode: comma-separated modes, at most one of each kind. */
export function validMountMode(mode: string): boolean {
  if (mode === '') return true;
  const counts = [0, 0, 0, 0, 0];
  for (const o of mode.split(',')) {
    const kind = [RW_MODES, LABEL_MODES, PROPAGATION_MODES, COPY_MODES, CONSISTENCY_MODES].findIndex((s) => s.has(o));
    if (kind < 0) return false;
    if (++counts[kind]! > 1) return false;
  }
  return true;
}

const modeParts = (mode: string): string[] => (mode ? mode.split(',') : []);
const readWrite = (mode: string): boolean => !modeParts(mode).includes('ro');
const propagationOf = (mode: string): string | undefined => modeParts(mode).find((o) => PROPAGATION_MODES.has(o));

/** Splits like Go's strings.SplitN: at most `n` parts, the last one keeping the rest. */
function splitN(s: string, sep: string, n: number): string[] {
  const parts = s.split(sep);
  return parts.length <= n ? parts : [...parts.slice(0, n - 1), parts.slice(n - 1).join(sep)];
}

/** Docker's "invalid mount config for type …" checks; `checkSource`: a bind source must exist (--mount). */
export function validateMountSpec(m: MountSpecInput, checkSource: boolean): void {
  const type = m.Type ?? '';
  const fail = (message: string) => invalid(`invalid mount config for type ${JSON.stringify(type)}: ${message}`);
  if (!m.Target) throw fail('field Target must not be empty');
  if (typeof m.Target !== 'string') throw fail('field Target must be a string');
  if (cleanPath(m.Target) === '/') throw fail("invalid specification: destination can't be '/'");
  if (!m.Target.startsWith('/')) throw fail(`invalid mount path: '${m.Target}' mount path must be absolute`);
  if (m.Source !== undefined && m.Source !== null && typeof m.Source !== 'string') throw fail('field Source must be a string');
  switch (type) {
    case 'bind': {
      if (!m.Source) throw fail('field Source must not be empty');
      const prop = m.BindOptions?.Propagation;
      if (prop && !PROPAGATION_MODES.has(prop)) throw fail(`invalid propagation mode: ${prop}`);
      if (m.VolumeOptions) throw fail('field VolumeOptions must not be specified');
      if (m.TmpfsOptions) throw fail('field TmpfsOptions must not be specified');
      if (!m.Source.startsWith('/')) throw fail(`invalid mount path: '${m.Source}' mount path must be absolute`);
      if (checkSource && !m.BindOptions?.CreateMountpoint && !existsSync(m.Source)) throw fail(`bind source path does not exist: ${m.Source}`);
      return;
    }
    case 'volume':
      if (m.BindOptions) throw fail('field BindOptions must not be specified');
      if (m.TmpfsOptions) throw fail('field TmpfsOptions must not be specified');
      if (m.VolumeOptions?.Subpath) throw fail('field VolumeOptions.Subpath is not supported by berth yet');
      if (m.ReadOnly && !m.Source) throw fail('must not set ReadOnly mode when using anonymous volumes');
      return;
    case 'tmpfs':
      if (m.BindOptions) throw fail('field BindOptions must not be specified');
      if (m.VolumeOptions) throw fail('field VolumeOptions must not be specified');
      if (m.Source) throw fail('field Source must not be specified');
      try {
        tmpfsData(m);
      } catch (err) {
        throw fail((err as Error).message);
      }
      return;
    default:
      throw fail('mount type unknown');
  }
}

/** A validated spec as a mount point; `mode` is the -v suffix ('' for --mount). */
function mountPointOf(m: MountSpecInput, mode: string, volumeDriver?: string): ParsedMount {
  const base = { Name: '', Source: '', Destination: cleanPath(m.Target!), Driver: '', Mode: mode, RW: !m.ReadOnly, Propagation: '', CopyData: false, Anonymous: false };
  if (m.Type === 'volume') {
    const name = m.Source ?? '';
    const vo = m.VolumeOptions ?? undefined;
    const driver = vo?.DriverConfig?.Name || volumeDriver || undefined;
    return {
      point: { ...base, Type: 'volume', Name: name, Mode: mode || 'z', CopyData: !vo?.NoCopy, Anonymous: !name },
      volume: { name, driver, driverOpts: vo?.DriverConfig?.Options ?? null, labels: vo?.Labels ?? null },
      explicitPropagation: false,
    };
  }
  if (m.Type === 'bind') {
    const prop = m.BindOptions?.Propagation;
    return {
      point: { ...base, Type: 'bind', Source: cleanPath(m.Source!), Propagation: prop || DEFAULT_PROPAGATION, NonRecursive: m.BindOptions?.NonRecursive === true || undefined, CreateSource: m.BindOptions?.CreateMountpoint === true || undefined },
      explicitPropagation: !!prop,
    };
  }
  return { point: { ...base, Type: 'tmpfs', TmpfsOptions: tmpfsOptions(m) }, explicitPropagation: false };
}

/**
 * One HostConfig.Binds entry: "name:/dst[:mode]", "/host:/dst[:mode]" or "/dst" (an anonymous
 * volume). Modes: ro|rw, z|Z, nocopy, a propagation, a consistency; one of each kind.
 */
export function parseBind(raw: string, volumeDriver?: string): ParsedMount {
  if (typeof raw !== 'string') throw invalid(`invalid volume specification: '${String(raw)}'`);
  const specError = (detail?: string) => invalid(`invalid volume specification: '${raw}'${detail ? `: ${detail}` : ''}`);
  const arr = splitN(raw, ':', 4);
  if (arr[0] === '') throw specError();
  let source = '';
  let target: string;
  let mode = '';
  switch (arr.length) {
    case 1:
      target = arr[0]!;
      break;
    case 2:
      if (validMountMode(arr[1]!)) throw specError(); // "/foo:rw": a destination with a mode is no volume
      source = arr[0]!;
      target = arr[1]!;
      break;
    case 3:
      [source, target, mode] = arr as [string, string, string];
      break;
    default:
      throw specError();
  }
  if (!validMountMode(mode)) throw invalid(`invalid mode: ${mode}`);
  const spec: MountSpecInput = { Type: source.startsWith('/') ? 'bind' : 'volume', Source: source, Target: target, ReadOnly: !readWrite(mode) };
  if (modeParts(mode).some((o) => COPY_MODES.has(o))) spec.VolumeOptions = { NoCopy: true };
  const prop = propagationOf(mode);
  if (prop) spec.BindOptions = { Propagation: prop };
  try {
    validateMountSpec(spec, false);
  } catch (err) {
    throw specError((err as Error).message);
  }
  // -v creates a missing bind source at start, as Docker does.
  const parsed = mountPointOf(spec, mode, volumeDriver);
  if (parsed.point.Type === 'bind') parsed.point.CreateSource = true;
  return parsed;
}

/** One HostConfig.Mounts entry; a bind source must exist unless BindOptions.CreateMountpoint. */
export function parseMountSpec(m: MountSpecInput, volumeDriver?: string): ParsedMount {
  if (m === null || typeof m !== 'object') throw invalid('invalid mount config: each HostConfig.Mounts entry must be an object');
  validateMountSpec(m, true);
  return mountPointOf(m, '', m.Type === 'volume' ? volumeDriver : undefined);
}

/** One --volumes-from entry: "container[:ro|rw]" (no propagation, no copy mode). */
export function parseVolumesFrom(spec: string): { ref: string; rw: boolean } {
  if (!spec) throw invalid('volumes-from specification cannot be an empty string');
  const [ref, mode] = splitN(spec, ':', 2) as [string, string | undefined];
  if (mode !== undefined) {
    if (!validMountMode(mode) || propagationOf(mode) || modeParts(mode).some((o) => COPY_MODES.has(o))) throw invalid(`invalid mode: ${mode}`);
  }
  return { ref, rw: readWrite(mode ?? 'rw') };
}

// --- tmpfs (--mount type=tmpfs): Docker's ConvertTmpfsOptions, then its default options merged in

// Each flag option and the mount flag it sets or clears: a later option of one flag wins.
const TMPFS_FLAG_KEYS: Record<string, string> = {
  ro: 'rdonly', rw: 'rdonly', suid: 'nosuid', nosuid: 'nosuid', dev: 'nodev', nodev: 'nodev', exec: 'noexec', noexec: 'noexec',
  sync: 'sync', async: 'sync', dirsync: 'dirsync', mand: 'mand', nomand: 'mand', atime: 'noatime', noatime: 'noatime',
  diratime: 'nodiratime', nodiratime: 'nodiratime', relatime: 'relatime', norelatime: 'relatime', strictatime: 'strictatime',
  nostrictatime: 'strictatime', private: 'propagation', rprivate: 'propagation', shared: 'propagation', rshared: 'propagation',
  slave: 'propagation', rslave: 'propagation', unbindable: 'propagation', runbindable: 'propagation',
};
const TMPFS_DATA_KEYS = new Set(['size', 'mode', 'uid', 'gid', 'nr_inodes', 'nr_blocks', 'mpol']);

/** Keeps the last option of each kind (moby/sys MergeTmpfsOptions). */
export function mergeTmpfsOptions(options: readonly string[]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (let i = options.length - 1; i >= 0; i--) {
    const o = options[i]!;
    if (o === 'defaults') continue;
    const key = TMPFS_FLAG_KEYS[o] ?? (o.includes('=') && TMPFS_DATA_KEYS.has(o.slice(0, o.indexOf('='))) ? `data:${o.slice(0, o.indexOf('='))}` : undefined);
    if (key === undefined) throw invalid(`invalid tmpfs option "${o}"`);
    if (!seen.has(key)) out.unshift(o);
    seen.add(key);
  }
  return out;
}

/** ro, mode in octal, size with the largest exact g/m/k suffix. */
function tmpfsData(m: MountSpecInput): string[] {
  const raw: string[] = [];
  if (m.ReadOnly) raw.push('ro');
  const o = m.TmpfsOptions ?? {};
  if (o.Mode !== undefined && o.Mode !== 0) {
    if (!Number.isInteger(o.Mode) || o.Mode < 0 || o.Mode > 0o7777) throw new Error(`TmpfsOptions.Mode: invalid file mode ${o.Mode}`);
    raw.push(`mode=${o.Mode.toString(8)}`);
  }
  if (o.SizeBytes !== undefined && o.SizeBytes !== 0) {
    if (!Number.isSafeInteger(o.SizeBytes) || o.SizeBytes < 0) throw new Error(`TmpfsOptions.SizeBytes: invalid size ${o.SizeBytes}`);
    const unit = ([['g', 2 ** 30], ['m', 2 ** 20], ['k', 2 ** 10]] as const).find(([, d]) => o.SizeBytes! % d === 0);
    raw.push(unit ? `size=${o.SizeBytes / unit[1]}${unit[0]}` : `size=${o.SizeBytes}`);
  }
  return raw;
}

/** The OCI options of a --mount type=tmpfs: noexec, nosuid, nodev, rprivate, then the user's. */
export function tmpfsOptions(m: MountSpecInput): string[] {
  return mergeTmpfsOptions(['noexec', 'nosuid', 'nodev', DEFAULT_PROPAGATION, ...tmpfsData(m)]);
}
