// Image references against Docker's own normalization (distribution/reference's examples).
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { familiarName, formatReference, parseReference } from '../../../src/image/reference.js';

const D = `sha256:${'a'.repeat(64)}`;

it('normalizes names as docker does', () => {
  const cases: Array<[string, string, string]> = [
    ['busybox', 'docker.io/library/busybox:latest', 'busybox:latest'],
    ['busybox:1.36', 'docker.io/library/busybox:1.36', 'busybox:1.36'],
    ['user/app', 'docker.io/user/app:latest', 'user/app:latest'],
    ['docker.io/busybox', 'docker.io/library/busybox:latest', 'busybox:latest'],
    ['index.docker.io/library/busybox', 'docker.io/library/busybox:latest', 'busybox:latest'],
    ['127.0.0.1:5000/app:v1', '127.0.0.1:5000/app:v1', '127.0.0.1:5000/app:v1'],
    ['localhost/app', 'localhost/app:latest', 'localhost/app:latest'],
    ['localhost:5000/a/b/c', 'localhost:5000/a/b/c:latest', 'localhost:5000/a/b/c:latest'],
    ['registry.example.com/team/app_x-y.z', 'registry.example.com/team/app_x-y.z:latest', 'registry.example.com/team/app_x-y.z:latest'],
    [`busybox@${D}`, `docker.io/library/busybox@${D}`, `busybox@${D}`],
    [`busybox:1@${D}`, `docker.io/library/busybox:1@${D}`, `busybox:1@${D}`],
  ];
  for (const [input, full, short] of cases) {
    const r = parseReference(input);
    assert.equal(formatReference(r), full, input);
    assert.equal(familiarName(r), short, input);
  }
  assert.equal(parseReference('busybox', { defaultTag: false }).tag, undefined);
});

it('refuses what docker refuses, naming the problem', () => {
  assert.throws(() => parseReference('BusyBox'), /must be lowercase/);
  assert.throws(() => parseReference('busybox:bad tag'), /not a valid tag/);
  assert.throws(() => parseReference('busybox@sha256:short'), /not a digest/);
  assert.throws(() => parseReference('a//b'), /not a repository name/);
  assert.throws(() => parseReference('-leading'), /not a repository name/);
  assert.throws(() => parseReference(''), /empty/);
  assert.throws(() => parseReference('busybox:' + 'x'.repeat(129)), /not a valid tag/);
});
