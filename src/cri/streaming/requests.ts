// The CRI's streaming requests, as the streaming server takes them (runtime.v1 ExecRequest,
// AttachRequest and PortForwardRequest, with TypeScript's field names), and their validation,
// which answers what kubelet's streaming server answers.
import { invalid } from '../../common/errors.js';

export interface ExecRequest {
  containerId: string;
  cmd: string[];
  tty: boolean;
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
}

export type AttachRequest = Omit<ExecRequest, 'cmd'>;

export interface PortForwardRequest {
  podSandboxId: string;
  port: number[];
}

export function validateExec(req: ExecRequest): void {
  if (!req.containerId) throw invalid('missing required container_id');
  if (!Array.isArray(req.cmd) || req.cmd.length === 0) throw invalid('missing required cmd: give the command to run in the container');
  validateStreams(req, 'or');
}

export function validateAttach(req: AttachRequest): void {
  if (!req.containerId) throw invalid('missing required container_id');
  validateStreams(req, 'and');
}

export function validatePortForward(req: PortForwardRequest): void {
  if (!req.podSandboxId) throw invalid('missing required pod_sandbox_id');
  for (const port of req.port ?? []) {
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw invalid(`port ${port} is not a TCP port (1-65535)`);
  }
}

// kubelet's words, including its "or"/"and" between exec and attach.
function validateStreams(req: AttachRequest, conjunction: 'or' | 'and'): void {
  if (req.tty && req.stderr) throw invalid('tty and stderr cannot both be true');
  if (!req.stdin && !req.stdout && !req.stderr) throw invalid(`one of stdin, stdout, ${conjunction} stderr must be set`);
}
