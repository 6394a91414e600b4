// Docker's volume filters: list takes name (a regular expression, unanchored), driver, label and
// dangling; prune takes label, label! and all. Unknown keys and non-boolean values are errors.
import { invalid } from '../common/errors.js';
import type { VolumeFilters } from './types.js';

export const LIST_FILTERS = new Set(['name', 'driver', 'label', 'dangling']);
export const PRUNE_FILTERS = new Set(['label', 'label!', 'all']);

export function checkFilterKeys(filters: VolumeFilters, accepted: ReadonlySet<string>): void {
  for (const key of Object.keys(filters)) if (!accepted.has(key)) throw invalid(`invalid filter '${key}'`);
}

/** A boolean filter ("true"/"1"/"false"/"0"); undefined when absent. */
export function boolFilter(filters: VolumeFilters, key: string): boolean | undefined {
  const values = filters[key];
  if (!values?.length) return undefined;
  if (values.every((v) => v === 'true' || v === '1')) return true;
  if (values.every((v) => v === 'false' || v === '0')) return false;
  throw invalid(`invalid filter '${key}=${values.join(',')}'`);
}

/** "key" matches a label that is there, "key=value" one with that value. */
export function labelMatches(labels: Record<string, string> | null | undefined, filter: string): boolean {
  const eq = filter.indexOf('=');
  const key = eq < 0 ? filter : filter.slice(0, eq);
  if (!labels || !Object.hasOwn(labels, key)) return false;
  return eq < 0 || labels[key] === filter.slice(eq + 1);
}

/** Docker's filters.Match: an exact name, or a regular expression found in it. */
export function nameMatches(name: string, patterns: readonly string[]): boolean {
  return patterns.some((p) => {
    if (p === name) return true;
    try {
      return new RegExp(p).test(name);
    } catch {
      return false; // an invalid expression matches nothing, as in Docker
    }
  });
}
