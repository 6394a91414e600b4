// How a pod gets its network: what the sandbox service asks of a network provider (CNI, see
// cni-network.ts) for a pod whose network namespace it has made.
import { BerthError } from '../common/errors.js';
import type { Message } from '../common/grpc/service-def.js';

export interface PodNetworkRequest {
  /** The sandbox ID (CNI's container ID). */
  id: string;
  name: string;
  namespace: string;
  uid: string;
  netnsPath: string;
  /** The CRI's PortMappings. */
  portMappings: Message[];
}

export interface PodNetworkStatus {
  ready: boolean;
  reason?: string;
  message?: string;
}

export interface PodNetwork {
  status(): PodNetworkStatus;
  /** Connects the namespace; returns its addresses, the first one the pod's IP. */
  setup(req: PodNetworkRequest): Promise<{ ips: string[] }>;
  /** Disconnects it; done twice, or for a namespace already gone, it succeeds. */
  teardown(req: PodNetworkRequest): Promise<void>;
}

/** No network configuration: host-network pods only (containerd's "cni config uninitialized"). */
export const noPodNetwork: PodNetwork = {
  status: () => ({ ready: false, reason: 'NetworkPluginNotReady', message: 'Network plugin returns error: cni plugin not initialized' }),
  setup: () => Promise.reject(new BerthError('FAILED_PRECONDITION', 'failed to setup network for sandbox: cni plugin not initialized: put a network configuration in the CNI configuration directory')),
  teardown: async () => {},
};
