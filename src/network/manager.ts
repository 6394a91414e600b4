// The network manager: Docker's networks (bridge, host, none and user-defined bridge networks),
// their endpoints, published ports and embedded DNS, over a persisted state that the kernel is
// reconciled with at every start. Every change is serialized, written to the state file before
// the kernel is changed when it adds something (so a crash leaves nothing the state does not
// know) and after it when it removes something (so a crash leaves something init() removes).
// The pieces live beside it: state.ts, reconcile.ts (init), endpoints.ts, published-ports.ts,
// firewall.ts, port-proxies.ts (IPv6 bindings), embedded-dns.ts, records.ts (API shapes); this
// file is the queue and the API.
import { BerthError, exists, invalid, notFound, precondition } from '../common/errors.js';
import { BridgeDriver, checkIfName } from './drivers/bridge.js';
import { HostDriver } from './drivers/host.js';
import { NullDriver } from './drivers/null.js';
import type { ContainerDnsOptions } from './dns/resolvconf.js';
import { EmbeddedDns } from './embedded-dns.js';
import { moveDefaultRoute, newEndpoint, undoAllocation } from './endpoints.js';
import { hostRoutes } from './exec.js';
import { Firewall } from './firewall.js';
import { defaultPool, pickSubnet, releaseOwner, resolveIpam } from './ipam.js';
import { enclosingPrefix, parsePrefix } from './ipv4.js';
import { checkTableName, removeTables } from './nftables.js';
import { PortProxies } from './port-proxies.js';
import { PublishedPorts } from './published-ports.js';
import { endpointInfo, networkRecord, newNetwork } from './records.js';
import { ensurePredefined, releaseDead, repairEndpoint, warnForeignDrops, type DefaultBridge, type LiveEndpoint } from './reconcile.js';
import { NetworkState } from './state.js';
import type { ConnectRequest, CreateNetworkRequest, EndpointInfo, Logger, NetworkDriver, NetworkRecord, PortBinding, PortRequest } from './types.js';

export type { ConnectRequest, CreateNetworkRequest, EndpointInfo, NetworkRecord, PortBinding, PortRequest } from './types.js';

export interface NetworkManagerOptions {
  /** Persisted state: networks, IPAM, endpoints, ports. */
  stateDir: string;
  /** Linux bridge of the default "bridge" network (default "berth0"). */
  defaultBridge?: string;
  /** Subnet of the default "bridge" network (default 172.30.0.0/16, or a free private one when that overlaps a host route). */
  defaultSubnet?: string;
  /** berth's nftables tables: `inet <name>` and `ip <name>` (default "berth"). */
  nftTable?: string;
  /** Candidate subnets for networks created without one (default Docker's 172.17-31.0.0/16, then 192.168.x.0/24). */
  poolForNewNetworks?: string[];
  /** The host's resolv.conf, whose nameservers the embedded DNS forwards to (default /etc/resolv.conf). */
  resolvConf?: string;
  log?: (level: 'debug' | 'info' | 'warn' | 'error', msg: string) => void;
}

export class NetworkManager {
  private readonly log: Logger;
  private readonly table: string;
  private readonly defaultBridge: DefaultBridge;
  private readonly drivers: Map<string, NetworkDriver>;
  private readonly state: NetworkState;
  private readonly firewall: Firewall;
  private readonly ports: PublishedPorts;
  private readonly dns: EmbeddedDns;
  private queue: Promise<unknown> = Promise.resolve();
  private initialized = false;

