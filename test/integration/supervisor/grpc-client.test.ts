// The supervisor API's write stream, reads, leases and events driven by a plain gRPC client (what
// ctr cannot do on its own): a write cut off mid-way stays an ingest that a new stream resumes at
// its offset, ingests are listed and aborted, a blob already there is refused AlreadyExists (also
// when it turns out to be one only at COMMIT, its labels kept), a
// lease in the metadata holds what a call writes, a missing namespace or lease is refused, ranged
// reads, and events published and forwarded by clients reach subscribers with their filters.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { credentials, makeGenericClientConstructor, Metadata, status, type Client, type ServiceError } from '@grpc/grpc-js';
import { digestOf } from '../../../src/common/digest.js';
import { loadProtos } from '../../../src/supervisor/grpc/protos.js';
import { serviceDefinition, type Message } from '../../../src/common/grpc/service-def.js';
import { startBerthd, supervisorSocket, type TestBerthd } from '../../helpers/berthd.js';
import { HAVE_CTR, ctrAt, rows } from '../../helpers/ctr.js';
import { waitFor } from '../../helpers/runtime.js';

type Call = (method: string, req: Message, md?: Metadata) => Promise<Message>;
/** A generic client: its methods are looked up by name. */
type Raw = Client & Record<string, (...args: unknown[]) => any>;

function client(socket: string, service: string): { raw: Raw; call: Call } {
  const Ctor = makeGenericClientConstructor(serviceDefinition(loadProtos(), service), service);
  const raw = new Ctor(`unix://${socket}`, credentials.createInsecure()) as unknown as Raw;
  const call: Call = (method, req, md = ns('t')) => new Promise((resolve, reject) => raw[method]!.call(raw, req, md, (err: ServiceError | null, res: Message) => (err ? reject(err) : resolve(res))));
  return { raw, call };
}

function ns(name: string, lease?: string): Metadata {
  const md = new Metadata();
  md.set('containerd-namespace', name);
  if (lease) md.set('containerd-lease', lease);
  return md;
}

/** One write stream: sends `requests` in turn, each after the previous answer. */
async function writeStream(raw: Raw, md: Metadata, requests: Message[], opts: { cancelAfter?: number } = {}): Promise<Message[]> {
  const stream = raw.Write!.call(raw, md) as NodeJS.EventEmitter & { write(m: Message): void; end(): void; cancel(): void };
  const answers: Message[] = [];
  return new Promise((resolve, reject) => {
    stream.on('data', (m: Message) => {
      answers.push(m);
      if (opts.cancelAfter === answers.length) {
        stream.cancel();
        resolve(answers);
      } else if (answers.length < requests.length) stream.write(requests[answers.length]!);
      else stream.end();
    });
    stream.on('error', (err: ServiceError) => (err.code === status.CANCELLED ? resolve(answers) : reject(err)));
    stream.on('end', () => resolve(answers));
    stream.write(requests[0]!);
  });
}

const rejectsWith = (p: Promise<unknown>, code: status, msg: RegExp) => assert.rejects(p, (e: ServiceError) => {
  assert.equal(e.code, code, e.details);
  assert.match(e.details, msg);
  return true;
});

