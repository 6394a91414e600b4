// Published ports over the network state: which endpoint a container's ports are forwarded to,
// host ports chosen (ports.ts) and recorded, and the forwarding brought in line: the firewall's
// DNAT for IPv4 bindings, berthd's proxies (port-proxies.ts) for IPv6 ones. Every call runs in
// the manager's queue; like the rest of the state, ports are saved before the rules and listeners
// that add them are made and removed before those that drop them.
import { precondition } from '../common/errors.js';
import { hostBindingIp } from './drivers/bridge.js';
import type { Firewall } from './firewall.js';
import type { PortProxies, ProxiedPort, ProxyFailure } from './port-proxies.js';
import { allocatedError, chooseBindings, familyOf, ipv6Listenable, normalizeRequests, probeError } from './ports.js';
import type { NetworkState } from './state.js';
import type { Logger, PortBinding, PortRequest, StoredNetwork } from './types.js';

const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

export class PublishedPorts {
  /** Where the next ephemeral port search starts, per protocol and address (ports.ts). */
  private readonly cursor: Record<string, number> = {};

  constructor(private readonly state: NetworkState, private readonly firewall: Firewall, private readonly proxies: PortProxies, private readonly log: Logger) {}

  /**
   * Publishes ports of a connected container, forwarded to its address on the network holding its
   * default route (DNAT for IPv4 bindings, a proxy for IPv6 ones). A port another container holds,
   * or a host process has bound, is refused ("Bind for 0.0.0.0:8080 failed: port is already
   * allocated"); so is one whose IPv6 listener cannot be opened after all. A container with no
   * such network (host, none, internal networks only) publishes nothing, as in Docker.
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
    const wanted = normalizeRequests(ports, hostBindingIp(net), await ipv6Listenable());
    const taken = Object.values(this.state.ports).flatMap((p) => p.bindings);
    const mineBefore = existing?.bindings ?? [];
    const { result, added } = await chooseBindings(wanted, taken, mineBefore, this.cursor);
    if (added.length === 0) return result;
    const before = existing ? clone(existing) : undefined;
    this.state.ports[containerId] = { network: net.id, containerIp: ep.ip, bindings: [...mineBefore, ...added] };
    this.state.save();
    try {
      await this.firewall.apply();
      const [failed] = await this.forwardIpv6();
      if (failed) throw failureError(failed);
    } catch (err) {
      if (before) this.state.ports[containerId] = before;
      else delete this.state.ports[containerId];
      this.state.save();
      await this.firewall.apply().catch(() => {});
      await this.forwardIpv6();
      throw err;
    }
    return result;
  }

  async unpublish(containerId: string): Promise<void> {
    if (!this.state.ports[containerId]) return;
    delete this.state.ports[containerId];
    this.state.save();
    await this.firewall.apply();
    await this.forwardIpv6();
  }

  /**
   * Opens the IPv6 listeners of every published port and closes those of ports that are gone;
   * returns the ones that could not be opened (the caller decides: publish undoes, init warns).
   */
  forwardIpv6(): Promise<ProxyFailure[]> {
    const wanted: ProxiedPort[] = Object.values(this.state.ports).flatMap((p) =>
      p.bindings.filter((b) => familyOf(b.hostIp) === 6).map((b) => ({ ...b, containerIp: p.containerIp })));
    return this.proxies.sync(wanted);
  }

  /** Closes every IPv6 listener (the manager closing); the state keeps them for the next init(). */
  stopForwardingIpv6(): Promise<void> {
    return this.proxies.close();
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

/** A listener that could not be opened after its port was probed free: someone took it meanwhile. */
function failureError(f: ProxyFailure): Error {
  const b = { proto: f.port.proto, containerPort: f.port.containerPort, hostIp: f.port.hostIp, hostPort: f.port.hostPort };
  return f.error.code === 'EADDRINUSE' ? allocatedError(b) : probeError(b, f.error.code ?? f.error.message);
}