  constructor(private readonly o: NetworkManagerOptions) {
    this.log = o.log ?? (() => {});
    this.table = o.nftTable ?? 'berth';
    checkTableName(this.table);
    this.defaultBridge = { bridge: o.defaultBridge ?? 'berth0', subnet: o.defaultSubnet };
    checkIfName(this.defaultBridge.bridge, 'default bridge');
    if (o.defaultSubnet !== undefined && !parsePrefix(o.defaultSubnet)) throw invalid(`default subnet ${o.defaultSubnet}: not a network address in CIDR form (like 172.30.0.0/16)`);
    const bridge = new BridgeDriver(this.log);
    this.drivers = new Map<string, NetworkDriver>([['bridge', bridge], ['host', new HostDriver()], ['null', new NullDriver()]]);
    this.state = new NetworkState(o.stateDir, this.drivers);
    this.firewall = new Firewall(this.table, this.state, this.log);
    this.ports = new PublishedPorts(this.state, this.firewall, new PortProxies(this.log), this.log);
    this.dns = new EmbeddedDns(this.state, this.log, o.resolvConf);
  }

  // ---- start-up ------------------------------------------------------------------------------

  /**
   * Creates the predefined networks if missing and reconciles the kernel with the state: bridges
   * and addresses made again, endpoints of containers not in `liveEndpoints` released (veth,
   * address, DNS names, ports), live endpoints whose veth is gone plugged in again, the nftables
   * tables rebuilt, the IPv6 listeners of published ports and the embedded DNS servers started.
   */
  init(liveEndpoints: LiveEndpoint[]): Promise<void> {
    return this.serial(async () => {
      this.state.reload();
      await releaseDead(this.state, liveEndpoints, this.log);
      this.ports.forgetOrphans();
      await ensurePredefined(this.state, this.defaultBridge, liveEndpoints, this.log);
      this.state.save();
      for (const net of this.state.networks) await this.state.driver(net).ensure(net);
      for (const net of this.state.networks) {
        for (const ep of Object.values(net.endpoints)) await repairEndpoint(this.state, net, ep, this.log);
      }
      await this.firewall.enableForwarding();
      await this.firewall.apply();
      // A port taken meanwhile by a host process cannot fail the start: its IPv4 DNAT still works.
      for (const f of await this.ports.forwardIpv6()) {
        this.log('warn', `published port [${f.port.hostIp}]:${f.port.hostPort}/${f.port.proto} of ${f.port.containerIp}:${f.port.containerPort} is not forwarded: ${f.error.message}`);
      }
      for (const net of this.state.networks) await this.dns.start(net);
      this.initialized = true;
      await warnForeignDrops(this.table, this.state.networks, this.log);
    });
  }

  // ---- networks ------------------------------------------------------------------------------

  create(req: CreateNetworkRequest): Promise<NetworkRecord> {
    return this.serial(async () => {
      this.requireInit();
      if (typeof req.Name !== 'string' || !req.Name.trim()) throw invalid('network name is required');
      if (/[\s/]/.test(req.Name)) throw invalid(`invalid network name ${JSON.stringify(req.Name)}: no white space or '/'`);
      if (['bridge', 'host', 'none'].includes(req.Name)) throw precondition(`operation is not permitted on predefined ${req.Name} network`);
      if (this.state.networks.some((n) => n.name === req.Name)) throw exists(`network with name ${req.Name} already exists`);
      const driverName = req.Driver || 'bridge';
      const driver = this.drivers.get(driverName);
      if (!driver) {
        if (['overlay', 'macvlan', 'ipvlan'].includes(driverName)) throw new BerthError('NOT_IMPLEMENTED', `network driver ${driverName} is not supported by berth yet`);
        throw notFound(`could not find plugin ${driverName} in v1 plugin registry: plugin not found`);
      }
      if (!driver.userNetworks) throw precondition(`only one instance of "${driverName}" network is allowed`);
      if (req.IPAM?.Driver && req.IPAM.Driver !== 'default') throw notFound(`could not find plugin ${req.IPAM.Driver} in v1 plugin registry: plugin not found`);
      if (req.EnableIPv6) throw new BerthError('NOT_IMPLEMENTED', 'IPv6 networks are not supported yet (EnableIPv6)');
      checkStringMap('Labels', req.Labels);
      checkStringMap('Options', req.Options);
      const subnets = this.state.networks.filter((n) => n.ipam.subnet).map((n) => parsePrefix(n.ipam.subnet)!);
      const needAuto = !(req.IPAM?.Config ?? []).some((c) => c.Subnet);
      const routes = needAuto ? (await hostRoutes()).flatMap((r) => enclosingPrefix(r.dst) ?? []) : [];
      const ipam = resolveIpam(req.IPAM?.Config, subnets, () => {
        const s = pickSubnet(this.o.poolForNewNetworks ?? defaultPool(), [...subnets, ...routes]);
        if (!s) throw new BerthError('UNAVAILABLE', 'could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network');
        return s;
      });
      const net = newNetwork(req.Name, driverName, false, ipam, { ...(req.Options ?? {}) });
      net.internal = !!req.Internal;
      net.attachable = !!req.Attachable;
      net.labels = { ...(req.Labels ?? {}) };
      net.ipamOptions = { ...(req.IPAM?.Options ?? {}) };
      await driver.prepare(net, this.state.networks);
      this.state.networks.push(net);
      this.state.save();
      try {
        await driver.ensure(net);
        await this.firewall.enableForwarding();
        await this.firewall.apply();
        await this.dns.start(net);
      } catch (err) {
        await this.dns.stop(net);
        await driver.destroy(net).catch(() => {});
        this.state.networks = this.state.networks.filter((n) => n !== net);
        this.state.save();
        await this.firewall.apply().catch(() => {});
        throw err;
      }
      this.log('info', `network ${net.name} created: ${net.bridge ?? driverName} ${net.ipam.subnet}${net.internal ? ' (internal)' : ''}`);
      return networkRecord(net);
    });
  }

