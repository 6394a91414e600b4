#!/usr/bin/env node
// berth: the docker-compatible CLI. The code is compiled to dist/ by `npm ci`.
import { main } from '../dist/src/cli/main.js';

process.exit(await main(process.argv.slice(2)));
