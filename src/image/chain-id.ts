// Chain IDs (OCI image spec, "Layer ChainID"): the name of a stack of layers, and so the key of
// the committed snapshot that holds it. ChainID(L0) = DiffID(L0);
// ChainID(L0..Ln) = sha256(ChainID(L0..Ln-1) + " " + DiffID(Ln)).
import { createHash } from 'node:crypto';
import { invalid } from '../common/errors.js';

export function chainIds(diffIds: readonly string[]): string[] {
  const out: string[] = [];
  for (const diffId of diffIds) {
    if (!/^sha256:[0-9a-f]{64}$/.test(diffId)) throw invalid(`invalid layer diff ID "${diffId}"`);
    const prev = out.at(-1);
    out.push(prev === undefined ? diffId : `sha256:${createHash('sha256').update(`${prev} ${diffId}`).digest('hex')}`);
  }
  return out;
}
