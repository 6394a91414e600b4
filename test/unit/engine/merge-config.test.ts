// The image's config merged into a create request, as Docker merges it.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mergeImageConfig } from '../../../src/engine/containers/create.js';

const image = { Entrypoint: ['/entry'], Cmd: ['img-cmd'], Env: ['A=image', 'B=image'] };

describe('mergeImageConfig', () => {
  it('takes the image\'s entrypoint and cmd when the request has neither, and only the entrypoint under a cmd', () => {
    assert.deepEqual(pick(mergeImageConfig({}, image)), [['/entry'], ['img-cmd']]);
    assert.deepEqual(pick(mergeImageConfig({ Cmd: ['mine'] }, image)), [['/entry'], ['mine']]);
  });

  it('--entrypoint "" ([""]) stands for none, and keeps the image\'s cmd out too (Docker: "No command specified")', () => {
    assert.deepEqual(pick(mergeImageConfig({ Entrypoint: [''], Cmd: ['sh', '-c', 'x'] }, image)), [null, ['sh', '-c', 'x']]);
    assert.deepEqual(pick(mergeImageConfig({ Entrypoint: [''] }, image)), [null, null]);
  });

  it('env by key: the request\'s values win, the image\'s others follow', () => {
    assert.deepEqual(mergeImageConfig({ Env: ['B=mine', 'C=mine'] }, image).Env, ['B=mine', 'C=mine', 'A=image']);
  });
});

function pick(c: { Entrypoint?: string[] | null; Cmd?: string[] | null }): unknown[] {
  return [c.Entrypoint ?? null, c.Cmd ?? null];
}
