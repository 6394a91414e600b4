// Bad requests to berthd's Engine API: malformed JSON, wrong types, a huge body, unknown objects,
// "../" in path parameters, unsupported API versions, unknown routes. Each gets a 4xx with a JSON
// message saying what to fix; the daemon stays up and nothing else is touched.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { call } from '../../helpers/api.js';
import { startBerthd, type TestBerthd } from '../../helpers/berthd.js';

describe('bad input to the Engine API', () => {
  let d: TestBerthd;
  before(async () => {
    d = await startBerthd();
  });
  after(async () => {
    await d?.stop();
  });

  const cases: Array<[string, string, string, string | Buffer | undefined, number, RegExp]> = [
    ['malformed JSON', 'POST', '/containers/create', '{"Image": "bb",', 400, /invalid JSON/],
    ['a body that is not an object', 'POST', '/containers/create', '[1,2]', 400, /must be a JSON object/],
    ['no image', 'POST', '/containers/create', '{}', 400, /No image specified/],
    ['Cmd of the wrong type', 'POST', '/containers/create', '{"Image":"bb","Cmd":"echo hi"}', 400, /cannot unmarshal string into Go struct field Config.Cmd/],
    ['Tty of the wrong type', 'POST', '/containers/create', '{"Image":"bb","Tty":"yes"}', 400, /Config.Tty/],
    ['a bad restart policy', 'POST', '/containers/create', '{"Image":"bb","HostConfig":{"RestartPolicy":{"Name":"sometimes"}}}', 400, /invalid restart policy/],
    ['--rm with a restart policy', 'POST', '/containers/create', '{"Image":"bb","HostConfig":{"AutoRemove":true,"RestartPolicy":{"Name":"always"}}}', 400, /AutoRemove/],
    ['a negative memory limit', 'POST', '/containers/create', '{"Image":"bb","HostConfig":{"Memory":-5}}', 400, /invalid Memory/],
    ['an unknown image', 'POST', '/containers/create', '{"Image":"nope:1"}', 404, /No such image: nope:1/],
    ['a bad container name', 'POST', '/containers/create?name=../x', '{"Image":"bb"}', 400, /Invalid container name \(\.\.\/x\)/],
    ['an unknown container', 'GET', '/containers/nope/json', undefined, 404, /No such container: nope/],
    ['../ in a path parameter', 'GET', '/containers/..%2F..%2Fetc/json', undefined, 404, /No such container: \.\.\/\.\.\/etc/],
    ['an unknown exec', 'GET', '/exec/nope/json', undefined, 404, /No such exec instance/],
    ['an unknown image to inspect', 'GET', '/images/nope/json', undefined, 404, /No such image: nope/],
    ['an invalid reference', 'POST', '/images/create?fromImage=bad%40%40ref', undefined, 400, /invalid reference format/],
    ['bad filters', 'GET', '/containers/json?filters=%7Bnope', undefined, 400, /invalid filters/],
    ['an unknown filter', 'GET', '/containers/json?filters=%7B%22color%22%3A%5B%22red%22%5D%7D', undefined, 400, /invalid filter 'color'/],
    ['a version too new', 'GET', '/v9.99/info', undefined, 400, /client version 9.99 is too new/],
    ['a version too old', 'GET', '/v1.12/info', undefined, 400, /client version 1.12 is too old/],
    ['an unknown route', 'GET', '/nothing/here', undefined, 404, /page not found/],
    ['a wrong method', 'DELETE', '/info', undefined, 405, /not allowed/],
  ];

  for (const [what, method, path, body, status, message] of cases) {
    it(`${what}: ${status}`, async () => {
      const a = await call(d.socket, method, path, body);
      assert.equal(a.status, status, a.body);
      assert.match((JSON.parse(a.body) as { message: string }).message, message);
    });
  }

  it('refuses a 1 GB body without reading it, and stays up', async () => {
    const a = await call(d.socket, 'POST', '/containers/create', 'x', { 'Content-Length': 1 << 30 }).catch((err: Error) => ({ status: 0, body: err.message, headers: {} }));
    assert.ok(a.status === 413 || a.status === 0, `${a.status} ${a.body}`);
    assert.equal((await call(d.socket, 'GET', '/_ping')).body, 'OK');
  });

  it('answers HEAD /_ping with the API version, and leaves nothing behind the bad requests', async () => {
    const a = await call(d.socket, 'HEAD', '/_ping');
    assert.equal(a.status, 200);
    assert.equal(a.headers['api-version'], '1.45');
    const list = JSON.parse((await call(d.socket, 'GET', '/containers/json?all=1')).body) as unknown[];
    assert.equal(list.length, 0, 'no container was created by a refused request');
  });
});
