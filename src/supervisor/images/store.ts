// Image records as containerd keeps them: a name ("docker.io/library/busybox:latest") pointing at
// a target descriptor (a manifest or an index in the content store), with labels, in a namespace.
// What an image *is* (config, layers) is read from the content the target reaches. Each record is
// one JSON file <root>/<namespace>/<sha256 of name>.json, written atomically.
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { errnoOf, exists, invalid, notFound } from '../../common/errors.js';
import { digestOf } from '../../common/digest.js';
import type { Descriptor } from '../../image/manifest.js';
import { writeFileAtomic } from '../../sys/fs-atomic.js';

export interface ImageRecord {
  name: string;
  target: Descriptor;
  labels: Record<string, string>;
  createdAt: string;
  updatedAt: string;
}

/** containerd's namespace names: a DNS label, dots allowed. */
const NAMESPACE = /^[a-z0-9](?:[a-z0-9._-]{0,61}[a-z0-9])?$/;

export class ImageStore {
  constructor(readonly root: string) {
    mkdirSync(root, { recursive: true, mode: 0o700 });
  }

  private dir(namespace: string): string {
    if (!NAMESPACE.test(namespace)) throw invalid(`invalid namespace "${namespace}"`);
    return join(this.root, namespace);
  }

  private path(namespace: string, name: string): string {
    if (!name) throw invalid('an image needs a name');
    return join(this.dir(namespace), `${digestOf(name).slice('sha256:'.length)}.json`);
  }

  find(namespace: string, name: string): ImageRecord | undefined {
    try {
      return JSON.parse(readFileSync(this.path(namespace, name), 'utf8')) as ImageRecord;
    } catch (err) {
      if (errnoOf(err) === 'ENOENT') return undefined;
      throw err;
    }
  }

  get(namespace: string, name: string): ImageRecord {
    const r = this.find(namespace, name);
    if (!r) throw notFound(`image "${name}" not found`);
    return r;
  }

  list(namespace: string): ImageRecord[] {
    let names: string[];
    try {
      names = readdirSync(this.dir(namespace));
    } catch (err) {
      if (errnoOf(err) === 'ENOENT') return [];
      throw err;
    }
    return names.filter((n) => n.endsWith('.json')).flatMap((n) => {
      try {
        return [JSON.parse(readFileSync(join(this.dir(namespace), n), 'utf8')) as ImageRecord];
      } catch {
        return []; // removed meanwhile
      }
    });
  }

  namespaces(): string[] {
    return readdirSync(this.root).filter((n) => NAMESPACE.test(n));
  }

  create(namespace: string, image: { name: string; target: Descriptor; labels?: Record<string, string> }): ImageRecord {
    if (this.find(namespace, image.name)) throw exists(`image "${image.name}" already exists`);
    return this.put(namespace, image);
  }

  /** Creates or replaces the record `image.name` (its creation time stays). */
  put(namespace: string, image: { name: string; target: Descriptor; labels?: Record<string, string> }): ImageRecord {
    const now = new Date().toISOString();
    const old = this.find(namespace, image.name);
    const record: ImageRecord = { name: image.name, target: image.target, labels: image.labels ?? old?.labels ?? {}, createdAt: old?.createdAt ?? now, updatedAt: now };
    mkdirSync(this.dir(namespace), { recursive: true, mode: 0o700 });
    writeFileAtomic(this.path(namespace, image.name), JSON.stringify(record), 0o600);
    return record;
  }

  delete(namespace: string, name: string): void {
    this.get(namespace, name);
    rmSync(this.path(namespace, name), { force: true });
  }
}
