// berth's firewall as the network state says it should be: the rules of each bridge network and a
// DNAT per published port (nftables.ts renders and loads them), and IPv4 forwarding. Called in
// the manager's queue, after the state is changed.
import { setSysctl } from './exec.js';
import { applyRuleset, type FirewallModel } from './nftables.js';
import { familyOf } from './ports.js';
import type { NetworkState } from './state.js';
import type { Logger, StoredNetwork } from './types.js';

export class Firewall {
  constructor(private readonly table: string, private readonly state: NetworkState, private readonly log: Logger) {}

  /** Loads the whole ruleset for `networks` (default: all of them; remove() leaves one out first). */
  apply(networks?: StoredNetwork[]): Promise<void> {
    return applyRuleset(this.model(networks));
  }

  /** IPv4 forwarding, needed as soon as a bridge exists (never turned off again, as in Docker). */
  async enableForwarding(): Promise<void> {
    if (!this.state.networks.some((n) => this.state.driver(n).firewall(n))) return;
    if (await setSysctl('net/ipv4/ip_forward', '1')) this.log('info', 'enabled IPv4 forwarding (net.ipv4.ip_forward=1)');
  }

  private model(networks = this.state.networks): FirewallModel {
    const bridges = networks.flatMap((n) => this.state.driver(n).firewall(n) ?? []);
    const dnat = Object.entries(this.state.ports).flatMap(([, p]) => {
      if (!networks.some((n) => n.id === p.network)) return [];
      // IPv6 bindings are not the kernel's: berthd's proxies forward them (port-proxies.ts).
      return p.bindings.filter((b) => familyOf(b.hostIp) === 4).map((b) => ({ proto: b.proto, hostIp: b.hostIp, hostPort: b.hostPort, containerIp: p.containerIp, containerPort: b.containerPort }));
    });
    return { table: this.table, bridges, dnat };
  }
}
