// COPY/ADD sources written as heredocs (`COPY <<EOF /etc/motd`): each body becomes a file named
// after its delimiter, mode 0644, as BuildKit makes it, in a private directory of the build, so
// it is copied (and checksummed for the cache) like any file of the context.
import { chmodSync, lstatSync, mkdtempSync, writeFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import type { SourceMatch } from './context.js';
import type { InlineSource } from './dockerfile/index.js';

export function inlineSources(scratch: string, sources: readonly InlineSource[]): SourceMatch[] {
  return sources.map((src) => {
    const dir = mkdtempSync(join(scratch, 'inline-'));
    const name = posix.basename(src.name) || 'heredoc';
    const hostPath = join(dir, name);
    writeFileSync(hostPath, src.data);
    chmodSync(hostPath, 0o644); // whatever the daemon's umask
    return { hostPath, relPath: name, stat: lstatSync(hostPath) };
  });
}
