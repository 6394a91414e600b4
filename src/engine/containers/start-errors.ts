// What a failed start looks like from outside: the exit code the docker CLI derives (127 command
// not found, 126 not executable) and an error message in the words it looks for.
import { BerthError } from '../../common/errors.js';

/** Docker's exit codes for a start that failed: 127 command not found, 126 not executable. */
export function exitCodeForStartError(message: string): number {
  if (/no such file or directory|executable file not found/i.test(message)) return 127;
  if (/permission denied|is a directory/i.test(message)) return 126;
  return 128;
}

/** A start the engine itself refuses (a linked container that is down): its words reach the user as they are. */
export class StartRefused extends BerthError {
  constructor(message: string) {
    super('FAILED_PRECONDITION', message);
  }
}

export function startError(err: unknown): BerthError {
  if (err instanceof StartRefused) return err;
  // strerror's capitals lowered as Go prints errno: the CLI looks for "no such file or directory"
  // (exit 127) and "permission denied" (126) in the message.
  const message = (err as Error).message.replace(/No such file or directory|Permission denied|Is a directory|Not a directory/g, (m) => m.toLowerCase());
  if (err instanceof BerthError && (err.code === 'NOT_FOUND' || err.code === 'ALREADY_EXISTS')) return err;
  return new BerthError('INVALID_ARGUMENT', `failed to create task for container: ${message}`, { cause: err });
}
