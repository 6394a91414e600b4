// Healthchecks as Docker runs them: the image's or the container's HEALTHCHECK command, run as an
// exec every Interval with a Timeout; Retries failures in a row (not counting those in the
// StartPeriod) make the container unhealthy, one success makes it healthy. State.Health keeps the
// last five results; every change of status is a `health_status` event.
import type { TaskEvent } from '../../supervisor/tasks/service.js';
import type { EventLog } from '../events.js';
import type { HealthConfig, HealthState } from './api-types.js';
import type { ExecService } from './exec.js';
import type { ContainerRecord } from './record.js';
import type { ContainerService } from './service.js';

const NS = 1e6; // nanoseconds per millisecond
const DEFAULTS = { interval: 30_000, timeout: 30_000, retries: 3, startPeriod: 0 };
const OUTPUT_MAX = 4096;
const LOG_ENTRIES = 5;

/** The command a healthcheck runs, or undefined for none ("NONE", or no test). */
export function healthCommand(h: HealthConfig | null | undefined): string[] | undefined {
  const test = h?.Test;
  if (!test?.length || test[0] === 'NONE') return undefined;
  if (test[0] === 'CMD') return test.slice(1);
  if (test[0] === 'CMD-SHELL') return ['/bin/sh', '-c', test.slice(1).join(' ')];
  return undefined;
}

export class HealthMonitor {
  private readonly timers = new Map<string, NodeJS.Timeout>();

  constructor(private readonly containers: ContainerService, private readonly execs: ExecService, private readonly events: EventLog) {
    containers.deps.events.on('event', (e: { Type: string; Action: string; Actor: { ID: string } }) => {
      if (e.Type !== 'container') return;
      if (e.Action === 'start') this.watch(e.Actor.ID);
      if (e.Action === 'die' || e.Action === 'destroy') this.unwatch(e.Actor.ID);
    });
  }

  /** Starts probing a running container that has a healthcheck. */
  watch(id: string): void {
    const c = this.containers.deps.store.find(id);
    if (!c || !c.State.Running || !healthCommand(c.Config.Healthcheck)) return;
    this.unwatch(id);
    c.State.Health = { Status: 'starting', FailingStreak: 0, Log: [] };
    this.containers.deps.store.save(c);
    const interval = (c.Config.Healthcheck?.Interval ?? 0) / NS || DEFAULTS.interval;
    const schedule = () => {
      const t = setTimeout(() => void this.probe(id).finally(() => {
        if (this.timers.has(id)) schedule();
      }), interval);
      t.unref();
      this.timers.set(id, t);
    };
    schedule();
  }

  unwatch(id: string): void {
    const t = this.timers.get(id);
    if (t) clearTimeout(t);
    this.timers.delete(id);
  }

  close(): void {
    for (const id of [...this.timers.keys()]) this.unwatch(id);
  }

  private async probe(id: string): Promise<void> {
    const c = this.containers.deps.store.find(id);
    if (!c || !c.State.Running || c.State.Paused) return;
    const h = c.Config.Healthcheck!;
    const cmd = healthCommand(h)!;
    const timeout = (h.Timeout ?? 0) / NS || DEFAULTS.timeout;
    const start = new Date();
    let exitCode: number;
    let output = '';
    try {
      ({ exitCode, output } = await this.run(c, cmd, timeout));
    } catch (err) {
      exitCode = -1;
      output = (err as Error).message;
    }
    this.record(id, { Start: start.toISOString(), End: new Date().toISOString(), ExitCode: exitCode, Output: output.slice(0, OUTPUT_MAX) }, h);
  }

  /** Runs the command as an exec and collects its exit code and output (within `timeoutMs`). */
  private async run(c: ContainerRecord, cmd: string[], timeoutMs: number): Promise<{ exitCode: number; output: string }> {
    const { Id } = this.execs.create(c.ID, { Cmd: cmd, AttachStdout: true, AttachStderr: true });
    const tasks = this.containers.deps.tasks;
    const exited = new Promise<number>((resolve) => {
      const listener = (e: TaskEvent) => {
        if (e.execId === Id && e.type === 'exec-exited') {
          tasks.off('event', listener);
          resolve(e.exit?.status ?? -1);
        }
      };
      tasks.on('event', listener);
    });
    await this.execs.start(Id, { attached: true });
    const sock = await tasks.attach(this.containers.deps.namespace, c.ID, ['stdout', 'stderr'], Id);
    let raw = Buffer.alloc(0);
    sock.on('data', (d: Buffer) => {
      if (raw.length < OUTPUT_MAX * 2) raw = Buffer.concat([raw, d]);
    });
    sock.resume();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), timeoutMs)));
    const result = await Promise.race([exited, timedOut]);
    clearTimeout(timer);
    if (result === 'timeout') {
      await tasks.kill(this.containers.deps.namespace, c.ID, 9, { execId: Id }).catch(() => {});
      sock.destroy();
      return { exitCode: -1, output: `Health check exceeded timeout (${timeoutMs / 1000}s)` };
    }
    await new Promise((r) => (sock.destroyed ? r(undefined) : sock.once('close', r)));
    return { exitCode: result, output: demux(raw) };
  }

  private record(id: string, entry: HealthState['Log'][number], h: HealthConfig): void {
    const c = this.containers.deps.store.find(id);
    if (!c?.State.Health || !c.State.Running) return;
    const health = c.State.Health;
    const before = health.Status;
    health.Log = [...health.Log, entry].slice(-LOG_ENTRIES);
    const inStartPeriod = Date.now() - new Date(c.State.StartedAt).getTime() < ((h.StartPeriod ?? 0) / NS || DEFAULTS.startPeriod);
    if (entry.ExitCode === 0) {
      health.Status = 'healthy';
      health.FailingStreak = 0;
    } else if (!inStartPeriod) {
      health.FailingStreak++;
      if (health.FailingStreak >= (h.Retries || DEFAULTS.retries)) health.Status = 'unhealthy';
    }
    this.containers.deps.store.save(c);
    if (health.Status !== before) this.events.publish('container', `health_status: ${health.Status}`, c.ID, { name: c.Name.slice(1), image: c.Config.Image ?? '' });
  }
}

/** The text of a multiplexed stream (stdout and stderr in order). */
function demux(buf: Buffer): string {
  let out = '';
  for (let i = 0; i + 8 <= buf.length; ) {
    const len = buf.readUInt32BE(i + 4);
    out += buf.subarray(i + 8, i + 8 + len).toString();
    i += 8 + len;
  }
  return out;
}
