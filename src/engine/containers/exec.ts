// `docker exec`: an exec instance is created (its process described), then started once, running
// next to the container's process under its own shim with the container's process settings
// (capabilities, user, environment) and the request's command, user, env and working directory.
// A started exec keeps its output for the caller's attach (the shim's --hold-output).
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BerthError, invalid, notFound, precondition } from '../../common/errors.js';
import type { Process, Spec } from '../../runtime/spec/types.js';
import type { EventLog } from '../events.js';
import type { ContainerService } from './service.js';
import { readUserDatabase, resolveUser } from '../../image/user-database.js';

export interface ExecInstance {
  ID: string;
  ContainerID: string;
  Running: boolean;
  ExitCode: number | null;
  Pid: number;
  OpenStdin: boolean;
  OpenStdout: boolean;
  OpenStderr: boolean;
  CanRemove: boolean;
  DetachKeys: string;
  ProcessConfig: { tty: boolean; entrypoint: string; arguments: string[]; privileged: boolean; user: string };
  Env: string[];
  WorkingDir: string;
  started: boolean;
}

interface ExecCreateBody {
  AttachStdin?: boolean;
  AttachStdout?: boolean;
  AttachStderr?: boolean;
  DetachKeys?: string;
  Tty?: boolean;
  Env?: string[];
  Cmd?: string[];
  Privileged?: boolean;
  User?: string;
  WorkingDir?: string;
}

/** How long a started exec keeps its output for an attach that has not come yet. */
const HOLD_OUTPUT_MS = 10_000;

export class ExecService {
  private readonly execs = new Map<string, ExecInstance>();

  constructor(private readonly containers: ContainerService, private readonly events: EventLog, private readonly execRoot: string) {
    containers.deps.tasks.on('event', (e: { type: string; namespace: string; id: string; execId?: string; exit?: { status: number }; pid?: number }) => {
      if (e.namespace !== containers.deps.namespace || !e.execId) return;
      const x = this.execs.get(e.execId);
      if (!x) return;
      if (e.type === 'exec-exited') {
        x.Running = false;
        x.ExitCode = e.exit?.status ?? 0;
        const c = containers.deps.store.find(x.ContainerID);
        if (c) this.events.publish('container', 'exec_die', c.ID, { execID: x.ID, exitCode: String(x.ExitCode), name: c.Name.slice(1), image: c.Config.Image ?? '' });
      }
    });
  }

  create(ref: string, raw: unknown): { Id: string } {
    const c = this.containers.get(ref);
    if (!raw || typeof raw !== 'object') throw invalid('invalid JSON: the body must be a JSON object');
    const b = raw as ExecCreateBody;
    if (!Array.isArray(b.Cmd) || b.Cmd.length === 0 || !b.Cmd.every((x) => typeof x === 'string')) throw invalid('No exec command specified');
    if (!c.State.Running) throw precondition(`Container ${c.ID} is not running`);
    if (c.State.Paused) throw precondition(`Container ${c.ID} is paused, unpause the container before exec`);
    const id = randomBytes(32).toString('hex');
    this.execs.set(id, {
      ID: id, ContainerID: c.ID, Running: false, ExitCode: null, Pid: 0,
      OpenStdin: !!b.AttachStdin, OpenStdout: !!b.AttachStdout, OpenStderr: !!b.AttachStderr, CanRemove: false,
      DetachKeys: b.DetachKeys ?? '',
      ProcessConfig: { tty: !!b.Tty, entrypoint: b.Cmd[0]!, arguments: b.Cmd.slice(1), privileged: !!b.Privileged, user: b.User ?? '' },
      Env: b.Env ?? [], WorkingDir: b.WorkingDir ?? '', started: false,
    });
    this.events.publish('container', `exec_create: ${b.Cmd.join(' ')}`, c.ID, { execID: id, name: c.Name.slice(1), image: c.Config.Image ?? '' });
    return { Id: id };
  }

  get(id: string): ExecInstance {
    const x = this.execs.get(id);
    if (!x) throw notFound(`No such exec instance: ${id}`);
    return x;
  }

  /** Starts the exec; with `attached` its output waits for the caller's attach. */
  async start(id: string, opts: { tty?: boolean; attached: boolean }): Promise<ExecInstance> {
    const x = this.get(id);
    if (x.started) throw precondition(`Error: Exec command ${id} has already run`);
    const c = this.containers.get(x.ContainerID);
    if (!c.State.Running) throw precondition(`Container ${c.ID} is not running`);
    x.started = true;
    const spec = JSON.parse(readFileSync(join(this.execRoot, 'containers', c.ID, 'config.json'), 'utf8')) as Spec;
    const base = spec.process!;
    const env = [...(base.env ?? [])];
    for (const e of x.Env) {
      const key = e.split('=')[0];
      const i = env.findIndex((v) => v.split('=')[0] === key);
      if (i >= 0) env[i] = e;
      else env.push(e);
    }
    const tty = opts.tty ?? x.ProcessConfig.tty;
    const proc: Process = { ...base, terminal: tty, args: [x.ProcessConfig.entrypoint, ...x.ProcessConfig.arguments], env, cwd: x.WorkingDir || base.cwd, user: x.ProcessConfig.user ? resolveUser(x.ProcessConfig.user, c.HostConfig.GroupAdd, readUserDatabase(join(this.execRoot, 'containers', c.ID, 'rootfs'))) : base.user };
    try {
      x.Pid = await this.containers.deps.tasks.exec(this.containers.deps.namespace, c.ID, x.ID, proc, { terminal: tty, stdin: x.OpenStdin, holdOutputMs: opts.attached ? HOLD_OUTPUT_MS : undefined });
    } catch (err) {
      // As Docker: an exec that never ran exits 126, whatever the reason, in the words it uses.
      x.ExitCode = 126;
      throw new BerthError('INVALID_ARGUMENT', `OCI runtime exec failed: ${(err as Error).message}`, { cause: err });
    }
    x.Running = true;
    this.events.publish('container', `exec_start: ${[x.ProcessConfig.entrypoint, ...x.ProcessConfig.arguments].join(' ')}`, c.ID, { execID: x.ID, name: c.Name.slice(1), image: c.Config.Image ?? '' });
    return x;
  }

  async resize(id: string, h: number, w: number): Promise<void> {
    const x = this.get(id);
    if (!x.Running) return;
    await this.containers.deps.tasks.shim(this.containers.deps.namespace, x.ContainerID, x.ID).resize(h, w);
  }

  /** Forgets the execs of a removed container. */
  forget(containerId: string): void {
    for (const [id, x] of this.execs) if (x.ContainerID === containerId) this.execs.delete(id);
  }
}
