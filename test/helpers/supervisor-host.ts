// A process that hosts a task service, for tests that kill it: `node supervisor-host.js SPEC.json`
// where SPEC = {execRoot, runtime, runtimes, tasks: [{id, bundle, log}]}. It creates and starts
// every task, prints "ready" and then idles until it is killed.
import { readFileSync } from 'node:fs';
import { TaskService } from '../../src/supervisor/tasks/service.js';

interface HostSpec {
  execRoot: string;
  runtime?: string;
  runtimes?: Record<string, string>;
  tasks: Array<{ id: string; bundle: string; log: string }>;
}

const spec = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as HostSpec;
const service = new TaskService({ execRoot: spec.execRoot, runtimes: spec.runtimes });
await Promise.all(spec.tasks.map(async (t) => {
  await service.create('test', t.id, { bundle: t.bundle, runtime: spec.runtime, log: { path: t.log } });
  await service.start('test', t.id);
}));
process.stdout.write('ready\n');
setInterval(() => {}, 1 << 30);