  remove(ref: string): Promise<void> {
    return this.serial(async () => {
      this.requireInit();
      const net = this.state.find(ref);
      if (net.predefined) throw precondition(`${net.name} is a pre-defined network and cannot be removed`);
      if (Object.keys(net.endpoints).length) throw precondition(`error while removing network: network ${net.name} id ${net.id} has active endpoints`);
      await this.dns.stop(net);
      const others = this.state.networks.filter((n) => n !== net);
      try {
        await this.firewall.apply(others);
        await this.state.driver(net).destroy(net);
      } catch (err) {
        await this.firewall.apply().catch(() => {});
        await this.dns.start(net);
        throw err;
      }
      this.state.networks = others;
      this.state.save();
      this.log('info', `network ${net.name} removed`);
    });
  }

  /** By full ID, name, or unique ID prefix (Docker's order); NotFound "network X not found". */
  get(ref: string): NetworkRecord {
    return networkRecord(this.state.find(ref));
  }

  list(): NetworkRecord[] {
    return this.state.networks.map((n) => networkRecord(n));
  }

  // ---- endpoints -----------------------------------------------------------------------------

  /**
   * Connects a container. The address is allocated and the endpoint recorded in the queue; the
   * kernel work (a veth pair, the address and routes inside the container's namespace, two runs
   * of ip(8)) runs outside it, so containers connect in parallel instead of one after another
   * (measured under load: a start waited seconds behind the others' links). The names it uses are
   * this endpoint's own, and the recorded endpoint keeps its network from being removed meanwhile.
   */
  async connect(ref: string, req: ConnectRequest): Promise<EndpointInfo> {
    const { net, ep, lastBefore } = await this.serial(async () => {
      this.requireInit();
      const net = this.state.find(ref);
      const { ep, lastBefore } = newEndpoint(this.state, net, req);
      net.endpoints[ep.containerId] = ep;
      this.state.save();
      return { net, ep, lastBefore };
    });
    const t0 = process.hrtime.bigint();
    try {
      await this.state.driver(net).join(net, ep);
    } catch (err) {
      await this.serial(async () => {
        undoAllocation(net, ep, lastBefore);
        delete net.endpoints[ep.containerId];
        this.state.save();
      });
      throw err;
    }
    this.log('debug', `connected ${ep.containerName} to ${net.name} as ${ep.ip || net.driver} in ${(Number(process.hrtime.bigint() - t0) / 1e6).toFixed(1)} ms`);
    return endpointInfo(net, ep);
  }

