// Task changes as containerd's /tasks/* events, so that `ctr events` shows what the task service
// does, whoever asked for it (the engine's containers included).
import { containerdEvent, type EventPayload } from './exchange.js';
import type { TaskEvent } from '../tasks/service.js';

export function taskEvent(e: TaskEvent): { topic: string; event: EventPayload } | undefined {
  const exit = e.exit && { exit_status: e.exit.status, exited_at: e.exit.exitedAt };
  switch (e.type) {
    case 'created': return { topic: '/tasks/create', event: containerdEvent('TaskCreate', { container_id: e.id, pid: e.pid ?? 0 }) };
    case 'started': return { topic: '/tasks/start', event: containerdEvent('TaskStart', { container_id: e.id, pid: e.pid ?? 0 }) };
    case 'exited': return { topic: '/tasks/exit', event: containerdEvent('TaskExit', { container_id: e.id, id: e.id, pid: e.pid ?? 0, ...exit }) };
    case 'exec-exited': return { topic: '/tasks/exit', event: containerdEvent('TaskExit', { container_id: e.id, id: e.execId, pid: e.pid ?? 0, ...exit }) };
    case 'deleted': return { topic: '/tasks/delete', event: containerdEvent('TaskDelete', { container_id: e.id, id: e.id, pid: e.pid ?? 0, ...exit }) };
    case 'exec-started': return { topic: '/tasks/exec-started', event: containerdEvent('TaskExecStarted', { container_id: e.id, exec_id: e.execId, pid: e.pid ?? 0 }) };
    case 'paused': return { topic: '/tasks/paused', event: containerdEvent('TaskPaused', { container_id: e.id }) };
    case 'resumed': return { topic: '/tasks/resumed', event: containerdEvent('TaskResumed', { container_id: e.id }) };
    case 'oom': return { topic: '/tasks/oom', event: containerdEvent('TaskOOM', { container_id: e.id }) };
  }
}
