// Debian's real containerd (1.6) as a reference, private to a test: its own root, state and
// sockets under one temp directory, the CRI plugin off. `stop()` ends it and removes its mounts
// and files, also when a test failed.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { socketAnswers } from '../../src/sys/unix-socket.js';
import { cleanupDir, haveCommand, waitFor, unmountUnder } from './runtime.js';

export const HAVE_CONTAINERD = haveCommand('containerd');

export interface TestContainerd {
  socket: string;
  log(): string;
  stop(): Promise<void>;
}

export async function startContainerd(): Promise<TestContainerd> {
  const dir = mkdtempSync(join(tmpdir(), 'berth-containerd-'));
  const socket = join(dir, 'containerd.sock');
  writeFileSync(join(dir, 'config.toml'), [
    'version = 2',
    `root = "${join(dir, 'root')}"`,
    `state = "${join(dir, 'state')}"`,
    'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
    `[grpc]\n  address = "${socket}"`,
    `[ttrpc]\n  address = "${socket}.ttrpc"`,
    '[debug]\n  address = ""',
    '[metrics]\n  address = ""',
    `[plugins."io.containerd.internal.v1.opt"]\n  path = "${join(dir, 'opt')}"`,
  ].join('\n'));
  const child = spawn('containerd', ['--config', join(dir, 'config.toml')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    unmountUnder(dir);
    cleanupDir(dir);
  };
  try {
    await waitFor(async () => {
      if (child.exitCode !== null) throw new Error(`containerd exited: ${stderr.slice(-2000)}`);
      return socketAnswers(socket);
    }, 15_000);
  } catch (err) {
    await stop();
    throw err;
  }
  return { socket, log: () => stderr, stop };
}
