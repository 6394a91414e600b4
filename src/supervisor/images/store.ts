// Image records as containerd keeps them: a name ("docker.io/library/busybox:latest") pointing at
// a target descriptor (a manifest or an index in the content store), with labels, in a namespace.
// What an image *is* (config, layers) is read from the content the target reaches. Each record is
// one JSON file <root>/<namespace>/<sha256 of name>.json, written atomically. Creations, updates
// and removals are announced as containerd's /images/* events, whoever makes them.
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { errnoOf, exists, invalid, notFound } from '../../common/errors.js';
import { containerdEvent, type Publish } from '../events/exchange.js';
import { isNamespaceName, validateLabels, validateNamespace } from '../namespaces/names.js';
import { digestOf } from '../../common/digest.js';
import type { Descriptor } from '../../image/manifest.js';
import { readJsonRecord, writeFileAtomic } from '../../sys/fs-atomic.js';

export interface ImageRecord {
  name: string;
  target: Descriptor;
  labels: Record<string, string>;
  createdAt: string;
  updatedAt: string;
}

export class ImageStore {
  constructor(readonly root: string, private readonly publish?: Publish) {
    mkdirSync(root, { recursive: true, mode: 0o700 });
  }

  private dir(namespace: string): string {
    return join(this.root, validateNamespace(namespace));
  }

  private path(namespace: string, name: string): string {
    if (!name) throw invalid('image name must not be empty');
    return join(this.dir(namespace), `${digestOf(name).slice('sha256:'.length)}.json`);
  }

  find(namespace: string, name: string): ImageRecord | undefined {
    return readJsonRecord<ImageRecord>(this.path(namespace, name));
  }

  get(namespace: string, name: string): ImageRecord {
    const r = this.find(namespace, name);
    if (!r) throw notFound(`image "${name}": not found`);
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
    return readdirSync(this.root).filter((n) => isNamespaceName(n) && this.list(n).length > 0);
  }

  create(namespace: string, image: { name: string; target: Descriptor; labels?: Record<string, string> }): ImageRecord {
    if (this.find(namespace, image.name)) throw exists(`image "${image.name}": already exists`);
    return this.put(namespace, image);
  }

  /** Creates or replaces the record `image.name` (its creation time stays). */
  put(namespace: string, image: { name: string; target: Descriptor; labels?: Record<string, string> }): ImageRecord {
    const now = new Date().toISOString();
    const old = this.find(namespace, image.name);
    const record: ImageRecord = { name: image.name, target: image.target, labels: validateLabels(image.labels ?? old?.labels, 'image.Labels'), createdAt: old?.createdAt ?? now, updatedAt: now };
    mkdirSync(this.dir(namespace), { recursive: true, mode: 0o700 });
    writeFileAtomic(this.path(namespace, image.name), JSON.stringify(record), 0o600);
    this.publish?.(namespace, old ? '/images/update' : '/images/create', containerdEvent(old ? 'ImageUpdate' : 'ImageCreate', { name: record.name, labels: record.labels }));
    return record;
  }

  delete(namespace: string, name: string): void {
    this.get(namespace, name);
    rmSync(this.path(namespace, name), { force: true });
    this.publish?.(namespace, '/images/delete', containerdEvent('ImageDelete', { name }));
  }
}
