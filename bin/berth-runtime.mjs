#!/usr/bin/env node
// berth-runtime: runc-compatible OCI runtime. The code is compiled to dist/ by `npm ci`.
import { main } from '../dist/src/runtime/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
