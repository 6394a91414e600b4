// Errors at the client's edge: what the daemon answered (status + Docker's {"message": …}), and
// the daemon not answering at all.
import { BerthError, type ErrorCode } from '../common/errors.js';

function codeOf(status: number): ErrorCode {
  if (status === 400) return 'INVALID_ARGUMENT';
  if (status === 404) return 'NOT_FOUND';
  if (status === 409) return 'ALREADY_EXISTS';
  if (status === 501) return 'NOT_IMPLEMENTED';
  if (status === 503) return 'UNAVAILABLE';
  return 'INTERNAL';
}

/** An error response from the daemon: its HTTP status and its message, verbatim. */
export class ApiError extends BerthError {
  readonly status: number;

  constructor(status: number, message: string) {
    super(codeOf(status), message);
    this.name = 'ApiError';
    this.status = status;
  }

  override get httpStatus(): number {
    return this.status;
  }
}

/** No daemon at the address (socket missing, connection refused, permission denied). */
export class DaemonUnreachableError extends BerthError {
  readonly url: string;
  readonly reason: string;

  constructor(url: string, reason: string, cause?: unknown) {
    super('UNAVAILABLE', reason === 'EACCES'
      ? `permission denied while trying to connect to the berth daemon socket at ${url}: run as root or get access to the socket`
      : `Cannot connect to the berth daemon at ${url}. Is the berth daemon running?`, { cause });
    this.name = 'DaemonUnreachableError';
    this.url = url;
    this.reason = reason;
  }
}

/** The message of an error body: Docker's {"message": …}, else the text itself. */
export function messageOf(status: number, body: string): string {
  const text = body.trim();
  if (text.startsWith('{')) {
    try {
      const parsed = JSON.parse(text) as { message?: unknown };
      if (typeof parsed.message === 'string') return parsed.message;
    } catch {
      // not JSON after all
    }
  }
  return text || `the daemon answered HTTP ${status} with no message`;
}
