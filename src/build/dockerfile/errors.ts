// The one error the Dockerfile front half throws: a BerthError (invalid argument, HTTP 400) that
// also carries where in the Dockerfile the problem is, so the executor can point at the line.
import { BerthError } from '../../common/errors.js';

export class DockerfileError extends BerthError {
  /** 1-based line where the offending instruction (or directive) starts; undefined when not tied to a line. */
  readonly line: number | undefined;
  /** 1-based last line of the instruction (differs from `line` for continued lines). */
  readonly endLine: number | undefined;
  /** The message without the location prefix, e.g. "unknown instruction: FOO". */
  readonly reason: string;

  constructor(reason: string, line?: number, endLine?: number, opts: { prefix?: boolean } = {}) {
    // Docker's classic builder words instruction errors "dockerfile parse error line N: ...";
    // errors found while running a step (variable expansion, stages) carry the line only as data.
    const message = line !== undefined && opts.prefix !== false ? `dockerfile parse error line ${line}: ${reason}` : reason;
    super('INVALID_ARGUMENT', message);
    this.name = 'DockerfileError';
    this.line = line;
    this.endLine = endLine ?? line;
    this.reason = reason;
  }
}

/**
 * A step-time error (no line yet) tied to its instruction's lines. The message stays Docker's
 * (no "parse error" prefix: the Dockerfile parsed fine); the lines are in `line`/`endLine`.
 */
export function atLine(err: unknown, line: number, endLine?: number): unknown {
  if (err instanceof DockerfileError && err.line === undefined) return new DockerfileError(err.reason, line, endLine, { prefix: false });
  return err;
}
