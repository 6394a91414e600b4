// berth's error codes as gRPC status codes, the one place they are translated (containerd's
// errdefs.ToGRPC): lower layers throw BerthError, the API edge sends its code and message.
import { status, type ServiceError, Metadata } from '@grpc/grpc-js';
import { BerthError, type ErrorCode } from '../errors.js';

const CODES: Record<ErrorCode, status> = {
  INVALID_ARGUMENT: status.INVALID_ARGUMENT,
  NOT_FOUND: status.NOT_FOUND,
  ALREADY_EXISTS: status.ALREADY_EXISTS,
  FAILED_PRECONDITION: status.FAILED_PRECONDITION,
  UNAVAILABLE: status.UNAVAILABLE,
  NOT_IMPLEMENTED: status.UNIMPLEMENTED,
  INTERNAL: status.INTERNAL,
};

/** A gRPC error with a code, for what a handler itself refuses (out of range, unimplemented). */
export class GrpcError extends Error {
  constructor(readonly code: status, message: string) {
    super(message);
  }
}

export function toServiceError(err: unknown): Partial<ServiceError> {
  const code = err instanceof BerthError ? CODES[err.code] : err instanceof GrpcError ? err.code : status.UNKNOWN;
  const details = err instanceof Error ? err.message : String(err);
  return { code, details, message: details, metadata: new Metadata() };
}
