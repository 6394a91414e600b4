// The network manager: Docker's networks (bridge, host, none and user-defined bridge networks),
// their endpoints, published ports and embedded DNS, over a persisted state that the kernel is
// reconciled with at every start. Every change is serialized, written to the state file before
// the kernel is changed when it adds something (so a crash leaves nothing the state does not
// know) and after it when it removes something (so a crash leaves something init() removes).
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { BerthError, exists, invalid, notFound, precondition } from '../common/errors.js';
import { BridgeDriver, checkIfName, hostBindingIp, OPT } from './drivers/bridge.js';
import { HostDriver } from './drivers/host.js';
import { NullDriver } from './drivers/null.js';
import { dnsNames, lookupName, mayForward, type NameView } from './dns/names.js';
import { containerResolvConf, HostResolvConf, type ContainerDnsOptions } from './dns/resolvconf.js';
import { DnsServer } from './dns/server.js';
import { hostRoutes, setSysctl } from './exec.js';
import { allocate, defaultPool, pickSubnet, prefixLength, releaseOwner, resolveIpam } from './ipam.js';
import { enclosingPrefix, formatIp, formatPrefix, isMac, macForIp, overlaps, parseIp, parsePrefix, PRIVATE_RANGES, type Prefix } from './ipv4.js';
import { applyRuleset, checkTableName, foreignForwardDrops, removeTables, type FirewallModel } from './nftables.js';
import { chooseBindings, normalizeRequests } from './ports.js';
import { loadState, removeState, saveState } from './store.js';
import type {
  ConnectRequest, CreateNetworkRequest, EndpointInfo, Logger, NetworkDriver, NetworkRecord, PortBinding, PortRequest, State, StoredEndpoint, StoredNetwork,
} from './types.js';

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

const PREFERRED_DEFAULT_SUBNET = '172.30.0.0/16';
const ID_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;
const hex = (bytes: number): string => randomBytes(bytes).toString('hex');

export class NetworkManager {
  private readonly log: Logger;
  private readonly table: string;
  private readonly defaultBridge: string;
  private readonly drivers: Map<string, NetworkDriver>;
  private readonly hostResolv: HostResolvConf;
  private readonly dns = new Map<string, DnsServer>();
  private state: State;
  private queue: Promise<unknown> = Promise.resolve();
  private initialized = false;
  private portCursor: Record<string, number> = {};

  constructor(private readonly o: NetworkManagerOptions) {
    this.log = o.log ?? (() => {});
    this.table = o.nftTable ?? 'berth';
    checkTableName(this.table);
    this.defaultBridge = o.defaultBridge ?? 'berth0';
    checkIfName(this.defaultBridge, 'default bridge');
    if (o.defaultSubnet !== undefined && !parsePrefix(o.defaultSubnet)) throw invalid(`default subnet ${o.defaultSubnet}: not a network address in CIDR form (like 172.30.0.0/16)`);
    this.hostResolv = new HostResolvConf(o.resolvConf);
    const bridge = new BridgeDriver(this.log);
    this.drivers = new Map<string, NetworkDriver>([['bridge', bridge], ['host', new HostDriver()], ['null', new NullDriver()]]);
    this.state = loadState(o.stateDir);
  }

  // ---- start-up ------------------------------------------------------------------------------

  /**
   * Creates the predefined networks if missing and reconciles the kernel with the state: bridges
   * and addresses made again, endpoints of containers not in `liveEndpoints` released (veth,
   * address, DNS names, ports), live endpoints whose veth is gone plugged in again, the nftables
   * tables rebuilt, embedded DNS servers started.
   */
  init(liveEndpoints: Array<{ containerId: string; network: string }>): Promise<void> {
    return this.serial(async () => {
      this.state = loadState(this.o.stateDir);
      await this.releaseDead(liveEndpoints);
      await this.ensurePredefined(liveEndpoints);
      this.save();
      for (const net of this.state.networks) await this.driver(net).ensure(net);
      for (const net of this.state.networks) {
        for (const ep of Object.values(net.endpoints)) await this.repairEndpoint(net, ep);
      }
      await this.kernelSwitches();
      await this.applyFirewall();
      for (const net of this.state.networks) await this.startDns(net);
      this.initialized = true;
      const drops = await foreignForwardDrops(this.table);
      if (drops.length) {
        const bridges = this.state.networks.flatMap((n) => n.bridge ?? []).join(', ');
        this.log('warn', `forwarded traffic is dropped by base chains berth does not own (${drops.join('; ')}, policy drop): containers cannot reach the outside, ` +
          `published ports cannot be reached from other hosts, and with br_netfilter containers cannot even reach each other. nftables cannot override another ` +
          `table's drop and berth never edits other tables: accept berth's bridges (${bridges}) there, e.g. iptables -I DOCKER-USER -i BRIDGE -j ACCEPT and ` +
          `iptables -I DOCKER-USER -o BRIDGE -j ACCEPT, or set that chain's policy to accept`);
      }
    });
  }

