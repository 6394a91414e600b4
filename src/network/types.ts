// The network layer's types: what the Engine API shows (Docker's field names), what is persisted,
// and the boundary every driver (bridge, host, null; overlay later) implements.

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type Logger = (level: LogLevel, msg: string) => void;

// ---- Engine API shapes -------------------------------------------------------------------------

export interface IpamConfig {
  Subnet?: string;
  Gateway?: string;
  IPRange?: string;
}

export interface CreateNetworkRequest {
  Name: string;
  Driver?: string;
  Internal?: boolean;
  Attachable?: boolean;
  EnableIPv6?: boolean;
  Labels?: Record<string, string>;
  Options?: Record<string, string>;
  IPAM?: { Driver?: string; Config?: IpamConfig[]; Options?: Record<string, string> };
}

export interface NetworkRecord {
  Name: string;
  Id: string;
  Created: string;
  Scope: 'local';
  Driver: string;
  EnableIPv6: boolean;
  IPAM: { Driver: 'default'; Options: null | Record<string, string>; Config: Array<{ Subnet: string; Gateway: string; IPRange?: string }> };
  Internal: boolean;
  Attachable: boolean;
  Ingress: false;
  ConfigFrom: { Network: '' };
  ConfigOnly: false;
  Containers: Record<string, { Name: string; EndpointID: string; MacAddress: string; IPv4Address: string; IPv6Address: string }>;
  Options: Record<string, string>;
  Labels: Record<string, string>;
}

export interface ConnectRequest {
  containerId: string;
  /** The container's name (a leading "/" as Docker stores it is dropped). */
  containerName: string;
  /** The container's network namespace file (from createNetns); unused by host and null. */
  netnsPath: string;
  aliases?: string[];
  ipv4Address?: string;
  macAddress?: string;
}

export interface EndpointInfo {
  NetworkID: string;
  EndpointID: string;
  Gateway: string;
  IPAddress: string;
  IPPrefixLen: number;
  MacAddress: string;
  Aliases: string[];
  /** Names the embedded DNS answers for this endpoint (Docker ≥ 1.44): name, aliases, short ID. */
  DNSNames: string[];
}

export type Proto = 'tcp' | 'udp';

export interface PortRequest {
  proto: Proto;
  containerPort: number;
  /** "" or absent: every address (0.0.0.0), or the network's host_binding_ipv4 option. */
  hostIp?: string;
  /** 0 or absent: an ephemeral port. */
  hostPort?: number;
}

export interface PortBinding {
  proto: Proto;
  containerPort: number;
  hostIp: string;
  hostPort: number;
}

// ---- Persisted state ---------------------------------------------------------------------------

export interface StoredEndpoint {
  containerId: string;
  containerName: string;
  endpointId: string;
  netnsPath: string;
  aliases: string[];
  /** Empty for host and null endpoints. */
  ip: string;
  mac: string;
  /** Interface name inside the container (eth0, eth1, …). */
  ifName: string;
  /** Host end of the veth pair. */
  hostVeth: string;
  /** This endpoint carries the container's default route. */
  defaultRoute: boolean;
}

export interface StoredIpam {
  /** Empty for drivers without addresses (host, null). */
  subnet: string;
  gateway: string;
  ipRange?: string;
  /** Allocated address → container ID. The gateway is implicit. */
  allocated: Record<string, string>;
  /** Last address handed out: allocation goes on from there, so a released address is not reused at once. */
  last?: string;
}

export interface StoredNetwork {
  id: string;
  name: string;
  created: string;
  driver: string;
  internal: boolean;
  attachable: boolean;
  enableIPv6: boolean;
  labels: Record<string, string>;
  options: Record<string, string>;
  ipamOptions: Record<string, string> | null;
  predefined: boolean;
  /** Linux bridge of a bridge network. */
  bridge?: string;
  ipam: StoredIpam;
  endpoints: Record<string, StoredEndpoint>;
}

export interface StoredPorts {
  /** Network whose endpoint the ports are forwarded to. */
  network: string;
  containerIp: string;
  bindings: PortBinding[];
}

export interface State {
  version: 1;
  networks: StoredNetwork[];
  /** Container ID → its published ports. */
  ports: Record<string, StoredPorts>;
}

// ---- Drivers -----------------------------------------------------------------------------------

/** What the firewall needs to know about one bridge network. */
export interface BridgeFirewall {
  bridge: string;
  subnet: string;
  gateway: string;
  internal: boolean;
  icc: boolean;
  masquerade: boolean;
  /** The embedded DNS listens on the gateway: only this bridge (and the host) may reach it. */
  dns: boolean;
}

export interface NetworkDriver {
  readonly name: string;
  /** Whether `network create -d NAME` may make more networks of this driver (host and null: only the predefined one). */
  readonly userNetworks: boolean;
  /** Whether networks of this driver get a subnet and addresses. */
  readonly addressed: boolean;
  /** Checks driver options and fills what the driver decides (e.g. the bridge name) before anything is persisted. */
  prepare(net: StoredNetwork, existing: StoredNetwork[]): Promise<void>;
  /** Makes (or, after a restart, re-makes) the network's kernel objects; idempotent. */
  ensure(net: StoredNetwork): Promise<void>;
  /** Removes the network's kernel objects; idempotent. */
  destroy(net: StoredNetwork): Promise<void>;
  /** Plugs an endpoint in; on failure leaves nothing behind. */
  join(net: StoredNetwork, ep: StoredEndpoint): Promise<void>;
  /** Unplugs an endpoint; idempotent. */
  leave(net: StoredNetwork, ep: StoredEndpoint): Promise<void>;
  /** Whether the endpoint's kernel objects are still there (after a restart). */
  present(net: StoredNetwork, ep: StoredEndpoint): Promise<boolean>;
  /** Points the container's default route at this endpoint's gateway. */
  setDefaultRoute(net: StoredNetwork, ep: StoredEndpoint): Promise<void>;
  /** The firewall's view of the network, if the driver needs rules. */
  firewall(net: StoredNetwork): BridgeFirewall | undefined;
}
