// OCI bundles for tasks created through containerd's API: <exec-root>/bundles/<ns>/<id> with the
// container record's spec as config.json and the request's rootfs mounts (the snapshot's overlay)
// mounted on rootfs/, as containerd's runc shim prepares them. Removing one unmounts first, so a
// failed create or a delete leaves no mount behind.
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { invalid } from '../../common/errors.js';
import { writeFileReplacing } from '../../sys/fs-atomic.js';
import { type HostMount, isMountPoint, mountAll, unmountAll } from '../../sys/mount.js';

export class BundleStore {
  constructor(readonly root: string) {}

  dir(ns: string, id: string): string {
    return join(this.root, ns, id);
  }

  /** Writes config.json and mounts the rootfs; on failure nothing is left. */
  prepare(ns: string, id: string, specJson: Buffer, rootfs: readonly HostMount[]): string {
    let spec: unknown;
    try {
      spec = JSON.parse(specJson.toString('utf8'));
    } catch (err) {
      throw invalid(`container "${id}" has a spec that is not an OCI runtime spec in JSON: ${(err as Error).message}`);
    }
    const dir = this.dir(ns, id);
    this.remove(ns, id); // a leftover from a task whose removal was interrupted
    mkdirSync(join(dir, 'rootfs'), { recursive: true, mode: 0o711 });
    try {
      writeFileReplacing(join(dir, 'config.json'), JSON.stringify(spec), 0o600);
      if (rootfs.length) mountAll(rootfs, join(dir, 'rootfs'));
    } catch (err) {
      this.remove(ns, id);
      throw err;
    }
    return dir;
  }

  /**
   * Removes the bundles no task owns: what a supervisor killed between mounting a bundle and
   * recording its task left behind. Run before serving, when no create is in flight.
   */
  sweep(owned: (ns: string, id: string) => boolean, warn?: (message: string) => void): void {
    let namespaces: string[];
    try {
      namespaces = readdirSync(this.root);
    } catch {
      return; // no bundle made yet
    }
    for (const ns of namespaces) {
      for (const id of readdirSync(join(this.root, ns))) {
        if (owned(ns, id)) continue;
        try {
          this.remove(ns, id);
        } catch (err) {
          warn?.(`cannot remove the stray bundle ${this.dir(ns, id)}: ${(err as Error).message}`);
        }
      }
    }
  }

  remove(ns: string, id: string): void {
    const dir = this.dir(ns, id);
    if (!existsSync(dir)) return;
    const rootfs = join(dir, 'rootfs');
    if (isMountPoint(rootfs)) unmountAll(rootfs);
    rmSync(dir, { recursive: true, force: true });
  }
}
