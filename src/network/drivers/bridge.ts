// The "bridge" driver: a Linux bridge per network (br-<12 hex of the ID>, or the configured one for
// the default "bridge" network) holding the gateway address, and per endpoint a veth pair whose
// host end is a port of the bridge and whose other end is created straight inside the container's
// namespace with its final name and MAC. Two processes per endpoint: `ip -batch` on the host and
// `ip -batch` under nsenter inside the namespace.
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { BerthError, invalid, precondition } from '../../common/errors.js';
import { ipBatch, ipBatchIn, ipJson, runTool, setSysctl } from '../exec.js';
import { parseIp } from '../ipv4.js';
import { prefixLength } from '../ipam.js';
import type { BridgeFirewall, Logger, NetworkDriver, StoredEndpoint, StoredNetwork } from '../types.js';

export const OPT = {
  name: 'com.docker.network.bridge.name',
  icc: 'com.docker.network.bridge.enable_icc',
  masquerade: 'com.docker.network.bridge.enable_ip_masquerade',
  hostBinding: 'com.docker.network.bridge.host_binding_ipv4',
  defaultBridge: 'com.docker.network.bridge.default_bridge',
  mtu: 'com.docker.network.driver.mtu',
} as const;

/** Linux interface names: at most 15 bytes, no slash, colon or white space. */
export function checkIfName(name: string, what: string): void {
  if (!/^[A-Za-z0-9_.-]{1,15}$/.test(name) || name === '.' || name === '..') {
    throw invalid(`${what} ${JSON.stringify(name)}: an interface name is 1 to 15 letters, digits, '_', '.' or '-'`);
  }
}

function boolOpt(net: StoredNetwork, key: string, dflt: boolean): boolean {
  const v = net.options[key];
  if (v === undefined || v === '') return dflt;
  if (/^(1|t|true)$/i.test(v)) return true;
  if (/^(0|f|false)$/i.test(v)) return false;
  throw invalid(`driver option ${key}: ${JSON.stringify(v)} is not a boolean`);
}

function mtuOf(net: StoredNetwork): number | undefined {
  const v = net.options[OPT.mtu];
  if (v === undefined || v === '' || v === '0') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 68 || n > 65535) throw invalid(`driver option ${OPT.mtu}: ${JSON.stringify(v)} is not an MTU (68-65535)`);
  return n;
}

/** The host address published ports bind to when the request names none. */
export function hostBindingIp(net: StoredNetwork): string {
  return net.options[OPT.hostBinding] || '0.0.0.0';
}

const randomMac = (): string => ['02', '42', ...randomBytes(4).toString('hex').match(/../g)!].join(':');

const missing = (stderr: string): boolean => /Cannot find device|does not exist/i.test(stderr);

export class BridgeDriver implements NetworkDriver {
  readonly name = 'bridge';
  readonly userNetworks = true;
  readonly addressed = true;

  constructor(private readonly log: Logger) {}

  async prepare(net: StoredNetwork, existing: StoredNetwork[]): Promise<void> {
    boolOpt(net, OPT.icc, true);
    boolOpt(net, OPT.masquerade, true);
    mtuOf(net);
    const hb = net.options[OPT.hostBinding];
    if (hb && parseIp(hb) === undefined) throw invalid(`driver option ${OPT.hostBinding}: ${JSON.stringify(hb)} is not an IPv4 address`);
    const name = net.options[OPT.name] || net.bridge || `br-${net.id.slice(0, 12)}`;
    checkIfName(name, 'bridge name');
    const other = existing.find((n) => n.id !== net.id && n.bridge === name);
    if (other) throw precondition(`bridge name ${name} is already used by network ${other.name}`);
    if (!net.predefined) {
      const r = await runTool('ip', ['link', 'show', 'dev', name]);
      if (r.code === 0) throw precondition(`a network interface named ${name} already exists on the host: choose another ${OPT.name}`);
    }
    net.bridge = name;
    this.warnUnknownOptions(net);
  }

  async ensure(net: StoredNetwork): Promise<void> {
    const br = net.bridge!;
    const links = await ipJson<{ linkinfo?: { info_kind?: string } }>(['-d', 'link', 'show', 'dev', br]).catch(() => []);
    const lines: string[] = [];
    const mtu = mtuOf(net);
    if (links.length === 0) lines.push(`link add name ${br} address ${randomMac()}${mtu ? ` mtu ${mtu}` : ''} type bridge`);
    else if (links[0]!.linkinfo?.info_kind !== 'bridge') throw precondition(`network ${net.name}: ${br} exists on the host and is not a bridge`);
    lines.push(`addr replace ${net.ipam.gateway}/${prefixLength(net.ipam)} brd + dev ${br}`, `link set dev ${br} up`);
    await ipBatch(`bridge ${br} of network ${net.name}`, lines);
    // 127.0.0.1:<published port> is DNAT'd to containers from the host's output path: the kernel
    // routes a loopback-sourced packet out through the bridge only with route_localnet.
    await setSysctl(`net/ipv4/conf/${br}/route_localnet`, '1');
  }

