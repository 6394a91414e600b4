// What waiters of a container wait for: its task's end as the supervisor announces it, its exit
// once recorded (wait, restart), and its removal (wait --condition removed).
import { EventEmitter } from 'node:events';
import type { ExitStatus } from '../../supervisor/tasks/shim-client.js';

export class ContainerExits {
  private readonly signals = new EventEmitter();
  /**
   * Task exits not recorded yet: a stop that waited for its turn behind another operation, while
   * the task died, must find the exit that was announced meanwhile instead of waiting forever.
   */
  private readonly unrecorded = new Map<string, ExitStatus>();

  constructor() {
    this.signals.setMaxListeners(0);
  }

  /** The supervisor announced the end of the container's task. */
  taskEnded(id: string, exit: ExitStatus): void {
    this.unrecorded.set(id, exit);
    this.signals.emit(`task-exit:${id}`, exit);
  }

  /** Resolves when the container's task ends (for callers holding the container's turn). */
  taskExit(id: string): Promise<ExitStatus> {
    const seen = this.unrecorded.get(id);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => this.signals.once(`task-exit:${id}`, resolve));
  }

  /** Drops an announced exit: it is being recorded, or a new task starts (an old one's exit is no answer for it). */
  forgetTaskExit(id: string): void {
    this.unrecorded.delete(id);
  }

  /** The exit is recorded in the container's state. */
  recorded(id: string, status: number): void {
    this.signals.emit(`exit:${id}`, status);
  }

  /** Resolves with the exit status of the container's next exit, once it is recorded. */
  nextExit(id: string): Promise<number> {
    return new Promise((resolve) => this.signals.once(`exit:${id}`, resolve));
  }

  /** The container is gone; `status` is its last exit code. */
  removed(id: string, status: number): void {
    this.signals.emit(`removed:${id}`, status);
  }

  /** Resolves with the last exit code once the container is removed. */
  removal(id: string): Promise<number> {
    return new Promise((resolve) => this.signals.once(`removed:${id}`, resolve));
  }
}
