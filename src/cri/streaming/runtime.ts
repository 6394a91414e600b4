// What the streaming server needs from the container runtime: the CRI front end implements this
// over berth's supervisor and hands it to `new StreamingServer(runtime)`. The server owns the
// client's connection and the protocol; the runtime only moves bytes to and from a process.
//
// Contract for exec and attach:
// - `io.stdin` is there only when the client asked for stdin; it ends when the client closes it
//   (or vanishes; WebSocket clients before v5.channel.k8s.io cannot close it otherwise). `io.stdout`/`io.stderr` are there only when asked for; with `tty` there is no
//   stderr (the terminal merges it into stdout).
// - Write the process's output to them; the server ends them after the call settles (ending them
//   earlier is fine).
// - `io.resize` (only with `tty`) yields the client's terminal sizes, first size first; it ends
//   when the client stops sending them.
// - `io.signal` is aborted when the client's connection is gone. exec may leave the process
//   running then (containerd does), but must stop waiting on the client and settle.
// - exec resolves with the exit code (0 to 255; any non-zero code reaches the client as
//   "command terminated with exit code N"). A rejection reaches the client as an internal error
//   carrying its message (e.g. "container abc is not running").
// - attach resolves when the container's output ends (or the signal aborts).
//
// Contract for portForward: `stream` carries one TCP connection to `port` inside the sandbox's
// network namespace: what is read from it goes to the port; what the port sends is written to it.
// Resolve once both directions are done (the server then closes the stream); reject when the port
// cannot be reached: the message goes back to the client on the request's error stream.
// `forwardInNetns` (netns-forward.ts) does all of this for a sandbox's netns file.
import type { Duplex, Readable, Writable } from 'node:stream';

/** A terminal size as kubectl and crictl send it. */
export interface TerminalSize {
  width: number;
  height: number;
}

export interface StreamingIo {
  stdin?: Readable;
  stdout?: Writable;
  stderr?: Writable;
  tty: boolean;
  resize?: AsyncIterable<TerminalSize>;
  signal: AbortSignal;
}

export interface StreamingRuntime {
  exec(containerId: string, cmd: string[], io: StreamingIo): Promise<{ exitCode: number }>;
  attach(containerId: string, io: StreamingIo): Promise<void>;
  portForward(podSandboxId: string, port: number, stream: Duplex): Promise<void>;
}
