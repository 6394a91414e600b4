// containerd.services.tasks.v1.Tasks over berth's task service, in the call's namespace. A task
// runs a container record: Create writes the record's spec into a bundle, mounts the request's
// rootfs there and starts a berth-shim wired to the client's stdio FIFOs (or a terminal). Runtime
// io.containerd.runc.v2 is berth's own runtime unless runc's options name a BinaryName (runc,
// crun), which selects that CLI, as containerd does. Checkpoints are not supported.
import { status } from '@grpc/grpc-js';
import type protobuf from 'protobufjs';
import { invalid, notFound, precondition } from '../../../common/errors.js';
import type { Process, Resources } from '../../../runtime/spec/types.js';
import type { CgroupStats } from '../../../runtime/cgroups/stats.js';
import type { Supervisor } from '../../supervisor.js';
import type { BundleStore } from '../../tasks/bundle.js';
import type { TaskRecord } from '../../tasks/task-store.js';
import { toMounts, timestamp } from '../convert.js';
import { GrpcError } from '../../../common/grpc/errors.js';
import { unary, type HandlerEnv, type Implementation } from '../handlers.js';
import { PendingExecs } from '../pending-execs.js';
import type { Message } from '../../../common/grpc/service-def.js';
import { exitMessage, metricsAny, processMessage, runcBinaryName } from '../task-messages.js';
import { parseFilters, type Adaptor } from '../../filters.js';

// Runtime names that mean "a runc-compatible shim": berth's own, or the CLI BinaryName names.
const RUNC_RUNTIMES = new Set(['io.containerd.runc.v2', 'io.containerd.runc.v1', 'io.containerd.runtime.v1.linux']);

/** The JSON in an Any (an OCI spec, process or resources, as containerd's typeurl encodes them). */
function jsonOf<T>(any: Message | null | undefined, what: string): T {
  if (!any?.value) throw invalid(`${what} must be set`);
  try {
    return JSON.parse(Buffer.from(any.value).toString('utf8')) as T;
  } catch (err) {
    throw invalid(`${what} is not JSON: ${(err as Error).message}`);
  }
}

/** A flat object's fields as filters see them ("status==running"). */
const fieldsAdaptor = (fields: Record<string, string>): Adaptor => (path) => (path.length === 1 ? fields[path[0]!] : undefined);

const stdioOf = (req: Message) => {
  const stdio = { stdin: req.stdin || undefined, stdout: req.stdout || undefined, stderr: req.stderr || undefined };
  return stdio.stdin || stdio.stdout || stdio.stderr ? stdio : undefined;
};

