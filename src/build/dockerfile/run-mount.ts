// `RUN --mount=` values, read as BuildKit's Dockerfile frontend reads them: comma-separated fields
// (CSV: a field may be double-quoted), `key=value` or a bare flag (`ro`, `rw`, `required`); each
// value is expanded with the stage's variables, except `from`, which names a stage or image and
// must be known before the build runs. The defaults are BuildKit's: type=bind, read-only for bind,
// secret and ssh mounts, writable for cache and tmpfs.
import { ShellLex, type Env, type EscapeToken } from './shell-lex.js';

export type MountType = 'bind' | 'cache' | 'tmpfs' | 'secret' | 'ssh';
export type CacheSharing = 'shared' | 'private' | 'locked';

export interface RunMount {
  type: MountType;
  /** A stage (name or index) or an image; none: the build context (bind) or an empty directory (cache). */
  from?: string;
  /** The path in `from` (or the context) to mount; none: its root. */
  source?: string;
  /** Where in the container; relative paths start at WORKDIR. */
  target: string;
  readOnly: boolean;
  /** tmpfs: size in bytes. */
  size?: number;
  /** cache: the cache's name (default: the target); secret: the secret's id. */
  id?: string;
  sharing?: CacheSharing;
  required: boolean;
  env?: string;
  /** cache: the mode, owner and group of the cache's top directory when it is made. */
  mode?: number;
  uid?: number;
  gid?: number;
}

const TYPES: readonly MountType[] = ['bind', 'cache', 'tmpfs', 'secret', 'ssh'];
const SHARING: readonly CacheSharing[] = ['shared', 'private', 'locked'];
const KEYS = ['type', 'from', 'source', 'src', 'target', 'dst', 'destination', 'readonly', 'ro', 'readwrite', 'rw', 'id', 'sharing', 'required', 'size', 'mode', 'uid', 'gid', 'env'];

/** Splits one CSV record into its fields ("a,b" → [a, b]; `"x,y"` keeps the comma; "" inside quotes is a quote). */
export function csvFields(text: string): string[] {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  let start = true;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (quoted) {
      if (ch !== '"') field += ch;
      else if (text[i + 1] === '"') {
        field += '"';
        i++;
      } else quoted = false;
    } else if (ch === ',') {
      fields.push(field);
      field = '';
      start = true;
      continue;
    } else if (ch === '"' && start) quoted = true;
    else field += ch;
    start = false;
  }
  if (quoted) throw new Error(`failed to parse csv mounts: extraneous or missing " in quoted-field`);
  fields.push(field);
  return fields;
}

/** The `from=` of a mount as written (it is never expanded), for planning which stages a RUN needs. */
export function mountFromValue(text: string): string | undefined {
  let from: string | undefined;
  for (const field of csvFields(text)) {
    const eq = field.indexOf('=');
    if (eq > 0 && field.slice(0, eq).toLowerCase() === 'from') from = field.slice(eq + 1);
  }
  return from;
}

/** Docker's units.RAMInBytes: "64m" is 64 MiB, a bare number is bytes. */
function ramInBytes(text: string): number {
  const m = /^(\d+(?:\.\d+)*) ?([kmgtp])?i?b?$/i.exec(text);
  if (!m) throw new Error(`invalid size: '${text}'`);
  const power = m[2] ? 'kmgtp'.indexOf(m[2].toLowerCase()) + 1 : 0;
  return Math.floor(parseFloat(m[1] as string) * 1024 ** power);
}

const parseBool = (key: string, value: string): boolean => {
  if (/^(1|t|true)$/i.test(value)) return true;
  if (/^(0|f|false)$/i.test(value)) return false;
  throw new Error(`invalid value for ${key}: ${value}`);
};

function parseUint(key: string, value: string, radix: 8 | 10): number {
  const ok = radix === 8 ? /^[0-7]+$/.test(value) : /^\d+$/.test(value);
  const n = ok ? parseInt(value, radix) : NaN;
  if (!Number.isSafeInteger(n) || n > 0xffffffff) throw new Error(`invalid value ${value} for ${key}`);
  return n;
}

