// The container's files and figures: `docker cp` (GET/PUT/HEAD archive, every path resolved inside
// the container's root as a chroot would, never by joining strings on the host), `docker diff`,
// `docker export`, `docker stats` and `docker update`.
import { existsSync, lstatSync, readlinkSync, type Stats } from 'node:fs';
import { join, posix } from 'node:path';
import { invalid, notFound } from '../../common/errors.js';
import { applyLayer } from '../../image/apply-layer.js';
import { naiveChanges, overlayChanges, writeLayer, type Change } from '../../image/diff-layer.js';
import { cleanEntryPath, resolveDir, resolveInRoot } from '../../image/secure-path.js';
import { anyHas, lowerLayerDirs, writableLayerDir } from '../../supervisor/snapshots/types.js';
import { withoutInitFiles } from '../../engine/containers/init-files.js';
import type { CgroupStats } from '../../runtime/cgroups/stats.js';
import { exportTree } from '../../engine/images/import-export.js';
import { dockerStats, networkCounters, systemCpuNs, type StatsSample } from '../../engine/containers/stats.js';
import { buildResources } from '../../engine/containers/spec/resources.js';
import type { HostConfig } from '../../engine/containers/api-types.js';
import { decodeBody } from '../decode.js';
import { readJson, sendJson, writeChunk } from '../http.js';
import { UPDATE_CONFIG } from '../shapes.js';
import type { Ctx, Router } from '../router.js';
import { isPathUnder } from '../../common/paths.js';

/** Go's os.FileMode bits for the stat header the docker CLI reads. */
function goFileMode(st: Stats): number {
  let mode = Number(st.mode) & 0o7777 & ~0o7000;
  if (st.isDirectory()) mode += 2 ** 31;
  if (st.isSymbolicLink()) mode += 2 ** 27;
  if (Number(st.mode) & 0o4000) mode += 2 ** 23;
  if (Number(st.mode) & 0o2000) mode += 2 ** 22;
  if (Number(st.mode) & 0o1000) mode += 2 ** 20;
  return mode;
}

/** The host path of a container path: parents resolved chroot-style, the last component as is. */
function containerPath(rootfs: string, path: string): { host: string; parts: string[] } {
  if (!path) throw invalid('path is required');
  const parts = cleanEntryPath(posix.resolve('/', path));
  const follow = path.endsWith('/.') || path.endsWith('/');
  return { host: follow ? resolveDir(rootfs, parts) : resolveInRoot(rootfs, parts), parts };
}

/** `container` is the name or ID the request gave: Docker's message repeats it. */
function statHeader(host: string, parts: string[], container: string): string {
  let st;
  try {
    st = lstatSync(host);
  } catch {
    throw notFound(`Could not find the file /${parts.join('/')} in container ${container}`);
  }
  const link = st.isSymbolicLink() ? readlinkSync(host) : '';
  const stat = { name: parts.at(-1) ?? '/', size: st.size, mode: goFileMode(st), mtime: st.mtime.toISOString(), linkTarget: link };
  return Buffer.from(JSON.stringify(stat)).toString('base64');
}

async function archiveHead(ctx: Ctx): Promise<void> {
  await ctx.engine.containers.withRootfs(ctx.params.id!, async (rootfs) => {
    const { host, parts } = containerPath(rootfs, ctx.query.string('path') ?? '');
    ctx.res!.writeHead(200, { 'X-Docker-Container-Path-Stat': statHeader(host, parts, ctx.params.id!) }).end();
  }, { withMounts: true });
}

async function archiveGet(ctx: Ctx): Promise<void> {
  await ctx.engine.containers.withRootfs(ctx.params.id!, async (rootfs) => {
    const { host, parts } = containerPath(rootfs, ctx.query.string('path') ?? '');
    const header = statHeader(host, parts, ctx.params.id!);
    // The entries are named from the path's last part. The root's are "/bin", "/etc"…, as Docker
    // names them: the CLI puts its destination's name in front (cp ctr:/ out gives out/bin).
    const root = parts.length === 0;
    const base = parts.at(-1) ?? '';
    const parent = root ? host : join(host, '..');
    const changes: Change[] = root ? [] : [{ path: base, kind: 'add' }];
    if (lstatSync(host).isDirectory()) for (const c of naiveChanges(undefined, host)) changes.push({ path: `${base}/${c.path}`, kind: 'add' });
    const res = ctx.res!;
    res.writeHead(200, { 'Content-Type': 'application/x-tar', 'X-Docker-Container-Path-Stat': header });
    for await (const chunk of writeLayer(parent, changes)) if (!(await writeChunk(res, chunk))) break;
    res.end();
  }, { withMounts: true });
}

