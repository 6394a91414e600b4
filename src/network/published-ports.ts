// Published ports over the network state: which endpoint a container's ports are forwarded to,
// host ports chosen (ports.ts) and recorded, and the firewall's DNAT brought in line. Every call
// runs in the manager's queue; like the rest of the state, ports are saved before the rules that
// add them are loaded and removed before the rules that drop them.
import { precondition } from '../common/errors.js';
import { hostBindingIp } from './drivers/bridge.js';
import type { Firewall } from './firewall.js';
import { chooseBindings, normalizeRequests } from './ports.js';
import type { NetworkState } from './state.js';
import type { Logger, PortBinding, PortRequest, StoredNetwork } from './types.js';

const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

export class PublishedPorts {
  /** Where the next ephemeral port search starts, per protocol and address (ports.ts). */
  private readonly cursor: Record<string, number> = {};

  constructor(private readonly state: NetworkState, private readonly firewall: Firewall, private readonly log: Logger) {}

  /**
   * Publishes ports of a connected container with DNAT to its address on the network holding its
   * default route. A port another container holds, or a host process has bound, is refused
   * ("Bind for 0.0.0.0:8080 failed: port is already allocated"). A container with no such network
   * (host, none, internal networks only) publishes nothing, as in Docker.
   */
  async publish(containerId: string, ports: PortRequest[]): Promise<PortBinding[]> {
    const mine = this.state.endpointsOf(containerId);
    if (mine.length === 0) throw precondition(`container ${containerId} is not connected to any network: connect it before publishing ports`);
    const existing = this.state.ports[containerId];
    const target = existing
      ? mine.find(([n]) => n.id === existing.network)
      : mine.find(([n, e]) => e.defaultRoute && this.state.driver(n).firewall(n)) ?? mine.find(([n]) => !n.internal && this.state.driver(n).firewall(n));
    if (!target) {
      this.log('info', `container ${containerId}: no network that can publish ports (host, none or internal only); ports are not published`);
      return [];
    }
    const [net, ep] = target;
    const wanted = normalizeRequests(ports, hostBindingIp(net));
    const taken = Object.values(this.state.ports).flatMap((p) => p.bindings);
    const mineBefore = existing?.bindings ?? [];
    const { result, added } = await chooseBindings(wanted, taken, mineBefore, this.cursor);
    if (added.length === 0) return result;
    const before = existing ? clone(existing) : undefined;
    this.state.ports[containerId] = { network: net.id, containerIp: ep.ip, bindings: [...mineBefore, ...added] };
    this.state.save();
    try {
      await this.firewall.apply();
    } catch (err) {
      if (before) this.state.ports[containerId] = before;
      else delete this.state.ports[containerId];
      this.state.save();
      await this.firewall.apply().catch(() => {});
      throw err;
    }
    return result;
  }

  async unpublish(containerId: string): Promise<void> {
    if (!this.state.ports[containerId]) return;
    delete this.state.ports[containerId];
    this.state.save();
    await this.firewall.apply();
  }

  /** The container's published ports (e.g. for inspect after a daemon restart). */
  bindings(containerId: string): PortBinding[] {
    return clone(this.state.ports[containerId]?.bindings ?? []);
  }

  /**
   * Forgets the container's ports if they go through `net` (its endpoint there is leaving), without
   * saving or touching the rules: the caller does both. Returns whether there were any.
   */
  forgetThrough(containerId: string, net: StoredNetwork): boolean {
    const gone = this.state.ports[containerId]?.network === net.id;
    if (gone) delete this.state.ports[containerId];
    return gone;
  }

  /** Forgets ports whose endpoint is gone (at init, after dead endpoints are released). */
  forgetOrphans(): void {
    for (const [cid, p] of Object.entries(this.state.ports)) {
      const net = this.state.networks.find((n) => n.id === p.network);
      if (!net?.endpoints[cid]) delete this.state.ports[cid];
    }
  }
}
