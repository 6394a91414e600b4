// What every handler reads from a call's metadata, as containerd's clients send it: the namespace
// ("containerd-namespace", required by namespaced services) and the lease the call works under
// ("containerd-lease", which then holds what the call creates).
import type { Metadata } from '@grpc/grpc-js';
import { notFound, precondition } from '../../common/errors.js';
import { validateNamespace } from '../namespaces/names.js';
import type { Supervisor } from '../supervisor.js';
import type { LeaseResource } from '../content/leases.js';

export class CallContext {
  constructor(readonly supervisor: Supervisor, private readonly metadata: Metadata) {}

  private header(name: string): string | undefined {
    const v = this.metadata.get(name)[0];
    return v === undefined ? undefined : String(v);
  }

  /** The call's namespace; containerd answers FailedPrecondition when there is none. */
  get namespace(): string {
    const ns = this.header('containerd-namespace');
    if (!ns) throw precondition('namespace is required: set one with ctr -n NAME, or the containerd-namespace gRPC metadata');
    return validateNamespace(ns);
  }

  /** The namespace, recorded as existing: the call is about to write in it. */
  writableNamespace(): string {
    const ns = this.namespace;
    this.supervisor.namespaces.ensure(ns);
    return ns;
  }

  get lease(): string | undefined {
    return this.header('containerd-lease') || undefined;
  }

  /** Checks the call's lease exists (before the call creates anything under it). */
  checkLease(): void {
    const id = this.lease;
    if (!id) return;
    try {
      this.supervisor.leases(this.namespace).get(id);
    } catch {
      throw notFound(`lease "${id}" does not exist: not found`);
    }
  }

  /** Adds a resource to the call's lease, if it has one. */
  hold(resource: LeaseResource): void {
    const id = this.lease;
    if (id) this.supervisor.leases(this.namespace).addResource(id, resource);
  }
}
