// Published ports on IPv6. nftables can only DNAT IPv6 to IPv6 and containers have IPv4 only, so
// the [::] twin of a 0.0.0.0 binding (and a binding on an explicit IPv6 address) is forwarded in
// user space, as Docker's docker-proxy does: a v6-only socket per binding, so it never competes
// with the IPv4 DNAT of the same port, forwarding to the container's IPv4 address and port.
//
// The sockets live in berthd, not in a process per port (docker-proxy's way, megabytes each) nor
// in the shims (C, and a shim serves a task, not a network): they are derived from the persisted
// ports like the DNAT rules, so init() after a restart opens them again. The price: while berthd
// is down, IPv6 clients are refused and connections proxied at that moment are cut, where IPv4
// keeps working through the kernel. Runs in the manager's queue, like the firewall.
import { openTcpProxy } from './proxy/tcp.js';
import type { PortProxy } from './proxy/types.js';
import { openUdpProxy, UDP_IDLE_MS } from './proxy/udp.js';
import type { Logger, Proto } from './types.js';

/** One IPv6 binding to forward. */
export interface ProxiedPort {
  proto: Proto;
  hostIp: string;
  hostPort: number;
  containerIp: string;
  containerPort: number;
}

export interface ProxyFailure {
  port: ProxiedPort;
  error: NodeJS.ErrnoException;
}

const listenKey = (p: ProxiedPort): string => `[${p.hostIp}]:${p.hostPort}/${p.proto}`;
const targetOf = (p: ProxiedPort): string => `${p.containerIp}:${p.containerPort}`;

export class PortProxies {
  private readonly open = new Map<string, { target: string; proxy: PortProxy }>();

  constructor(private readonly log: Logger, private readonly udpIdleMs = UDP_IDLE_MS) {}

  /**
   * Makes the open listeners exactly `wanted`: closes the others (cutting their connections),
   * opens the missing ones. Returns those that could not be opened (e.g. the port was taken since
   * it was probed); the rest are open.
   */
  async sync(wanted: ProxiedPort[]): Promise<ProxyFailure[]> {
    const want = new Map(wanted.map((p) => [listenKey(p), p]));
    for (const [key, { target, proxy }] of this.open) {
      const w = want.get(key);
      if (w && targetOf(w) === target) continue;
      this.open.delete(key);
      await proxy.close();
      this.log('debug', `stopped forwarding ${key}`);
    }
    const failed: ProxyFailure[] = [];
    for (const [key, p] of want) {
      if (this.open.has(key)) continue;
      const listen = { host: p.hostIp, port: p.hostPort };
      const target = { host: p.containerIp, port: p.containerPort };
      try {
        const proxy = p.proto === 'tcp' ? await openTcpProxy(listen, target, this.log) : await openUdpProxy(listen, target, this.log, this.udpIdleMs);
        this.open.set(key, { target: targetOf(p), proxy });
        this.log('debug', `forwarding ${key} to ${targetOf(p)}`);
      } catch (err) {
        failed.push({ port: p, error: err as NodeJS.ErrnoException });
      }
    }
    return failed;
  }

  /** Closes every listener (berthd stopping; containers keep their IPv4 ports meanwhile). */
  async close(): Promise<void> {
    await this.sync([]);
  }

  /** Open listeners and their connections or flows (tests, leak checks). */
  listening(): Array<{ port: string; target: string; active: number }> {
    return [...this.open].map(([port, { target, proxy }]) => ({ port, target, active: proxy.active() }));
  }
}