describe('supervisor API through a gRPC client', { timeout: 120_000, skip: !HAVE_CTR && 'ctr not installed (apt-get install containerd)' }, () => {
  let d: TestBerthd;
  let content: ReturnType<typeof client>;
  before(async () => {
    d = await startBerthd({ supervisorOnly: true });
    content = client(supervisorSocket(d), 'containerd.services.content.v1.Content');
  });
  after(async () => {
    content?.raw.close();
    await d?.stop();
  });

  it('resumes a write cut off mid-way, lists it, and commits it whole', { timeout: 30_000 }, async () => {
    const data = Buffer.from('0123456789abcdef');
    const expected = digestOf(data);
    await writeStream(content.raw, ns('t'), [{ action: 'STAT', ref: 'r1', total: 16, expected }, { action: 'WRITE', offset: 0, data: data.subarray(0, 6) }], { cancelAfter: 2 });
    await waitFor(async () => (await content.call('ListStatuses', {})).statuses.length === 1, 5000);
    const st = (await content.call('Status', { ref: 'r1' })).status;
    assert.deepEqual([st.ref, st.offset, st.total, st.expected], ['r1', 6, 16, expected]);
    const ctr = ctrAt(supervisorSocket(d));
    assert.deepEqual(rows(await ctr.ok(['content', 'active'], { ns: 't' })).map((r) => r[0]), ['r1']);
    const answers = await writeStream(content.raw, ns('t'), [
      { action: 'STAT', ref: 'r1', total: 16, expected },
      { action: 'WRITE', offset: 6, data: data.subarray(6) },
      { action: 'COMMIT', offset: 16, total: 16, expected, labels: { kept: 'yes' } },
    ]);
    assert.equal(answers[0]!.offset, 6, 'the new stream starts where the first stopped');
    assert.deepEqual([answers[2]!.action, answers[2]!.offset, answers[2]!.digest], ['COMMIT', 16, expected]);
    assert.deepEqual((await content.call('Info', { digest: expected })).info.labels, { kept: 'yes' });
    assert.deepEqual((await content.call('ListStatuses', {})).statuses, []);
    await rejectsWith(writeStream(content.raw, ns('t'), [{ action: 'STAT', ref: 'r2', expected }]), status.ALREADY_EXISTS, /content sha256:[0-9a-f]{64}: already exists/);
    await rejectsWith(writeStream(content.raw, ns('t'), [{ action: 'WRITE', ref: 'r3', offset: 5, data: Buffer.from('x') }]), status.OUT_OF_RANGE, /write @5 must occur at current offset 0/);
    await rejectsWith(writeStream(content.raw, ns('t'), [{ action: 'COMMIT', ref: 'r4', data: Buffer.from('abc'), expected: digestOf('abd') }]), status.FAILED_PRECONDITION, /content has digest .* want sha256/);
  });

  it('answers a commit of content the namespace has AlreadyExists, its labels kept; another namespace records it with its own', { timeout: 30_000 }, async () => {
    const data = Buffer.from('committed more than once');
    const digest = digestOf(data);
    const info = async (name: string) => (await content.call('Info', { digest }, ns(name))).info as Message;
    await writeStream(content.raw, ns('dup'), [{ action: 'COMMIT', ref: 'd1', data, labels: { owner: 'first' } }]);
    const first = await info('dup');
    // No expected digest (ctr content ingest, ctr images import): the bytes are known at COMMIT.
    await rejectsWith(writeStream(content.raw, ns('dup'), [{ action: 'WRITE', ref: 'd2', data }, { action: 'COMMIT', offset: data.length, labels: { owner: 'second' } }]), status.ALREADY_EXISTS, /content sha256:[0-9a-f]{64}: already exists/);
    // The expected digest first named at COMMIT, or in the first message: refused when it is seen.
    await rejectsWith(writeStream(content.raw, ns('dup'), [{ action: 'WRITE', ref: 'd3', data }, { action: 'COMMIT', offset: data.length, expected: digest, labels: { owner: 'third' } }]), status.ALREADY_EXISTS, /blob with expected digest sha256:[0-9a-f]{64} exists/);
    await rejectsWith(writeStream(content.raw, ns('dup'), [{ action: 'STAT', ref: 'd4', expected: digest, total: data.length }]), status.ALREADY_EXISTS, /content sha256:[0-9a-f]{64}: already exists/);
    assert.deepEqual(await info('dup'), first, 'labels and times as the first commit left them');
    assert.deepEqual((await content.call('ListStatuses', {}, ns('dup'))).statuses, [], 'no ingest left behind');
    // Other namespaces: the blob becomes visible there with that commit's labels, with or without its bytes.
    await writeStream(content.raw, ns('dup2'), [{ action: 'WRITE', ref: 'x', data }, { action: 'COMMIT', offset: data.length, labels: { owner: 'dup2' } }]);
    const shared = await writeStream(content.raw, ns('dup3'), [{ action: 'STAT', ref: 'x', expected: digest, total: data.length }, { action: 'COMMIT', offset: data.length, total: data.length, expected: digest, labels: { owner: 'dup3' } }]);
    assert.equal(shared[1]!.digest, digest);
    assert.deepEqual((await info('dup2')).labels, { owner: 'dup2' });
    assert.deepEqual((await info('dup3')).labels, { owner: 'dup3' });
    assert.deepEqual((await info('dup')).labels, { owner: 'first' });
  });

  it('aborts an ingest, reads ranges, and shares a blob with another namespace without its bytes', { timeout: 30_000 }, async () => {
    await writeStream(content.raw, ns('t'), [{ action: 'WRITE', ref: 'gone', data: Buffer.from('half') }]);
    await content.call('Abort', { ref: 'gone' });
    await rejectsWith(content.call('Status', { ref: 'gone' }), status.NOT_FOUND, /could not get status for ref "gone": reference gone: not found/);
    await rejectsWith(content.call('Abort', { ref: 'gone' }), status.NOT_FOUND, /reference gone: not found/);
    const data = Buffer.from('range me please');
    const digest = digestOf(data);
    await writeStream(content.raw, ns('t'), [{ action: 'COMMIT', ref: 'rg', data, expected: digest, total: data.length }]);
    const chunks: Buffer[] = [];
    await new Promise<void>((resolve, reject) => {
      const s = content.raw.Read!.call(content.raw, { digest, offset: 6, size: 2 }, ns('t')) as NodeJS.EventEmitter;
      s.on('data', (m: Message) => chunks.push(Buffer.from(m.data)));
      s.on('end', resolve);
      s.on('error', reject);
    });
    assert.equal(Buffer.concat(chunks).toString(), 'me');
    await rejectsWith(new Promise((resolve, reject) => {
      const s = content.raw.Read!.call(content.raw, { digest, offset: 99 }, ns('t')) as NodeJS.EventEmitter;
      s.on('data', resolve);
      s.on('end', resolve);
      s.on('error', reject);
    }), status.OUT_OF_RANGE, /read past object length 15 bytes/);
    const shared = await writeStream(content.raw, ns('other'), [{ action: 'STAT', ref: 'sh', expected: digest, total: data.length }, { action: 'COMMIT', offset: data.length, total: data.length, expected: digest }]);
    assert.equal(shared[0]!.offset, data.length, 'the blob on disk stands in for the bytes');
    assert.equal((await content.call('Info', { digest }, ns('other'))).info.size, data.length);
  });

  it('holds what a call writes under its lease, and refuses a missing lease or namespace', { timeout: 30_000 }, async () => {
    const leases = client(supervisorSocket(d), 'containerd.services.leases.v1.Leases');
    try {
      await leases.call('Create', { id: 'op-1', labels: {} }, ns('t'));
      const data = Buffer.from('leased');
      await writeStream(content.raw, ns('t', 'op-1'), [{ action: 'COMMIT', ref: 'leased-ref', data, expected: digestOf(data) }]);
      const res = (await leases.call('ListResources', { id: 'op-1' }, ns('t'))).resources as Message[];
      assert.deepEqual(res.map((r) => `${r.type} ${r.id}`).sort(), [`content ${digestOf(data)}`, 'ingests leased-ref']);
      await rejectsWith(writeStream(content.raw, ns('t', 'no-such-lease'), [{ action: 'STAT', ref: 'x' }]), status.NOT_FOUND, /lease "no-such-lease" does not exist/);
      await rejectsWith(leases.call('AddResource', { id: 'op-1', resource: { type: 'volumes', id: 'v' } }, ns('t')), status.UNIMPLEMENTED, /resource type volumes not supported/);
      await rejectsWith(content.call('Info', { digest: digestOf('x') }, new Metadata()), status.FAILED_PRECONDITION, /namespace is required/);
      assert.deepEqual((await content.call('ListStatuses', {}, ns('never-written'))).statuses, [], 'a namespace never written to is empty, as in containerd');
      const namespaces = client(supervisorSocket(d), 'containerd.services.namespaces.v1.Namespaces');
      await rejectsWith(namespaces.call('Delete', { name: 'never-written' }), status.NOT_FOUND, /namespace "never-written": not found/);
      await rejectsWith(namespaces.call('Update', { namespace: { name: 't', labels: {} }, update_mask: { paths: ['name'] } }), status.INVALID_ARGUMENT, /cannot update "name" field/);
      namespaces.raw.close();
    } finally {
      leases.raw.close();
    }
  });

  it('delivers published and forwarded events to filtered subscribers', { timeout: 30_000 }, async () => {
    const events = client(supervisorSocket(d), 'containerd.services.events.v1.Events');
    const root = loadProtos();
    const type = root.lookupType('containerd.events.ContainerDelete');
    const any = (id: string) => ({ type_url: 'containerd.events.ContainerDelete', value: Buffer.from(type.encode(type.fromObject({ id })).finish()) });
    const got: Message[] = [];
    const sub = events.raw.Subscribe!.call(events.raw, { filters: ['namespace==t,event.id==keep'] }, ns('t')) as NodeJS.EventEmitter & { cancel(): void };
    sub.on('data', (m: Message) => got.push(m));
    sub.on('error', () => {});
    try {
      await new Promise((r) => setTimeout(r, 300));
      await events.call('Publish', { topic: '/containers/delete', event: any('drop') }, ns('t'));
      await events.call('Publish', { topic: '/containers/delete', event: any('keep') }, ns('t'));
      await events.call('Forward', { envelope: { timestamp: { seconds: 1_700_000_000, nanos: 0 }, namespace: 't', topic: '/containers/delete', event: any('keep') } });
      await events.call('Forward', { envelope: { namespace: 'u', topic: '/containers/delete', event: any('keep') } });
      await waitFor(() => got.length >= 2, 5000);
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(got.length, 2);
      assert.deepEqual(got.map((e) => [e.namespace, e.topic, e.event.type_url, type.decode(e.event.value).toJSON().id]), [['t', '/containers/delete', 'containerd.events.ContainerDelete', 'keep'], ['t', '/containers/delete', 'containerd.events.ContainerDelete', 'keep']]);
      assert.equal(Number(got[1]!.timestamp.seconds), 1_700_000_000, 'a forwarded envelope keeps its time');
      await rejectsWith(events.call('Publish', { topic: 'no-slash', event: any('x') }, ns('t')), status.INVALID_ARGUMENT, /must start with '\/'/);
      await rejectsWith(events.call('Publish', { topic: '/x' }, ns('t')), status.INVALID_ARGUMENT, /must not be nil: event/);
    } finally {
      sub.cancel();
      events.raw.close();
    }
  });
});
