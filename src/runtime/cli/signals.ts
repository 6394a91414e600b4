// Foreground run/exec: signals sent to berth-runtime go on to the container's process, as with runc.
const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH'];

/** Starts forwarding; returns the function that stops it. */
export function forwardSignals(pid: number): () => void {
  const handler = (sig: NodeJS.Signals) => {
    try { process.kill(pid, sig); } catch { /* the process is gone */ }
  };
  for (const sig of FORWARDED) process.on(sig, handler);
  return () => { for (const sig of FORWARDED) process.off(sig, handler); };
}