  async destroy(net: StoredNetwork): Promise<void> {
    const r = await runTool('ip', ['link', 'del', 'dev', net.bridge!]);
    if (r.code !== 0 && !missing(r.stderr)) throw new BerthError('INTERNAL', `removing bridge ${net.bridge}: ${r.stderr.trim()}`);
  }

  async join(net: StoredNetwork, ep: StoredEndpoint): Promise<void> {
    const mtu = mtuOf(net);
    const m = mtu ? ` mtu ${mtu}` : '';
    // Hairpin: with br_netfilter, DNAT happens as the frame enters the bridge, and a container
    // reaching its own published port is then bridged back out of the port it came in by.
    await ipBatch(`connecting ${ep.containerName} to ${net.name}`, [
      `link add ${ep.hostVeth}${m} master ${net.bridge} up type veth peer name ${ep.ifName} address ${ep.mac}${m} netns ${ep.netnsPath}`,
      `link set dev ${ep.hostVeth} type bridge_slave hairpin on`,
    ]).catch(async (err: unknown) => {
      // Only a failure after the first line leaves a pair of ours (the name may be someone else's).
      if (!/Command failed -:1$/m.test((err as Error).message)) await runTool('ip', ['link', 'del', 'dev', ep.hostVeth]);
      throw err;
    });
    try {
      // No IPv6 on an IPv4 network (as Docker): no link-local address, whose duplicate address
      // detection would also trip over its own echo from the hairpin port.
      const inside = [
        `link set dev ${ep.ifName} addrgenmode none`,
        `addr add ${ep.ip}/${prefixLength(net.ipam)} brd + dev ${ep.ifName}`,
        `link set dev ${ep.ifName} up`,
      ];
      if (ep.defaultRoute) inside.push(`route replace default via ${net.ipam.gateway} dev ${ep.ifName}`);
      await ipBatchIn(ep.netnsPath, `configuring ${ep.ifName} of ${ep.containerName} on ${net.name}`, inside);
    } catch (err) {
      await runTool('ip', ['link', 'del', 'dev', ep.hostVeth]);
      throw err;
    }
  }

  async leave(net: StoredNetwork, ep: StoredEndpoint): Promise<void> {
    const r = await runTool('ip', ['link', 'del', 'dev', ep.hostVeth]);
    if (r.code === 0) return;
    if (!missing(r.stderr)) throw new BerthError('INTERNAL', `disconnecting ${ep.containerName} from ${net.name}: ${r.stderr.trim()}`);
    // No host end: the pair went with a dead namespace, or only the inside end is left.
    if (existsSync(ep.netnsPath)) await runTool('nsenter', [`--net=${ep.netnsPath}`, 'ip', 'link', 'del', 'dev', ep.ifName]);
  }

  async present(_net: StoredNetwork, ep: StoredEndpoint): Promise<boolean> {
    return (await runTool('ip', ['link', 'show', 'dev', ep.hostVeth])).code === 0;
  }

  async setDefaultRoute(net: StoredNetwork, ep: StoredEndpoint): Promise<void> {
    await ipBatchIn(ep.netnsPath, `default route of ${ep.containerName}`, [`route replace default via ${net.ipam.gateway} dev ${ep.ifName}`]);
  }

  firewall(net: StoredNetwork): BridgeFirewall {
    return {
      bridge: net.bridge!,
      subnet: net.ipam.subnet,
      gateway: net.ipam.gateway,
      internal: net.internal,
      icc: boolOpt(net, OPT.icc, true),
      masquerade: boolOpt(net, OPT.masquerade, true),
      dns: !net.predefined,
    };
  }

  /** Says which driver options berth does not act on (Docker ignores unknown ones too). */
  private warnUnknownOptions(net: StoredNetwork): void {
    const known = new Set<string>(Object.values(OPT));
    for (const k of Object.keys(net.options)) if (!known.has(k)) this.log('info', `network ${net.name}: driver option ${k} is not used by berth's bridge driver`);
  }
}
