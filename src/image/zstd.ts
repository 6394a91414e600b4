// zstd streams through the zstd tool, which Node 20's zlib lacks: decompression for zstd layers
// (the layer applier) and compression for zstd diffs (the supervisor's diff service).
import { spawn } from 'node:child_process';
import { BerthError, invalid } from '../common/errors.js';

/** `source` (de)compressed by `zstd`, with backpressure; a failure names what was being done. */
export async function* zstd(source: AsyncIterable<Buffer>, mode: 'compress' | 'decompress'): AsyncGenerator<Buffer> {
  const what = mode === 'compress' ? 'zstd compression' : 'zstd layer';
  // Level 3 is zstd's default, and what containerd's zstd diffs use.
  const child = spawn('zstd', mode === 'compress' ? ['-cq', '-3'] : ['-dcq'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve, reject) => {
    child.once('error', (err) => reject(new BerthError('UNAVAILABLE', `${what}: cannot run zstd (apt-get install zstd): ${err.message}`)));
    child.once('close', resolve);
  });
  exited.catch(() => {});
  const feed = (async () => {
    for await (const chunk of source) if (!child.stdin.write(chunk)) await new Promise((r) => child.stdin.once('drain', r));
    child.stdin.end();
  })();
  feed.catch(() => child.kill());
  child.stdin.on('error', () => {}); // zstd stopped reading: its exit status says why
  let done = false;
  try {
    for await (const chunk of child.stdout) yield chunk as Buffer;
    done = true;
  } finally {
    if (!done) child.kill(); // the consumer stopped early
  }
  const code = await exited;
  if (code !== 0) throw invalid(`${what}: ${stderr.trim() || `zstd exited with ${code}`}`);
  await feed;
}
