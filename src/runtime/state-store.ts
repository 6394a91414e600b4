// Where the runtime keeps what it knows of each container: <root>/<id>/state.json (written
// atomically; like runc, without flushing it to disk: it does not outlive a reboot) and the exec fifo that holds a created container until `start`.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { exists, invalid, notFound, errnoOf } from '../common/errors.js';
import type { Spec } from './spec/types.js';
import { writeFileReplacing } from '../sys/fs-atomic.js';

export interface ContainerRecord {
  id: string;
  /** Host pid of the container process; 0 while creating. */
  pid: number;
  pidStartTime: number;
  bundle: string;
  rootfs: string;
  created: string;
  owner: string;
  config: Spec;
  cgroupPaths: Record<string, string>;
}

const ID_PATTERN = /^[\w+\-.]+$/;

export function checkId(id: string): void {
  if (!ID_PATTERN.test(id) || id === '.' || id === '..') throw invalid(`invalid container id "${id}": use letters, digits, "_", "+", "-" and "."`);
}

export class StateStore {
  constructor(readonly root: string) {}

  dir(id: string): string {
    return join(this.root, id);
  }

  fifoPath(id: string): string {
    return join(this.dir(id), 'exec.fifo');
  }

  /** Claims the id: fails if a container with it exists. */
  reserve(id: string): void {
    checkId(id);
    mkdirSync(this.root, { recursive: true, mode: 0o711 });
    try {
      mkdirSync(this.dir(id), { mode: 0o711 });
    } catch (err) {
      if (errnoOf(err) === 'EEXIST') throw exists(`container with id ${id} already exists`);
      throw err;
    }
  }

  save(rec: ContainerRecord): void {
    // Run-time state: replaced atomically, not flushed to disk (see fs-atomic.ts).
    writeFileReplacing(join(this.dir(rec.id), 'state.json'), JSON.stringify(rec), 0o600);
  }

  load(id: string): ContainerRecord {
    checkId(id);
    try {
      return JSON.parse(readFileSync(join(this.dir(id), 'state.json'), 'utf8')) as ContainerRecord;
    } catch (err) {
      if (errnoOf(err) === 'ENOENT') throw notFound('container does not exist');
      throw err;
    }
  }

  ids(): string[] {
    try {
      return readdirSync(this.root).filter((n) => ID_PATTERN.test(n)).sort();
    } catch (err) {
      if (errnoOf(err) === 'ENOENT') return [];
      throw err;
    }
  }

  /** Whether `id`'s directory exists (reserved by a create, with or without its state). */
  reserved(id: string): boolean {
    checkId(id);
    return existsSync(this.dir(id));
  }

  remove(id: string): void {
    rmSync(this.dir(id), { recursive: true, force: true });
  }
}
