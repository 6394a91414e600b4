// Which OCI runtime CLI a runtime name means when the daemon's configuration does not name it:
// containerd's runc options name a BinaryName ("runc", "crun", or a path), looked up on PATH.
import { accessSync, constants } from 'node:fs';
import { isAbsolute, join } from 'node:path';

export function findRuntimeBinary(name: string): string | undefined {
  const candidates = isAbsolute(name) ? [name] : name.includes('/') ? [] : (process.env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin').split(':').filter(Boolean).map((d) => join(d, name));
  return candidates.find((p) => {
    try {
      accessSync(p, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}