  private async ensurePredefined(live: Array<{ containerId: string; network: string }>): Promise<void> {
    const byName = (n: string) => this.state.networks.find((x) => x.name === n && x.predefined);
    for (const [name, driver] of [['host', 'host'], ['none', 'null']] as const) {
      if (!byName(name)) this.state.networks.push(this.newRecord(name, driver, true, { subnet: '', gateway: '', allocated: {} }, {}));
    }
    const current = byName('bridge');
    if (current) {
      const wantSubnet = this.o.defaultSubnet;
      const changed = current.bridge !== this.defaultBridge || (wantSubnet !== undefined && wantSubnet !== current.ipam.subnet);
      if (!changed) return;
      if (live.some((l) => l.network === 'bridge' || l.network === current.id)) {
        this.log('warn', `the default bridge network keeps ${current.bridge} ${current.ipam.subnet}: containers still use it (restart them to move to ${this.defaultBridge} ${wantSubnet ?? ''})`);
        return;
      }
      await this.driver(current).destroy(current);
      this.state.networks = this.state.networks.filter((n) => n !== current);
    }
    const others = this.state.networks.filter((n) => n.driver === 'bridge' && n.name !== 'bridge').map((n) => parsePrefix(n.ipam.subnet)!);
    const subnet = await this.defaultSubnet(others);
    const net = this.newRecord('bridge', 'bridge', true, { subnet, gateway: formatIp(parsePrefix(subnet)!.base + 1), allocated: {} }, {
      [OPT.defaultBridge]: 'true', [OPT.icc]: 'true', [OPT.masquerade]: 'true', [OPT.hostBinding]: '0.0.0.0', [OPT.name]: this.defaultBridge, [OPT.mtu]: '1500',
    });
    net.ipamOptions = null;
    net.bridge = this.defaultBridge;
    this.state.networks.unshift(net);
  }

  /** The default bridge's subnet: the configured one, else 172.30.0.0/16 unless a host route or network overlaps it. */
  private async defaultSubnet(others: Prefix[]): Promise<string> {
    const routes = (await hostRoutes()).filter((r) => r.dev !== this.defaultBridge);
    const taken = [...routes.flatMap((r) => enclosingPrefix(r.dst) ?? []), ...others];
    if (this.o.defaultSubnet) {
      const p = parsePrefix(this.o.defaultSubnet)!;
      if (taken.some((t) => overlaps(t, p))) this.log('warn', `default subnet ${this.o.defaultSubnet} overlaps a host route or network`);
      return formatPrefix(p);
    }
    const candidates = [PREFERRED_DEFAULT_SUBNET, ...defaultPool(), ...privateSlash16s()];
    const picked = pickSubnet(candidates, taken);
    if (!picked) throw new BerthError('UNAVAILABLE', 'no free private subnet for the default bridge network: set defaultSubnet');
    if (picked !== PREFERRED_DEFAULT_SUBNET) this.log('info', `${PREFERRED_DEFAULT_SUBNET} overlaps a host route: the default bridge network uses ${picked}`);
    return picked;
  }

  /** Releases endpoints, addresses and ports of containers that are not running any more. */
  private async releaseDead(live: Array<{ containerId: string; network: string }>): Promise<void> {
    for (const net of this.state.networks) {
      const keep = new Set(live.filter((l) => l.network === net.name || l.network === net.id).map((l) => l.containerId));
      for (const ep of Object.values(net.endpoints)) {
        if (keep.has(ep.containerId)) continue;
        this.log('info', `releasing endpoint of ${ep.containerName} on ${net.name} (${ep.ip || 'no address'}): the container is gone`);
        await this.driver(net).leave(net, ep).catch((err: Error) => this.log('warn', err.message));
        delete net.endpoints[ep.containerId];
      }
      // Addresses whose owner has no endpoint here (none should exist: they are written together).
      for (const [ip, owner] of Object.entries(net.ipam.allocated)) {
        if (!net.endpoints[owner]) delete net.ipam.allocated[ip];
      }
    }
    for (const [cid, p] of Object.entries(this.state.ports)) {
      const net = this.state.networks.find((n) => n.id === p.network);
      if (!net?.endpoints[cid]) delete this.state.ports[cid];
    }
  }

