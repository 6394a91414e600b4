// Request bodies decoded as Docker's Go decoder reads them: wrong types are 400s naming the field,
// null is the zero value, names match case-insensitively, unknown fields are dropped.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decode, decodeBody } from '../../../src/api/decode.js';
import { CREATE_BODY, UPDATE_CONFIG } from '../../../src/api/shapes.js';
import { BerthError } from '../../../src/common/errors.js';

const refused = (fn: () => unknown, message: RegExp) => assert.throws(fn, (err: unknown) => err instanceof BerthError && err.httpStatus === 400 && message.test(err.message));

describe('decode', () => {
  it('refuses a wrong type with the Go field and type', () => {
    refused(() => decodeBody({ Image: 'x', Cmd: 'echo hi' }, CREATE_BODY), /cannot unmarshal string into Go struct field Config\.Cmd of type \[\]string/);
    refused(() => decodeBody({ Image: 'x', HostConfig: { Memory: '1g' } }, CREATE_BODY), /Go struct field HostConfig\.Memory of type int64/);
    refused(() => decodeBody({ Image: 'x', HostConfig: { PortBindings: { '80/tcp': [{ HostPort: 80 }] } } }, CREATE_BODY), /PortBinding\.HostPort of type string/);
    refused(() => decodeBody({ Image: 'x', Labels: { a: 1 } }, CREATE_BODY), /Config\.Labels\[a\] of type string/);
    refused(() => decodeBody([], CREATE_BODY), /must be a JSON object/);
  });

  it('refuses numbers an int64 cannot hold', () => {
    refused(() => decodeBody({ Memory: 1.5 }, UPDATE_CONFIG), /number 1\.5/);
    refused(() => decodeBody({ Memory: 2 ** 64 }, UPDATE_CONFIG), /number/);
    refused(() => decodeBody({ BlkioWeight: -1 }, UPDATE_CONFIG), /of type uint64/);
    assert.deepEqual(decodeBody({ Memory: -1, CpuShares: 2 ** 53 }, UPDATE_CONFIG), { Memory: -1, CpuShares: 2 ** 53 });
  });

  it('takes null as the zero value, matches names case-insensitively, exact names first', () => {
    assert.deepEqual(decodeBody({ image: 'x', Cmd: null, hostconfig: { memory: 7 } }, CREATE_BODY), { Image: 'x', Cmd: null, HostConfig: { Memory: 7 } });
    assert.deepEqual(decodeBody({ image: 'lower', Image: 'exact' }, CREATE_BODY), { Image: 'exact' });
  });

  it('drops what the struct does not have, however deep or odd', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 10_000; i++) deep = { a: deep };
    const body = JSON.parse('{"Image":"x","__proto__":{"polluted":1},"constructor":{"prototype":{}},"Extra":1}') as Record<string, unknown>;
    const out = decodeBody<Record<string, unknown>>({ ...body, Deep: deep, HostConfig: { Nope: deep } }, CREATE_BODY);
    assert.deepEqual(out, { Image: 'x', HostConfig: {} });
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.deepEqual(decode({ a: { x: 1 } }, { map: { struct: 'S', fields: {} } }), { a: {} });
  });
});
