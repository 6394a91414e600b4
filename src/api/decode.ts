// Request bodies decoded the way Docker's Go decoder reads them into its structs: each known field
// must have its Go type (a wrong type is a 400 naming the field, never a TypeError deep in the
// engine, i.e. a 500), null is the zero value, field names match case-insensitively, and unknown
// fields are dropped, so no client-made garbage (a 20,000-level nested value, say) is stored in a
// record that every later list and inspect would have to serialize.
import { invalid } from '../common/errors.js';

/** A Go type: scalars, []T, map[string]T, or a struct with its name and fields. */
export type Shape =
  | 'string' | 'bool' | 'int' | 'uint' | 'float'
  | { slice: Shape }
  | { map: Shape }
  | { struct: string; fields: Record<string, Shape> };

export const sliceOf = (s: Shape): Shape => ({ slice: s });
export const mapOf = (s: Shape): Shape => ({ map: s });
export const struct = (name: string, fields: Record<string, Shape>): Shape => ({ struct: name, fields });

const goType = (s: Shape): string => typeof s === 'string' ? ({ string: 'string', bool: 'bool', int: 'int64', uint: 'uint64', float: 'float64' })[s]
  : 'slice' in s ? `[]${goType(s.slice)}` : 'map' in s ? `map[string]${goType(s.map)}` : s.struct;

const jsonKind = (v: unknown): string => (Array.isArray(v) ? 'array' : v === null ? 'null' : typeof v === 'object' ? 'object' : typeof v === 'boolean' ? 'bool' : typeof v);

/** Go's int64 range; beyond it (or a fraction) Go refuses the number. */
const INT_LIMIT = 2 ** 63;

/**
 * `value` as the Go type `shape` would hold it (unknown fields dropped), or a 400 naming the field:
 * "json: cannot unmarshal string into Go struct field Config.Cmd of type []string".
 */
export function decode<T>(value: unknown, shape: Shape, field = ''): T {
  if (value === null || value === undefined) return value as T;
  const wrong = (what = jsonKind(value)) => invalid(`json: cannot unmarshal ${what} into Go ${field ? `struct field ${field}` : 'value'} of type ${goType(shape)}`);
  if (typeof shape === 'string') {
    switch (shape) {
      case 'string':
        if (typeof value !== 'string') throw wrong();
        return value as T;
      case 'bool':
        if (typeof value !== 'boolean') throw wrong();
        return value as T;
      case 'float':
        if (typeof value !== 'number') throw wrong();
        return value as T;
      default:
        if (typeof value !== 'number') throw wrong();
        if (!Number.isInteger(value) || value >= INT_LIMIT || value < (shape === 'uint' ? 0 : -INT_LIMIT)) throw wrong(`number ${value}`);
        return value as T;
    }
  }
  if ('slice' in shape) {
    if (!Array.isArray(value)) throw wrong();
    return value.map((v, i) => decode(v, shape.slice, `${field}[${i}]`)) as T;
  }
  if (typeof value !== 'object' || Array.isArray(value)) throw wrong();
  const entries = Object.entries(value as Record<string, unknown>);
  if ('map' in shape) return Object.fromEntries(entries.map(([k, v]) => [k, decode(v, shape.map, `${field}[${k}]`)])) as T;
  const out: Record<string, unknown> = {};
  const byLower = new Map(Object.keys(shape.fields).map((k) => [k.toLowerCase(), k]));
  for (const [k, v] of entries) {
    // An exact match wins over a case-insensitive one, as in Go.
    const name = Object.hasOwn(shape.fields, k) ? k : byLower.get(k.toLowerCase());
    if (name === undefined || (name !== k && Object.hasOwn(value, name))) continue;
    out[name] = decode(v, shape.fields[name]!, `${shape.struct}.${name}`);
  }
  return out as T;
}

/** A JSON body that must be an object (or absent, when `optional`), decoded into `shape`. */
export function decodeBody<T>(body: unknown, shape: Shape, opts: { optional?: boolean } = {}): T {
  if (body === undefined && opts.optional) return undefined as T;
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw invalid('invalid JSON: the body must be a JSON object');
  return decode<T>(body, shape);
}
