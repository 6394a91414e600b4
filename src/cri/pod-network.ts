// How a pod gets its network: what the sandbox service asks of a network provider (CNI, see
// cni-network.ts) for a pod whose network namespace it has made.
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
  status(): Promise<PodNetworkStatus>;
  /** Connects the namespace; returns its addresses, the first one the pod's IP. */
  setup(req: PodNetworkRequest): Promise<{ ips: string[] }>;
  /** Disconnects it; done twice, or for a namespace already gone, it succeeds. */
  teardown(req: PodNetworkRequest): Promise<void>;
}

