// One error type for all of berth: a stable code, a message that says what failed and what to do,
// and the HTTP status the API edge will use. Lower layers throw it; front ends translate it.

export type ErrorCode =
  | 'INVALID_ARGUMENT'
  | 'NOT_FOUND'
  | 'ALREADY_EXISTS'
  | 'FAILED_PRECONDITION'
  | 'UNAVAILABLE'
  | 'NOT_IMPLEMENTED'
  | 'INTERNAL';

const httpStatusOf: Record<ErrorCode, number> = {
  INVALID_ARGUMENT: 400,
  NOT_FOUND: 404,
  ALREADY_EXISTS: 409,
  FAILED_PRECONDITION: 409,
  UNAVAILABLE: 503,
  NOT_IMPLEMENTED: 501,
  INTERNAL: 500,
};

export class BerthError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BerthError';
    this.code = code;
  }

  get httpStatus(): number {
    return httpStatusOf[this.code];
  }
}

export const invalid = (message: string): BerthError => new BerthError('INVALID_ARGUMENT', message);
export const notFound = (message: string): BerthError => new BerthError('NOT_FOUND', message);
export const exists = (message: string): BerthError => new BerthError('ALREADY_EXISTS', message);
export const precondition = (message: string): BerthError => new BerthError('FAILED_PRECONDITION', message);

/** The errno code of a Node system error ('ENOENT', ...), or undefined. */
export function errnoOf(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string' ? err.code : undefined;
}
