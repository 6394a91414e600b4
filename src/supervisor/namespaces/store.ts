// Namespace records (containerd's namespaces service): a name and its labels, one JSON file
// <root>/<name>.json. A namespace also exists while it holds objects (the supervisor lists both),
// and a write in a namespace creates its record, as containerd's first write creates its bucket,
// so a namespace emptied by removals stays listed until it is deleted.
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { exists, notFound } from '../../common/errors.js';
import { readJsonRecord, writeFileAtomic } from '../../sys/fs-atomic.js';
import { isNamespaceName, validateLabels, validateNamespace } from './names.js';

export interface NamespaceRecord {
  name: string;
  labels: Record<string, string>;
  createdAt: string;
}

export class NamespaceStore {
  constructor(readonly root: string) {
    mkdirSync(root, { recursive: true, mode: 0o700 });
  }

  private path(name: string): string {
    return join(this.root, `${validateNamespace(name)}.json`);
  }

  find(name: string): NamespaceRecord | undefined {
    return readJsonRecord<NamespaceRecord>(this.path(name));
  }

  list(): string[] {
    return readdirSync(this.root).filter((n) => n.endsWith('.json')).map((n) => n.slice(0, -'.json'.length)).filter(isNamespaceName);
  }

  create(name: string, labels: Record<string, string> = {}): NamespaceRecord {
    if (this.find(name)) throw exists(`namespace "${name}": already exists`);
    return this.write({ name, labels: validateLabels(labels, 'namespace.Labels'), createdAt: new Date().toISOString() });
  }

  /** The record, made if missing (a write in the namespace is about to happen). */
  ensure(name: string): NamespaceRecord {
    return this.find(name) ?? this.write({ name, labels: {}, createdAt: new Date().toISOString() });
  }

  setLabels(name: string, labels: Record<string, string>): NamespaceRecord {
    const record = this.ensure(name);
    return this.write({ ...record, labels: validateLabels(Object.fromEntries(Object.entries(labels).filter(([, v]) => v !== '')), 'namespace.Labels') });
  }

  delete(name: string): void {
    rmSync(this.path(name), { force: true });
  }

  private write(record: NamespaceRecord): NamespaceRecord {
    writeFileAtomic(this.path(record.name), JSON.stringify(record), 0o600);
    return record;
  }
}

export const namespaceNotFound = (name: string) => notFound(`namespace "${name}": not found`);
