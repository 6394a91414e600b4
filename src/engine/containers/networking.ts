// A container's networking as the engine drives it: the network mode read as Docker reads it
// ("default" is the bridge network; host, none, container:<id>, or a network's name), a network
// namespace file per container, endpoints on each network it joins (address, DNS names), and its
// published ports. Everything is undone when the container stops, and endpoints of containers
// that kept running are what the network manager keeps at daemon start.
import { invalid, notFound, precondition } from '../../common/errors.js';
import type { NetworkManager } from '../../network/manager.js';
import type { PortRequest } from '../../network/types.js';
import { createNetns, removeNetns } from '../../network/netns.js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EndpointSettings, HostConfig } from './api-types.js';
import type { ContainerRecord } from './record.js';

/** Docker's `NetworkSettings.Ports`: "80/tcp" → bindings, or null when exposed but not published. */
export type PortMap = Record<string, Array<{ HostIp: string; HostPort: string }> | null>;

export interface Attached {
  /** The namespace to put the container in (undefined: the host's, for --network host). */
  netnsPath?: string;
  /** Its addresses, for /etc/hosts. */
  addresses: string[];
  /** The container's resolv.conf when it is on a network (embedded DNS or the host's resolvers). */
  resolvConf?: string;
}

export type NetworkMode = { kind: 'host' } | { kind: 'none' } | { kind: 'container'; ref: string } | { kind: 'network'; name: string };

export function networkMode(h: HostConfig): NetworkMode {
  const m = h.NetworkMode || 'default';
  if (m === 'host') return { kind: 'host' };
  if (m === 'none') return { kind: 'none' };
  if (m.startsWith('container:')) return { kind: 'container', ref: m.slice('container:'.length) };
  return { kind: 'network', name: m === 'default' ? 'bridge' : m };
}

/** A container joined or left a network at its start or stop (Docker's "network connect"/"disconnect" events). */
export type EndpointEvent = (action: 'connect' | 'disconnect', network: string, containerId: string) => void;

export class ContainerNetworking {
  constructor(
    private readonly nets: NetworkManager, private readonly netnsDir: string, private readonly find: (ref: string) => ContainerRecord | undefined,
    private readonly onEndpoint: EndpointEvent = () => {},
  ) {}

  /** The create-time check: the networks named exist; returns the container's endpoints-to-be. */
  planEndpoints(h: HostConfig, endpoints: Record<string, EndpointSettings> | null | undefined): Record<string, EndpointSettings> {
    const mode = networkMode(h);
    const out: Record<string, EndpointSettings> = {};
    if (mode.kind !== 'network') {
      if (endpoints && Object.keys(endpoints).length > 1) throw invalid(`conflicting options: a container in network mode "${h.NetworkMode}" cannot join other networks`);
      return out;
    }
    // The CLI keys the endpoint of the network mode by the mode's name ("default" for the bridge).
    const given = Object.fromEntries(Object.entries(endpoints ?? {}).map(([k, v]) => [k === 'default' ? 'bridge' : k, v]));
    const wanted: Record<string, EndpointSettings> = { [mode.name]: {}, ...given };
    for (const [name, settings] of Object.entries(wanted)) {
      const net = this.nets.get(name); // NotFound: "network X not found"
      if (['host', 'null'].includes(net.Driver)) throw invalid(`container cannot be connected to network "${net.Name}" alongside others`);
      out[net.Name] = { Aliases: settings?.Aliases ?? null, IPAMConfig: settings?.IPAMConfig ?? null, NetworkID: net.Id, Links: null };
    }
    return out;
  }

  /** At start: the namespace, the endpoints, the ports. On failure nothing stays. */
  async attach(c: ContainerRecord): Promise<Attached> {
    const mode = networkMode(c.HostConfig);
    if (mode.kind === 'host') return { addresses: [] };
    if (mode.kind === 'container') {
      const other = this.find(mode.ref);
      if (!other) throw notFound(`No such container: ${mode.ref}`);
      if (!other.State.Running) throw precondition(`cannot join network of a non running container: ${other.ID}`);
      return { netnsPath: join(this.netnsDir, other.ID), addresses: [] };
    }
    const netnsPath = createNetns(this.netnsDir, c.ID);
    if (mode.kind === 'none') return { netnsPath, addresses: [] };
    const joined: string[] = [];
    try {
      const addresses: string[] = [];
      for (const [name, settings] of Object.entries(c.Networks)) {
        const info = await this.nets.connect(name, {
          containerId: c.ID, containerName: c.Name.slice(1), netnsPath,
          aliases: settings.Aliases ?? [], ipv4Address: settings.IPAMConfig?.IPv4Address || undefined,
        });
        joined.push(name);
        c.Networks[name] = { ...settings, ...info, IPPrefixLen: info.IPPrefixLen, Aliases: settings.Aliases ?? null };
        this.onEndpoint('connect', name, c.ID);
        if (info.IPAddress) addresses.push(info.IPAddress);
      }
      c.Ports = await this.publish(c);
      return { netnsPath, addresses, resolvConf: this.resolvConfOf(c) };
    } catch (err) {
      await this.detach(c, joined).catch(() => {});
      throw err;
    }
  }

  /**
   * The resolv.conf for a container on its networks: the embedded DNS of the first one that has
   * it (that server answers for all of the container's networks), else the host's resolvers.
   */
  resolvConfOf(c: ContainerRecord): string | undefined {
    const names = Object.keys(c.Networks);
    const withDns = names.find((n) => this.nets.dnsServerFor(n) !== undefined) ?? names[0];
    const h = c.HostConfig;
    return withDns ? this.nets.resolvConfFor(withDns, { dns: h.Dns ?? undefined, dnsSearch: h.DnsSearch ?? undefined, dnsOptions: h.DnsOptions ?? undefined }) : undefined;
  }

