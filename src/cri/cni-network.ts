// Pods' networks through CNI (src/network/cni), as containerd's CRI sets them up: the pod's
// metadata as CNI_ARGS, its port mappings with a host port as the portMappings capability, and
// its addresses from the result.
import type { Message } from '../common/grpc/service-def.js';
import { CniManager, kubernetesPodArgs } from '../network/cni/manager.js';
import type { PodNetwork, PodNetworkRequest, PodNetworkStatus } from './pod-network.js';

export class CniPodNetwork implements PodNetwork {
  constructor(private readonly cni: CniManager) {}

  async status(): Promise<PodNetworkStatus> {
    const s = await this.cni.status();
    return s.ready ? { ready: true } : { ready: false, reason: s.reason, message: s.message };
  }

  private options(req: PodNetworkRequest) {
    return {
      args: kubernetesPodArgs({ namespace: req.namespace, name: req.name, uid: req.uid, infraContainerId: req.id }),
      // containerd passes only the mappings that publish a host port.
      portMappings: req.portMappings.filter((m: Message) => Number(m.host_port) > 0).map((m: Message) => ({
        hostPort: Number(m.host_port), containerPort: Number(m.container_port), protocol: String(m.protocol ?? 'TCP').toLowerCase(), ...(m.host_ip ? { hostIP: String(m.host_ip) } : {}),
      })),
    };
  }

  async setup(req: PodNetworkRequest): Promise<{ ips: string[] }> {
    const net = await this.cni.setup(req.id, req.netnsPath, this.options(req));
    return { ips: [net.ip, ...(net.additionalIps ?? [])].filter((ip): ip is string => !!ip) };
  }

  async teardown(req: PodNetworkRequest): Promise<void> {
    await this.cni.teardown(req.id, req.netnsPath, this.options(req));
  }
}
