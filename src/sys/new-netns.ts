// A new network namespace, kept by a bind mount on a file, made in this process without running
// unshare(1) and ip(8) (a fork and two execs, ~7 ms with the event loop blocked).
//
// Namespaces belong to threads: the event loop's thread enters a new namespace, sets its loopback
// up, bind-mounts the namespace on the file and goes back to its own, all in one synchronous call,
// so no JavaScript runs (and no socket is opened) while it is away. Node's other threads (the
// libuv pool, V8's) never leave the original namespace.
import { closeSync, openSync } from 'node:fs';
import { CLONE_NEWNET, mountSyscall, setInterfaceUp, setnsSyscall, unshareSyscall } from './libc.js';
import { MS } from './mount-options.js';

const OWN_NETNS = '/proc/thread-self/ns/net';

/** Makes a new network namespace and bind-mounts it on `file` (which must exist); "lo" up if asked. */
export function bindNewNetworkNamespace(file: string, opts: { loopbackUp: boolean }): void {
  const own = openSync(OWN_NETNS, 'r');
  try {
    unshareSyscall(CLONE_NEWNET, `new network namespace for ${file}`);
    try {
      if (opts.loopbackUp) setInterfaceUp('lo');
      mountSyscall(OWN_NETNS, file, null, MS.BIND, null, `bind the network namespace on ${file}`);
    } finally {
      returnTo(own);
    }
  } finally {
    closeSync(own);
  }
}

/** Back to the original namespace; a daemon that cannot get back must not go on. */
function returnTo(own: number): void {
  try {
    setnsSyscall(own, CLONE_NEWNET, 'return to berthd\'s network namespace');
  } catch (err) {
    // Every socket berthd opened from here on (registries, published ports) would be in a
    // container's namespace: stop now rather than serve from the wrong network.
    process.stderr.write(`fatal: ${(err as Error).message}\n`);
    process.abort();
  }
}
