// The "host" driver: the container shares the host's network stack, so there is nothing to make;
// the endpoint is only recorded (it shows in `network inspect host`, as in Docker).
import type { BridgeFirewall, NetworkDriver } from '../types.js';

export class HostDriver implements NetworkDriver {
  readonly name = 'host';
  readonly userNetworks = false;
  readonly addressed = false;

  async prepare(): Promise<void> {}
  async ensure(): Promise<void> {}
  async destroy(): Promise<void> {}
  async join(): Promise<void> {}
  async leave(): Promise<void> {}
  async present(): Promise<boolean> {
    return true;
  }
  async setDefaultRoute(): Promise<void> {}
  firewall(): BridgeFirewall | undefined {
    return undefined;
  }
}
