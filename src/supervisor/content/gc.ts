// Garbage collection of one namespace (containerd's mark and sweep): roots are what the caller names
// (image targets) and what unexpired leases hold; a blob's `containerd.io/gc.ref.content*` labels
// reach its children (a manifest its config and layers), and `containerd.io/gc.ref.snapshot.<name>`
// labels reach snapshots (an image config its unpacked chain). Everything unreached goes: blobs,
// ingests that no lease holds and no live writer is using (an interrupted pull), and snapshots.
// A blob leaves the disk once no namespace has it (ContentStore.forget).
import type { ContentStore } from './store.js';
import type { LeaseStore } from './leases.js';
import type { Snapshotter } from '../snapshots/types.js';

const CONTENT_REF = 'containerd.io/gc.ref.content';
/** Content and snapshots labelled so are roots themselves (ctr labels what it commits by hand). */
const GC_ROOT = 'containerd.io/gc.root';
const SNAPSHOT_REF = 'containerd.io/gc.ref.snapshot.';

export interface GcResult {
  removedLeases: string[];
  removedBlobs: string[];
  removedIngests: string[];
  removedSnapshots: string[];
}

export interface GcOptions {
  content: ContentStore;
  leases: LeaseStore;
  /** Content digests in use (image targets). */
  roots?: Iterable<string>;
  /** With a snapshotter: the snapshot keys in use (image chain IDs, containers' layers). */
  snapshotter?: Snapshotter;
  snapshotRoots?: Iterable<string>;
  now?: Date;
}

export function collectGarbage(opts: GcOptions): GcResult {
  const { content, leases } = opts;
  const result: GcResult = { removedLeases: [], removedBlobs: [], removedIngests: [], removedSnapshots: [] };
  const live = [];
  for (const lease of leases.list()) {
    if (leases.expired(lease, opts.now)) {
      leases.delete(lease.id);
      result.removedLeases.push(lease.id);
    } else live.push(lease);
  }
  const heldIngests = new Set(live.flatMap((l) => l.resources.filter((r) => r.type === 'ingest').map((r) => r.id)));
  const labelledRoots = content.list().filter((i) => GC_ROOT in i.labels).map((i) => i.digest);
  const queue = [...(opts.roots ?? []), ...labelledRoots, ...live.flatMap((l) => l.resources.filter((r) => r.type === 'content').map((r) => r.id))];

  const marked = new Set<string>();
  const snapshotRoots = [...(opts.snapshotRoots ?? []), ...(opts.snapshotter?.list().filter((x) => GC_ROOT in x.labels).map((x) => x.key) ?? [])];
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
    for (const [key, value] of Object.entries(labels)) {
      if (key === CONTENT_REF || key.startsWith(`${CONTENT_REF}.`)) queue.push(value);
      else if (opts.snapshotter && key === `${SNAPSHOT_REF}${opts.snapshotter.name}`) snapshotRoots.push(value);
    }
  }

  for (const info of content.list()) {
    if (marked.has(info.digest)) continue;
    content.forget(info.digest);
    result.removedBlobs.push(info.digest);
  }
  for (const ingest of content.listIngests()) {
    if (heldIngests.has(ingest.ref) || content.ingestActive(ingest.ref)) continue;
    content.abort(ingest.ref);
    result.removedIngests.push(ingest.ref);
  }
  if (opts.snapshotter) result.removedSnapshots = collectSnapshots(opts.snapshotter, [...snapshotRoots, ...live.flatMap((l) => l.resources.filter((r) => r.type === `snapshots/${opts.snapshotter!.name}`).map((r) => r.id))]);
  return result;
}

/** Removes every snapshot that no root reaches (a root keeps its parents); children go first. */
function collectSnapshots(sn: Snapshotter, roots: string[]): string[] {
  const all = new Map(sn.list().map((s) => [s.key, s]));
  const keep = new Set<string>();
  for (const root of roots) {
    let key: string | undefined = root;
    while (key !== undefined && all.has(key) && !keep.has(key)) {
      keep.add(key);
      key = all.get(key)!.parent;
    }
  }
  const removed: string[] = [];
  // A snapshot is removable once no remaining snapshot names it as parent.
  for (let progress = true; progress; ) {
    progress = false;
    for (const [key] of all) {
      if (keep.has(key) || [...all.values()].some((c) => c.parent === key)) continue;
      sn.remove(key);
      all.delete(key);
      removed.push(key);
      progress = true;
    }
  }
  return removed;
}
