// Keeps V8's young generation at its initial size (two 1 MB semi-spaces) in a long-lived daemon.
//
// V8 doubles the young generation, up to two 16 MB semi-spaces, whenever much of it survives a
// scavenge — as it does while berthd loads its modules and .proto files, pulls an image or makes
// a pod — and shrinks it only in a full collection that finds the allocation rate low. Grown, it
// is the largest part of berthd's resident memory beyond Node's own: measured on
// `berthd --supervisor-only` after one `ctr run`, 16 to 32 MB of its 98 MB RSS, kept while idle.
// berthd's allocations are short requests and streamed Buffers (whose bytes live outside V8's
// heap), for which a 1 MB nursery is scavenged often but cheaply: the ctr and CRI benchmarks'
// latencies did not change beyond their noise (README, "Supervisor memory").
//
// The flag is the growth factor because it is read at each growth: the semi-spaces' maximum
// (--max-semi-space-size) is fixed when the heap is made, and berthd is started as
// `node bin/berthd.mjs` (by the CLI, the systemd unit, tests), never with V8 flags of its own.
// Call it before loading anything else, while the young generation is still at its initial size.
import { setFlagsFromString } from 'node:v8';

export function keepYoungGenerationSmall(): void {
  setFlagsFromString('--semi-space-growth-factor=1');
}