export function tasksService(env: HandlerEnv, root: protobuf.Root, bundles: BundleStore): Implementation {
  const sup: Supervisor = env.supervisor;
  const tasks = sup.tasks;
  const pending = new PendingExecs();

  const record = (ns: string, id: string): TaskRecord => {
    if (!tasks.store.list().some(([n, t]) => n === ns && t === id)) throw notFound(`no running task found: task ${id} not found`);
    return tasks.store.load(ns, id);
  };

  /** berth's runtime name for a container's runtime and the request's options. */
  const runtimeFor = (name: string, options: Message | null | undefined): string => {
    if (!RUNC_RUNTIMES.has(name)) throw invalid(`runtime "${name}" is not supported: use io.containerd.runc.v2 (berth's runtime, or runc/crun with its BinaryName option)`);
    const binary = runcBinaryName(root, options);
    return binary && binary !== 'berth-runtime' ? binary : 'berth';
  };

  const processView = async (ns: string, rec: TaskRecord, execId?: string) => {
    if (!execId) {
      const st = await tasks.status(ns, rec.id);
      return processMessage({ containerId: rec.id, pid: st.pid, status: st.status, stdio: rec.stdio, terminal: rec.terminal, exit: st.exit });
    }
    const e = rec.execs[execId];
    if (e) return processMessage({ containerId: rec.id, execId, pid: e.pid, status: e.exit ? 'stopped' : 'running', stdio: e.stdio, terminal: e.terminal, exit: e.exit });
    const p = pending.find(ns, rec.id, execId);
    if (!p) throw notFound(`process ${execId} of task ${rec.id}: not found`);
    return processMessage({ containerId: rec.id, execId, pid: 0, status: 'created', stdio: p.stdio, terminal: p.terminal });
  };

  return {
    Create: unary(env, 'tasks.Create', async (req, ctx) => {
      const ns = ctx.namespace;
      const id = req.container_id ?? '';
      const container = sup.containers.get(ns, id);
      if (req.checkpoint?.digest) throw new GrpcError(status.UNIMPLEMENTED, 'checkpoints are not supported by berth: create the task without --checkpoint');
      if (tasks.store.list().some(([n, t]) => n === ns && t === id)) throw new GrpcError(status.ALREADY_EXISTS, `task ${id}: already exists`);
      const view = sup.containers.viewOf(ns, id);
      if (view) throw precondition(`cannot create a task for container "${id}": it belongs to ${view.keeper}`);
      const options = req.options?.type_url ? req.options : container.runtime.options && { type_url: container.runtime.options.typeUrl, value: Buffer.from(container.runtime.options.value, 'base64') };
      const runtime = runtimeFor(container.runtime.name, options);
      if (!container.spec) throw invalid(`container "${id}" has no spec`);
      const bundle = bundles.prepare(ns, id, Buffer.from(container.spec.value, 'base64'), toMounts(req.rootfs));
      try {
        const stdio = stdioOf(req);
        const rec = await tasks.create(ns, id, { bundle, runtime, terminal: !!req.terminal, stdin: !!req.stdin, ...(stdio ? { fifos: stdio } : {}) });
        return { container_id: id, pid: rec.pid };
      } catch (err) {
        bundles.remove(ns, id);
        throw err;
      }
    }),

    Start: unary(env, 'tasks.Start', async (req, ctx) => {
      const ns = ctx.namespace;
      const rec = record(ns, req.container_id ?? '');
      if (!req.exec_id) {
        await tasks.start(ns, rec.id);
        return { pid: rec.pid };
      }
      // Taken out only once the exec is recorded: a Wait arriving meanwhile must find it somewhere.
      const p = pending.find(ns, rec.id, req.exec_id);
      if (!p) throw notFound(`process ${req.exec_id} of task ${rec.id}: not found`);
      if (p.starting) throw precondition(`process ${req.exec_id} of task ${rec.id} is already starting`);
      p.starting = true;
      try {
        const pid = await tasks.exec(ns, rec.id, req.exec_id, p.process, { terminal: p.terminal, stdin: !!p.stdio.stdin, fifos: p.stdio });
        p.resolve();
        return { pid };
      } catch (err) {
        p.reject(err as Error);
        throw err;
      } finally {
        pending.take(ns, rec.id, req.exec_id);
      }
    }),

    Delete: unary(env, 'tasks.Delete', async (req, ctx) => {
      const ns = ctx.namespace;
      const rec = record(ns, req.container_id ?? '');
      const st = await tasks.status(ns, rec.id);
      // containerd deletes a created task (killing it) but refuses a running one.
      if (st.status === 'running' || st.status === 'paused') throw precondition(`task ${rec.id} must be stopped before deletion: ${st.status}`);
      const exit = await tasks.delete(ns, rec.id, true);
      pending.dropTask(ns, rec.id);
      bundles.remove(ns, rec.id);
      return { id: rec.id, pid: rec.pid, ...exitMessage(exit) };
    }),

    DeleteProcess: unary(env, 'tasks.DeleteProcess', (req, ctx) => {
      const ns = ctx.namespace;
      const rec = record(ns, req.container_id ?? '');
      const execId = req.exec_id ?? '';
      if (!rec.execs[execId]) {
        pending.take(ns, rec.id, execId).reject(notFound(`exec ${execId} was deleted before it started`));
        return { id: execId, pid: 0, exit_status: 0, exited_at: timestamp(undefined) };
      }
      const pid = rec.execs[execId]!.pid;
      return { id: execId, pid, ...exitMessage(tasks.deleteExec(ns, rec.id, execId)) };
    }),

    Get: unary(env, 'tasks.Get', async (req, ctx) => {
      const ns = ctx.namespace;
      return { process: await processView(ns, record(ns, req.container_id ?? ''), req.exec_id || undefined) };
    }),

    List: unary(env, 'tasks.List', async (req, ctx) => {
      const ns = ctx.namespace;
      const match = parseFilters(req.filter ? [req.filter] : []);
      const out: Message[] = [];
      for (const rec of tasks.list().filter((r) => r.namespace === ns)) {
        const p = await processView(ns, rec).catch(() => undefined);
        if (p && match(fieldsAdaptor({ id: rec.id, container_id: rec.id, status: String(p.status).toLowerCase(), runtime: rec.runtime }))) out.push(p);
      }
      return { tasks: out };
    }),

    Kill: unary(env, 'tasks.Kill', async (req, ctx) => {
      const ns = ctx.namespace;
      const rec = record(ns, req.container_id ?? '');
      const signal = Number(req.signal ?? 0) || 15;
      if (req.exec_id && !rec.execs[req.exec_id]) throw notFound(`process ${req.exec_id} of task ${rec.id}: not found`);
      // containerd's answer for a process that has exited: NotFound, in its words.
      if (req.exec_id ? rec.execs[req.exec_id]!.exit : rec.exit) throw notFound('process already finished');
      await tasks.kill(ns, rec.id, signal, { all: !!req.all, ...(req.exec_id ? { execId: req.exec_id } : {}) });
      return {};
    }),

    Exec: unary(env, 'tasks.Exec', (req, ctx) => {
      const ns = ctx.namespace;
      const rec = record(ns, req.container_id ?? '');
      const execId = req.exec_id ?? '';
      if (!execId) throw invalid('exec id must be provided');
      if (rec.execs[execId]) throw new GrpcError(status.ALREADY_EXISTS, `id ${execId}: already exists`);
      if (rec.exit) throw precondition(`task ${rec.id} is not running: cannot exec in it`);
      const process = jsonOf<Process>(req.spec, 'exec process spec');
      const stdio = stdioOf(req) ?? {};
      pending.add(ns, rec.id, execId, { process, terminal: !!req.terminal, stdio });
      return {};
    }),

    ResizePty: unary(env, 'tasks.ResizePty', async (req, ctx) => {
      const ns = ctx.namespace;
      const rec = record(ns, req.container_id ?? '');
      const answer = await tasks.shim(ns, rec.id, req.exec_id || undefined).resize(Number(req.height ?? 0), Number(req.width ?? 0));
      if (answer.startsWith('error')) throw precondition(answer.slice(6));
      return {};
    }),

    CloseIO: unary(env, 'tasks.CloseIO', async (req, ctx) => {
      const ns = ctx.namespace;
      const rec = record(ns, req.container_id ?? '');
      if (req.stdin) await tasks.shim(ns, rec.id, req.exec_id || undefined).closeStdin().catch(() => {}); // an exited process has no stdin to close
      return {};
    }),

    Pause: unary(env, 'tasks.Pause', async (req, ctx) => {
      await tasks.pause(ctx.namespace, record(ctx.namespace, req.container_id ?? '').id);
      return {};
    }),

    Resume: unary(env, 'tasks.Resume', async (req, ctx) => {
      await tasks.resume(ctx.namespace, record(ctx.namespace, req.container_id ?? '').id);
      return {};
    }),

    ListPids: unary(env, 'tasks.ListPids', async (req, ctx) => {
      const pids = await tasks.pids(ctx.namespace, record(ctx.namespace, req.container_id ?? '').id);
      return { processes: pids.map((pid) => ({ pid, info: null })) };
    }),

    Checkpoint: unary(env, 'tasks.Checkpoint', () => {
      throw new GrpcError(status.UNIMPLEMENTED, 'checkpoints are not supported by berth');
    }),

    Update: unary(env, 'tasks.Update', async (req, ctx) => {
      const rec = record(ctx.namespace, req.container_id ?? '');
      await tasks.update(ctx.namespace, rec.id, jsonOf<Resources>(req.resources, 'resources'));
      return {};
    }),

    Metrics: unary(env, 'tasks.Metrics', async (req, ctx) => {
      const ns = ctx.namespace;
      const match = parseFilters(req.filters ?? []);
      const metrics: Message[] = [];
      for (const rec of tasks.list().filter((r) => r.namespace === ns && !r.exit)) {
        if (!match(fieldsAdaptor({ id: rec.id, container_id: rec.id, runtime: rec.runtime }))) continue;
        const stats = await tasks.stats(ns, rec.id).catch(() => undefined);
        if (stats) metrics.push({ timestamp: timestamp(new Date()), id: rec.id, data: metricsAny(root, stats as CgroupStats) });
      }
      return { metrics };
    }),

    Wait: unary(env, 'tasks.Wait', async (req, ctx) => {
      const ns = ctx.namespace;
      const rec = record(ns, req.container_id ?? '');
      const execId = req.exec_id || undefined;
      if (execId && !rec.execs[execId]) {
        const p = pending.find(ns, rec.id, execId);
        if (!p) throw notFound(`process ${execId} of task ${rec.id}: not found`);
        await p.started;
      }
      return exitMessage(await tasks.wait(ns, rec.id, execId));
    }),
  };
}