  /** Disconnects a container: the links go outside the queue (as in connect), the records in it. */
  async disconnect(ref: string, containerId: string, netnsPath?: string): Promise<void> {
    const { net, ep } = await this.serial(async () => {
      this.requireInit();
      const net = this.state.find(ref);
      const ep = net.endpoints[containerId];
      if (!ep) throw precondition(`container ${containerId} is not connected to network ${net.name}`);
      if (netnsPath && !ep.netnsPath) ep.netnsPath = netnsPath;
      return { net, ep };
    });
    await this.state.driver(net).leave(net, ep);
    return this.serial(async () => {
      if (net.endpoints[containerId] !== ep) return; // removed meanwhile (destroyAll)
      releaseOwner(net.ipam, containerId);
      delete net.endpoints[containerId];
      const portsGone = this.ports.forgetThrough(containerId, net);
      if (ep.defaultRoute) await moveDefaultRoute(this.state, containerId, this.log);
      this.state.save();
      if (portsGone) {
        await this.firewall.apply();
        await this.ports.forwardIpv6();
      }
    });
  }

  /** The endpoint's info as connect returned it (for inspect after a restart). */
  endpoint(ref: string, containerId: string): EndpointInfo | undefined {
    const net = this.state.find(ref);
    const ep = net.endpoints[containerId];
    return ep && endpointInfo(net, ep);
  }

  // ---- ports ---------------------------------------------------------------------------------

  /** Publishes ports of a connected container (published-ports.ts says where and how). */
  publish(containerId: string, ports: PortRequest[]): Promise<PortBinding[]> {
    return this.serial(async () => {
      this.requireInit();
      return this.ports.publish(containerId, ports);
    });
  }

  unpublish(containerId: string): Promise<void> {
    return this.serial(async () => {
      this.requireInit();
      await this.ports.unpublish(containerId);
    });
  }

  /** The container's published ports (e.g. for inspect after a daemon restart). */
  publishedPorts(containerId: string): PortBinding[] {
    return this.ports.bindings(containerId);
  }

  // ---- DNS -----------------------------------------------------------------------------------

  /** The nameserver for resolv.conf: the embedded DNS on the gateway of a user-defined network, else undefined. */
  dnsServerFor(ref: string): string | undefined {
    return this.dns.serverFor(this.state.find(ref));
  }

  /** A container's resolv.conf on network `ref`, as Docker writes it (embedded DNS or the host's resolvers). */
  resolvConfFor(ref: string, o: ContainerDnsOptions = {}): string {
    return this.dns.resolvConf(this.state.find(ref), o);
  }

  // ---- shutdown ------------------------------------------------------------------------------

  /** Stops the DNS servers and IPv6 port listeners; links, rules and state stay (containers keep running). */
  close(): Promise<void> {
    return this.serial(async () => {
      await this.ports.stopForwardingIpv6();
      for (const net of this.state.networks) await this.dns.stop(net);
      this.initialized = false;
    });
  }

  /** Removes everything berth made: veths, bridges, the nftables tables and the state (tests). */
  destroyAll(): Promise<void> {
    return this.serial(async () => {
      await this.ports.stopForwardingIpv6();
      for (const net of this.state.networks) {
        await this.dns.stop(net);
        for (const ep of Object.values(net.endpoints)) await this.state.driver(net).leave(net, ep).catch((err: Error) => this.log('warn', err.message));
        await this.state.driver(net).destroy(net).catch((err: Error) => this.log('warn', err.message));
      }
      await removeTables(this.table);
      this.state.erase();
      this.initialized = false;
    });
  }

  // ---- internals -----------------------------------------------------------------------------

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => {});
    return run;
  }

  private requireInit(): void {
    if (!this.initialized) throw new BerthError('FAILED_PRECONDITION', 'the network manager is not initialized: call init() first');
  }
}

function checkStringMap(what: string, m: unknown): void {
  if (m === undefined || m === null) return;
  if (typeof m !== 'object' || Array.isArray(m) || Object.values(m).some((v) => typeof v !== 'string')) throw invalid(`${what} must map strings to strings`);
}
