// The result cache (libcni keeps it under /var/lib/cni/results; berth under the cache dir its
// caller gives): one file per network attachment, `<cacheDir>/results/<network>-<podId>-<ifName>`,
// holding the configuration and arguments used at ADD and the result it gave. DEL and CHECK read
// it, so they run with the network as it was set up even after the conf dir changed, and pass the
// result as prevResult. An entry is written before the plugins run (without a result), so a crash
// half-way through ADD still leaves what teardown needs; it gets its result when ADD succeeds.
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { BerthError, errnoOf } from '../../common/errors.js';
import { readJsonRecord, writeFileAtomic } from '../../sys/fs-atomic.js';
import type { NetworkConfigList } from './types.js';

export interface CacheEntry {
  kind: 'cniCacheV1';
  containerId: string;
  ifName: string;
  networkName: string;
  netns: string;
  /** The network as it was configured at ADD. */
  config: NetworkConfigList;
  cniArgs: Array<[string, string]>;
  capabilityArgs: Record<string, unknown>;
  /** Position in the pod's set-up order (the loopback network is 0): teardown goes backwards. */
  order: number;
  /** The list's final ADD result, exactly as the last plugin printed it; absent while ADD runs. */
  result?: unknown;
}

export class ResultCache {
  private readonly dir: string;

  constructor(cacheDir: string) {
    this.dir = join(cacheDir, 'results');
  }

  private path(networkName: string, containerId: string, ifName: string): string {
    return join(this.dir, `${networkName}-${containerId}-${ifName}`);
  }

  write(entry: CacheEntry): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    writeFileAtomic(this.path(entry.networkName, entry.containerId, entry.ifName), JSON.stringify(entry), 0o600);
  }

  remove(entry: Pick<CacheEntry, 'networkName' | 'containerId' | 'ifName'>): void {
    rmSync(this.path(entry.networkName, entry.containerId, entry.ifName), { force: true });
  }

  /**
   * Removes the pod's temp files that a writer killed before its rename left behind (they never
   * became entries). Calls for one pod are serialized, so none is being written now.
   */
  removeUnfinishedWrites(containerId: string): void {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch (err) {
      if (errnoOf(err) === 'ENOENT') return;
      throw err;
    }
    for (const name of names) if (name.includes(`-${containerId}-`) && name.endsWith('.tmp')) rmSync(join(this.dir, name), { force: true });
  }

  /** The pod's entries in set-up order. A file that is not a valid entry is an error naming it. */
  forPod(containerId: string): CacheEntry[] {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch (err) {
      if (errnoOf(err) === 'ENOENT') return [];
      throw err;
    }
    const entries: CacheEntry[] = [];
    // Network names may hold "-", so the name only narrows the search; the record decides.
    for (const name of names.filter((n) => n.includes(`-${containerId}-`) && !n.endsWith('.tmp'))) {
      const path = join(this.dir, name);
      let e: CacheEntry | undefined;
      try {
        e = readJsonRecord<CacheEntry>(path);
      } catch (err) {
        throw new BerthError('INTERNAL', `CNI result cache ${path} is unreadable (${(err as Error).message}): remove it to tear down by the current config`);
      }
      if (e === undefined || e.containerId !== containerId) continue;
      if (e.kind !== 'cniCacheV1' || !e.config || !Array.isArray(e.config.plugins)) {
        throw new BerthError('INTERNAL', `CNI result cache ${path} is not a cache entry of this version: remove it to tear down by the current config`);
      }
      entries.push(e);
    }
    return entries.sort((a, b) => a.order - b.order);
  }
}