/**
 * One `--mount=` value, its values expanded against `env`. Throws BuildKit's messages for unknown
 * keys and types and for options that do not fit the type.
 */
export function parseRunMount(text: string, env: Env, escapeToken: EscapeToken = '\\'): RunMount {
  const lex = new ShellLex(escapeToken);
  const m: RunMount = { type: 'bind', target: '', readOnly: true, required: false };
  let roAuto = true;
  for (const field of csvFields(text)) {
    const eq = field.indexOf('=');
    const key = (eq < 0 ? field : field.slice(0, eq)).toLowerCase();
    if (eq < 0) {
      if (key === 'readonly' || key === 'ro') m.readOnly = true;
      else if (key === 'readwrite' || key === 'rw') m.readOnly = false;
      else if (key === 'required' && (m.type === 'secret' || m.type === 'ssh')) m.required = true;
      else if (key === 'required') throw new Error(`unexpected key '${key}' for mount type '${m.type}'`);
      else throw new Error(`invalid field '${field}' must be a key=value pair`);
      if (key !== 'required') roAuto = false;
      continue;
    }
    const raw = field.slice(eq + 1);
    const value = key === 'from' ? raw : lex.processWord(raw, env);
    switch (key) {
      case 'type': {
        const t = value.toLowerCase() as MountType;
        if (!TYPES.includes(t)) throw new Error(`unsupported mount type ${JSON.stringify(value)}`);
        m.type = t;
        break;
      }
      case 'from':
        m.from = value;
        break;
      case 'source':
      case 'src':
        m.source = value;
        break;
      case 'target':
      case 'dst':
      case 'destination':
        m.target = value;
        break;
      case 'readonly':
      case 'ro':
        m.readOnly = parseBool(key, value);
        roAuto = false;
        break;
      case 'readwrite':
      case 'rw':
        m.readOnly = !parseBool(key, value);
        roAuto = false;
        break;
      case 'required':
        if (m.type !== 'secret' && m.type !== 'ssh') throw new Error(`unexpected key '${key}' for mount type '${m.type}'`);
        m.required = parseBool(key, value);
        break;
      case 'size':
        if (m.type !== 'tmpfs') throw new Error(`unexpected key '${key}' for mount type '${m.type}'`);
        try {
          m.size = ramInBytes(value);
        } catch {
          throw new Error(`invalid value for ${key}: ${value}`);
        }
        break;
      case 'id':
        m.id = value;
        break;
      case 'sharing': {
        const s = value.toLowerCase() as CacheSharing;
        if (!SHARING.includes(s)) throw new Error(`unsupported sharing value ${JSON.stringify(value)}`);
        m.sharing = s;
        break;
      }
      case 'mode':
        m.mode = parseUint(key, value, 8);
        break;
      case 'uid':
        m.uid = parseUint(key, value, 10);
        break;
      case 'gid':
        m.gid = parseUint(key, value, 10);
        break;
      case 'env':
        m.env = value;
        break;
      default:
        throw new Error(`unexpected key '${key}' in '${field}' (known keys: ${KEYS.join(', ')})`);
    }
  }
  const fileInfoAllowed = m.type === 'secret' || m.type === 'ssh' || m.type === 'cache';
  for (const k of ['mode', 'uid', 'gid'] as const) {
    if (m[k] !== undefined && !fileInfoAllowed) throw new Error(`${k} not allowed for ${JSON.stringify(m.type)} type mounts`);
  }
  if (roAuto) m.readOnly = !(m.type === 'cache' || m.type === 'tmpfs');
  if (m.type === 'secret') {
    if (m.from !== undefined) throw new Error('secret mount should not have a from');
    if (m.sharing !== undefined) throw new Error('secret mount should not define sharing');
    if (!m.source && !m.target && !m.id) throw new Error('invalid secret mount. one of source, target required');
    if (m.source && m.id) throw new Error("both source and id can't be set");
  }
  if (m.sharing !== undefined && m.type !== 'cache') throw new Error(`invalid cache sharing set for ${m.type} mount`);
  return m;
}
