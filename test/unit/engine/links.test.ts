// Legacy links: the forms --link takes and Docker stores, and what a start adds for each link.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkLinks, linkSettings, parseLink } from '../../../src/engine/containers/links.js';
import type { ContainerRecord } from '../../../src/engine/containers/record.js';

const container = (name: string, over: Partial<ContainerRecord> = {}): ContainerRecord => ({
  ID: `${name}-id`, Name: `/${name}`, Config: { Hostname: `${name}-host`, Env: [] }, HostConfig: {},
  State: { Running: true }, Networks: {}, ...over,
} as unknown as ContainerRecord);

describe('legacy links', () => {
  it('reads name:alias, name, and the stored /name:/linking/alias', () => {
    assert.deepEqual(parseLink('web:db'), { target: '/web', alias: 'db' });
    assert.deepEqual(parseLink('web'), { target: '/web', alias: 'web' });
    assert.deepEqual(parseLink('/web:/app/db'), { target: '/web', alias: 'db' });
    assert.throws(() => parseLink(':db'), /invalid link format/);
  });

  it('stores links as Docker does, and refuses a missing container or the host network', () => {
    const web = container('web');
    const find = (ref: string) => (ref === 'web' ? web : undefined);
    assert.deepEqual(checkLinks({ Links: ['web:db', 'web'] }, '/app', find), ['/web:/app/db', '/web:/app/web']);
    assert.throws(() => checkLinks({ Links: ['nope:x'] }, '/app', find), /could not get container for nope/);
    assert.throws(() => checkLinks({ Links: ['web'], NetworkMode: 'host' }, '/app', find), /host type networking can't be used with links/);
  });

  it('gives hosts lines on any shared network, and the environment on the default bridge only', () => {
    const web = container('web', {
      Config: { Hostname: 'abc', Env: ['PATH=/bin', 'SECRET=1'], ExposedPorts: { '80/tcp': {}, '53/udp': {} } },
      Networks: { bridge: { IPAddress: '172.17.0.2' }, back: { IPAddress: '10.0.0.2' } },
    } as Partial<ContainerRecord>);
    const find = (ref: string) => (ref === 'web' ? web : undefined);
    const onBridge = linkSettings(container('app', { HostConfig: { Links: ['/web:/app/db'] }, Networks: { bridge: {} } } as Partial<ContainerRecord>), find);
    assert.deepEqual(onBridge.hosts, ['172.17.0.2\tdb abc web']);
    assert.deepEqual(onBridge.env.slice(0, 2), ['DB_PORT=udp://172.17.0.2:53', 'DB_PORT_53_UDP=udp://172.17.0.2:53']);
    assert.ok(onBridge.env.includes('DB_NAME=/app/db') && onBridge.env.includes('DB_ENV_SECRET=1'));
    assert.ok(!onBridge.env.some((e) => e.startsWith('DB_ENV_PATH')), 'PATH is not the linked container\'s own');
    const onUserNetwork = linkSettings(container('app', { HostConfig: { Links: ['/web:/app/db'] }, Networks: { back: {} } } as Partial<ContainerRecord>), find);
    assert.deepEqual(onUserNetwork, { hosts: ['10.0.0.2\tdb abc web'], env: [] });
    const stopped = (ref: string) => (ref === 'web' ? { ...web, State: { Running: false } } as ContainerRecord : undefined);
    assert.throws(() => linkSettings(container('app', { HostConfig: { Links: ['/web:/app/db'] } } as Partial<ContainerRecord>), stopped), /Cannot link to a non running container: \/web AS \/app\/db/);
  });
});
