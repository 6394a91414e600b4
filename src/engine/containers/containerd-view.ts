// The engine's containers as containerd container records, for the supervisor's containers
// service in the engine's namespace (`ctr -n moby containers ls` shows what `docker ps -a` shows).
// A view, computed from the engine's own records on every read: nothing is copied, so nothing can
// drift. Fields as Docker's containers appear in containerd: runtime io.containerd.runc.v2, the
// OCI spec of the last start (from the bundle), the bundle label Docker
// sets, the image name, and the writable snapshot (berth's containers live on the supervisor's
// snapshotter, as with Docker's containerd image store). Docker's own labels are added, so ctr's
// label filters find them. Only the engine changes them: the supervisor refuses ctr's updates and
// removals of these records. Their creation and removal are announced on the supervisor's
// exchange as containerd's /containers/create and /containers/delete.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatReference, parseReference } from '../../image/reference.js';
import type { ContainerRecord as SupervisorContainer, ContainerView } from '../../supervisor/containers/store.js';
import { containerdEvent, type Publish } from '../../supervisor/events/exchange.js';
import type { EngineEvent, EventLog } from '../events.js';
import type { ContainerRecord } from './record.js';
import type { ContainerStore } from './store.js';

/** Where the engine writes a container's OCI bundle (config.json and the rootfs mount point). */
export const containerBundleDir = (execRoot: string, id: string): string => join(execRoot, 'containers', id);

/** The label Docker's containers carry in containerd: their bundle directory. */
export const BUNDLE_LABEL = 'com.docker/engine.bundle.path';

const SPEC_TYPE_URL = 'types.containerd.io/opencontainers/runtime-spec/1/Spec';
const FULL_ID = /^[0-9a-f]{64}$/;
const IMAGE_ID = /^(sha256:)?[0-9a-f]{12,64}$/;

/** The image as containerd names it: a full reference ("docker.io/library/busybox:latest"), or the ID the user gave. */
function imageName(c: ContainerRecord): string {
  const given = c.Config.Image ?? '';
  if (!given || IMAGE_ID.test(given)) return c.Image;
  try {
    return formatReference(parseReference(given));
  } catch {
    return c.Image;
  }
}

/**
 * The spec the container last started with, as containerd's typeurl encodes it (JSON). Before a
 * first start (or after a reboot emptied the exec root) there is none yet: the engine builds it
 * at start, with the network. containerd's clients need one (ctr dereferences it), so until then
 * the part the config already fixes stands in: process, root, hostname.
 */
function specOf(c: ContainerRecord, bundle: string): NonNullable<SupervisorContainer['spec']> {
  let json: Buffer;
  try {
    json = readFileSync(join(bundle, 'config.json'));
  } catch {
    json = Buffer.from(JSON.stringify({
      ociVersion: '1.0.2-dev',
      process: { terminal: !!c.Config.Tty, user: { uid: 0, gid: 0 }, args: [c.Path, ...c.Args], env: c.Config.Env ?? [], cwd: c.Config.WorkingDir || '/' },
      root: { path: join(bundle, 'rootfs') },
      hostname: c.Config.Hostname ?? '',
    }));
  }
  return { typeUrl: SPEC_TYPE_URL, value: json.toString('base64') };
}

function toRecord(c: ContainerRecord, execRoot: string, snapshotter: string): SupervisorContainer {
  const bundle = containerBundleDir(execRoot, c.ID);
  return {
    id: c.ID,
    labels: { ...(c.Config.Labels ?? {}), [BUNDLE_LABEL]: bundle },
    image: imageName(c),
    runtime: { name: 'io.containerd.runc.v2' },
    spec: specOf(c, bundle),
    snapshotter: c.SnapshotKey ? snapshotter : '',
    snapshotKey: c.SnapshotKey,
    extensions: {},
    createdAt: c.Created,
    updatedAt: c.State.StartedAt > c.Created ? c.State.StartedAt : c.Created,
  };
}

export function containerdView(store: ContainerStore, o: { execRoot: string; snapshotter: string }): ContainerView {
  return {
    keeper: 'the Docker engine (berthd\'s Docker API): use docker to change or remove it',
    list: () => store.list().map((c) => toRecord(c, o.execRoot, o.snapshotter)),
    find(id) {
      const c = FULL_ID.test(id) ? store.find(id) : undefined;
      return c && c.ID === id ? toRecord(c, o.execRoot, o.snapshotter) : undefined;
    },
  };
}

/** Announces the engine's container creations and removals as containerd's container events. */
export function announceContainers(events: EventLog, publish: Publish, namespace: string, view: ContainerView): void {
  events.on('event', (e: EngineEvent) => {
    if (e.Type !== 'container') return;
    if (e.Action === 'create') {
      const r = view.find(e.Actor.ID);
      if (r) publish(namespace, '/containers/create', containerdEvent('ContainerCreate', { id: r.id, image: r.image, runtime: { name: r.runtime.name } }));
    } else if (e.Action === 'destroy') publish(namespace, '/containers/delete', containerdEvent('ContainerDelete', { id: e.Actor.ID }));
  });
}
