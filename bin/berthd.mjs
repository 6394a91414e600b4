#!/usr/bin/env node
// berthd: the berth daemon. The code is compiled to dist/ by `npm ci`.
import { keepYoungGenerationSmall } from '../dist/src/common/young-generation.js';
import { collectWhenIdle } from '../dist/src/common/idle-gc.js';
import { releaseFreeMallocMemory } from '../dist/src/sys/libc.js';

// A node's daemon (--supervisor-only: containerd's API and the CRI) keeps its young generation
// small, set before its modules load, since one grown while loading would stay grown. Not yet
// with the Docker API, whose allocation-heavy rows (pull, build, logs) were not measured with it.
if (process.argv.includes('--supervisor-only')) keepYoungGenerationSmall();
// After a burst of work, the memory its garbage holds goes back to the kernel once berthd is idle:
// V8's through a full collection, malloc's (Buffers, parsers, compiled code) through malloc_trim.
collectWhenIdle({ afterCollection: releaseFreeMallocMemory });
const { main } = await import('../dist/src/berthd.js');
// Exit explicitly: watchers of running containers' shims would keep the process alive, and the
// containers are meant to outlive it.
process.exit(await main(process.argv.slice(2)));
