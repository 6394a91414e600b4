// The "null" driver (the predefined network "none"): the container keeps a network namespace with
// only its loopback. Nothing to make in the kernel; the endpoint is only recorded, as in Docker.
import type { BridgeFirewall, NetworkDriver } from '../types.js';

export class NullDriver implements NetworkDriver {
  readonly name = 'null';
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
