// Chain IDs against values computed independently (sha256sum of the spec's "parent diffID" text).
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chainIds } from '../../../src/image/chain-id.js';

const a = `sha256:${'a'.repeat(64)}`;
const b = `sha256:${'b'.repeat(64)}`;
const c = `sha256:${'c'.repeat(64)}`;
const sha256sum = (text: string) => `sha256:${execFileSync('sha256sum', { input: text, encoding: 'utf8' }).split(' ')[0]}`;

it('names a layer stack as the OCI image spec says', () => {
  const ab = sha256sum(`${a} ${b}`);
  assert.deepEqual(chainIds([a, b, c]), [a, ab, sha256sum(`${ab} ${c}`)]);
  assert.deepEqual(chainIds([]), []);
  assert.throws(() => chainIds(['sha256:../x']), /invalid layer diff ID/);
});
