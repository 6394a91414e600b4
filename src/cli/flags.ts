// A flag parser with docker's (spf13/pflag's) syntax: --flag value, --flag=value, -f value, -fvalue,
// combined shorthands (-it, -dit, -p80:80 after bools), repeatable list flags, booleans that take
// only =value (--rm, --tty=false), `--` to end flags, and parsing that either lets flags and
// arguments mix (docker ps x -a) or stops at the first argument (run IMAGE CMD -x: -x is the
// command's). Errors read like pflag's.
import { BerthError } from '../common/errors.js';
import { parseGoDuration } from './output/units.js';

export type FlagType = 'bool' | 'string' | 'int' | 'list' | 'float' | 'duration';

export interface FlagDef {
  name: string;
  short?: string;
  type: FlagType;
  help: string;
  /** The default value (also shown in help unless it is the type's zero). */
  default?: string | number | boolean;
  /** The value's name in help ("list", "bytes", "decimal"); the type's name by default. */
  valueName?: string;
  hidden?: boolean;
}

/** A wrong command line: printed with "See 'berth CMD --help'." and exit status 125. */
export class UsageError extends BerthError {
  constructor(message: string) {
    super('INVALID_ARGUMENT', message);
    this.name = 'UsageError';
  }
}

export type FlagValue = boolean | string | number | string[];

export class Flags {
  readonly values = new Map<string, FlagValue>();
  readonly changed = new Set<string>();

  constructor(readonly defs: FlagDef[]) {
    for (const d of defs) if (d.default !== undefined) this.values.set(d.name, d.default);
  }

  has(name: string): boolean {
    return this.changed.has(name);
  }
  bool(name: string): boolean {
    return this.values.get(name) === true;
  }
  str(name: string): string | undefined {
    const v = this.values.get(name);
    return v === undefined ? undefined : String(v);
  }
  int(name: string): number | undefined {
    const v = this.values.get(name);
    return typeof v === 'number' ? v : undefined;
  }
  list(name: string): string[] {
    return (this.values.get(name) as string[] | undefined) ?? [];
  }
}

export function parseBool(v: string): boolean | undefined {
  if (['1', 't', 'T', 'true', 'TRUE', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(v)) return false;
  return undefined;
}

function flagLabel(d: FlagDef): string {
  return d.short ? `-${d.short}, --${d.name}` : `--${d.name}`;
}

function setValue(flags: Flags, d: FlagDef, raw: string): void {
  const bad = (why: string) => new UsageError(`invalid argument "${raw}" for "${flagLabel(d)}" flag: ${why}`);
  let v: FlagValue;
  switch (d.type) {
    case 'bool': {
      const b = parseBool(raw);
      if (b === undefined) throw bad(`strconv.ParseBool: parsing "${raw}": invalid syntax`);
      v = b;
      break;
    }
    case 'int':
      if (!/^[-+]?\d+$/.test(raw)) throw bad(`strconv.ParseInt: parsing "${raw}": invalid syntax`);
      v = Number(raw);
      break;
    case 'float':
      if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(raw)) throw bad(`strconv.ParseFloat: parsing "${raw}": invalid syntax`);
      v = Number(raw);
      break;
    case 'duration':
      try {
        parseGoDuration(raw);
      } catch (e) {
        throw bad((e as Error).message);
      }
      v = raw;
      break;
    case 'list':
      v = [...flags.list(d.name), raw];
      break;
    default:
      v = raw;
  }
  flags.values.set(d.name, v);
  flags.changed.add(d.name);
}

export interface ParseOptions {
  /** Stop at the first argument that is not a flag: the rest are arguments (run, exec). */
  stopAtPositional?: boolean;
}

export function parseFlags(argv: readonly string[], defs: FlagDef[], opts: ParseOptions = {}): { flags: Flags; args: string[] } {
  const flags = new Flags(defs);
  const byName = new Map(defs.map((d) => [d.name, d]));
  const byShort = new Map(defs.filter((d) => d.short).map((d) => [d.short!, d]));
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      args.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      args.push(arg);
      if (opts.stopAtPositional) {
        args.push(...argv.slice(i + 1));
        break;
      }
      continue;
    }
    if (arg.startsWith('--')) {
      const body = arg.slice(2);
      if (body.startsWith('-') || body.startsWith('=')) throw new UsageError(`bad flag syntax: ${arg}`);
      const eq = body.indexOf('=');
      const name = eq >= 0 ? body.slice(0, eq) : body;
      const d = byName.get(name);
      if (!d) throw new UsageError(`unknown flag: --${name}`);
      if (eq >= 0) setValue(flags, d, body.slice(eq + 1));
      else if (d.type === 'bool') setValue(flags, d, 'true');
      else if (i + 1 < argv.length) setValue(flags, d, argv[++i]!);
      else throw new UsageError(`flag needs an argument: --${name}`);
      continue;
    }
    // shorthands: -abc, -n5, -n 5, -t=false
    const shorts = arg.slice(1);
    for (let j = 0; j < shorts.length; j++) {
      const c = shorts[j]!;
      const d = byShort.get(c);
      if (!d) throw new UsageError(`unknown shorthand flag: '${c}' in ${arg}`);
      const after = shorts.slice(j + 1);
      if (after.startsWith('=')) {
        setValue(flags, d, after.slice(1));
        break;
      }
      if (d.type === 'bool') {
        setValue(flags, d, 'true');
        continue;
      }
      if (after) setValue(flags, d, after);
      else if (i + 1 < argv.length) setValue(flags, d, argv[++i]!);
      else throw new UsageError(`flag needs an argument: '${c}' in -${c}`);
      break;
    }
  }
  return { flags, args };
}

/** The Options section of a command's help, laid out like pflag's FlagUsages. */
export function flagUsages(defs: FlagDef[]): string {
  const lines: [string, string][] = [];
  for (const d of defs) {
    if (d.hidden) continue;
    let left = d.short ? `  -${d.short}, --${d.name}` : `      --${d.name}`;
    const vn = d.valueName ?? (d.type === 'bool' ? '' : d.type === 'float' ? 'decimal' : d.type);
    if (vn) left += ` ${vn}`;
    let help = d.help;
    if (d.default !== undefined && d.default !== false && d.default !== '' && d.type !== 'list') {
      help += d.type === 'string' ? ` (default "${d.default}")` : ` (default ${d.default})`;
    }
    lines.push([left, help]);
  }
  const max = Math.max(0, ...lines.map(([l]) => l.length));
  // continuation lines of a multi-line help text line up under its first line
  return lines.map(([l, h]) => `${l.padEnd(max)}   ${h.split('\n').join(`\n${' '.repeat(max + 3)}`)}`).join('\n');
}
