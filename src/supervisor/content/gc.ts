// Garbage collection of content (containerd's mark and sweep): roots are what the caller names
// (image targets) and what unexpired leases hold; a blob's `containerd.io/gc.ref.content*` labels
// reach its children (a manifest its config and layers). Everything unreached goes: blobs, and
// ingests that no lease holds and no live writer is using (an interrupted pull).
import type { ContentStore } from './store.js';
import type { LeaseStore } from './leases.js';

const CONTENT_REF = 'containerd.io/gc.ref.content';

export interface GcResult {
  removedLeases: string[];
  removedBlobs: string[];
  removedIngests: string[];
}

export function collectGarbage(opts: { content: ContentStore; leases: LeaseStore; roots?: Iterable<string>; now?: Date }): GcResult {
  const { content, leases } = opts;
  const result: GcResult = { removedLeases: [], removedBlobs: [], removedIngests: [] };
  const live = [];
  for (const lease of leases.list()) {
    if (leases.expired(lease, opts.now)) {
      leases.delete(lease.id);
      result.removedLeases.push(lease.id);
    } else live.push(lease);
  }
  const heldIngests = new Set(live.flatMap((l) => l.resources.filter((r) => r.type === 'ingest').map((r) => r.id)));
  const queue = [...(opts.roots ?? []), ...live.flatMap((l) => l.resources.filter((r) => r.type === 'content').map((r) => r.id))];

  const marked = new Set<string>();
  while (queue.length) {
    const digest = queue.pop()!;
    if (marked.has(digest)) continue;
    marked.add(digest);
    let labels: Record<string, string>;
    try {
      labels = content.info(digest).labels;
    } catch {
      continue; // a root whose blob is not here (yet)
    }
    for (const [key, value] of Object.entries(labels)) if (key === CONTENT_REF || key.startsWith(`${CONTENT_REF}.`)) queue.push(value);
  }

  for (const info of content.list()) {
    if (marked.has(info.digest)) continue;
    content.delete(info.digest);
    result.removedBlobs.push(info.digest);
  }
  for (const ingest of content.listIngests()) {
    if (heldIngests.has(ingest.ref) || content.ingestActive(ingest.ref)) continue;
    content.abort(ingest.ref);
    result.removedIngests.push(ingest.ref);
  }
  return result;
}