  /** A live endpoint whose veth is gone (a crash while connecting, a lost link) is plugged in again. */
  private async repairEndpoint(net: StoredNetwork, ep: StoredEndpoint): Promise<void> {
    const d = this.driver(net);
    if (await d.present(net, ep)) return;
    if (!existsSync(ep.netnsPath)) {
      this.log('warn', `endpoint of ${ep.containerName} on ${net.name}: no veth and no namespace ${ep.netnsPath}; disconnect it`);
      return;
    }
    this.log('warn', `endpoint of ${ep.containerName} on ${net.name} had no veth: plugging it in again`);
    await d.join(net, ep).catch((err: Error) => this.log('error', err.message));
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
      const net = this.newRecord(req.Name, driverName, false, ipam, { ...(req.Options ?? {}) });
      net.internal = !!req.Internal;
      net.attachable = !!req.Attachable;
      net.labels = { ...(req.Labels ?? {}) };
      net.ipamOptions = { ...(req.IPAM?.Options ?? {}) };
      await driver.prepare(net, this.state.networks);
      this.state.networks.push(net);
      this.save();
      try {
        await driver.ensure(net);
        await this.kernelSwitches();
        await this.applyFirewall();
        await this.startDns(net);
      } catch (err) {
        await this.stopDns(net);
        await driver.destroy(net).catch(() => {});
        this.state.networks = this.state.networks.filter((n) => n !== net);
        this.save();
        await this.applyFirewall().catch(() => {});
        throw err;
      }
      this.log('info', `network ${net.name} created: ${net.bridge ?? driverName} ${net.ipam.subnet}${net.internal ? ' (internal)' : ''}`);
      return this.record(net);
    });
  }

  remove(ref: string): Promise<void> {
    return this.serial(async () => {
      this.requireInit();
      const net = this.find(ref);
      if (net.predefined) throw precondition(`${net.name} is a pre-defined network and cannot be removed`);
      if (Object.keys(net.endpoints).length) throw precondition(`error while removing network: network ${net.name} id ${net.id} has active endpoints`);
      await this.stopDns(net);
      const others = this.state.networks.filter((n) => n !== net);
      try {
        await this.applyFirewall(others);
        await this.driver(net).destroy(net);
      } catch (err) {
        await this.applyFirewall().catch(() => {});
        await this.startDns(net);
        throw err;
      }
      this.state.networks = others;
      this.save();
      this.log('info', `network ${net.name} removed`);
    });
  }

  /** By full ID, name, or unique ID prefix (Docker's order); NotFound "network X not found". */
  get(ref: string): NetworkRecord {
    return this.record(this.find(ref));
  }

  list(): NetworkRecord[] {
    return this.state.networks.map((n) => this.record(n));
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
      const net = this.find(ref);
      const cid = req.containerId;
      if (typeof cid !== 'string' || !ID_RE.test(cid)) throw invalid(`invalid container ID ${JSON.stringify(cid)}`);
      const name = String(req.containerName ?? '').replace(/^\//, '');
      if (!name) throw invalid('a container name is required');
      if (net.endpoints[cid]) throw exists(`endpoint with name ${name} already exists in network ${net.name}`);
      const mine = this.endpointsOf(cid);
      const driver = this.driver(net);
      if (net.driver === 'host' || mine.some(([n]) => n.driver === 'host')) {
        if (mine.length) throw invalid('container sharing network namespace with another container or host cannot be connected to any other network');
      }
      if (net.driver === 'null' || mine.some(([n]) => n.driver === 'null')) {
        if (mine.length) throw invalid('container cannot be connected to multiple networks with one of the networks in private (none) mode');
      }
      const aliases = [...new Set((req.aliases ?? []).map(String).filter(Boolean))];
      if (net.predefined && req.ipv4Address) throw invalid('invalid endpoint settings:\nuser-specified IP address is supported on user-defined networks only');
      if (net.predefined && aliases.length) throw invalid('invalid endpoint settings:\nnetwork-scoped aliases are only supported for user-defined networks');
      if (req.macAddress && !isMac(req.macAddress)) throw invalid(`invalid MAC address: ${req.macAddress}`);
      const ep: StoredEndpoint = {
        containerId: cid, containerName: name, endpointId: hex(32), netnsPath: req.netnsPath ?? '', aliases,
        ip: '', mac: '', ifName: '', hostVeth: '', defaultRoute: false,
      };
      let lastBefore: string | undefined;
      if (driver.addressed) {
        if (typeof req.netnsPath !== 'string' || !req.netnsPath.startsWith('/') || /[\s"'\\]/.test(req.netnsPath)) {
          throw invalid(`invalid network namespace path ${JSON.stringify(req.netnsPath)}: an absolute path without white space or quotes`);
        }
        if (!existsSync(req.netnsPath)) throw notFound(`network namespace ${req.netnsPath} not found`);
        lastBefore = net.ipam.last;
        ep.ip = allocate(net.ipam, cid, net.name, req.ipv4Address);
        ep.mac = (req.macAddress ?? macForIp(parseIp(ep.ip)!)).toLowerCase();
        ep.ifName = this.nextIfName(mine.map(([, e]) => e.ifName));
        ep.hostVeth = `veth${hex(4).slice(0, 7)}`;
        ep.defaultRoute = !net.internal && !mine.some(([, e]) => e.defaultRoute);
      }
      net.endpoints[cid] = ep;
      this.save();
      return { net, ep, lastBefore };
    });
    const t0 = process.hrtime.bigint();
    try {
      await this.driver(net).join(net, ep);
    } catch (err) {
      await this.serial(async () => {
        releaseOwner(net.ipam, ep.containerId);
        // The allocation cursor goes back only if no other endpoint has moved it since.
        if (net.ipam.last === ep.ip) {
          if (lastBefore === undefined) delete net.ipam.last;
          else net.ipam.last = lastBefore;
        }
        delete net.endpoints[ep.containerId];
        this.save();
      });
      throw err;
    }
    this.log('debug', `connected ${ep.containerName} to ${net.name} as ${ep.ip || net.driver} in ${(Number(process.hrtime.bigint() - t0) / 1e6).toFixed(1)} ms`);
    return this.endpointInfo(net, ep);
  }

  /** Disconnects a container: the links go outside the queue (as in connect), the records in it. */
  async disconnect(ref: string, containerId: string, netnsPath?: string): Promise<void> {
    const { net, ep } = await this.serial(async () => {
      this.requireInit();
      const net = this.find(ref);
      const ep = net.endpoints[containerId];
      if (!ep) throw precondition(`container ${containerId} is not connected to network ${net.name}`);
      if (netnsPath && !ep.netnsPath) ep.netnsPath = netnsPath;
      return { net, ep };
    });
    await this.driver(net).leave(net, ep);
    return this.serial(async () => {
      if (net.endpoints[containerId] !== ep) return; // removed meanwhile (destroyAll)
      releaseOwner(net.ipam, containerId);
      delete net.endpoints[containerId];
      const ports = this.state.ports[containerId];
      const portsGone = ports?.network === net.id;
      if (portsGone) delete this.state.ports[containerId];
      if (ep.defaultRoute) await this.moveDefaultRoute(containerId);
      this.save();
      if (portsGone) await this.applyFirewall();
    });
  }

  /** The endpoint's info as connect returned it (for inspect after a restart). */
  endpoint(ref: string, containerId: string): EndpointInfo | undefined {
    const net = this.find(ref);
    const ep = net.endpoints[containerId];
    return ep && this.endpointInfo(net, ep);
  }

  // ---- ports ---------------------------------------------------------------------------------

  /**
   * Publishes ports of a connected container with DNAT to its address on the network holding its
   * default route. A port another container holds, or a host process has bound, is refused
   * ("Bind for 0.0.0.0:8080 failed: port is already allocated"). A container with no such network
   * (host, none, internal networks only) publishes nothing, as in Docker.
   */
  publish(containerId: string, ports: PortRequest[]): Promise<PortBinding[]> {
    return this.serial(async () => {
      this.requireInit();
      const mine = this.endpointsOf(containerId);
      if (mine.length === 0) throw precondition(`container ${containerId} is not connected to any network: connect it before publishing ports`);
      const existing = this.state.ports[containerId];
      const target = existing
        ? mine.find(([n]) => n.id === existing.network)
        : mine.find(([n, e]) => e.defaultRoute && this.driver(n).firewall(n)) ?? mine.find(([n]) => !n.internal && this.driver(n).firewall(n));
      if (!target) {
        this.log('info', `container ${containerId}: no network that can publish ports (host, none or internal only); ports are not published`);
        return [];
      }
      const [net, ep] = target;
      const wanted = normalizeRequests(ports, hostBindingIp(net));
      const taken = Object.values(this.state.ports).flatMap((p) => p.bindings);
      const mineBefore = existing?.bindings ?? [];
      const { result, added } = await chooseBindings(wanted, taken, mineBefore, this.portCursor);
      if (added.length === 0) return result;
      const before = existing ? clone(existing) : undefined;
      this.state.ports[containerId] = { network: net.id, containerIp: ep.ip, bindings: [...mineBefore, ...added] };
      this.save();
      try {
        await this.applyFirewall();
      } catch (err) {
        if (before) this.state.ports[containerId] = before;
        else delete this.state.ports[containerId];
        this.save();
        await this.applyFirewall().catch(() => {});
        throw err;
      }
      return result;
    });
  }

  unpublish(containerId: string): Promise<void> {
    return this.serial(async () => {
      this.requireInit();
      if (!this.state.ports[containerId]) return;
      delete this.state.ports[containerId];
      this.save();
      await this.applyFirewall();
    });
  }

  /** The container's published ports (e.g. for inspect after a daemon restart). */
  publishedPorts(containerId: string): PortBinding[] {
    return clone(this.state.ports[containerId]?.bindings ?? []);
  }

  // ---- DNS -----------------------------------------------------------------------------------

  /** The nameserver for resolv.conf: the embedded DNS on the gateway of a user-defined network, else undefined. */
  dnsServerFor(ref: string): string | undefined {
    const net = this.find(ref);
    return this.dns.has(net.id) ? net.ipam.gateway : undefined;
  }

  /** A container's resolv.conf on network `ref`, as Docker writes it (embedded DNS or the host's resolvers). */
  resolvConfFor(ref: string, o: ContainerDnsOptions = {}): string {
    return containerResolvConf(this.hostResolv.get(), this.dnsServerFor(ref), o);
  }

  private async startDns(net: StoredNetwork): Promise<void> {
    if (net.predefined || !this.driver(net).firewall(net) || this.dns.has(net.id)) return;
    const server = new DnsServer({
      address: net.ipam.gateway,
      lookup: (q, from) => lookupName(this.nameView(), net.id, q, from),
      upstreams: (from) => (mayForward(this.nameView(), net.id, from) ? this.upstreams() : []),
      log: this.log,
    });
    try {
      await server.start();
      this.dns.set(net.id, server);
    } catch (err) {
      this.log('error', `embedded DNS for network ${net.name} cannot listen on ${net.ipam.gateway}:53 (${(err as Error).message}): its containers get the host's resolvers and no container names`);
    }
  }

  private async stopDns(net: StoredNetwork): Promise<void> {
    const s = this.dns.get(net.id);
    this.dns.delete(net.id);
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
      served: (n) => this.dns.has(n.id),
      external: (n) => !n.internal && !!this.driver(n).firewall(n),
    };
  }

  // ---- shutdown ------------------------------------------------------------------------------

  /** Stops the DNS servers; links, rules and state stay (containers keep running). */
  close(): Promise<void> {
    return this.serial(async () => {
      for (const net of this.state.networks) await this.stopDns(net);
      this.initialized = false;
    });
  }

  /** Removes everything berth made: veths, bridges, the nftables tables and the state (tests). */
  destroyAll(): Promise<void> {
    return this.serial(async () => {
      for (const net of this.state.networks) {
        await this.stopDns(net);
        for (const ep of Object.values(net.endpoints)) await this.driver(net).leave(net, ep).catch((err: Error) => this.log('warn', err.message));
        await this.driver(net).destroy(net).catch((err: Error) => this.log('warn', err.message));
      }
      await removeTables(this.table);
      removeState(this.o.stateDir);
      this.state = loadState(this.o.stateDir);
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

  private save(): void {
    saveState(this.o.stateDir, this.state);
  }

  private driver(net: StoredNetwork): NetworkDriver {
    const d = this.drivers.get(net.driver);
    if (!d) throw new BerthError('INTERNAL', `network ${net.name} has driver ${net.driver}, which berth does not have`);
    return d;
  }

  private find(ref: string): StoredNetwork {
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

  private endpointsOf(cid: string): Array<[StoredNetwork, StoredEndpoint]> {
    const out: Array<[StoredNetwork, StoredEndpoint]> = [];
    for (const n of this.state.networks) {
      const e = n.endpoints[cid];
      if (e) out.push([n, e]);
    }
    return out;
  }

  private nextIfName(used: string[]): string {
    for (let i = 0; ; i++) if (!used.includes(`eth${i}`)) return `eth${i}`;
  }

  /** After the default route's endpoint leaves, another external network of the container takes it. */
  private async moveDefaultRoute(cid: string): Promise<void> {
    const next = this.endpointsOf(cid).find(([n, e]) => !n.internal && e.ip && this.driver(n).firewall(n));
    if (!next) return;
    const [net, ep] = next;
    ep.defaultRoute = true;
    await this.driver(net).setDefaultRoute(net, ep).catch((err: Error) => this.log('warn', err.message));
  }

  /** IPv4 forwarding, needed as soon as a bridge exists (never turned off again, as in Docker). */
  private async kernelSwitches(): Promise<void> {
    if (!this.state.networks.some((n) => this.driver(n).firewall(n))) return;
    if (await setSysctl('net/ipv4/ip_forward', '1')) this.log('info', 'enabled IPv4 forwarding (net.ipv4.ip_forward=1)');
  }

  private firewallModel(networks = this.state.networks): FirewallModel {
    const bridges = networks.flatMap((n) => this.driver(n).firewall(n) ?? []);
    const dnat = Object.entries(this.state.ports).flatMap(([, p]) => {
      if (!networks.some((n) => n.id === p.network)) return [];
      return p.bindings.map((b) => ({ proto: b.proto, hostIp: b.hostIp, hostPort: b.hostPort, containerIp: p.containerIp, containerPort: b.containerPort }));
    });
    return { table: this.table, bridges, dnat };
  }

  private applyFirewall(networks?: StoredNetwork[]): Promise<void> {
    return applyRuleset(this.firewallModel(networks));
  }

  private newRecord(name: string, driver: string, predefined: boolean, ipam: StoredNetwork['ipam'], options: Record<string, string>): StoredNetwork {
    return {
      id: hex(32), name, created: new Date().toISOString(), driver, internal: false, attachable: false, enableIPv6: false,
      labels: {}, options, ipamOptions: predefined ? null : {}, predefined, ipam, endpoints: {},
    };
  }

  private record(net: StoredNetwork): NetworkRecord {
    const len = net.ipam.subnet ? prefixLength(net.ipam) : 0;
    const containers: NetworkRecord['Containers'] = {};
    for (const ep of Object.values(net.endpoints)) {
      containers[ep.containerId] = { Name: ep.containerName, EndpointID: ep.endpointId, MacAddress: ep.mac, IPv4Address: ep.ip ? `${ep.ip}/${len}` : '', IPv6Address: '' };
    }
    const config = net.ipam.subnet ? [{ Subnet: net.ipam.subnet, Gateway: net.ipam.gateway, ...(net.ipam.ipRange ? { IPRange: net.ipam.ipRange } : {}) }] : [];
    return {
      Name: net.name, Id: net.id, Created: net.created, Scope: 'local', Driver: net.driver, EnableIPv6: net.enableIPv6,
      IPAM: { Driver: 'default', Options: clone(net.ipamOptions), Config: config },
      Internal: net.internal, Attachable: net.attachable, Ingress: false, ConfigFrom: { Network: '' }, ConfigOnly: false,
      Containers: containers, Options: { ...net.options }, Labels: { ...net.labels },
    };
  }

  private endpointInfo(net: StoredNetwork, ep: StoredEndpoint): EndpointInfo {
    const addressed = !!ep.ip;
    return {
      NetworkID: net.id, EndpointID: ep.endpointId, Gateway: addressed ? net.ipam.gateway : '', IPAddress: ep.ip,
      IPPrefixLen: addressed ? prefixLength(net.ipam) : 0, MacAddress: ep.mac, Aliases: [...ep.aliases],
      DNSNames: net.predefined ? [] : dnsNames(ep),
    };
  }
}

function checkStringMap(what: string, m: unknown): void {
  if (m === undefined || m === null) return;
  if (typeof m !== 'object' || Array.isArray(m) || Object.values(m).some((v) => typeof v !== 'string')) throw invalid(`${what} must map strings to strings`);
}

/** 10.x.0.0/16 candidates, after the Docker pools, for a default bridge on a crowded host. */
function privateSlash16s(): string[] {
  const out: string[] = [];
  const ten = PRIVATE_RANGES[0]!;
  for (let i = 0; i < 256; i++) out.push(formatPrefix({ base: ten.base + i * 65536, bits: 16 }));
  return out;
}
