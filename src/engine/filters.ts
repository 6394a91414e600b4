// Docker's `label` filter, shared by every list and prune: "key" matches a label that is there,
// "key=value" one with that value.
export function labelMatches(labels: Record<string, string> | null | undefined, filter: string): boolean {
  const eq = filter.indexOf('=');
  const key = eq < 0 ? filter : filter.slice(0, eq);
  if (!labels || !(key in labels)) return false;
  return eq < 0 || labels[key] === filter.slice(eq + 1);
}

/** Every label filter holds (an absent or empty list holds). */
export function labelsMatch(labels: Record<string, string> | null | undefined, filters: readonly string[] | undefined): boolean {
  return (filters ?? []).every((f) => labelMatches(labels, f));
}

/** A prune's label filters: every `label` holds and no `label!` does (Docker's "label!=key=value"). */
export function pruneLabelsMatch(labels: Record<string, string> | null | undefined, filters: Record<string, readonly string[] | undefined>): boolean {
  return labelsMatch(labels, filters.label) && !(filters['label!'] ?? []).some((f) => labelMatches(labels, f));
}
