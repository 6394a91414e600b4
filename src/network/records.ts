// Stored networks made and shown: a new network's record with its defaults, and the Engine API's
// shapes of a network and an endpoint (copies, never the stored objects).
import { randomBytes } from 'node:crypto';
import { dnsNames } from './dns/names.js';
import { prefixLength } from './ipam.js';
import type { EndpointInfo, NetworkRecord, StoredEndpoint, StoredNetwork } from './types.js';

/** Random lowercase hex of `bytes` bytes: network and endpoint IDs, veth names. */
export const randomHex = (bytes: number): string => randomBytes(bytes).toString('hex');

export function newNetwork(name: string, driver: string, predefined: boolean, ipam: StoredNetwork['ipam'], options: Record<string, string>): StoredNetwork {
  return {
    id: randomHex(32), name, created: new Date().toISOString(), driver, internal: false, attachable: false, enableIPv6: false,
    labels: {}, options, ipamOptions: predefined ? null : {}, predefined, ipam, endpoints: {},
  };
}

/** The network as `docker network inspect` shows it. */
export function networkRecord(net: StoredNetwork): NetworkRecord {
  const len = net.ipam.subnet ? prefixLength(net.ipam) : 0;
  const containers: NetworkRecord['Containers'] = {};
  for (const ep of Object.values(net.endpoints)) {
    containers[ep.containerId] = { Name: ep.containerName, EndpointID: ep.endpointId, MacAddress: ep.mac, IPv4Address: ep.ip ? `${ep.ip}/${len}` : '', IPv6Address: '' };
  }
  const config = net.ipam.subnet ? [{ Subnet: net.ipam.subnet, Gateway: net.ipam.gateway, ...(net.ipam.ipRange ? { IPRange: net.ipam.ipRange } : {}) }] : [];
  return {
    Name: net.name, Id: net.id, Created: net.created, Scope: 'local', Driver: net.driver, EnableIPv6: net.enableIPv6,
    IPAM: { Driver: 'default', Options: net.ipamOptions && { ...net.ipamOptions }, Config: config },
    Internal: net.internal, Attachable: net.attachable, Ingress: false, ConfigFrom: { Network: '' }, ConfigOnly: false,
    Containers: containers, Options: { ...net.options }, Labels: { ...net.labels },
  };
}

/** The endpoint as a container's NetworkSettings.Networks entry shows it. */
export function endpointInfo(net: StoredNetwork, ep: StoredEndpoint): EndpointInfo {
  const addressed = !!ep.ip;
  return {
    NetworkID: net.id, EndpointID: ep.endpointId, Gateway: addressed ? net.ipam.gateway : '', IPAddress: ep.ip,
    IPPrefixLen: addressed ? prefixLength(net.ipam) : 0, MacAddress: ep.mac, Aliases: [...ep.aliases],
    DNSNames: net.predefined ? [] : dnsNames(ep),
  };
}
