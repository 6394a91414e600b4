// Port forwarding into a pod's network namespace, ready for StreamingRuntime.portForward: connects
// to localhost:PORT inside the namespace named by a netns file (a bind mount such as
// /run/netns/NAME) and pipes the stream both ways. Node cannot move one of its threads into
// another namespace, so a small process does the connecting: `nsenter --net=FILE` running
// netns-dial.js with this Node. One process per forwarded connection, gone when it ends.
import { spawn } from 'node:child_process';
import type { Duplex } from 'node:stream';
import { fileURLToPath } from 'node:url';

const DIAL_SCRIPT = fileURLToPath(new URL('./netns-dial.js', import.meta.url));
/** How much of the helper's stderr is kept for the error message. */
const MAX_ERROR_TEXT = 4096;

export interface ForwardOptions {
  /** The name the error message gives the namespace (containerd gives the sandbox id). */
  label?: string;
  /** The nsenter program (default: nsenter from PATH). */
  nsenter?: string;
}

/**
 * Forwards `stream` to localhost:`port` inside the network namespace at `netnsPath`. Resolves when
 * the port has finished sending (what it sent is written to `stream`, which is left open for the
 * caller to end); rejects with containerd's words when the port cannot be reached. Destroying
 * `stream` ends the forward at once.
 */
export function forwardInNetns(netnsPath: string, port: number, stream: Duplex, options: ForwardOptions = {}): Promise<void> {
  return new Promise((resolve, reject) => {
    const fail = (detail: string): void => reject(new Error(`failed to execute portforward in network namespace "${netnsPath}": ${detail}`));
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      fail(`port ${port} is not a TCP port (1-65535)`);
      return;
    }
    const child = spawn(options.nsenter ?? 'nsenter', [`--net=${netnsPath}`, '--', process.execPath, DIAL_SCRIPT, String(port), options.label ?? netnsPath], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      if (stderr.length < MAX_ERROR_TEXT) stderr += chunk.toString('utf8');
    });
    // The helper may exit while the client still sends: those writes fail with EPIPE, on purpose.
    child.stdin.on('error', () => undefined);
    stream.pipe(child.stdin);
    child.stdout.pipe(stream, { end: false });

    const onStreamGone = (): void => void child.kill('SIGKILL');
    stream.once('close', onStreamGone);
    child.once('error', (err) => {
      stream.off('close', onStreamGone);
      fail(`cannot run ${options.nsenter ?? 'nsenter'}: ${err.message}`);
    });
    child.once('close', (code, signal) => {
      stream.off('close', onStreamGone);
      stream.unpipe(child.stdin);
      if (code === 0) resolve();
      else fail(stderr.trim() || `the port-forward helper ended with ${code === null ? `signal ${signal}` : `status ${code}`}`);
    });
  });
}
