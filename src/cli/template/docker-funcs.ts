// The functions docker adds to --format templates (cli/templates), and the header variants that
// leave a column's title untouched when a table's header row is rendered.
import { TemplateError, type TemplateFunc } from './exec.js';
import { Template } from './exec.js';

const ROW = Symbol('row');

/**
 * Marks a --format row context (ps, images, …): docker marshals those through a map, so their
 * JSON has sorted keys and Go's HTML escaping (<none> is "\u003cnone\u003e").
 */
export function markRow<T extends object>(row: T): T {
  Object.defineProperty(row, ROW, { value: true, enumerable: false });
  return row;
}

function rowJson(row: Record<string, unknown>): string {
  const sorted = Object.fromEntries(Object.keys(row).sort().map((k) => [k, row[k]]));
  return JSON.stringify(sorted).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Go's json.Marshal with SetEscapeHTML(false): like JSON.stringify, but U+2028/9 escaped. */
export function goJson(v: unknown): string {
  if (v && typeof v === 'object' && (v as Record<symbol, unknown>)[ROW]) return rowJson(v as Record<string, unknown>);
  const s = JSON.stringify(v === undefined ? null : v, (_k, x: unknown) => (typeof x === 'function' ? (x as () => unknown)() : x));
  return (s ?? 'null').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

const str = (v: unknown, fn: string): string => {
  if (typeof v === 'string') return v;
  if (typeof v === 'function') return str((v as () => unknown)(), fn);
  throw new TemplateError(`error calling ${fn}: wrong type for value; expected string; got ${v === null || v === undefined ? 'nil' : typeof v}`);
};

export const dockerFuncs: Record<string, TemplateFunc> = {
  json: (v) => goJson(v),
  split: (s, sep) => {
    const source = str(s, 'split');
    const by = str(sep, 'split');
    return by === '' ? [...source] : source.split(by);
  },
  join: (a, sep) => {
    if (!Array.isArray(a)) throw new TemplateError('error calling join: wrong type for value; expected []string');
    return a.map((x) => String(x)).join(str(sep, 'join'));
  },
  title: (s) => str(s, 'title').replace(/(^|[^\p{L}\p{N}_'])(\p{L})/gu, (_m, pre: string, c: string) => pre + c.toUpperCase()),
  lower: (s) => str(s, 'lower').toLowerCase(),
  upper: (s) => str(s, 'upper').toUpperCase(),
  pad: (s, prefix, suffix) => ' '.repeat(Number(prefix)) + str(s, 'pad') + ' '.repeat(Number(suffix)),
  truncate: (s, n) => {
    const runes = [...str(s, 'truncate')];
    return runes.length > Number(n) ? runes.slice(0, Number(n)).join('') : runes.join('');
  },
};

const ident = (v: unknown) => (typeof v === 'string' ? v : String(v ?? ''));
export const headerFuncs: Record<string, TemplateFunc> = {
  json: ident, split: ident, join: ident, title: ident, lower: ident, upper: ident, pad: ident, truncate: ident,
};

/** A template with docker's functions. */
export function dockerTemplate(src: string, extra: Record<string, TemplateFunc> = {}): Template {
  return Template.parse(src, { ...dockerFuncs, ...extra });
}
