// Pax records as the writer makes them: lengths in bytes (a long name in a multi-byte script), and
// xattrs of any bytes, read back by berth's reader and listed by GNU tar.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readTar } from '../../../src/image/tar-reader.js';
import { tarEntry, TAR_END } from '../../../src/image/tar-writer.js';

async function* once(b: Buffer): AsyncGenerator<Buffer> {
  yield b;
}

it('writes a long multi-byte name and binary xattrs that both readers take', async () => {
  const name = `dir/${'é'.repeat(60)}`; // 124 bytes, 64 characters: a pax path record
  const xattrs = { 'security.capability': Buffer.from([1, 0, 0, 2, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), 'user.nl': Buffer.from('a\nb=c\0d') };
  const tar = Buffer.concat([tarEntry({ name, type: 'file', xattrs }, Buffer.from('body')), tarEntry({ name: 'plain', type: 'file' }, Buffer.from('p')), TAR_END]);
  const seen: Array<[string, Record<string, Buffer>, string]> = [];
  for await (const { header, body } of readTar(once(tar))) {
    const parts: Buffer[] = [];
    for await (const b of body) parts.push(b);
    seen.push([header.name, header.xattrs, Buffer.concat(parts).toString()]);
  }
  assert.deepEqual(seen, [[name, xattrs, 'body'], ['plain', {}, 'p']]);
  assert.deepEqual(execFileSync('tar', ['-tf', '-'], { input: tar, encoding: 'utf8' }).split('\n'), [name, 'plain', '']);
});
