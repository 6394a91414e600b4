// A small command-line parser with runc's conventions: `--flag value`, `--flag=value`, `-f value`,
// boolean flags, repeatable flags, `--`, and parsing that stops after a number of positionals (so
// `exec ID sh -c ...` leaves `-c` to the command).
import { invalid } from '../../common/errors.js';

export interface FlagSpec {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
  default?: string | boolean;
}

export type Flags = Record<string, string | boolean | string[] | undefined>;

export interface Parsed {
  flags: Flags;
  positionals: string[];
}

export function parseArgs(argv: readonly string[], spec: Record<string, FlagSpec>, stopAfterPositionals = Infinity): Parsed {
  const flags: Flags = {};
  for (const [name, s] of Object.entries(spec)) if (s.default !== undefined) flags[name] = s.default;
  const positionals: string[] = [];
  const byShort = new Map(Object.entries(spec).filter(([, s]) => s.short).map(([n, s]) => [s.short!, n]));
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (positionals.length >= stopAfterPositionals) {
      positionals.push(...argv.slice(i));
      break;
    }
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const raw = arg.replace(/^--?/, '');
    const key = eq >= 0 ? raw.slice(0, raw.indexOf('=')) : raw;
    const name = spec[key] ? key : byShort.get(key);
    if (!name) throw invalid(`flag provided but not defined: -${key}`);
    const s = spec[name]!;
    let value: string | boolean;
    if (s.type === 'boolean') {
      value = eq >= 0 ? arg.slice(eq + 1) !== 'false' : true;
    } else if (eq >= 0) {
      value = arg.slice(eq + 1);
    } else {
      if (i + 1 >= argv.length) throw invalid(`flag needs an argument: -${key}`);
      value = argv[++i]!;
    }
    if (s.multiple) flags[name] = [...((flags[name] as string[] | undefined) ?? []), value as string];
    else flags[name] = value;
  }
  return { flags, positionals };
}

export const str = (f: Flags, name: string): string | undefined => f[name] as string | undefined;
export const bool = (f: Flags, name: string): boolean => f[name] === true;
export const list = (f: Flags, name: string): string[] => (f[name] as string[] | undefined) ?? [];

export function int(f: Flags, name: string): number | undefined {
  const v = str(f, name);
  if (v === undefined || v === '') return undefined;
  if (!/^-?\d+$/.test(v)) throw invalid(`invalid value "${v}" for flag --${name}: not an integer`);
  return Number(v);
}
