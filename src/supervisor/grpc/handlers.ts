// Wrappers that turn plain async functions into grpc-js handlers: each gets its request and a
// CallContext, and whatever it throws goes back as a gRPC status (the server carries on). Calls
// are logged at debug level with their duration and outcome.
import type { handleBidiStreamingCall, handleServerStreamingCall, handleUnaryCall, ServerDuplexStream, ServerWritableStream, UntypedServiceImplementation } from '@grpc/grpc-js';
import { CallContext } from './call.js';
import { toServiceError } from './errors.js';
import type { Message } from './service-def.js';
import type { Supervisor } from '../supervisor.js';

export type Log = (level: 'debug' | 'info' | 'warn' | 'error', message: string) => void;

export interface HandlerEnv {
  supervisor: Supervisor;
  log: Log;
}

export type Unary = (req: Message, ctx: CallContext) => Promise<Message> | Message;
export type ServerStream = (req: Message, ctx: CallContext, call: ServerWritableStream<Message, Message>) => Promise<void>;
export type Bidi = (ctx: CallContext, call: ServerDuplexStream<Message, Message>) => Promise<void>;

function report(env: HandlerEnv, name: string, started: number, err?: unknown): void {
  const took = Date.now() - started;
  if (err) env.log('debug', `grpc ${name}: ${toServiceError(err).details} (${took} ms)`);
  else env.log('debug', `grpc ${name} ok (${took} ms)`);
}

export function unary(env: HandlerEnv, name: string, fn: Unary): handleUnaryCall<Message, Message> {
  return (call, callback) => {
    const started = Date.now();
    Promise.resolve()
      .then(() => fn(call.request, new CallContext(env.supervisor, call.metadata)))
      .then((res) => {
        report(env, name, started);
        callback(null, res);
      }, (err: unknown) => {
        report(env, name, started, err);
        callback(toServiceError(err));
      });
  };
}

export function serverStream(env: HandlerEnv, name: string, fn: ServerStream): handleServerStreamingCall<Message, Message> {
  return (call) => {
    const started = Date.now();
    fn(call.request, new CallContext(env.supervisor, call.metadata), call).then(() => {
      report(env, name, started);
      call.end();
    }, (err: unknown) => {
      report(env, name, started, err);
      if (!call.cancelled) call.emit('error', toServiceError(err));
    });
  };
}

export function bidi(env: HandlerEnv, name: string, fn: Bidi): handleBidiStreamingCall<Message, Message> {
  return (call) => {
    const started = Date.now();
    fn(new CallContext(env.supervisor, call.metadata), call).then(() => {
      report(env, name, started);
      call.end();
    }, (err: unknown) => {
      report(env, name, started, err);
      if (!call.cancelled) call.emit('error', toServiceError(err));
    });
  };
}

export type Implementation = UntypedServiceImplementation;
