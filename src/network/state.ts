// The network state in memory, as the manager and its helpers read and change it: networks with
// their endpoints, and published ports. save() writes it through to the state file (store.ts);
// callers change it only in the manager's queue.
import { BerthError, invalid, notFound } from '../common/errors.js';
import { loadState, removeState, saveState } from './store.js';
import type { NetworkDriver, State, StoredEndpoint, StoredNetwork, StoredPorts } from './types.js';

export class NetworkState {
  private state: State;

  constructor(private readonly dir: string, private readonly drivers: ReadonlyMap<string, NetworkDriver>) {
    this.state = loadState(dir);
  }

  get networks(): StoredNetwork[] {
    return this.state.networks;
  }

  set networks(networks: StoredNetwork[]) {
    this.state.networks = networks;
  }

  /** Container ID → its published ports. */
  get ports(): Record<string, StoredPorts> {
    return this.state.ports;
  }

  /** Reads the state file again (at init: what a previous daemon left). */
  reload(): void {
    this.state = loadState(this.dir);
  }

  save(): void {
    saveState(this.dir, this.state);
  }

  /** Deletes the state file and starts empty (destroyAll). */
  erase(): void {
    removeState(this.dir);
    this.reload();
  }

  driver(net: StoredNetwork): NetworkDriver {
    const d = this.drivers.get(net.driver);
    if (!d) throw new BerthError('INTERNAL', `network ${net.name} has driver ${net.driver}, which berth does not have`);
    return d;
  }

  /** By full ID, name, or unique ID prefix (Docker's order); NotFound "network X not found". */
  find(ref: string): StoredNetwork {
    const all = this.state.networks;
    const byId = all.find((n) => n.id === ref);
    if (byId) return byId;
    const byName = all.filter((n) => n.name === ref);
    if (byName.length === 1) return byName[0]!;
    const byPrefix = ref ? all.filter((n) => n.id.startsWith(ref)) : [];
    if (byPrefix.length === 1) return byPrefix[0]!;
    if (byPrefix.length > 1) throw invalid(`network ${ref} is ambiguous (${byPrefix.length} matches found based on ID prefix)`);
    throw notFound(`network ${ref} not found`);
  }

  /** The container's endpoints, with their networks. */
  endpointsOf(cid: string): Array<[StoredNetwork, StoredEndpoint]> {
    const out: Array<[StoredNetwork, StoredEndpoint]> = [];
    for (const n of this.state.networks) {
      const e = n.endpoints[cid];
      if (e) out.push([n, e]);
    }
    return out;
  }
}
