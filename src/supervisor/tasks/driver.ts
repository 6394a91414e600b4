// How the supervisor drives an OCI runtime for its tasks. Two implementations: berth's own runtime
// library (in this process; the shim runs berth-init), and any runc-compatible CLI (runc, crun).
import type { Process, Resources } from '../../runtime/spec/types.js';
import type { ShimOptions, ShimReport } from './shim-process.js';

export interface RuntimeDriver {
  readonly name: string;
  /** Creates the container under a new shim; resolves once it waits for start. */
  create(id: string, bundle: string, shim: ShimOptions): Promise<ShimReport>;
  start(id: string): Promise<void>;
  kill(id: string, signal: number, all: boolean): Promise<void>;
  /** Removes the runtime's state, cgroups and (with force) the processes. */
  delete(id: string, force: boolean): Promise<void>;
  pause(id: string): Promise<void>;
  resume(id: string): Promise<void>;
  update(id: string, resources: Resources): Promise<void>;
  pids(id: string): Promise<number[]>;
  stats(id: string): Promise<unknown>;
  /** Starts another process in the container under its own shim. */
  exec(id: string, process: Process, shim: ShimOptions): Promise<ShimReport>;
  /** The file the shim reads to tell an OOM kill (memory.oom_control / memory.events), if known. */
  oomFile?(id: string): string | undefined;
}