async function archivePut(ctx: Ctx): Promise<void> {
  await ctx.engine.containers.withRootfs(ctx.params.id!, async (rootfs) => {
    const path = ctx.query.string('path') ?? '';
    const dir = resolveDir(rootfs, cleanEntryPath(posix.resolve('/', path)));
    if (!existsSync(dir)) throw notFound(`Could not find the file ${path} in container ${ctx.params.id}`);
    if (!lstatSync(dir).isDirectory()) throw invalid(`extraction point is not a directory: ${path}`);
    // As Docker: files go into a writable volume or bind even on a read-only rootfs, never into a
    // read-only one (the innermost mount holding the path decides).
    const c = ctx.engine.containers.get(ctx.params.id!);
    const target = posix.resolve('/', path);
    const mount = (c.MountPoints ?? []).filter((m) => m.Type !== 'tmpfs' && isPathUnder(target, m.Destination)).sort((a, b) => b.Destination.length - a.Destination.length)[0];
    if (mount && !mount.RW) throw invalid('mounted volume is marked read-only');
    if (!mount && c.HostConfig.ReadonlyRootfs) throw invalid('container rootfs is marked read-only');
    await applyLayer(dir, ctx.req, 'literal');
    ctx.res!.writeHead(200).end();
  }, { withMounts: true });
}

/** Docker's change kinds: 0 modified, 1 added, 2 deleted. */
async function changes(ctx: Ctx): Promise<void> {
  const e = ctx.engine;
  const c = e.containers.get(ctx.params.id!);
  const mounts = e.snapshotter.mounts(c.SnapshotKey);
  const upper = writableLayerDir(mounts);
  const inLower = anyHas(lowerLayerDirs(mounts));
  // What berth made for itself (mount points, /.dockerenv) is not the container's change: Docker
  // keeps it in an init layer and does not list it either.
  const list = withoutInitFiles(e.snapshotter.name === 'overlayfs' ? overlayChanges(upper) : naiveChanges(undefined, upper), inLower);
  const out = list.map((ch) => ({ Path: `/${ch.path}`, Kind: ch.kind === 'delete' ? 2 : ch.kind === 'opaque' || inLower(ch.path) ? 0 : 1 }));
  sendJson(ctx.res!, 200, out.length ? out : null);
}

async function exportContainer(ctx: Ctx): Promise<void> {
  await ctx.engine.containers.withRootfs(ctx.params.id!, async (rootfs) => {
    const res = ctx.res!;
    res.writeHead(200, { 'Content-Type': 'application/x-tar' });
    for await (const chunk of exportTree(rootfs)) if (!(await writeChunk(res, chunk))) break;
    res.end();
  });
  ctx.engine.events.publish('container', 'export', ctx.engine.containers.get(ctx.params.id!).ID, {});
}

async function sample(ctx: Ctx, id: string): Promise<StatsSample> {
  const e = ctx.engine;
  const c = e.containers.get(id);
  let cg: CgroupStats | undefined;
  if (c.State.Running) cg = (await e.tasks.stats(e.config.namespace, c.ID).catch(() => undefined)) as CgroupStats | undefined;
  const ownNetwork = c.State.Running && c.State.Pid && c.HostConfig.NetworkMode !== 'host';
  return { at: new Date(), cg, system: systemCpuNs(), networks: ownNetwork ? networkCounters(c.State.Pid) : undefined };
}

async function stats(ctx: Ctx): Promise<void> {
  const e = ctx.engine;
  const c = e.containers.get(ctx.params.id!);
  const stream = ctx.query.bool('stream', true);
  const oneShot = ctx.query.bool('one-shot');
  const res = ctx.res!;
  if (!stream) {
    // One answer: with a previous sample a moment before (a CPU percentage needs two) unless
    // one-shot asks for speed. Sent whole, with its length.
    const prev = oneShot ? undefined : await sample(ctx, c.ID);
    if (prev) await new Promise((r) => setTimeout(r, 1000));
    const body = Buffer.from(`${JSON.stringify(dockerStats(e.containers.get(c.ID), await sample(ctx, c.ID), prev))}\n`);
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': body.length });
    return void res.end(body);
  }
  res.writeHead(200, { 'Content-Type': 'application/json' });
  res.flushHeaders();
  let closed = false;
  ctx.req.socket.once('close', () => (closed = true));
  let prev: StatsSample | undefined;
  while (!closed) {
    const now = await sample(ctx, c.ID);
    res.write(`${JSON.stringify(dockerStats(e.containers.get(c.ID), now, prev))}\n`);
    prev = now;
    if (!e.containers.get(c.ID).State.Running) break;
    await new Promise((r) => setTimeout(r, 1000));
  }
  res.end();
}

async function update(ctx: Ctx): Promise<void> {
  // Only the resources and the restart policy: anything else in the body is not merged into HostConfig.
  const body = decodeBody<HostConfig>(await readJson(ctx.req), UPDATE_CONFIG);
  const c = ctx.engine.containers.get(ctx.params.id!);
  const merged: HostConfig = { ...c.HostConfig, ...Object.fromEntries(Object.entries(body).filter(([, v]) => v !== undefined && v !== null && v !== 0 && v !== '')) };
  // Devices stay as they are: an update only changes limits (an empty rule list would deny all).
  const { devices: _devices, ...limits } = buildResources(merged, []);
  await ctx.engine.containers.update(c.ID, limits, body);
  sendJson(ctx.res!, 200, { Warnings: [] });
}

export function containerFileRoutes(r: Router): void {
  r.add('HEAD', '/containers/{id}/archive', archiveHead)
    .add('GET', '/containers/{id}/archive', archiveGet)
    .add('PUT', '/containers/{id}/archive', archivePut)
    .add('GET', '/containers/{id}/changes', changes)
    .add('GET', '/containers/{id}/export', exportContainer)
    .add('GET', '/containers/{id}/stats', stats)
    .add('POST', '/containers/{id}/update', update);
}
