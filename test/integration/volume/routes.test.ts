// The /volumes routes through a small HTTP server built from the API's own router, query and
// error handling: Docker's status codes and bodies for list, create, inspect, remove and prune.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import { join } from 'node:path';
import { Query, sendError } from '../../../src/api/http.js';
import { Router, type Ctx } from '../../../src/api/router.js';
import { volumeRoutes } from '../../../src/api/routes/volumes.js';
import { splitVersion } from '../../../src/api/server.js';
import type { Engine } from '../../../src/engine/engine.js';
import type { VolumeStore } from '../../../src/volume/store.js';
import { recordingStore, sha, tempRoot, type Recorded } from './helpers.js';

interface Reply {
  status: number;
  body: unknown;
}

describe('volume routes', () => {
  const tmp = tempRoot();
  let store: VolumeStore;
  let events: Recorded[];
  let server: Server;
  const socket = join(tmp.dir, 'api.sock');

  before(async () => {
    ({ store, events } = recordingStore(join(tmp.dir, 'root')));
    const router = new Router();
    volumeRoutes(router, () => store);
    server = createServer((req, res) => {
      void (async () => {
        try {
          const url = new URL(req.url ?? '/', 'http://berth');
          const { version, path } = splitVersion(url.pathname);
          const route = router.match(req.method ?? 'GET', path);
          if (!route || route === 'method-not-allowed') throw Object.assign(new Error('page not found'), {});
          const ctx: Ctx = { req, res, params: route.params, query: new Query(url.searchParams), version: version ?? '1.45', engine: undefined as unknown as Engine };
          await route.handler(ctx);
        } catch (err) {
          sendError(res, err);
        }
      })();
    });
    await new Promise<void>((r) => server.listen(socket, r));
  });
  after(async () => {
    await new Promise((r) => server.close(r));
    tmp.cleanup();
  });

  const call = (method: string, path: string, body?: unknown): Promise<Reply> =>
    new Promise((resolve, reject) => {
      const data = body === undefined ? undefined : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
      const req = request({ socketPath: socket, method, path, headers: data ? { 'Content-Type': 'application/json', 'Content-Length': data.length } : {} }, (res) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () => {
          const text = Buffer.concat(parts).toString();
          resolve({ status: res.statusCode!, body: text ? JSON.parse(text) : undefined });
        });
      });
      req.on('error', reject);
      req.end(data);
    });
  const q = (filters: Record<string, string[]>) => `filters=${encodeURIComponent(JSON.stringify(filters))}`;

  it('POST /volumes/create: 201 with the volume; the same name again returns it', async () => {
    const r = await call('POST', '/v1.45/volumes/create', { Name: 'api-vol', Labels: { a: 'b' }, DriverOpts: {} });
    assert.equal(r.status, 201);
    assert.deepEqual(r.body, store.get('api-vol'));
    assert.deepEqual((r.body as { Labels: unknown }).Labels, { a: 'b' });
    const again = await call('POST', '/v1.45/volumes/create', { Name: 'api-vol', Driver: 'local' });
    assert.equal(again.status, 201);
    assert.deepEqual(again.body, r.body);
    assert.equal(events.filter((e) => e.action === 'create').length, 1);

    const anon = await call('POST', '/volumes/create', {});
    assert.equal(anon.status, 201);
    assert.match((anon.body as { Name: string }).Name, /^[0-9a-f]{64}$/);
    const noBody = await call('POST', '/volumes/create');
    assert.equal(noBody.status, 201);
  });

  it('create refuses bad input with Docker\'s codes', async () => {
    assert.deepEqual(await call('POST', '/volumes/create', { Name: 'x', Driver: 'local' }), { status: 400, body: { message: 'create x: volume name is too short, names should be at least two alphanumeric characters' } });
    assert.equal((await call('POST', '/volumes/create', { Name: 'qq', Driver: 'nfsx' })).status, 404);
    assert.deepEqual(await call('POST', '/volumes/create', { Name: 'qq', DriverOpts: { foo: 'bar' } }), { status: 400, body: { message: 'create qq: invalid option: "foo"' } });
    assert.equal((await call('POST', '/volumes/create', { Name: 5 })).status, 400);
    assert.equal((await call('POST', '/volumes/create', '[1]')).status, 400);
    assert.equal((await call('POST', '/volumes/create', '{nope')).status, 400);
    assert.equal((await call('POST', '/volumes/create', { Name: 'qq', Labels: { a: 1 } })).status, 400);
  });

  it('GET /volumes lists with filters; GET /volumes/{name} inspects', async () => {
    const list = await call('GET', `/volumes?${q({ label: ['a=b'] })}`);
    assert.equal(list.status, 200);
    assert.deepEqual(list.body, { Volumes: [store.get('api-vol')], Warnings: null });
    const dangling = await call('GET', `/volumes?${q({ dangling: ['true'], name: ['api'] })}`);
    assert.deepEqual((dangling.body as { Volumes: Array<{ Name: string }> }).Volumes.map((v) => v.Name), ['api-vol']);
    assert.deepEqual(await call('GET', `/volumes?${q({ until: ['1h'] })}`), { status: 400, body: { message: "invalid filter 'until'" } });
    assert.equal((await call('GET', '/volumes?filters=notjson')).status, 400);
    assert.deepEqual(await call('GET', '/v1.41/volumes/api-vol'), { status: 200, body: store.get('api-vol') });
    assert.deepEqual(await call('GET', '/volumes/nope'), { status: 404, body: { message: 'get nope: no such volume' } });
  });

  it('DELETE /volumes/{name}: 409 in use, 404 missing unless force, 204 removed', async () => {
    store.reference('api-vol', sha(1));
    assert.deepEqual(await call('DELETE', '/volumes/api-vol'), { status: 409, body: { message: `remove api-vol: volume is in use - [${sha(1)}]` } });
    assert.equal((await call('DELETE', '/volumes/api-vol?force=1')).status, 409);
    store.release('api-vol', sha(1));
    assert.equal((await call('DELETE', '/volumes/api-vol')).status, 204);
    assert.equal((await call('DELETE', '/volumes/api-vol')).status, 404);
    assert.equal((await call('DELETE', '/volumes/api-vol?force=true')).status, 204);
    assert.ok(events.some((e) => e.action === 'destroy' && e.name === 'api-vol'));
  });

  it('POST /volumes/prune: anonymous only from API 1.42, everything unused before; VolumesDeleted null when none', async () => {
    store.create({ Name: 'named-keep' });
    const anonNames = store.list({ label: ['com.docker.volume.anonymous'] }).map((v) => v.Name);
    assert.equal(anonNames.length, 2);
    const r = await call('POST', '/v1.45/volumes/prune');
    assert.equal(r.status, 200);
    assert.deepEqual((r.body as { VolumesDeleted: string[] }).VolumesDeleted.sort(), anonNames.sort());
    assert.deepEqual(await call('POST', '/v1.45/volumes/prune'), { status: 200, body: { VolumesDeleted: null, SpaceReclaimed: 0 } });
    assert.deepEqual(await call('POST', `/v1.45/volumes/prune?${q({ label: ['none'] , all: ['true'] })}`), { status: 200, body: { VolumesDeleted: null, SpaceReclaimed: 0 } });
    assert.deepEqual(await call('POST', '/v1.41/volumes/prune'), { status: 200, body: { VolumesDeleted: ['named-keep'], SpaceReclaimed: 0 } });
    assert.deepEqual(await call('POST', `/volumes/prune?${q({ dangling: ['true'] })}`), { status: 400, body: { message: "invalid filter 'dangling'" } });
  });
});
