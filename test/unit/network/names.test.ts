// Which names the embedded DNS answers, for whom.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { answerAddresses, buildResponse, parseQuery, buildQuery, TYPE } from '../../../src/network/dns/message.js';
import { lookupName, mayForward, type NameView } from '../../../src/network/dns/names.js';
import type { StoredEndpoint, StoredNetwork } from '../../../src/network/types.js';

function ep(containerId: string, containerName: string, ip: string, aliases: string[] = []): StoredEndpoint {
  return { containerId, containerName, endpointId: 'e', netnsPath: '/x', aliases, ip, mac: '', ifName: 'eth0', hostVeth: 'v', defaultRoute: false };
}
function net(id: string, name: string, endpoints: StoredEndpoint[], internal = false): StoredNetwork {
  return {
    id, name, created: '', driver: 'bridge', internal, attachable: false, enableIPv6: false, labels: {}, options: {}, ipamOptions: {}, predefined: false,
    ipam: { subnet: '10.0.0.0/8', gateway: '10.0.0.1', allocated: {} }, endpoints: Object.fromEntries(endpoints.map((e) => [e.containerId, e])),
  };
}

const web = ep('aaaaaaaaaaaa1111', 'web', '10.1.0.2', ['www']);
const web2 = ep('bbbbbbbbbbbb2222', 'web2', '10.1.0.3', ['www']);
const both = ep('cccccccccccc3333', 'both', '10.1.0.4');
const db = ep('dddddddddddd4444', 'db', '10.2.0.2');
const bothB = { ...both, ip: '10.2.0.3' };
const lonely = ep('eeeeeeeeeeee5555', 'lonely', '10.3.0.2');
const A = net('A', 'front', [web, web2, both]);
const B = net('B', 'back', [db, bothB]);
const I = net('I', 'sealed', [lonely], true);
const view: NameView = { networks: [A, B, I], served: () => true, external: (n) => !n.internal };

const ask = (netId: string, from: string, name: string, type: number = TYPE.A) => {
  const r = lookupName(view, netId, parseQuery(buildQuery(1, name, type))!.question, from);
  return r && answerAddresses(buildResponse(parseQuery(buildQuery(1, name, type))!, 0, r)).sort();
};

describe('lookupName', () => {
  it('answers names, aliases (all holders), short IDs and NAME.NETWORK on the asker\'s network', () => {
    assert.deepEqual(ask('A', '10.1.0.3', 'web'), ['10.1.0.2']);
    assert.deepEqual(ask('A', '10.1.0.3', 'www'), ['10.1.0.2', '10.1.0.3']);
    assert.deepEqual(ask('A', '10.1.0.3', 'aaaaaaaaaaaa'), ['10.1.0.2']);
    assert.deepEqual(ask('A', '10.1.0.3', 'web.front'), ['10.1.0.2']);
    assert.equal(ask('A', '10.1.0.3', 'aaaaaaaaaaaa1111'), undefined, 'not the full ID');
  });
  it('keeps networks apart, except for a container on both', () => {
    assert.equal(ask('A', '10.1.0.2', 'db'), undefined);
    assert.equal(ask('B', '10.2.0.2', 'web'), undefined);
    assert.deepEqual(ask('A', '10.1.0.4', 'db'), ['10.2.0.2']);
    assert.equal(ask('B', '10.2.0.9', 'web'), undefined, 'an unknown source sees only that network');
  });
  it('answers AAAA with no record, forwards other types, and PTR for containers', () => {
    assert.deepEqual(ask('A', '10.1.0.3', 'web', TYPE.AAAA), []);
    assert.equal(ask('A', '10.1.0.3', 'web', TYPE.TXT), undefined);
    const ptr = lookupName(view, 'A', parseQuery(buildQuery(1, '2.0.1.10.in-addr.arpa', TYPE.PTR))!.question, '10.1.0.3');
    assert.equal(ptr?.length, 1);
    assert.match(ptr![0]!.data.toString('latin1'), /web.*front/);
  });
  it('forwards for containers with a way out only', () => {
    assert.equal(mayForward(view, 'A', '10.1.0.2'), true);
    assert.equal(mayForward(view, 'I', '10.3.0.2'), false);
    assert.equal(mayForward(view, 'I', '10.3.0.1'), false, 'the host asking an internal network');
    assert.equal(mayForward(view, 'X', '10.3.0.1'), false);
  });
});
