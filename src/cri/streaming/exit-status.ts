// How a finished exec or attach is reported on the error stream. Protocol v4 sends a JSON
// metav1.Status, which client-go decodes into the exit code; v1 to v3 send only a failure's text.
// The JSON has Go's field order and omissions, as kubelet's encoding/json writes it.

export type Outcome =
  | { kind: 'success' }
  | { kind: 'exit'; exitCode: number; command: string[] }
  | { kind: 'error'; message: string };

interface Status {
  metadata: Record<string, never>;
  status: 'Success' | 'Failure';
  message?: string;
  reason?: string;
  details?: { causes: Array<{ reason?: string; message: string }> };
  code?: number;
}

export function statusOf(outcome: Outcome): Status {
  switch (outcome.kind) {
    case 'success':
      return { metadata: {}, status: 'Success' };
    case 'exit':
      return {
        metadata: {},
        status: 'Failure',
        // containerd's words inside kubelet's.
        message: `command terminated with non-zero exit code: error executing command [${outcome.command.join(' ')}], exit code ${outcome.exitCode}`,
        reason: 'NonZeroExitCode',
        details: { causes: [{ reason: 'ExitCode', message: String(outcome.exitCode) }] },
      };
    case 'error':
      return {
        metadata: {},
        status: 'Failure',
        message: `Internal error occurred: ${outcome.message}`,
        reason: 'InternalError',
        details: { causes: [{ message: outcome.message }] },
        code: 500,
      };
  }
}

/** The bytes for the error stream, or undefined when there is nothing to send. */
export function errorStreamMessage(outcome: Outcome, protocolVersion: number): Buffer | undefined {
  const status = statusOf(outcome);
  if (protocolVersion >= 4) return Buffer.from(JSON.stringify(status));
  return status.status === 'Success' ? undefined : Buffer.from(status.message ?? '');
}
