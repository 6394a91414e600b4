// Any runc-compatible runtime CLI (runc, crun) as the supervisor's runtime, the way containerd's
// runc shim drives it: create under the shim with a pid file, then one command per verb.
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BerthError } from '../../common/errors.js';
import type { Process, Resources } from '../../runtime/spec/types.js';
import type { RuntimeDriver } from './driver.js';
import { runtimeMessage } from './runtime-message.js';
import { startShim, type ShimOptions, type ShimReport } from './shim-process.js';

const COMMAND_DEADLINE_MS = 30_000;
const SIGKILL = 9;

export class OciCliDriver implements RuntimeDriver {
  constructor(readonly name: string, private readonly binary: string, private readonly root: string) {}

  private globals(): string[] {
    return ['--root', this.root];
  }

  create(id: string, bundle: string, shim: ShimOptions): Promise<ShimReport> {
    const consoleArgs = shim.terminal ? ['--console-socket', join(shim.dir, 'console.sock')] : [];
    return startShim(shim, { file: this.binary, args: [...this.globals(), 'create', '--bundle', bundle, '--pid-file', shim.pidFile, ...consoleArgs, id] });
  }

  async start(id: string): Promise<void> {
    await this.run(['start', id]);
  }

  /**
   * A frozen process acts on no signal until it is thawed (cgroup v1), so a paused container never
   * dies of SIGKILL alone. runc thaws it after the signal; crun does not (only its `kill --all`,
   * which freezes, signals and thaws): after a SIGKILL of a paused container, resume it here.
   */
  async kill(id: string, signal: number, all: boolean): Promise<void> {
    const paused = signal === SIGKILL && (await this.status(id).catch(() => undefined)) === 'paused';
    await this.run(['kill', ...(all ? ['--all'] : []), id, String(signal)]);
    if (paused) await this.thawKilled(id);
  }

  /** Resumes a container killed while paused; one the runtime thawed itself (runc) is left as it is. */
  private async thawKilled(id: string): Promise<void> {
    try {
      await this.run(['resume', id]);
    } catch (err) {
      if ((await this.status(id).catch(() => undefined)) === 'paused') throw err;
    }
  }

  /** The runtime's status of the container: "created", "running", "paused" or "stopped". */
  private async status(id: string): Promise<string | undefined> {
    return (JSON.parse(await this.run(['state', id])) as { status?: string }).status;
  }

  async delete(id: string, force: boolean): Promise<void> {
    await this.run(['delete', ...(force ? ['--force'] : []), id]);
  }

  async pause(id: string): Promise<void> {
    await this.run(['pause', id]);
  }

  async resume(id: string): Promise<void> {
    await this.run(['resume', id]);
  }

  async update(id: string, resources: Resources): Promise<void> {
    await this.run(['update', '--resources', '-', id], JSON.stringify(resources));
  }

  async pids(id: string): Promise<number[]> {
    return JSON.parse(await this.run(['ps', '--format', 'json', id])) as number[];
  }

  async stats(id: string): Promise<unknown> {
    return (JSON.parse(await this.run(['events', '--stats', id])) as { data: unknown }).data;
  }

  exec(id: string, process: Process, shim: ShimOptions): Promise<ShimReport> {
    const processFile = join(shim.dir, 'process.json');
    writeFileSync(processFile, JSON.stringify(process));
    const consoleArgs = shim.terminal ? ['--console-socket', join(shim.dir, 'console.sock')] : [];
    return startShim(shim, { file: this.binary, args: [...this.globals(), 'exec', '--detach', '--pid-file', shim.pidFile, '--process', processFile, ...consoleArgs, id] });
  }

  /** Runs one command with a deadline; a failure carries the runtime's own message. */
  private run(args: string[], input?: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const child = execFile(this.binary, [...this.globals(), ...args], { timeout: COMMAND_DEADLINE_MS, encoding: 'utf8' }, (err, stdout, stderr) => {
        if (!err) return resolve(stdout);
        const msg = stderr.trim() ? runtimeMessage(stderr) : err.message;
        reject(new BerthError('FAILED_PRECONDITION', `${this.name} ${args[0]}: ${msg}`));
      });
      if (input !== undefined) child.stdin!.end(input);
    });
  }
}
