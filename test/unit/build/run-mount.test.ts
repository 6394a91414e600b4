// RUN --mount values as BuildKit's frontend reads them: CSV fields, defaults per type, values
// expanded with the stage's variables (from= never), and its errors.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { csvFields, mountFromValue, parseDockerfile, parseRunMount, planBuild } from '../../../src/build/dockerfile/index.js';

const env = new Map([['DIR', '/cache'], ['ID', 'go']]);
const mount = (text: string) => parseRunMount(text, env);

it('splits CSV fields, quotes grouping commas', () => {
  assert.deepEqual(csvFields('type=bind,"source=a,b",target=/x'), ['type=bind', 'source=a,b', 'target=/x']);
  assert.deepEqual(csvFields('a="say ""hi""",b'), ['a="say ""hi"""', 'b']);
  assert.deepEqual(csvFields('"a=say ""hi""",b'), ['a=say "hi"', 'b']);
  assert.equal(mountFromValue('type=cache,from=Build,target=/x'), 'Build');
});

it('fills in BuildKit\'s defaults', () => {
  assert.deepEqual(mount('target=/src'), { type: 'bind', target: '/src', readOnly: true, required: false });
  assert.deepEqual(mount('type=cache,target=/root/.cache'), { type: 'cache', target: '/root/.cache', readOnly: false, required: false });
  assert.deepEqual(mount('type=tmpfs,dst=/tmp,size=64m'), { type: 'tmpfs', target: '/tmp', readOnly: false, required: false, size: 64 << 20 });
  assert.deepEqual(mount('type=secret,id=npmrc'), { type: 'secret', target: '', readOnly: true, required: false, id: 'npmrc' });
  assert.equal(mount('type=bind,source=x,target=/x,rw').readOnly, false);
  assert.equal(mount('type=bind,target=/x,readwrite=true').readOnly, false);
  assert.equal(mount('type=cache,target=/x,ro').readOnly, true);
  assert.equal(mount('type=ssh,required').required, true);
});

it('expands values with the stage\'s variables, but never from=', () => {
  assert.deepEqual(mount('type=cache,id=$ID,target=${DIR}/x,sharing=locked,mode=0700,uid=1000,gid=100'), {
    type: 'cache', id: 'go', target: '/cache/x', sharing: 'locked', mode: 0o700, uid: 1000, gid: 100, readOnly: false, required: false,
  });
  assert.equal(mount('type=bind,from=$ID,target=/x').from, '$ID');
});

it('refuses what BuildKit refuses', () => {
  const cases: Array<[string, RegExp]> = [
    ['type=volume,target=/x', /unsupported mount type "volume"/],
    ['type=cache,target=/x,sharing=all', /unsupported sharing value "all"/],
    ['type=bind,target=/x,sharing=shared', /invalid cache sharing set for bind mount/],
    ['type=bind,target=/x,uid=1', /uid not allowed for "bind" type mounts/],
    ['type=tmpfs,target=/x,mode=700', /mode not allowed for "tmpfs" type mounts/],
    ['type=bind,target=/x,size=1m', /unexpected key 'size' for mount type 'bind'/],
    ['type=bind,target=/x,required', /unexpected key 'required' for mount type 'bind'/],
    ['type=bind,target=/x,colour=red', /unexpected key 'colour' in 'colour=red'/],
    ['type=bind,target=/x,bogus', /invalid field 'bogus' must be a key=value pair/],
    ['type=cache,target=/x,mode=9', /invalid value 9 for mode/],
    ['type=secret,from=x,id=a', /secret mount should not have a from/],
    ['type=secret', /one of source, target required/],
    ['type=bind,target=/x,ro=maybe', /invalid value for ro: maybe/],
  ];
  for (const [text, re] of cases) assert.throws(() => mount(text), re, text);
});

it('plans a stage a RUN mounts from as a dependency, so it is built first', () => {
  const df = parseDockerfile('FROM a AS tools\nRUN make\nFROM b AS other\nRUN x\nFROM c\nRUN --mount=from=tools,target=/t --mount=type=cache,from=other,target=/c use\n');
  const plan = planBuild(df, { pruneUnused: true });
  assert.deepEqual(plan.stages.at(-1)?.dependsOn, [0, 1]);
  assert.deepEqual(plan.levels, [[0, 1], [2]]);
  // an image is no stage: nothing to wait for
  assert.deepEqual(planBuild(parseDockerfile('FROM a\nRUN --mount=from=busybox,target=/b x\n')).stages[0]?.dependsOn, []);
});
