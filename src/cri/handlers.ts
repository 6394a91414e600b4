// Plain async functions as grpc-js unary handlers for the CRI: whatever a function throws goes back
// as a gRPC status (BerthError codes mapped in common/grpc/errors), and the server carries on.
import type { handleUnaryCall, UntypedServiceImplementation } from '@grpc/grpc-js';
import { BerthError } from '../common/errors.js';
import { GrpcError, toServiceError } from '../common/grpc/errors.js';
import type { Message } from '../common/grpc/service-def.js';
import type { Log } from './context.js';

export type Unary = (req: Message) => Promise<Message> | Message;

export function unaryHandlers(log: Log, service: string, fns: Record<string, Unary>): UntypedServiceImplementation {
  const out: UntypedServiceImplementation = {};
  for (const [name, fn] of Object.entries(fns)) {
    const handler: handleUnaryCall<Message, Message> = (call, callback) => {
      const started = Date.now();
      Promise.resolve().then(() => fn(call.request)).then((res) => {
        log('debug', `cri ${service}/${name} ok (${Date.now() - started} ms)`);
        callback(null, res);
      }, (err: unknown) => {
        const expected = err instanceof BerthError || err instanceof GrpcError;
        log(expected ? 'debug' : 'warn', `cri ${service}/${name}: ${(err as Error).message} (${Date.now() - started} ms)`);
        callback(toServiceError(err));
      });
    };
    out[name] = handler;
  }
  return out;
}
