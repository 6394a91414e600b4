// Content digests as the OCI image spec writes them: "algorithm:hex". berth stores sha256 and
// sha512 blobs; anything else is refused before it can name a file.
import { createHash, type Hash } from 'node:crypto';
import { invalid } from './errors.js';

const LENGTHS: Record<string, number> = { sha256: 64, sha512: 128 };

export interface ParsedDigest {
  algorithm: 'sha256' | 'sha512';
  hex: string;
}

export function parseDigest(digest: string): ParsedDigest {
  const m = /^([a-z0-9]+):([a-f0-9]+)$/.exec(digest);
  if (!m || LENGTHS[m[1]!] !== m[2]!.length) throw invalid(`invalid digest "${digest}": want sha256:<64 hex> or sha512:<128 hex>`);
  return { algorithm: m[1] as ParsedDigest['algorithm'], hex: m[2]! };
}

export function hasher(algorithm: ParsedDigest['algorithm'] = 'sha256'): Hash {
  return createHash(algorithm);
}

export function digestOf(data: Buffer | string, algorithm: ParsedDigest['algorithm'] = 'sha256'): string {
  return `${algorithm}:${createHash(algorithm).update(data).digest('hex')}`;
}
