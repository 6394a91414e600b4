// The embedded DNS servers, one on the gateway of each user-defined bridge network, answering
// from the network state (dns/names.ts) and forwarding the rest to the host's resolvers; and the
// resolv.conf a container gets on a network (that server, or the host's resolvers).
import { lookupName, mayForward, type NameView } from './dns/names.js';
import { containerResolvConf, HostResolvConf, type ContainerDnsOptions } from './dns/resolvconf.js';
import { DnsServer } from './dns/server.js';
import type { NetworkState } from './state.js';
import type { Logger, StoredNetwork } from './types.js';

export class EmbeddedDns {
  private readonly hostResolv: HostResolvConf;
  /** Network ID → its running server. */
  private readonly servers = new Map<string, DnsServer>();

  constructor(private readonly state: NetworkState, private readonly log: Logger, resolvConf?: string) {
    this.hostResolv = new HostResolvConf(resolvConf);
  }

  /** The nameserver for resolv.conf: the embedded DNS on the gateway of a user-defined network, else undefined. */
  serverFor(net: StoredNetwork): string | undefined {
    return this.servers.has(net.id) ? net.ipam.gateway : undefined;
  }

  /** A container's resolv.conf on `net`, as Docker writes it (embedded DNS or the host's resolvers). */
  resolvConf(net: StoredNetwork, o: ContainerDnsOptions): string {
    return containerResolvConf(this.hostResolv.get(), this.serverFor(net), o);
  }

  /** Starts the network's server if it gets one; a server that cannot listen is logged, not fatal. */
  async start(net: StoredNetwork): Promise<void> {
    if (net.predefined || !this.state.driver(net).firewall(net) || this.servers.has(net.id)) return;
    const server = new DnsServer({
      address: net.ipam.gateway,
      lookup: (q, from) => lookupName(this.nameView(), net.id, q, from),
      upstreams: (from) => (mayForward(this.nameView(), net.id, from) ? this.upstreams() : []),
      log: this.log,
    });
    try {
      await server.start();
      this.servers.set(net.id, server);
    } catch (err) {
      this.log('error', `embedded DNS for network ${net.name} cannot listen on ${net.ipam.gateway}:53 (${(err as Error).message}): its containers get the host's resolvers and no container names`);
    }
  }

  async stop(net: StoredNetwork): Promise<void> {
    const s = this.servers.get(net.id);
    this.servers.delete(net.id);
    await s?.close();
  }

  /** The host's resolvers, minus any of berth's own gateways (which would loop). */
  private upstreams(): string[] {
    const ours = new Set(this.state.networks.map((n) => n.ipam.gateway));
    return this.hostResolv.get().nameservers.filter((s) => !ours.has(s));
  }

  /** What the name lookups see of the state. */
  private nameView(): NameView {
    return {
      networks: this.state.networks,
      served: (n) => this.servers.has(n.id),
      external: (n) => !n.internal && !!this.state.driver(n).firewall(n),
    };
  }
}
