#!/usr/bin/env node
// berthd: the berth daemon. The code is compiled to dist/ by `npm ci`.
import { collectWhenIdle } from '../dist/src/common/idle-gc.js';
import { releaseFreeMallocMemory } from '../dist/src/sys/libc.js';
import { main } from '../dist/src/berthd.js';

// After a burst of work, the memory its garbage holds goes back to the kernel once berthd is idle:
// V8's through a full collection, malloc's (Buffers, parsers, compiled code) through malloc_trim.
collectWhenIdle({ afterCollection: releaseFreeMallocMemory });
// Exit explicitly: watchers of running containers' shims would keep the process alive, and the
// containers are meant to outlive it.
process.exit(await main(process.argv.slice(2)));
