// containerd.services.introspection.v1.Introspection: the "plugins" berth's supervisor provides,
// named as containerd names its own (so clients that probe for a snapshotter or a service find
// it), and the server's UUID, made once and kept in the data root.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../../../sys/fs-atomic.js';
import { labelField, parseFilters } from '../../filters.js';
import { unary, type HandlerEnv, type Implementation } from '../handlers.js';
import type { Message } from '../../../common/grpc/service-def.js';
import type { Supervisor } from '../../supervisor.js';

interface Plugin {
  type: string;
  id: string;
  requires?: string[];
  exports?: Record<string, string>;
  platforms?: boolean;
}

function plugins(sup: Supervisor): Plugin[] {
  const root = sup.options.dataRoot;
  const sn = sup.snapshotterName;
  return [
    { type: 'io.containerd.content.v1', id: 'content', exports: { root: join(root, 'content') } },
    { type: 'io.containerd.snapshotter.v1', id: sn, platforms: true, exports: { root: join(root, 'snapshots', sn) } },
    { type: 'io.containerd.metadata.v1', id: 'bolt', requires: ['io.containerd.content.v1', 'io.containerd.snapshotter.v1'], exports: { root: root } },
    { type: 'io.containerd.differ.v1', id: 'walking', requires: ['io.containerd.metadata.v1'], platforms: true },
    { type: 'io.containerd.event.v1', id: 'exchange' },
    { type: 'io.containerd.gc.v1', id: 'scheduler', requires: ['io.containerd.metadata.v1'] },
    { type: 'io.containerd.lease.v1', id: 'manager', requires: ['io.containerd.metadata.v1'] },
    // The runc shim's runtime, as containerd names it (berth's own runtime behind it).
    { type: 'io.containerd.runtime.v2', id: 'task', platforms: true, requires: ['io.containerd.event.v1', 'io.containerd.metadata.v1'], exports: { root: join(sup.options.execRoot, 'bundles') } },
    ...['containers', 'content', 'diff', 'images', 'leases', 'namespaces', 'snapshots', 'tasks'].map((id) => ({ type: 'io.containerd.service.v1', id: `${id}-service`, requires: ['io.containerd.metadata.v1'] })),
    ...['containers', 'content', 'diff', 'events', 'images', 'introspection', 'leases', 'namespaces', 'snapshots', 'tasks', 'version'].map((id) => ({ type: 'io.containerd.grpc.v1', id, requires: ['io.containerd.service.v1'] })),
  ];
}

function toMessage(p: Plugin): Message {
  return {
    type: p.type, id: p.id, requires: p.requires ?? [], exports: p.exports ?? {}, capabilities: [],
    platforms: p.platforms ? [{ os: 'linux', architecture: process.arch === 'x64' ? 'amd64' : process.arch, variant: '' }] : [],
  };
}

/** The server's UUID: made on first use, kept so that it stays across restarts. */
function serverUuid(sup: Supervisor): string {
  const path = join(sup.options.dataRoot, 'uuid');
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    const uuid = randomUUID();
    writeFileAtomic(path, uuid, 0o644);
    return uuid;
  }
}

export function introspectionService(env: HandlerEnv): Implementation {
  return {
    Plugins: unary(env, 'introspection.Plugins', (req) => {
      const match = parseFilters(req.filters ?? []);
      const list = plugins(env.supervisor).filter((p) => match((path) => {
        switch (path[0]) {
          case 'type': return p.type;
          case 'id': return p.id;
          case 'capabilities': return undefined;
          case 'exports': return labelField(p.exports, path.slice(1));
          default: return undefined;
        }
      }));
      return { plugins: list.map(toMessage) };
    }),
    Server: unary(env, 'introspection.Server', () => ({ uuid: serverUuid(env.supervisor) })),
  };
}
