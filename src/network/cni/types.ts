// Shapes of the CNI side of pod networking (containernetworking/cni SPEC.md, versions 0.3.0 to
// 1.0.0): network configuration lists as loaded from a conf dir, plugin results converted to one
// shape whatever version the plugin spoke, the capability arguments the CRI passes, and what a pod
// gets back from set-up. Pure types and constants: no I/O here.

/** The configuration versions berth's CNI runner accepts (what Debian's plugins speak, 0.3.0 and up). */
export const SUPPORTED_CNI_VERSIONS = ['0.3.0', '0.3.1', '0.4.0', '1.0.0'] as const;

/** Names of networks and containers (libcni's rule): a letter or digit, then letters, digits, `_`, `.`, `-`. */
export const CNI_NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** One plugin's configuration, kept as the JSON object it was; `type` is the plugin binary's name. */
export interface PluginConf {
  type: string;
  /** Capability arguments the plugin wants in `runtimeConfig` (e.g. `{ "portMappings": true }`). */
  capabilities?: Record<string, boolean>;
  [key: string]: unknown;
}

/** A network: a `.conflist`, or a `.conf`/`.json` single plugin turned into a one-plugin list. */
export interface NetworkConfigList {
  cniVersion: string;
  name: string;
  /** `disableCheck: true` in the list: CHECK does nothing (as libcni). */
  disableCheck: boolean;
  plugins: PluginConf[];
  /** Where it came from (a path, or a label such as "built-in loopback"), for error messages. */
  source: string;
}

// ---- results, in one shape (the 1.0.0 one) ----

export interface CniInterface {
  name: string;
  mac?: string;
  mtu?: number;
  /** The netns path for interfaces inside the pod; absent for host-side ones (the veth's host end, the bridge). */
  sandbox?: string;
  socketPath?: string;
  pciID?: string;
}

export interface CniIpConfig {
  /** CIDR notation, e.g. "10.88.0.5/16". */
  address: string;
  gateway?: string;
  /** Index into `interfaces`. */
  interface?: number;
}

export interface CniRoute {
  dst: string;
  gw?: string;
  mtu?: number;
  advmss?: number;
  priority?: number;
  table?: number;
  scope?: number;
}

export interface CniDns {
  nameservers?: string[];
  domain?: string;
  search?: string[];
  options?: string[];
}

export interface CniResult {
  /** The version the plugin answered in. */
  cniVersion: string;
  interfaces: CniInterface[];
  ips: CniIpConfig[];
  routes: CniRoute[];
  dns: CniDns;
}

// ---- capability arguments (runtimeConfig), as the CRI gives them ----

/** A CRI PortMapping for the portmap plugin; `protocol` lower case as containerd sends it. */
export interface PortMapping {
  hostPort: number;
  containerPort: number;
  protocol: 'tcp' | 'udp' | 'sctp';
  /** "" or absent: every host address. */
  hostIP?: string;
}

/** The bandwidth plugin's limits (bits per second, bursts in bits), as go-cni passes them. */
export interface BandwidthLimits {
  ingressRate?: number;
  ingressBurst?: number;
  egressRate?: number;
  egressBurst?: number;
}

/** The `dns` capability (pod DNS config from the CRI). */
export interface DnsCapability {
  servers?: string[];
  searches?: string[];
  options?: string[];
}

/** What the CRI hands to set-up (and to teardown when nothing was cached). */
export interface PodNetworkOptions {
  /**
   * CNI_ARGS pairs in order, e.g. from `kubernetesPodArgs()`. Keys and values may not hold ";",
   * keys not "=".
   */
  args?: Array<[string, string]>;
  /** CRI port mappings; those with hostPort 0 are left out, as containerd does. */
  portMappings?: Array<{ hostPort: number; containerPort: number; protocol?: string; hostIP?: string }>;
  bandwidth?: BandwidthLimits;
  dns?: DnsCapability;
  /** Any other capability arguments (e.g. `ipRanges`, `cgroupPath`), passed to plugins declaring them. */
  capabilityArgs?: Record<string, unknown>;
}

/** One address of a pod interface, as the CRI needs it. */
export interface PodIp {
  /** Bare address, e.g. "10.88.0.5". */
  ip: string;
  prefixLength: number;
  gateway?: string;
}

/** What set-up gives back: go-cni's Result with the pod's addresses picked out. */
export interface PodNetwork {
  /** The pod's primary address (first IPv4 of the main interface, else its first address): the CRI's PodSandboxNetworkStatus.ip. */
  ip: string;
  /** The main interface's other addresses (the CRI's additional_ips). */
  additionalIps: string[];
  /** Interfaces by name, with their addresses (go-cni's Result.Interfaces). */
  interfaces: Record<string, { ips: PodIp[]; mac?: string; sandbox?: string }>;
  routes: CniRoute[];
  dns: CniDns[];
  /** Each network's own result, in set-up order (the loopback network first). */
  results: Array<{ network: string; ifName: string; result: CniResult }>;
}

/** The CRI's NetworkReady condition. */
export interface CniStatus {
  ready: boolean;
  /** When not ready: "NetworkPluginNotReady", as containerd. */
  reason?: string;
  /** When not ready: containerd's text, "Network plugin returns error: cni plugin not initialized". */
  message?: string;
  /** When not ready: why (no config file, or which file and field is wrong). */
  detail?: string;
  /** When ready: the network in use. */
  network?: { name: string; file: string; cniVersion: string; plugins: string[] };
}