  /** What `--add-host NAME:host-gateway` stands for: the default bridge's gateway, as in Docker; undefined without one. */
  hostGatewayIp(): string | undefined {
    const bridge = this.nets.list().find((n) => n.Name === 'bridge');
    return bridge?.IPAM.Config.find((c) => !c.Subnet.includes(':'))?.Gateway || undefined;
  }

  /** The ports to publish: -p bindings, and -P's ephemeral ports for every exposed one. */
  private async publish(c: ContainerRecord): Promise<PortMap> {
    const ports: PortMap = {};
    for (const p of Object.keys(c.Config.ExposedPorts ?? {})) ports[p] = null;
    const requests: PortRequest[] = [];
    const parse = (key: string) => {
      const m = /^(\d+)(?:\/(tcp|udp|sctp))?$/.exec(key);
      if (!m || m[2] === 'sctp') throw invalid(`invalid port "${key}": want PORT[/tcp|udp]`);
      return { containerPort: Number(m[1]), proto: (m[2] ?? 'tcp') as 'tcp' | 'udp' };
    };
    for (const [key, bindings] of Object.entries(c.HostConfig.PortBindings ?? {})) {
      const { containerPort, proto } = parse(key);
      for (const b of bindings?.length ? bindings : [{}]) requests.push({ proto, containerPort, hostIp: b.HostIp || undefined, hostPort: b.HostPort ? Number(b.HostPort) : 0 });
    }
    if (c.HostConfig.PublishAllPorts) {
      for (const key of Object.keys(c.Config.ExposedPorts ?? {})) {
        const { containerPort, proto } = parse(key);
        if (!requests.some((r) => r.containerPort === containerPort && r.proto === proto)) requests.push({ proto, containerPort, hostPort: 0 });
      }
    }
    if (requests.length === 0) return ports;
    for (const b of await this.nets.publish(c.ID, requests)) {
      const key = `${b.containerPort}/${b.proto}`;
      (ports[key] ??= []).push({ HostIp: b.hostIp, HostPort: String(b.hostPort) });
    }
    return ports;
  }

  /** At stop or removal: ports, endpoints (all, or `only` those), the namespace file. */
  async detach(c: ContainerRecord, only?: string[]): Promise<void> {
    const mode = networkMode(c.HostConfig);
    if (mode.kind === 'host' || mode.kind === 'container') return;
    await this.nets.unpublish(c.ID).catch(() => {});
    for (const name of only ?? Object.keys(c.Networks)) {
      const left = await this.nets.disconnect(name, c.ID, join(this.netnsDir, c.ID)).then(() => true, () => false);
      const s = c.Networks[name];
      if (left && s?.EndpointID) this.onEndpoint('disconnect', name, c.ID);
      if (s) c.Networks[name] = { Aliases: s.Aliases ?? null, IPAMConfig: s.IPAMConfig ?? null, NetworkID: s.NetworkID, Links: null };
    }
    c.Ports = {};
    removeNetns(join(this.netnsDir, c.ID));
  }

  /**
   * `network connect`: recorded for the next start, and plugged in now if it runs (then its
   * resolv.conf at `resolvConfPath` is rewritten). The caller saves the record.
   */
  async connect(c: ContainerRecord, network: string, settings: EndpointSettings, resolvConfPath: string): Promise<void> {
    const mode = c.HostConfig.NetworkMode ?? 'default';
    // Docker's words for each mode.
    if (mode === 'none') throw precondition('container cannot be connected to multiple networks with one of the networks in private (none) mode');
    if (mode === 'host' || mode.startsWith('container:')) throw precondition(`container sharing network namespace with another container or host cannot be connected to any other network`);
    if (c.State.Running) {
      await this.connectRunning(c, network, settings);
      // As Docker: joining a network with embedded DNS switches the container to it. The file
      // is bind-mounted, so it is rewritten in place, not replaced.
      const resolvConf = this.resolvConfOf(c);
      if (resolvConf && c.HostConfig.NetworkMode !== 'host') writeFileSync(resolvConfPath, resolvConf);
    } else c.Networks[network] = { Aliases: settings.Aliases ?? null, IPAMConfig: settings.IPAMConfig ?? null, Links: null };
  }

  /** `network disconnect`: false when there was nothing to do (not connected, and `force`). The caller saves the record. */
  async disconnect(c: ContainerRecord, network: string, force: boolean): Promise<boolean> {
    if (!(network in c.Networks)) {
      if (force) return false;
      throw precondition(`container ${c.ID} is not connected to network ${network}`);
    }
    if (c.State.Running) await this.disconnectRunning(c, network);
    else delete c.Networks[network];
    return true;
  }

  /** A running container's namespace gets one more endpoint. */
  private async connectRunning(c: ContainerRecord, name: string, settings: EndpointSettings): Promise<void> {
    const net = this.nets.get(name);
    const info = await this.nets.connect(net.Name, {
      containerId: c.ID, containerName: c.Name.slice(1), netnsPath: join(this.netnsDir, c.ID),
      aliases: settings.Aliases ?? [], ipv4Address: settings.IPAMConfig?.IPv4Address || undefined,
    });
    c.Networks[net.Name] = { ...settings, ...info, Aliases: settings.Aliases ?? null };
  }

  private async disconnectRunning(c: ContainerRecord, name: string): Promise<void> {
    const net = this.nets.get(name);
    await this.nets.disconnect(net.Name, c.ID, join(this.netnsDir, c.ID));
    delete c.Networks[net.Name];
  }
}
