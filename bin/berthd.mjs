#!/usr/bin/env node
// berthd: the berth daemon. The code is compiled to dist/ by `npm ci`.
import { main } from '../dist/src/berthd.js';

// Exit explicitly: watchers of running containers' shims would keep the process alive, and the
// containers are meant to outlive it.
process.exit(await main(process.argv.slice(2)));
